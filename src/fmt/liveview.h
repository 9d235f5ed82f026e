/*
 * liveview: the latest record per key (a changelog) drawn as a table that
 * fits a terminal, as top(1) draws its processes: a status line, the
 * header in reverse video, as many rows as there is room for, in key
 * order, then a line that says how many keys are not shown. A line wider
 * than the terminal is cut, and ends in an ellipsis.
 *
 * On the screen (screen true) every line is placed and erased with ANSI
 * sequences, so that a redraw overwrites the last one in place, without
 * flicker. Otherwise the view is written as plain lines, and one row
 * shorter, to stay on a normal screen above the shell's next prompt.
 *
 * The caller owns the changelog and the table's columns; v->cells gives
 * the values of an entry's line, one per column. Widths are measured on
 * the rows shown at each draw; then the first nwidths are set from
 * widths. Returns 0, or -1 with errno set: ENOMEM, or the writer's error.
 * Not thread-safe.
 */
#ifndef TXS_LIVEVIEW_H
#define TXS_LIVEVIEW_H

#include <stdbool.h>
#include <stddef.h>

#include "fmt/changelog.h"
#include "fmt/table.h"
#include "lib/jscan.h"
#include "lib/lineio.h"

struct liveview {
	const struct changelog *log;
	struct table *t;
	const struct jspan *(*cells)(void *arg, const struct changelog_entry *e);
	void *arg;
	const size_t *widths;
	size_t nwidths;
};

int liveview_draw(const struct liveview *v, struct lwriter *w, const char *status, int rows, int cols,
    bool screen);

#endif

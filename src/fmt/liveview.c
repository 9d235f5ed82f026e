#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "fmt/cells.h"
#include "fmt/liveview.h"
#include "fmt/term.h"

#define LINE_MAX_TEXT 256	/* bytes of the status and "more keys" lines */

/*
 * One line of the view, t->row, cut to cols: at row y (from 1) of the
 * screen, in attr (NULL: none) across the whole width, or plain with a
 * newline.
 */
static int
put_line(struct table *t, struct lwriter *w, int y, int cols, bool screen, const char *attr)
{
	size_t used, n = cell_fit(t->row, t->len, (size_t)cols, &used);
	char at[32];

	if (n < t->len && cols > 1) {
		/* Cut by the edge of the screen: say so, as a cell cut short does. */
		n = cell_fit(t->row, t->len, (size_t)cols - 1, &used);
		t->len = n;
		if (table_grow(t, sizeof(TABLE_ELLIPSIS)) < 0)
			return -1;
		memcpy(t->row + n, TABLE_ELLIPSIS, sizeof(TABLE_ELLIPSIS) - 1);
		n += sizeof(TABLE_ELLIPSIS) - 1;
		used++;
	}
	if (!screen)
		return lw_write(w, t->row, n) < 0 || lw_write(w, "\n", 1) < 0 ? -1 : 0;
	/* Erased first: erasing after a line as wide as the screen would take its last character. */
	if (lw_write(w, at, (size_t)snprintf(at, sizeof(at), "\033[%d;1H\033[2K", y)) < 0 ||
	    (attr && lw_write(w, attr, strlen(attr)) < 0) || lw_write(w, t->row, n) < 0)
		return -1;
	if (!attr)
		return 0;
	for (; used < (size_t)cols; used++)	/* the bar spans the screen */
		if (lw_write(w, " ", 1) < 0)
			return -1;
	return lw_write(w, TERM_RESET, sizeof(TERM_RESET) - 1);
}

/* Text of the view's own as a line. */
static int
put_text(struct table *t, struct lwriter *w, int y, int cols, bool screen, const char *text)
{
	size_t n = strlen(text);

	if (table_grow(t, n) < 0)
		return -1;
	memcpy(t->row, text, n);
	t->len = n;
	return put_line(t, w, y, cols, screen, NULL);
}

int
liveview_draw(const struct liveview *v, struct lwriter *w, const char *status, int rows, int cols,
    bool screen)
{
	const struct changelog *c = v->log;
	struct table *t = v->t;
	size_t body, shown;
	char more[LINE_MAX_TEXT];
	int y = 1;

	if (!screen && rows > 1)
		rows--;		/* the shell's prompt comes next */
	body = rows > 2 ? (size_t)rows - 2 : 0;
	shown = c->n <= body ? c->n : body > 0 ? body - 1 : 0;
	for (size_t k = 0; k < shown || k == 0; k++)
		if (table_measure(t, k < shown ? v->cells(v->arg, &c->e[k]) : NULL, k == 0) < 0)
			return -1;
	for (size_t i = 0; i < t->ncols && i < v->nwidths; i++)
		t->col[i].width = v->widths[i];
	if (screen && lw_write(w, TERM_HOME, sizeof(TERM_HOME) - 1) < 0)
		return -1;
	if (put_text(t, w, y++, cols, screen, status) < 0)
		return -1;
	if (rows >= 2 && (table_row(t, NULL) < 0 || put_line(t, w, y++, cols, screen, TERM_REVERSE) < 0))
		return -1;
	for (size_t k = 0; k < shown; k++)
		if (table_row(t, v->cells(v->arg, &c->e[k])) < 0 || put_line(t, w, y++, cols, screen, NULL) < 0)
			return -1;
	if (shown < c->n && body > 0) {
		snprintf(more, sizeof(more), TABLE_ELLIPSIS " %zu more key%s not shown", c->n - shown,
		    c->n - shown == 1 ? "" : "s");
		if (put_text(t, w, y++, cols, screen, more) < 0)
			return -1;
	}
	if (screen && lw_write(w, TERM_CLEAR_EOS, sizeof(TERM_CLEAR_EOS) - 1) < 0)
		return -1;
	return lw_flush(w);
}

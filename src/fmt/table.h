/*
 * table: JSON values laid out as aligned text columns for people, one
 * row at a time, so that a table can stream.
 *
 * table_measure() looks at rows (the header alone when cells is NULL)
 * and makes each column as wide as the widest text it saw there,
 * right-aligned when the values it held were numbers. The widths may
 * then be set by hand (a width below 1 counts as 1). table_row() lays a
 * row out in those widths: a longer cell is cut, ending in an ellipsis,
 * a shorter one padded; two spaces between columns, none after the last.
 * A cell shows cell_text() with control characters made visible
 * (cell_visible()), and "-" for a missing, null or empty value, so that
 * every row has the same number of words, as in mlr --opprint.
 *
 * The laid-out row is t->row, t->len bytes, valid until the next call.
 * t->cells has room for one value per column, for the record at hand:
 * table_by_keys() fills it from an object's members, or the caller does.
 * Functions return 0, or -1 with errno ENOMEM. Not thread-safe.
 */
#ifndef TXS_TABLE_H
#define TXS_TABLE_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/jscan.h"

#define TABLE_GAP "  "			/* between columns, as column -t */
#define TABLE_ELLIPSIS "\xe2\x80\xa6"	/* U+2026, one column wide */
#define TABLE_EMPTY "-"

struct table_col {
	char *name;			/* header text, UTF-8 */
	size_t len;
	size_t width;			/* terminal columns */
	bool right;
	bool numbers, others;		/* what the measured rows held */
};

struct table {
	struct table_col *col;
	size_t ncols;
	struct jspan *cells;		/* one per column */
	char *row;			/* the row laid out last */
	size_t len;
	/* scratch */
	size_t rowcap;
	char *text, *shown;
	size_t textcap, showncap, shownlen;
};

int table_add_column(struct table *t, const char *name, size_t len);
/*
 * t->cells from the members of obj (a JT_OBJECT span from a successful
 * scan), matched to the columns by key: the value of the key that names
 * each column (the last one, when a key is repeated), or JT_NONE. With
 * add, a key no column names becomes a new column; without, the first
 * such key is *unknown (raw, quotes included; JT_NONE when there is none).
 */
int table_by_keys(struct table *t, const struct jspan *obj, bool add, struct jspan *unknown);
/* first: forget what was measured before. */
int table_measure(struct table *t, const struct jspan *cells, bool first);
/* cells: one per column; NULL for the header. */
int table_row(struct table *t, const struct jspan *cells);
/* Make t->row at least n bytes longer than t->len (to add to a row). */
int table_grow(struct table *t, size_t n);
void table_free(struct table *t);

#endif

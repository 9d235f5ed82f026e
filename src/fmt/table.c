#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fmt/cells.h"
#include "fmt/table.h"

static int
grow(char **p, size_t *cap, size_t need)
{
	char *np;

	if (need <= *cap)
		return 0;
	if (!(np = realloc(*p, need * 2)))
		return -1;
	*p = np;
	*cap = need * 2;
	return 0;
}

int
table_grow(struct table *t, size_t n)
{
	return grow(&t->row, &t->rowcap, t->len + n);
}

static int
add(struct table *t, const char *s, size_t n)
{
	/* Nothing to add: the row may have no buffer yet, and memcpy must not see NULL. */
	if (n == 0)
		return 0;
	if (table_grow(t, n) < 0)
		return -1;
	memcpy(t->row + t->len, s, n);
	t->len += n;
	return 0;
}

static int
pad(struct table *t, size_t n)
{
	if (n == 0)
		return 0;	/* as in add(): no memset on a row without a buffer */
	if (table_grow(t, n) < 0)
		return -1;
	memset(t->row + t->len, ' ', n);
	t->len += n;
	return 0;
}

int
table_add_column(struct table *t, const char *name, size_t len)
{
	struct table_col *col = realloc(t->col, (t->ncols + 1) * sizeof(*col));
	struct jspan *cells;
	char *copy;

	if (!col)
		return -1;
	t->col = col;
	if (!(cells = realloc(t->cells, (t->ncols + 1) * sizeof(*cells))))
		return -1;
	t->cells = cells;
	if (!(copy = malloc(len ? len : 1)))
		return -1;
	memcpy(copy, name, len);
	t->cells[t->ncols] = (struct jspan){ JT_NONE, NULL, 0 };
	t->col[t->ncols++] = (struct table_col){ .name = copy, .len = len };
	return 0;
}

/* The column named s, or ncols; *hint is where to look first (records tend to keep their order). */
static size_t
column_of(const struct table *t, const char *s, size_t n, size_t *hint)
{
	for (size_t k = 0; k < t->ncols; k++) {
		size_t i = (*hint + k) % t->ncols;

		if (t->col[i].len == n && memcmp(t->col[i].name, s, n) == 0) {
			*hint = i + 1;
			return i;
		}
	}
	return t->ncols;
}

int
table_by_keys(struct table *t, const struct jspan *obj, bool add, struct jspan *unknown)
{
	struct jmembers it;
	struct jspan key, val;
	size_t hint = 0;

	unknown->type = JT_NONE;
	for (size_t i = 0; i < t->ncols; i++)
		t->cells[i].type = JT_NONE;
	jmembers_init(&it, obj);
	while (jmembers_next(&it, &key, &val)) {
		size_t n, i;

		if (grow(&t->text, &t->textcap, key.len) < 0)
			return -1;
		n = jscan_string(&key, t->text);
		if ((i = column_of(t, t->text, n, &hint)) == t->ncols) {
			if (!add) {
				if (unknown->type == JT_NONE)
					*unknown = key;
				continue;
			}
			if (table_add_column(t, t->text, n) < 0)
				return -1;
		}
		t->cells[i] = val;
	}
	return 0;
}

/* What a cell shows (the column's name when v is NULL), in t->shown. */
static int
show(struct table *t, const struct table_col *c, const struct jspan *v)
{
	const char *s = c->name;
	size_t n = c->len;

	if (v) {
		if (grow(&t->text, &t->textcap, v->len) < 0)
			return -1;
		n = cell_text(v, t->text);
		s = t->text;
		if (n == 0) {
			s = TABLE_EMPTY;
			n = sizeof(TABLE_EMPTY) - 1;
		}
	}
	if (grow(&t->shown, &t->showncap, CELL_VISIBLE_MAX(n)) < 0)
		return -1;
	t->shownlen = cell_visible(t->shown, s, n);
	return 0;
}

int
table_measure(struct table *t, const struct jspan *cells, bool first)
{
	for (size_t i = 0; i < t->ncols; i++) {
		struct table_col *c = &t->col[i];
		size_t w;

		if (first) {
			if (show(t, c, NULL) < 0)
				return -1;
			c->width = cell_width(t->shown, t->shownlen);
			c->numbers = c->others = false;
		}
		if (cells) {
			if (show(t, c, &cells[i]) < 0)
				return -1;
			if ((w = cell_width(t->shown, t->shownlen)) > c->width)
				c->width = w;
			if (cells[i].type == JT_NUMBER)
				c->numbers = true;
			else if (cells[i].type != JT_NONE && cells[i].type != JT_NULL)
				c->others = true;
		}
		c->right = c->numbers && !c->others;
	}
	return 0;
}

/* t->shown, fitted into c's width: cut with an ellipsis, or padded. */
static int
put_cell(struct table *t, const struct table_col *c, bool last)
{
	size_t width = cell_width(t->shown, t->shownlen), cw = c->width ? c->width : 1, used, n;

	if (width > cw) {
		n = cell_fit(t->shown, t->shownlen, cw - 1, &used);
		return add(t, t->shown, n) < 0 || add(t, TABLE_ELLIPSIS, sizeof(TABLE_ELLIPSIS) - 1) < 0 ||
		    pad(t, last ? 0 : cw - 1 - used) < 0 ? -1 : 0;
	}
	if (c->right && pad(t, cw - width) < 0)
		return -1;
	if (add(t, t->shown, t->shownlen) < 0)
		return -1;
	return !c->right && !last ? pad(t, cw - width) : 0;
}

int
table_row(struct table *t, const struct jspan *cells)
{
	t->len = 0;
	for (size_t i = 0; i < t->ncols; i++) {
		if (i > 0 && add(t, TABLE_GAP, sizeof(TABLE_GAP) - 1) < 0)
			return -1;
		if (show(t, &t->col[i], cells ? &cells[i] : NULL) < 0 || put_cell(t, &t->col[i], i + 1 == t->ncols) < 0)
			return -1;
	}
	return 0;
}

void
table_free(struct table *t)
{
	for (size_t i = 0; i < t->ncols; i++)
		free(t->col[i].name);
	free(t->col);
	free(t->cells);
	free(t->row);
	free(t->text);
	free(t->shown);
	memset(t, 0, sizeof(*t));
}

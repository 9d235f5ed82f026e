/*
 * cells and table: a JSON value as a CSV, TSV or table cell, widths on a
 * terminal, and rows laid out in columns. Expected texts come from RFC
 * 4180, the TSV convention (Miller, PostgreSQL) and counting by hand.
 */
#include "config.h"

#include <string.h>

#include "fmt/cells.h"
#include "fmt/changelog.h"
#include "fmt/table.h"
#include "lib/jscan.h"
#include "tap.h"

/* The value at "x" of a record. */
static struct jspan
value(const char *rec)
{
	static struct jpath jp;
	struct jspan v = { JT_NONE, NULL, 0 };
	struct jscan_error err;

	jpath_parse(&jp, "x");
	jscan(rec, strlen(rec), &jp, 1, &v, &err);
	return v;
}

static void
text(const char *rec, const char *want, size_t wantlen)
{
	struct jspan v = value(rec);
	char buf[256];
	size_t n = cell_text(&v, buf);

	ok(n == wantlen && memcmp(buf, want, n) == 0, "text of %s", rec);
}

/* In pieces of every size from CELL_PIECE_MIN up, the text is cell_text()'s, whole. */
static void
pieces(const char *rec)
{
	struct jspan v = value(rec);
	char whole[256], got[256 + CELL_PIECE_MIN];
	size_t n = cell_text(&v, whole), len, k, worst = 0;
	bool same = true;

	for (size_t room = CELL_PIECE_MIN; room <= 40; room++) {
		struct cell_pieces it;

		cell_pieces_init(&it, &v);
		for (len = 0; (k = cell_piece(&it, got + len, room)) > 0 && len < 256; len += k)
			if (k > room)
				same = false;
		if (!cell_pieces_done(&it) || len != n || memcmp(got, whole, n) != 0) {
			same = false;
			worst = room;
		}
	}
	ok(same, "pieces of %s [wrong with room %zu]", rec, worst);
}

static void
csv(const char *s, size_t n, bool alone, const char *want)
{
	char buf[256];
	size_t len = cell_csv(buf, s, n, alone);

	ok(len == strlen(want) && memcmp(buf, want, len) == 0, "csv: %s", want);
}

static void
tsv(const char *s, const char *want)
{
	char buf[256];
	size_t len = cell_tsv(buf, s, strlen(s));

	ok(len == strlen(want) && memcmp(buf, want, len) == 0, "tsv: %s", want);
}

static void
visible(const char *s, size_t n, const char *want)
{
	char buf[256];
	size_t len = cell_visible(buf, s, n);

	ok(len == strlen(want) && memcmp(buf, want, len) == 0, "visible: %s", want);
}

static void
row(struct table *t, const char *want)
{
	ok(t->len == strlen(want) && memcmp(t->row, want, t->len) == 0, "row '%s' [got '%.*s']", want,
	    (int)t->len, t->row);
}

int
main(void)
{
	size_t used;

	ok(cell_locale() == 0, "a UTF-8 locale for widths");

	/* Cell text: strings decoded, numbers as written, null and missing empty, nested compact. */
	text("{\"x\":\"a\\\"b\\u00e9\\n\"}", "a\"b\xc3\xa9\n", 6);
	text("{\"x\":2.50}", "2.50", 4);
	text("{\"x\":-0}", "-0", 2);
	text("{\"x\":1e400}", "1e400", 5);
	text("{\"x\":true}", "true", 4);
	text("{\"x\":null}", "", 0);
	text("{\"y\":1}", "", 0);
	text("{\"x\":{ \"a\" : [ 1 , \"b c\" ] }}", "{\"a\":[1,\"b c\"]}", 15);
	text("{\"x\":\"\\u0000\"}", "\0", 1);

	/* CSV, RFC 4180. */
	csv("plain", 5, false, "plain");
	csv("a,b", 3, false, "\"a,b\"");
	csv("say \"hi\"", 8, false, "\"say \"\"hi\"\"\"");
	csv("a\nb", 3, false, "\"a\nb\"");
	csv("a\rb", 3, false, "\"a\rb\"");
	csv("tab\there", 8, false, "tab\there");
	csv(" lead", 5, false, " lead");
	csv("", 0, false, "");
	csv("", 0, true, "\"\"");

	/* TSV. */
	tsv("a\tb\nc\rd\\e", "a\\tb\\nc\\rd\\\\e");
	tsv("plain, \"quoted\"", "plain, \"quoted\"");

	/* For a terminal. */
	visible("a\nb\tc", 5, "a\\nb\\tc");
	visible("\x1b[31m", 5, "\\u001b[31m");
	visible("\0\x7f", 2, "\\u0000\\u007f");
	visible("\xc2\x85\xe2\x80\xa8\xe2\x80\xae", 8, "\\u0085\\u2028\\u202e");
	visible("caf\xc3\xa9 \xe2\x82\xac", 9, "caf\xc3\xa9 \xe2\x82\xac");

	/* Widths. */
	ok(cell_width("abc", 3) == 3, "ASCII: one column each");
	ok(cell_width("caf\xc3\xa9", 5) == 4, "é: one column");
	ok(cell_width("\xe6\x97\xa5\xe6\x9c\xac", 6) == 4, "日本: two columns each");
	ok(cell_width("\xf0\x9f\x98\x80", 4) == 2, "😀: two columns");
	ok(cell_width("e\xcc\x81", 3) == 1, "a combining accent: none");
	ok(cell_fit("\xe6\x97\xa5\xe6\x9c\xac", 6, 3, &used) == 3 && used == 2, "fit stops before a wide character");
	ok(cell_fit("abc", 3, 10, &used) == 3 && used == 3, "fit takes all that fits");

	/* Natural order. */
	ok(cell_natcmp("user_2", 6, "user_10", 7) < 0, "user_2 < user_10");
	ok(cell_natcmp("user_10", 7, "user_9", 6) > 0, "user_10 > user_9");
	ok(cell_natcmp("a", 1, "a", 1) == 0, "equal");
	ok(cell_natcmp("a01", 3, "a1", 2) != 0 && cell_natcmp("a01", 3, "a1", 2) == -cell_natcmp("a1", 2, "a01", 3),
	    "01 and 1: apart, consistently");
	ok(cell_natcmp("a", 1, "ab", 2) < 0 && cell_natcmp("B", 1, "a", 1) < 0, "else bytes");

	/* A table: widths measured, numbers right, empty as -, cut with an ellipsis. */
	{
		struct table t = { 0 };
		struct jspan cells[2];
		const char *r1 = "{\"x\":\"ab\"}", *n1 = "{\"x\":2.50}", *r2 = "{\"x\":\"\xe6\x97\xa5\xe6\x9c\xac\"}";
		const char *n2 = "{\"x\":-0}";

		ok(table_add_column(&t, "name", 4) == 0 && table_add_column(&t, "n", 1) == 0, "two columns");
		cells[0] = value(r1);
		cells[1] = value(n1);
		table_measure(&t, cells, true);
		cells[0] = value(r2);
		cells[1] = value(n2);
		table_measure(&t, cells, false);
		ok(t.col[0].width == 4 && t.col[1].width == 4 && !t.col[0].right && t.col[1].right,
		    "widths 4 and 4, the numbers right");
		table_row(&t, NULL);
		row(&t, "name     n");
		table_row(&t, cells);
		row(&t, "\xe6\x97\xa5\xe6\x9c\xac    -0");
		cells[0] = value("{\"x\":null}");
		cells[1] = value("{\"x\":123456}");
		table_row(&t, cells);
		row(&t, "-     123\xe2\x80\xa6");
		t.col[1].width = 1;
		table_row(&t, cells);
		row(&t, "-     \xe2\x80\xa6");
		table_free(&t);
	}

	/* The latest line per key, in natural order, "1" and 1 apart. */
	{
		struct changelog c = { 0 };

		changelog_put(&c, "user_10", 7, JT_STRING, "a", 1);
		changelog_put(&c, "user_2", 6, JT_STRING, "b", 1);
		changelog_put(&c, "1", 1, JT_NUMBER, "c", 1);
		changelog_put(&c, "1", 1, JT_STRING, "d", 1);
		changelog_put(&c, "user_10", 7, JT_STRING, "ee", 2);
		ok(c.n == 4, "four keys");
		ok(c.n == 4 && memcmp(c.e[0].key, "1", 1) == 0 && c.e[0].kind == JT_NUMBER &&
		    c.e[1].kind == JT_STRING && memcmp(c.e[2].key, "user_2", 6) == 0 &&
		    c.e[3].len == 2 && memcmp(c.e[3].line, "ee", 2) == 0, "in order, the latest line kept");
		changelog_free(&c);
	}
	/* A long value's text in pieces: no escape cut, a surrogate pair kept whole, strings in arrays as they are. */
	pieces("{\"x\":\"abc\\u00e9\\n\\\"\\ud83d\\ude00\\\\ \\/ \\t\\u002c0123456789\\ud83d\\udE00z\\u20ACxyz\"}");
	pieces("{\"x\":\"\\ud83d\\ude00\\ud83d\\ude00\\ud83d\\ude00\\ud83d\\ude00\\ud83d\\ude00\\ud83d\\ude00\"}");
	pieces("{\"x\":[ 1 , \"a  b\\\"  ]\" , { \"k\" : [ ] } , \"\\\\\" , 2.50 , \"  \\\\\\\"  \" ]}");
	pieces("{\"x\":{ \"a\" : \"x y\" ,   \"b\" : { \"c\" : [ 1 ,  2 ] } }}");
	pieces("{\"x\":123456789012345678901234567890123456789012345678901234567890}");
	pieces("{\"x\":null}");
	pieces("{\"y\":1}");
	pieces("{\"x\":\"\"}");
	ok(cell_csv_quoted("a,b", 3) && cell_csv_quoted("\"", 1) && cell_csv_quoted("\r", 1) && !cell_csv_quoted("ab", 2),
	    "quoting: comma, quote, CR; not plain text");
	return tap_done();
}

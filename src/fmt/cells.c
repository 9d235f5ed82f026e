#include "config.h"

#include <langinfo.h>
#include <locale.h>
#include <string.h>
#include <wchar.h>

#include "fmt/cells.h"
#include "fmt/jprint.h"
#include "lib/jsonw.h"
#include "lib/lineio.h"

size_t
cell_text(const struct jspan *v, char *dst)
{
	switch (v->type) {
	case JT_NONE:
	case JT_NULL:
		return 0;
	case JT_STRING:
		return jscan_string(v, dst);
	case JT_ARRAY:
	case JT_OBJECT:
		return jprint_compact(dst, v->p, v->len);
	default:
		memcpy(dst, v->p, v->len);
		return v->len;
	}
}

void
cell_pieces_init(struct cell_pieces *it, const struct jspan *v)
{
	memset(it, 0, sizeof(*it));
	it->type = v->type;
	it->p = it->end = v->p;
	if (v->type == JT_STRING) {
		it->p = v->p + 1;	/* inside the quotes */
		it->end = v->p + v->len - 1;
	} else if (v->type != JT_NONE && v->type != JT_NULL) {
		it->end = v->p + v->len;
	}
}

/* The bytes of the escape at p (a backslash), a surrogate pair's two taken as one. */
static size_t
escape_len(const char *p, const char *end)
{
	if (p[1] != 'u')
		return 2;
	if (end - p >= 12 && (p[2] == 'd' || p[2] == 'D') && strchr("89abAB", p[3]) && p[6] == '\\' &&
	    p[7] == 'u' && (p[8] == 'd' || p[8] == 'D') && strchr("cdefCDEF", p[9]))
		return 12;
	return 6;
}

/* Up to room bytes of a string's decoded text: the raw piece ends before an escape it would cut. */
static size_t
string_piece(struct cell_pieces *it, char *dst, size_t room)
{
	const char *limit = (size_t)(it->end - it->p) > room ? it->p + room : it->end, *q = it->p;
	struct jspan piece;

	while (q < limit) {
		const char *bs = memchr(q, '\\', (size_t)(limit - q));
		size_t n;

		if (!bs) {
			q = limit;
			break;
		}
		n = escape_len(bs, it->end);
		if ((size_t)(limit - bs) < n) {
			q = bs;
			break;
		}
		q = bs + n;
	}
	/* jscan_string() reads between the quotes only: p - 1 and q stand for them. */
	piece = (struct jspan){ JT_STRING, it->p - 1, (size_t)(q - it->p) + 2 };
	it->p = q;
	return jscan_string(&piece, dst);
}

/* Up to room bytes of an array's or object's compact text, as jprint_compact() writes it. */
static size_t
compact_piece(struct cell_pieces *it, char *dst, size_t room)
{
	char *o = dst, *oend = dst + room;
	const char *p = it->p;

	while (p < it->end && o < oend) {
		char c = *p++;

		if (it->in_string) {
			*o++ = c;
			if (it->escaped)
				it->escaped = false;
			else if (c == '\\')
				it->escaped = true;
			else if (c == '"')
				it->in_string = false;
		} else if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
			*o++ = c;
			it->in_string = c == '"';
		}
	}
	it->p = p;
	return (size_t)(o - dst);
}

size_t
cell_piece(struct cell_pieces *it, char *dst, size_t room)
{
	size_t n = (size_t)(it->end - it->p);

	if (n == 0)
		return 0;
	switch (it->type) {
	case JT_STRING:
		return string_piece(it, dst, room);
	case JT_ARRAY:
	case JT_OBJECT:
		return compact_piece(it, dst, room);
	default:
		if (n > room)
			n = room;
		memcpy(dst, it->p, n);
		it->p += n;
		return n;
	}
}

bool
cell_csv_quoted(const char *s, size_t n)
{
	return memchr(s, ',', n) || memchr(s, '"', n) || memchr(s, '\n', n) || memchr(s, '\r', n);
}

size_t
cell_csv_doubled(char *dst, const char *s, size_t n)
{
	char *o = dst;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '"')
			*o++ = '"';
		*o++ = s[i];
	}
	return (size_t)(o - dst);
}

size_t
cell_csv(char *dst, const char *s, size_t n, bool alone)
{
	size_t len;

	if (n > 0 && !cell_csv_quoted(s, n)) {
		memcpy(dst, s, n);
		return n;
	}
	if (n == 0 && !alone)
		return 0;
	dst[0] = '"';
	len = 1 + cell_csv_doubled(dst + 1, s, n);
	dst[len] = '"';
	return len + 1;
}

size_t
cell_tsv(char *dst, const char *s, size_t n)
{
	char *o = dst;

	for (size_t i = 0; i < n; i++) {
		switch (s[i]) {
		case '\t': *o++ = '\\'; *o++ = 't'; break;
		case '\n': *o++ = '\\'; *o++ = 'n'; break;
		case '\r': *o++ = '\\'; *o++ = 'r'; break;
		case '\\': *o++ = '\\'; *o++ = '\\'; break;
		default: *o++ = s[i];
		}
	}
	return (size_t)(o - dst);
}

/* A piece of a long cell's text, escaped for CSV (quoted: its quotes doubled) or TSV. */
static int
write_piece(struct lwriter *w, const char *s, size_t n, bool csv)
{
	char *dst = lw_reserve(w, CELL_CSV_MAX(n));

	if (!dst)
		return -1;
	lw_commit(w, csv ? cell_csv_doubled(dst, s, n) : cell_tsv(dst, s, n));
	return 0;
}

int
cell_write(struct lwriter *w, const struct jspan *v, bool csv, bool alone, char *piece, size_t room)
{
	struct cell_pieces it;
	char *dst;
	size_t n;
	bool quoted = false;
	int rc = 0;

	cell_pieces_init(&it, v);
	n = cell_piece(&it, piece, room);
	if (cell_pieces_done(&it)) {
		if (!(dst = lw_reserve(w, CELL_CSV_MAX(n))))
			return -1;
		lw_commit(w, csv ? cell_csv(dst, piece, n, alone) : cell_tsv(dst, piece, n));
		return 0;
	}
	/* A long text: for CSV, a first pass over its pieces says whether to quote it. */
	if (csv) {
		for (size_t k = n; k > 0 && !(quoted = cell_csv_quoted(piece, k));)
			k = cell_piece(&it, piece, room);
		cell_pieces_init(&it, v);
		n = cell_piece(&it, piece, room);
	}
	if (quoted)
		rc = lw_write(w, "\"", 1);
	for (; n > 0 && rc == 0; n = cell_piece(&it, piece, room))
		rc = csv && !quoted ? lw_write(w, piece, n) : write_piece(w, piece, n, csv);
	if (quoted && rc == 0)
		rc = lw_write(w, "\"", 1);
	return rc;
}

/* The code point of the UTF-8 sequence at s (valid: it came from jscan); *len its bytes. */
static unsigned
decode(const unsigned char *s, size_t n, size_t *len)
{
	if (s[0] < 0x80 || n < 2) {
		*len = 1;
		return s[0];
	}
	if (s[0] < 0xe0) {
		*len = 2;
		return (s[0] & 0x1fu) << 6 | (s[1] & 0x3fu);
	}
	if (s[0] < 0xf0 && n >= 3) {
		*len = 3;
		return (s[0] & 0x0fu) << 12 | (s[1] & 0x3fu) << 6 | (s[2] & 0x3fu);
	}
	if (n >= 4) {
		*len = 4;
		return (s[0] & 0x07u) << 18 | (s[1] & 0x3fu) << 12 | (s[2] & 0x3fu) << 6 | (s[3] & 0x3fu);
	}
	*len = 1;
	return s[0];
}

static bool
invisible(unsigned cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x2028 || cp == 0x2029 ||
	    (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

size_t
cell_visible(char *dst, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s, *end = p + n;
	char *o = dst;

	while (p < end) {
		size_t len;
		unsigned cp = decode(p, (size_t)(end - p), &len);

		if (!invisible(cp)) {
			memcpy(o, p, len);
			o += len;
		} else if (cp == '\n' || cp == '\t' || cp == '\r' || cp == '\b' || cp == '\f') {
			*o++ = '\\';
			*o++ = cp == '\n' ? 'n' : cp == '\t' ? 't' : cp == '\r' ? 'r' : cp == '\b' ? 'b' : 'f';
		} else {
			memcpy(o, JW_LIT("\\u"));
			o[2] = hex[cp >> 12 & 15];
			o[3] = hex[cp >> 8 & 15];
			o[4] = hex[cp >> 4 & 15];
			o[5] = hex[cp & 15];
			o += 6;
		}
		p += len;
	}
	return (size_t)(o - dst);
}

int
cell_locale(void)
{
	if (setlocale(LC_CTYPE, "") && strcmp(nl_langinfo(CODESET), "UTF-8") == 0)
		return 0;
	/* The records are UTF-8 whatever the locale says: widths must be measured as such. */
	if (setlocale(LC_CTYPE, "C.UTF-8") || setlocale(LC_CTYPE, "C.utf8"))
		return 0;
	return -1;
}

static size_t
char_width(unsigned cp)
{
	int w;

	if (cp >= 0x20 && cp < 0x7f)
		return 1;
	w = wcwidth((wchar_t)cp);
	/* Unknown to the C library: most terminals still give it a column. */
	return w < 0 ? 1 : (size_t)w;
}

size_t
cell_width(const char *s, size_t n)
{
	size_t used;

	cell_fit(s, n, (size_t)-1, &used);
	return used;
}

size_t
cell_fit(const char *s, size_t n, size_t width, size_t *used)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + n;
	size_t w = 0;

	while (p < end) {
		size_t len, cw = char_width(decode(p, (size_t)(end - p), &len));

		if (w + cw > width)
			break;
		w += cw;
		p += len;
	}
	*used = w;
	return (size_t)(p - (const unsigned char *)s);
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

int
cell_natcmp(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t i = 0, j = 0;

	while (i < alen && j < blen) {
		if (is_digit(a[i]) && is_digit(b[j])) {
			size_t si = i, sj = j, ni, nj;
			int c;

			/* Leading zeros say nothing of the value; a longer run is larger. */
			while (si < alen && a[si] == '0')
				si++;
			while (sj < blen && b[sj] == '0')
				sj++;
			for (i = si; i < alen && is_digit(a[i]); i++)
				;
			for (j = sj; j < blen && is_digit(b[j]); j++)
				;
			ni = i - si;
			nj = j - sj;
			if (ni != nj)
				return ni < nj ? -1 : 1;
			if ((c = memcmp(a + si, b + sj, ni)) != 0)
				return c < 0 ? -1 : 1;
			continue;
		}
		if (a[i] != b[j])
			return (unsigned char)a[i] < (unsigned char)b[j] ? -1 : 1;
		i++;
		j++;
	}
	if (i < alen || j < blen)
		return i < alen ? 1 : -1;
	/* Equal as numbers, as "01" and "1": bytes decide, so only equal texts are equal. */
	if (alen != blen || memcmp(a, b, alen) != 0) {
		int c = memcmp(a, b, alen < blen ? alen : blen);

		return c != 0 ? (c < 0 ? -1 : 1) : alen < blen ? -1 : 1;
	}
	return 0;
}

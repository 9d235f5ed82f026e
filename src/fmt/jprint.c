#include "config.h"

#include <string.h>

#include "fmt/jprint.h"
#include "lib/jsonw.h"
#include "lib/jscan.h"

/*
 * Colors (SGR parameters), chosen so that the kinds of value stand apart
 * on dark and light backgrounds alike; punctuation keeps the default.
 */
#define COLOR_KEY "1;34"	/* bold blue */
#define COLOR_STRING "32"	/* green */
#define COLOR_NUMBER "36"	/* cyan */
#define COLOR_BOOL "33"		/* yellow */
#define COLOR_NULL "90"		/* grey */

static const char spaces[] = "                                                                ";

static inline bool
is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* The byte after the string that starts (with its quote) at p. */
static const char *
string_end(const char *p, const char *end)
{
	for (p++; p < end; p++) {
		if (*p == '\\')
			p++;
		else if (*p == '"')
			return p + 1;
	}
	return end;
}

/* The byte after the number or literal at p. */
static const char *
scalar_end(const char *p, const char *end)
{
	while (p < end && !is_ws(*p) && *p != ',' && *p != ']' && *p != '}')
		p++;
	return p;
}

static int
put_token(struct lwriter *w, bool color, const char *sgr, const char *p, size_t n)
{
	if (!color)
		return lw_write(w, p, n);
	if (lw_write(w, JW_LIT("\033[")) < 0 || lw_write(w, sgr, strlen(sgr)) < 0 || lw_write(w, "m", 1) < 0 ||
	    lw_write(w, p, n) < 0)
		return -1;
	return lw_write(w, JW_LIT("\033[0m"));
}

static int
newline(struct lwriter *w, int indent, int depth)
{
	if (indent == 0)
		return 0;
	if (lw_write(w, "\n", 1) < 0)
		return -1;
	for (size_t n = (size_t)(indent * depth), k; n > 0; n -= k) {
		k = n < sizeof(spaces) - 1 ? n : sizeof(spaces) - 1;
		if (lw_write(w, spaces, k) < 0)
			return -1;
	}
	return 0;
}

static int
clamp_indent(const struct jprint_style *style)
{
	return style->indent < 0 ? 0 : style->indent > JPRINT_MAX_INDENT ? JPRINT_MAX_INDENT : style->indent;
}

/* The text s[0..len), its first token at nesting depth base (0 or 1). */
static int
print_at(struct lwriter *w, const struct jprint_style *style, const char *s, size_t len, int base)
{
	const char *p = s, *end = s + len, *q;
	bool in_object[JSCAN_MAX_DEPTH + 2] = { false };
	bool want_key = false;	/* the next string is an object key */
	int depth = base, indent = clamp_indent(style), rc = 0;
	const char *sgr;

	while (p < end && rc == 0) {
		switch (*p) {
		case ' ': case '\t': case '\n': case '\r':
			p++;
			continue;
		case '{': case '[':
			for (q = p + 1; q < end && is_ws(*q); q++)
				;
			if (q < end && (*q == '}' || *q == ']')) {
				/* Empty: one token, on one line, as jq writes it. */
				rc = lw_write(w, *p == '{' ? "{}" : JW_LIT("[]"));
				p = q + 1;
				continue;
			}
			in_object[++depth] = *p == '{';
			want_key = *p == '{';
			rc = lw_write(w, p++, 1);
			if (rc == 0)
				rc = newline(w, indent, depth);
			continue;
		case '}': case ']':
			depth--;
			if ((rc = newline(w, indent, depth)) == 0)
				rc = lw_write(w, p++, 1);
			continue;
		case ',':
			want_key = in_object[depth];
			if ((rc = lw_write(w, p++, 1)) == 0)
				rc = newline(w, indent, depth);
			continue;
		case ':':
			rc = lw_write(w, ": ", indent ? 2 : 1);
			p++;
			continue;
		case '"':
			q = string_end(p, end);
			sgr = want_key ? COLOR_KEY : COLOR_STRING;
			want_key = false;
			break;
		case 't': case 'f':
			q = scalar_end(p, end);
			sgr = COLOR_BOOL;
			break;
		case 'n':
			q = scalar_end(p, end);
			sgr = COLOR_NULL;
			break;
		default:
			q = scalar_end(p, end);
			sgr = COLOR_NUMBER;
		}
		rc = put_token(w, style->color, sgr, p, (size_t)(q - p));
		p = q;
	}
	return rc;
}

int
jprint(struct lwriter *w, const struct jprint_style *style, const char *s, size_t len)
{
	return print_at(w, style, s, len, 0);
}

int
jprint_members(struct lwriter *w, const struct jprint_style *style, const struct jprint_member *m, size_t n)
{
	int indent = clamp_indent(style);

	if (n == 0)
		return lw_write(w, JW_LIT("{}"));
	if (lw_write(w, "{", 1) < 0 || newline(w, indent, 1) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (i > 0 && (lw_write(w, ",", 1) < 0 || newline(w, indent, 1) < 0))
			return -1;
		if (put_token(w, style->color, COLOR_KEY, m[i].key, m[i].key_len) < 0 ||
		    lw_write(w, ": ", indent ? 2 : 1) < 0 || print_at(w, style, m[i].value, m[i].value_len, 1) < 0)
			return -1;
	}
	if (newline(w, indent, 0) < 0)
		return -1;
	return lw_write(w, "}", 1);
}

size_t
jprint_compact(char *dst, const char *s, size_t len)
{
	const char *p = s, *end = s + len;
	char *o = dst;

	while (p < end) {
		if (*p == '"') {
			const char *q = string_end(p, end);

			memcpy(o, p, (size_t)(q - p));
			o += q - p;
			p = q;
		} else if (is_ws(*p)) {
			p++;
		} else {
			*o++ = *p++;
		}
	}
	return (size_t)(o - dst);
}

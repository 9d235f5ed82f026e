#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "jscan.h"
#include "jsonw.h"

#define KEY_DECODE_MAX 256	/* bytes of an escaped key compared to a path */

/*
 * The scan state that does not change while scanning. The position is
 * passed and returned as a plain pointer instead of living here, so the
 * compiler keeps it in a register: a char store through sc could alias it.
 */
struct scanner {
	const char *end;
	const struct jpath *paths;
	struct jspan *out;
	const char *reason;	/* set on failure ... */
	const char *at;		/* ... with where */
	int depth;
};

int
jpath_parse(struct jpath *jp, const char *dotted)
{
	const char *s = dotted;

	jp->n = 0;
	for (;;) {
		const char *dot = strchr(s, '.');
		size_t len = dot ? (size_t)(dot - s) : strlen(s);

		if (len == 0 || jp->n == JPATH_MAX_PARTS)
			return -1;
		jp->part[jp->n] = s;
		jp->len[jp->n++] = len;
		if (!dot)
			return 0;
		s = dot + 1;
	}
}

const char *
jtype_name(enum jtype t)
{
	static const char *const names[] = {
		"missing", "null", "false", "true", "number", "string", "array", "object",
	};

	return names[t];
}

/* Note why scanning stopped at p; returns NULL for the caller to pass up. */
static const char *
fail(struct scanner *sc, const char *p, const char *reason)
{
	sc->reason = reason;
	sc->at = p;
	return NULL;
}

static inline const char *
skip_ws(const char *p, const char *end)
{
	if (p < end && (unsigned char)*p > ' ')
		return p;	/* the usual case: compact JSON */
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static uint32_t
hex4(const char *p)
{
	return (uint32_t)(hexval(p[0]) << 12 | hexval(p[1]) << 8 | hexval(p[2]) << 4 | hexval(p[3]));
}

/* Is p a \u escape with four hex digits before end? */
static bool
is_hex4(const unsigned char *p, const unsigned char *end)
{
	return end - p >= 6 && hexval(p[2]) >= 0 && hexval(p[3]) >= 0 && hexval(p[4]) >= 0 &&
	    hexval(p[5]) >= 0;
}

/*
 * One UTF-8 sequence of 2 to 4 bytes at p (first byte >= 0x80): its
 * length, or 0 when malformed, overlong, a surrogate or above U+10FFFF.
 */
static size_t
utf8_seq(const unsigned char *p, const unsigned char *end)
{
	unsigned c = p[0];
	size_t n;
	uint32_t cp, min;

	if (c >= 0xc2 && c <= 0xdf)
		n = 2, cp = c & 0x1f, min = 0x80;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, cp = c & 0x0f, min = 0x800;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, cp = c & 0x07, min = 0x10000;
	else
		return 0;
	if ((size_t)(end - p) < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/*
 * Whether any of the 8 bytes in w needs a closer look inside a string: a
 * control character, a quote, a backslash or a byte >= 0x80 (SWAR; may
 * flag a clean byte after a flagged one, never miss one).
 */
static inline uint64_t
swar_special(uint64_t w)
{
	const uint64_t ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
	uint64_t q = w ^ (ones * '"'), b = w ^ (ones * '\\');

	return ((w - ones * 0x20) | (q - ones) | (b - ones) | w) & high;
}

int
utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;

	while (p < end) {
		uint64_t w;
		size_t n;

		if (end - p >= 8) {
			memcpy(&w, p, sizeof(w));
			if (!(w & 0x8080808080808080ULL)) {
				p += 8;
				continue;
			}
		}
		if (*p < 0x80) {
			p++;
			continue;
		}
		if (!(n = utf8_seq(p, end)))
			return 0;
		p += n;
	}
	return 1;
}

static const char *scan_string_rest(struct scanner *sc, const unsigned char *p, bool *escaped);

/*
 * A string at p (its opening quote); returns the byte after the closing
 * one. Most strings are short and plain: this part, inlined, reads them
 * 8 bytes at a time and leaves anything else to scan_string_rest().
 */
static inline const char *
scan_string(struct scanner *sc, const char *s, bool *escaped)
{
	const unsigned char *p = (const unsigned char *)s + 1;
	const unsigned char *end = (const unsigned char *)sc->end;

	*escaped = false;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	while (end - p >= 8) {
		uint64_t w, special;

		memcpy(&w, p, sizeof(w));
		if ((special = swar_special(w))) {
			/* The lowest flagged byte is a true one. */
			p += __builtin_ctzll(special) / 8;
			if (*p == '"')
				return (const char *)p + 1;
			break;
		}
		p += 8;
	}
#endif
	return scan_string_rest(sc, p, escaped);
}

/* The rest of a string from p: escapes, UTF-8, the last bytes. */
static const char *
scan_string_rest(struct scanner *sc, const unsigned char *p, bool *escaped)
{
	const unsigned char *end = (const unsigned char *)sc->end;
	uint32_t cp, lo;

	for (;;) {
		/* The common case: printable ASCII, 8 bytes at a time. */
		while (end - p >= 8) {
			uint64_t w, special;

			memcpy(&w, p, sizeof(w));
			if ((special = swar_special(w))) {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
				/* The lowest flagged byte is a true one. */
				p += __builtin_ctzll(special) / 8;
				goto special;
#else
				break;
#endif
			}
			p += 8;
		}
		while (p < end && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
			p++;
special:
		if (p >= end)
			return fail(sc, (const char *)p, "unterminated string");
		if (*p == '"')
			return (const char *)p + 1;
		if (*p == '\\') {
			*escaped = true;
			if (p + 1 >= end)
				return fail(sc, (const char *)p, "bad escape in a string");
			switch (p[1]) {
			case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
				p += 2;
				continue;
			case 'u':
				if (!is_hex4(p, end))
					return fail(sc, (const char *)p, "bad \\u escape in a string");
				/*
				 * A surrogate only as half of a pair: a lone one names no
				 * character, and decoding it as U+FFFD would make "\ud800",
				 * "\udc00" and "\ufffd" one value (one group in jagg).
				 */
				cp = hex4((const char *)p + 2);
				if (cp >= 0xd800 && cp <= 0xdfff) {
					if (cp >= 0xdc00 || !is_hex4(p + 6, end) || p[6] != '\\' || p[7] != 'u' ||
					    (lo = hex4((const char *)p + 8)) < 0xdc00 || lo > 0xdfff)
						return fail(sc, (const char *)p, "lone surrogate \\u escape in a string");
					p += 6;
				}
				p += 6;
				continue;
			default:
				return fail(sc, (const char *)p, "bad escape in a string");
			}
		}
		if (*p < 0x20)
			return fail(sc, (const char *)p, "control character in a string");
		size_t n = utf8_seq(p, end);

		if (n == 0)
			return fail(sc, (const char *)p, "invalid UTF-8 in a string");
		p += n;
	}
}

static inline bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static const char *
scan_number(struct scanner *sc, const char *p)
{
	const char *end = sc->end;

	if (p < end && *p == '-')
		p++;
	if (p < end && *p == '0')
		p++;
	else if (p < end && *p >= '1' && *p <= '9')
		while (p < end && is_digit(*p))
			p++;
	else
		return fail(sc, p, "malformed number");
	if (p < end && *p == '.') {
		if (++p >= end || !is_digit(*p))
			return fail(sc, p, "malformed number");
		while (p < end && is_digit(*p))
			p++;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			p++;
		if (p >= end || !is_digit(*p))
			return fail(sc, p, "malformed number");
		while (p < end && is_digit(*p))
			p++;
	}
	return p;
}

/* key_equals() for a key with escapes: decoded first. */
static bool
escaped_key_equals(const char *raw, size_t rawlen, const char *want, size_t wantlen)
{
	char buf[KEY_DECODE_MAX];
	struct jspan v = { JT_STRING, raw, rawlen };

	if (rawlen > sizeof(buf))
		return false;	/* decodes to more than any path part we hold */
	return jscan_string(&v, buf) == wantlen && memcmp(buf, want, wantlen) == 0;
}

/* Does the key span (quotes included) equal want after unescaping? */
static inline bool
key_equals(const char *raw, size_t rawlen, bool escaped, const char *want, size_t wantlen)
{
	if (!escaped)
		return rawlen - 2 == wantlen && (wantlen == 0 || raw[1] == want[0]) &&
		    memcmp(raw + 1, want, wantlen) == 0;
	return escaped_key_equals(raw, rawlen, want, wantlen);
}

static const char *scan_value(struct scanner *sc, const char *p, uint64_t mask, size_t d);

static const char *
scan_object(struct scanner *sc, const char *p, uint64_t mask, size_t d)
{
	const char *end = sc->end;

	p = skip_ws(p + 1, end);
	if (p < end && *p == '}')
		return p + 1;
	for (;;) {
		const char *key = p;
		uint64_t sub = 0;
		bool escaped;

		if (p >= end || *p != '"')
			return fail(sc, p, "expected a string as object key");
		if (!(p = scan_string(sc, p, &escaped)))
			return NULL;
		for (uint64_t m = mask; m; m &= m - 1) {
			size_t i = (size_t)__builtin_ctzll(m);
			const struct jpath *jp = &sc->paths[i];

			if (jp->n > d && key_equals(key, (size_t)(p - key), escaped, jp->part[d], jp->len[d]))
				sub |= (uint64_t)1 << i;
		}
		/* A repeated key: its last value alone decides what lies below it. */
		for (uint64_t m = sub; m; m &= m - 1)
			sc->out[__builtin_ctzll(m)].type = JT_NONE;
		p = skip_ws(p, end);
		if (p >= end || *p != ':')
			return fail(sc, p, "expected ':' after an object key");
		if (!(p = scan_value(sc, p + 1, sub, d + 1)))
			return NULL;
		p = skip_ws(p, end);
		if (p < end && *p == ',') {
			p = skip_ws(p + 1, end);
			continue;
		}
		if (p < end && *p == '}')
			return p + 1;
		return fail(sc, p, "expected ',' or '}' in an object");
	}
}

static const char *
scan_array(struct scanner *sc, const char *p)
{
	const char *end = sc->end;

	p = skip_ws(p + 1, end);
	if (p < end && *p == ']')
		return p + 1;
	for (;;) {
		if (!(p = scan_value(sc, p, 0, 0)))
			return NULL;
		p = skip_ws(p, end);
		if (p < end && *p == ',') {
			p++;
			continue;
		}
		if (p < end && *p == ']')
			return p + 1;
		return fail(sc, p, "expected ',' or ']' in an array");
	}
}

static const char *
literal(struct scanner *sc, const char *p, const char *word, size_t n)
{
	if ((size_t)(sc->end - p) < n || memcmp(p, word, n) != 0)
		return fail(sc, p, "unexpected character");
	return p + n;
}

/*
 * A value at path depth d. mask holds the paths whose first d parts led
 * here; those with exactly d parts are looking for this very value.
 * Returns the byte after the value, or NULL with sc->reason set.
 */
static const char *
scan_value(struct scanner *sc, const char *p, uint64_t mask, size_t d)
{
	const char *start;
	enum jtype t;
	bool escaped;

	p = skip_ws(p, sc->end);
	start = p;
	if (p >= sc->end)
		return fail(sc, p, "unexpected end of text");
	switch (*p) {
	case '{':
		if (++sc->depth > JSCAN_MAX_DEPTH)
			return fail(sc, p, "nested too deeply");
		t = JT_OBJECT;
		p = scan_object(sc, p, mask, d);
		sc->depth--;
		break;
	case '[':
		if (++sc->depth > JSCAN_MAX_DEPTH)
			return fail(sc, p, "nested too deeply");
		t = JT_ARRAY;
		p = scan_array(sc, p);
		sc->depth--;
		break;
	case '"':
		t = JT_STRING;
		p = scan_string(sc, p, &escaped);
		break;
	case 't':
		t = JT_TRUE;
		p = literal(sc, p, JW_LIT("true"));
		break;
	case 'f':
		t = JT_FALSE;
		p = literal(sc, p, JW_LIT("false"));
		break;
	case 'n':
		t = JT_NULL;
		p = literal(sc, p, JW_LIT("null"));
		break;
	default:
		if (*p != '-' && !is_digit(*p))
			return fail(sc, p, "unexpected character");
		t = JT_NUMBER;
		p = scan_number(sc, p);
	}
	if (!p)
		return NULL;
	for (uint64_t m = mask; m; m &= m - 1) {
		size_t i = (size_t)__builtin_ctzll(m);

		if (sc->paths[i].n == d) {
			sc->out[i].type = t;
			sc->out[i].p = start;
			sc->out[i].len = (size_t)(p - start);
		}
	}
	return p;
}

int
jscan(const char *s, size_t len, const struct jpath *paths, size_t npaths,
    struct jspan *out, struct jscan_error *err)
{
	struct scanner sc = { .end = s + len, .paths = paths, .out = out };
	const char *p;
	uint64_t all;

	if (npaths > JSCAN_MAX_PATHS) {
		err->offset = 0;
		err->reason = "too many paths";
		return -1;
	}
	all = npaths == JSCAN_MAX_PATHS ? UINT64_MAX : ((uint64_t)1 << npaths) - 1;
	for (size_t i = 0; i < npaths; i++)
		out[i].type = JT_NONE;
	p = skip_ws(s, sc.end);
	if (p == sc.end) {
		fail(&sc, p, "no JSON text");
	} else if ((p = scan_value(&sc, p, all, 0))) {
		p = skip_ws(p, sc.end);
		if (p == sc.end)
			return 0;
		fail(&sc, p, "trailing characters after the JSON text");
	}
	err->offset = (size_t)(sc.at - s);
	err->reason = sc.reason;
	return -1;
}

void
jmembers_init(struct jmembers *it, const struct jspan *obj)
{
	/* Past the '{', up to the '}': the text between was checked by the scan. */
	it->p = obj->p + 1;
	it->end = obj->p + obj->len - 1;
}

static enum jtype
type_at(char c)
{
	switch (c) {
	case '{': return JT_OBJECT;
	case '[': return JT_ARRAY;
	case '"': return JT_STRING;
	case 't': return JT_TRUE;
	case 'f': return JT_FALSE;
	case 'n': return JT_NULL;
	default: return JT_NUMBER;
	}
}

int
jmembers_next(struct jmembers *it, struct jspan *key, struct jspan *val)
{
	struct scanner sc = { .end = it->end };
	const char *p = skip_ws(it->p, it->end), *v;
	bool escaped;

	if (p < it->end && *p == ',')
		p = skip_ws(p + 1, it->end);
	if (p >= it->end || *p != '"')
		return 0;
	key->type = JT_STRING;
	key->p = p;
	if (!(p = scan_string(&sc, p, &escaped)))
		return 0;
	key->len = (size_t)(p - key->p);
	p = skip_ws(p, it->end);
	if (p >= it->end || *p != ':')
		return 0;
	v = skip_ws(p + 1, it->end);
	/* Scanned again only to find its end; it is valid, so this cannot fail. */
	if (v >= it->end || !(p = scan_value(&sc, v, 0, 0)))
		return 0;
	val->type = type_at(*v);
	val->p = v;
	val->len = (size_t)(p - v);
	it->p = p;
	return 1;
}

int
jelems_next(struct jmembers *it, struct jspan *val)
{
	struct scanner sc = { .end = it->end };
	const char *p = skip_ws(it->p, it->end), *v;

	if (p < it->end && *p == ',')
		p = skip_ws(p + 1, it->end);
	if (p >= it->end)
		return 0;
	/* Scanned again only to find its end; it is valid, so this cannot fail. */
	v = p;
	if (!(p = scan_value(&sc, v, 0, 0)))
		return 0;
	val->type = type_at(*v);
	val->p = v;
	val->len = (size_t)(p - v);
	it->p = p;
	return 1;
}

static size_t
put_utf8(char *dst, uint32_t cp)
{
	if (cp < 0x80) {
		dst[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		dst[0] = (char)(0xc0 | (cp >> 6));
		dst[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		dst[0] = (char)(0xe0 | (cp >> 12));
		dst[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		dst[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	dst[0] = (char)(0xf0 | (cp >> 18));
	dst[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	dst[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	dst[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

size_t
jscan_string(const struct jspan *v, char *dst)
{
	const char *p = v->p + 1, *end = v->p + v->len - 1;
	char *o = dst;

	while (p < end) {
		const char *bs = memchr(p, '\\', (size_t)(end - p));
		size_t run = bs ? (size_t)(bs - p) : (size_t)(end - p);
		uint32_t cp;

		memcpy(o, p, run);
		o += run;
		p += run;
		if (p >= end)
			break;
		switch (p[1]) {
		case 'b': *o++ = '\b'; p += 2; continue;
		case 'f': *o++ = '\f'; p += 2; continue;
		case 'n': *o++ = '\n'; p += 2; continue;
		case 'r': *o++ = '\r'; p += 2; continue;
		case 't': *o++ = '\t'; p += 2; continue;
		case 'u': break;
		default: *o++ = p[1]; p += 2; continue;
		}
		cp = hex4(p + 2);
		p += 6;
		if (cp >= 0xd800 && cp <= 0xdbff && end - p >= 6 && p[0] == '\\' && p[1] == 'u') {
			uint32_t lo = hex4(p + 2);

			if (lo >= 0xdc00 && lo <= 0xdfff) {
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				p += 6;
			}
		}
		if (cp >= 0xd800 && cp <= 0xdfff)
			cp = 0xfffd;	/* a lone surrogate: refused by jscan(), so not from a scan */
		o += put_utf8(o, cp);
	}
	return (size_t)(o - dst);
}

int
jscan_uint(const struct jspan *v, uint64_t max, uint64_t *out)
{
	uint64_t n = 0;

	if (v->type != JT_NUMBER || v->len == 0)
		return -1;
	for (size_t i = 0; i < v->len; i++) {
		unsigned d = (unsigned)(v->p[i] - '0');

		if (d > 9 || d > max || n > (max - d) / 10)	/* not a digit, or past max */
			return -1;
		n = n * 10 + d;
	}
	*out = n;
	return 0;
}

/*
 * Differential fuzz target: jscan against json-c (libFuzzer's entry point;
 * tests/fuzz/replay.c runs the kept corpus in make check without it).
 *
 * The reference is json-c's tokenizer in strict mode with UTF-8
 * validation (JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8) and a
 * depth of JSCAN_MAX_DEPTH + 1. It "accepts" an input when it parses one
 * text and consumes every byte; it is given the input followed by a space,
 * so that a number at the top level ends (whitespace around the text is
 * allowed on both sides, and a space adds nothing else). json-c stops at
 * a NUL byte after a complete text and reports success: that input was
 * not consumed, so it counts as refused, as jscan refuses it.
 *
 * Checks, for any input:
 *
 * - No crash and no out-of-bounds access (under the sanitizers); a
 *   refusal has a reason and an offset no further than the input's end.
 * - Verdict: jscan accepts if and only if json-c accepts. Where json-c
 *   alone accepts, the difference must be one of the json-c 0.16 quirks
 *   below, found exactly where jscan reports its error and for the reason
 *   it gives; the harness then rewrites those bytes (same length) to what
 *   both accept and scans again, until jscan accepts, and json-c must
 *   still accept the rewritten text. Anything else aborts. jscan accepting
 *   what json-c refuses has no exception.
 * - Where jscan accepts, the quirks must not be why json-c agrees: the
 *   text is checked token by token against RFC 8259 (numbers, literals,
 *   strings with their escapes, control characters and UTF-8, keys in
 *   double quotes, nesting within JSCAN_MAX_DEPTH), json-c having checked
 *   the grammar that joins the tokens. So a jscan that took "1." or an
 *   overlong form for valid would not pass for agreeing with json-c.
 * - Fields, when both accept, for every path in paths[] (shaped like
 *   jagg's, records and envelopes): present in jscan if and only if
 *   present in json-c (both let the last of repeated keys win, at every
 *   level of the path); the same type; json-c's parse of the span jscan
 *   found equals json-c's value there (the span is the whole value); the
 *   span lies inside the input and scans on its own as the same type;
 *   a string decodes to json-c's bytes exactly; a number is one dec
 *   parses (or refuses as beyond 38 digits) and formats back to the same
 *   value and scale, and, where dec holds it:
 *     an integer equals json-c's int64 (uint64 above INT64_MAX) exactly;
 *     a fraction or exponent form, which json-c holds as a double, is
 *     compared as strtod() of dec's plain text against json-c's double,
 *     bit for bit (== on doubles): both are strtod's correctly rounded
 *     result for the same decimal value, so equality is exact, not a
 *     tolerance. json-c keeps the text of such a number, which must be
 *     the span's text.
 *
 * json-c quirks allowed where it accepts and jscan refuses, each
 * confirmed against json-c 0.16 (the Debian version) by experiment:
 *
 * 1. Number forms RFC 8259 forbids: "1.", "1.e5", "-.5", "00", "-01",
 *    "00.5" (json-c gathers digits, signs, '.' and 'e' loosely, leaves the
 *    rest to strtod and checks leading zeros only on unsigned integers
 *    other than 0), and NaN, Infinity, -Infinity (case-sensitive in
 *    strict mode). The allowance: the maximal run of number-like bytes
 *    around jscan's error offset is a value on its own terms (after '[',
 *    ',' or ':', or first), json-c accepts it alone and jscan refuses it
 *    alone. Rewritten as "0" and spaces.
 * 2. Raw control characters U+0001..U+001F inside strings and keys: json-c
 *    copies them (a raw NUL it takes for the end of the input, refused as
 *    jscan refuses it). Rewritten as a space.
 * 3. UTF-8 checked for shape only: a lead byte C0..F7 and the right count
 *    of continuation bytes, so overlong forms (C0 AF, E0 80 80), encoded
 *    surrogates (ED A0 80) and code points above U+10FFFF (F4 90 80 80,
 *    F5..F7 leads) pass. Only a sequence of that shape which is not UTF-8
 *    is allowed; rewritten as 'x's.
 * 4. Object keys in single quotes, even in strict mode (values in single
 *    quotes are refused). Rewritten as a double-quoted key of 'x's.
 * 5. Depth: json-c counts levels of values, jscan levels of containers.
 *    json-c at depth 64 would refuse a scalar inside the 64th container,
 *    which jscan accepts; at 65 it accepts everything jscan does, and
 *    more only by an empty container (no members) at the 65th level,
 *    since json-c checks depth on a member, not on the bracket. Only that
 *    is allowed, rewritten as "0" and spaces.
 * 8. Lone surrogate escapes ("\ud800", "\udc00", a high one not followed
 *    by a low one): json-c 0.16 accepts them, even in strict mode, and
 *    decodes each as U+FFFD (EF BF BD). jscan refuses them, so that
 *    "\ud800" and "\ufffd" are not one value. Only a \u escape of a
 *    surrogate is allowed, rewritten as "\ufffd", which both accept and
 *    decode alike.
 *
 * Where the field comparison is restricted:
 *
 * 6. A key with a \u0000 escape: json-c keeps object keys as C strings
 *    and cuts them at the NUL, so "amount\u0000x" is "amount" to json-c
 *    (and a later key may then replace an earlier one). A path with a
 *    part equal to such a cut key is not compared; every other path is.
 * 7. Integers beyond int64 below or uint64 above: json-c 0.16 saturates
 *    them (to INT64_MIN or UINT64_MAX) instead of refusing, even in
 *    strict mode; checked as exactly that saturated value.
 */
#include "config.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "lib/dec.h"
#include "lib/jscan.h"

#define JC_DEPTH (JSCAN_MAX_DEPTH + 1)	/* see quirk 5 */
#define JC_FLAGS (JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8)

/* jagg's paths: records' fields, the envelope's members, and short ones the fuzzer finds. */
static const char *const dotted[] = {
	"topic", "partition", "offset", "timestamp", "key", "value", "value_text", "value_base64",
	"value.merchantId", "value.amount", "value.userId", "value.transactionTime",
	"merchantId", "amount", "userId", "transactionTime", "a", "a.b", "a.b.c",
};
#define NPATHS (sizeof(dotted) / sizeof(dotted[0]))

static void
check(int cond)
{
	if (!cond)
		abort();
}

/*
 * json-c's verdict on s[0..n): the value (NULL for null or when refused)
 * in *out when out is given; 1 if accepted.
 */
static int
jc_parse(const char *s, size_t n, struct json_object **out)
{
	struct json_tokener *tok;
	struct json_object *o;
	char *buf;
	int ok;

	if (out)
		*out = NULL;
	if (n >= INT32_MAX || !(buf = malloc(n + 1)) || !(tok = json_tokener_new_ex(JC_DEPTH)))
		abort();
	memcpy(buf, s, n);
	buf[n] = ' ';	/* ends a number at the top level */
	json_tokener_set_flags(tok, JC_FLAGS);
	o = json_tokener_parse_ex(tok, buf, (int)n + 1);
	ok = json_tokener_get_error(tok) == json_tokener_success && json_tokener_get_parse_end(tok) == n + 1;
	if (ok && out)
		*out = o;
	else
		json_object_put(o);
	json_tokener_free(tok);
	free(buf);
	return ok;
}

static int
jscan_accepts(const char *s, size_t n)
{
	struct jscan_error e;

	return jscan(s, n, NULL, 0, NULL, &e) == 0;
}

/* --- json-c's quirks (see the top comment), each found at k and rewritten --- */

static bool
is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/*
 * A sequence of the shape json-c's UTF-8 check passes (lead byte C0..F7,
 * then continuation bytes): its length, and in *proper whether it is
 * UTF-8 (no overlong form, surrogate or code point above U+10FFFF); 0 if
 * not of that shape.
 */
static size_t
utf8_shape(const unsigned char *p, const unsigned char *end, bool *proper)
{
	static const uint32_t min[] = { 0, 0x80, 0x800, 0x10000 };
	size_t more;
	uint32_t cp;

	if (*p >= 0xc0 && *p <= 0xdf)
		more = 1, cp = *p & 0x1fu;
	else if (*p >= 0xe0 && *p <= 0xef)
		more = 2, cp = *p & 0x0fu;
	else if (*p >= 0xf0 && *p <= 0xf7)
		more = 3, cp = *p & 0x07u;
	else
		return 0;
	if ((size_t)(end - p) <= more)
		return 0;
	for (size_t i = 1; i <= more; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3fu);
	}
	*proper = cp >= min[more] && cp <= 0x10ffff && (cp < 0xd800 || cp > 0xdfff);
	return more + 1;
}

/* Quirk 3: length of a sequence json-c's shape check passes that is not UTF-8, or 0. */
static size_t
lax_utf8_quirk(const unsigned char *p, const unsigned char *end)
{
	bool proper;
	size_t n = utf8_shape(p, end, &proper);

	return proper ? 0 : n;	/* proper UTF-8: jscan had no business refusing it */
}

/* Quirk 4: a key in single quotes at k; rewritten as "xx...". */
static bool
quoted_key_quirk(char *s, size_t n, size_t k)
{
	size_t i = k, e;

	while (i > 0 && is_ws(s[i - 1]))
		i--;
	if (s[k] != '\'' || i == 0 || (s[i - 1] != '{' && s[i - 1] != ','))
		return false;
	for (e = k + 1; e < n && s[e] != '\''; e++)
		if (s[e] == '\\')
			e++;
	if (e >= n)
		return false;
	memset(s + k, 'x', e - k + 1);
	s[k] = s[e] = '"';
	return true;
}

/* Quirk 5: an empty container at k, one level deeper than jscan goes. */
static bool
empty_container_quirk(char *s, size_t n, size_t k)
{
	size_t j = k + 1;

	if (s[k] != '[' && s[k] != '{')
		return false;
	while (j < n && is_ws(s[j]))
		j++;
	if (j >= n || s[j] != (s[k] == '[' ? ']' : '}'))
		return false;
	memset(s + k, ' ', j - k + 1);
	s[k] = '0';
	return true;
}

static bool
numberish(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    c == '-' || c == '+' || c == '.';
}

/* Quirk 1: a number form (or NaN, Infinity) around k that json-c alone accepts. */
static bool
number_quirk(char *s, size_t n, size_t k)
{
	struct json_object *o;
	size_t t = k, e = k, i;
	bool ok;

	while (t > 0 && numberish(s[t - 1]))
		t--;
	while (e < n && numberish(s[e]))
		e++;
	for (i = t; i > 0 && is_ws(s[i - 1]); i--)
		continue;
	if (t == e || (i > 0 && s[i - 1] != '[' && s[i - 1] != ',' && s[i - 1] != ':'))
		return false;
	ok = jc_parse(s + t, e - t, &o) && (json_object_is_type(o, json_type_double) ||
	    json_object_is_type(o, json_type_int)) && !jscan_accepts(s + t, e - t);
	json_object_put(o);
	if (ok) {
		memset(s + t, ' ', e - t);
		s[t] = '0';
	}
	return ok;
}

static int
hexdigit(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Quirk 8: a \u escape of a surrogate at k; rewritten as \ufffd. */
static bool
surrogate_quirk(char *s, size_t n, size_t k)
{
	if (n - k < 6 || s[k] != '\\' || s[k + 1] != 'u' || !hexdigit(s[k + 2]) || !hexdigit(s[k + 3]) ||
	    !hexdigit(s[k + 4]) || !hexdigit(s[k + 5]))
		return false;
	unsigned long cp = strtoul((char[5]){ s[k + 2], s[k + 3], s[k + 4], s[k + 5], 0 }, NULL, 16);

	if (cp < 0xd800 || cp > 0xdfff)
		return false;
	memcpy(s + k + 2, "fffd", 4);
	return true;
}

/* Rewrite the quirk that explains jscan's error, chosen by its reason; false if none does. */
static bool
rewrite_quirk(char *s, size_t n, const struct jscan_error *err)
{
	size_t k = err->offset, u;

	if (k == n)
		return number_quirk(s, n, k);	/* "1." at the end: the only quirk that ends there */
	if (strstr(err->reason, "UTF-8")) {
		if (!(u = lax_utf8_quirk((const unsigned char *)s + k, (const unsigned char *)s + n)))
			return false;
		memset(s + k, 'x', u);
		return true;
	}
	if (strstr(err->reason, "control character")) {
		if (s[k] == '\0' || (unsigned char)s[k] >= 0x20)
			return false;
		s[k] = ' ';
		return true;
	}
	if (strstr(err->reason, "surrogate"))
		return surrogate_quirk(s, n, k);
	if (strstr(err->reason, "object key"))
		return quoted_key_quirk(s, n, k);
	if (strstr(err->reason, "deep"))
		return empty_container_quirk(s, n, k);
	return number_quirk(s, n, k);
}

/*
 * json-c accepted s[0..n) and jscan refused it: rewrite json-c's quirks
 * one at a time where jscan stops, until jscan accepts; json-c must still
 * accept the result. Aborts when jscan stops at anything else.
 */
static void
explain_refusal(const char *data, size_t n)
{
	char *s = malloc(n);
	struct jscan_error err;

	check(s != NULL);
	memcpy(s, data, n);
	for (size_t round = 0; jscan(s, n, NULL, 0, NULL, &err) < 0; round++)
		check(round < n && err.offset <= n && rewrite_quirk(s, n, &err));
	check(jc_parse(s, n, NULL));
	free(s);
}

/* --- where json-c is loose, an accepted text is checked token by token --- */

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Length of the RFC 8259 number at p, or 0. */
static size_t
rfc_number(const char *p, const char *end)
{
	const char *q = p;

	if (q < end && *q == '-')
		q++;
	if (q < end && *q == '0')
		q++;
	else if (q < end && *q >= '1' && *q <= '9')
		while (q < end && is_digit(*q))
			q++;
	else
		return 0;
	if (q < end && *q == '.') {
		if (++q >= end || !is_digit(*q))
			return 0;
		while (q < end && is_digit(*q))
			q++;
	}
	if (q < end && (*q == 'e' || *q == 'E')) {
		if (++q < end && (*q == '+' || *q == '-'))
			q++;
		if (q >= end || !is_digit(*q))
			return 0;
		while (q < end && is_digit(*q))
			q++;
	}
	return (size_t)(q - p);
}

/* Length of the RFC 8259 string at p (its opening quote), or 0. */
static size_t
rfc_string(const char *p, const char *end)
{
	const char *q = p + 1;

	while (q < end && *q != '"') {
		unsigned char c = (unsigned char)*q;
		bool proper = false;
		size_t u;

		if (c == '\\') {
			if (q + 1 < end && strchr("\"\\/bfnrt", q[1]) && q[1] != '\0')
				q += 2;
			else if (end - q >= 6 && q[1] == 'u' && isxdigit((unsigned char)q[2]) &&
			    isxdigit((unsigned char)q[3]) && isxdigit((unsigned char)q[4]) && isxdigit((unsigned char)q[5]))
				q += 6;
			else
				return 0;
		} else if (c < 0x20) {
			return 0;
		} else if (c < 0x80) {
			q++;
		} else if ((u = utf8_shape((const unsigned char *)q, (const unsigned char *)end, &proper)) && proper) {
			q += u;
		} else {
			return 0;
		}
	}
	return q < end ? (size_t)(q + 1 - p) : 0;
}

/*
 * json-c has checked the grammar of s[0..n); check its tokens as RFC 8259
 * has them, where json-c is loose (quirks 1 to 5): numbers, literals,
 * strings (escapes, control characters, UTF-8), double-quoted keys, and
 * nesting within JSCAN_MAX_DEPTH. Without this, a jscan that accepted
 * "1." or an overlong form would agree with json-c.
 */
static bool
rfc_tokens(const char *s, size_t n)
{
	const char *p = s, *end = s + n;
	int depth = 0;

	while (p < end) {
		size_t len = 1;
		bool word = false;	/* a number or literal, which ends where json-c's does */

		switch (*p) {
		case ' ': case '\t': case '\n': case '\r': case ',': case ':':
			break;
		case '[': case '{':
			if (++depth > JSCAN_MAX_DEPTH)
				return false;
			break;
		case ']': case '}':
			depth--;
			break;
		case '"':
			len = rfc_string(p, end);
			break;
		case 't': case 'f': case 'n':
			word = true;
			len = *p == 'f' ? 5 : 4;
			if ((size_t)(end - p) < len || memcmp(p, *p == 't' ? "true" : *p == 'f' ? "false" : "null", len))
				len = 0;
			break;
		default:
			word = true;
			len = rfc_number(p, end);
		}
		if (len == 0 || (word && (size_t)(end - p) > len && numberish(p[len])))
			return false;	/* "00" is not two numbers */
		p += len;
	}
	return true;
}

/* --- fields --- */

/* json-c's value at a dotted path: 1 if present (*v NULL for null). */
static int
jc_path(struct json_object *o, const char *dotted_path, struct json_object **v)
{
	char buf[64], *save, *part;

	snprintf(buf, sizeof(buf), "%s", dotted_path);
	*v = o;
	for (part = strtok_r(buf, ".", &save); part; part = strtok_r(NULL, ".", &save)) {
		if (!json_object_is_type(*v, json_type_object) || !json_object_object_get_ex(*v, part, v))
			return 0;
	}
	return 1;
}

static enum jtype
jc_type(struct json_object *v)
{
	switch (json_object_get_type(v)) {
	case json_type_null: return JT_NULL;
	case json_type_boolean: return json_object_get_boolean(v) ? JT_TRUE : JT_FALSE;
	case json_type_int: case json_type_double: return JT_NUMBER;
	case json_type_string: return JT_STRING;
	case json_type_array: return JT_ARRAY;
	case json_type_object: return JT_OBJECT;
	}
	return JT_NONE;
}

/*
 * Exception 6: mark the paths with a part that equals a key json-c cuts
 * at a \u0000 escape. s is valid JSON (jscan accepted it).
 */
static void
nul_keys(const char *s, size_t n, const struct jpath *paths, bool *shadowed)
{
	for (size_t i = 0; i < n; i++) {
		struct json_object *k;
		size_t start = i, j, cut;
		bool nul = false;

		if (s[i] != '"')
			continue;
		for (i++; i < n && s[i] != '"'; i++) {
			if (s[i] == '\\') {
				nul |= n - i >= 6 && memcmp(s + i + 1, "u0000", 5) == 0;
				i++;
			}
		}
		for (j = i + 1; j < n && is_ws(s[j]); j++)
			continue;
		if (!nul || j >= n || s[j] != ':')
			continue;
		check(jc_parse(s + start, i + 1 - start, &k) && json_object_is_type(k, json_type_string));
		cut = strlen(json_object_get_string(k));
		for (size_t p = 0; p < NPATHS; p++)
			for (size_t q = 0; q < paths[p].n; q++)
				if (paths[p].len[q] == cut && memcmp(paths[p].part[q], json_object_get_string(k), cut) == 0)
					shadowed[p] = true;
		json_object_put(k);
	}
}

static bool
integer_text(const char *p, size_t len)
{
	return !memchr(p, '.', len) && !memchr(p, 'e', len) && !memchr(p, 'E', len);
}

/* A number span against json-c's value v (exactness: see the top comment). */
static void
check_number(const struct jspan *sp, struct json_object *v)
{
	struct dec d, back;
	char text[DEC_STR_MAX + 1];
	enum dec_status ds = dec_parse(&d, sp->p, sp->len);
	bool integer = integer_text(sp->p, sp->len);
	size_t n;

	check(ds == DEC_OK || ds == DEC_RANGE);
	check(integer == json_object_is_type(v, json_type_int));
	if (!integer) {
		const char *jt = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);

		check(strlen(jt) == sp->len && memcmp(jt, sp->p, sp->len) == 0);
	}
	if (ds == DEC_RANGE) {
		/* Over 38 digits: an integer that long is beyond 64 bits (7). */
		if (integer && sp->p[0] == '-')
			check(json_object_get_int64(v) == INT64_MIN);
		else if (integer)
			check(json_object_get_uint64(v) == UINT64_MAX);
		return;
	}
	n = dec_format(&d, text);
	text[n] = '\0';
	check(dec_parse(&back, text, n) == DEC_OK && dec_cmp(&d, &back) == 0 && back.scale == d.scale);
	if (!integer) {
		check(strtod(text, NULL) == json_object_get_double(v));
		return;
	}
	check(d.scale == 0);
	if (d.coef < INT64_MIN)
		check(json_object_get_int64(v) == INT64_MIN);
	else if (d.coef < 0)
		check(json_object_get_int64(v) == (int64_t)d.coef);
	else if (d.coef > UINT64_MAX)
		check(json_object_get_uint64(v) == UINT64_MAX);
	else
		check(json_object_get_uint64(v) == (uint64_t)d.coef);
}

/* One path's value: jscan's span sp against json-c's (present, v). */
static void
check_field(const char *s, size_t size, const struct jspan *sp, int present, struct json_object *v)
{
	static const struct jpath root = { .n = 0 };	/* the whole text */
	struct json_object *again_jc;
	struct jspan again;
	struct jscan_error e;

	check(present == (sp->type != JT_NONE));
	if (!present)
		return;
	check(sp->type == jc_type(v));
	check(sp->p >= s && (size_t)(sp->p - s) < size && sp->len > 0 && sp->len <= size - (size_t)(sp->p - s));
	check(jscan(sp->p, sp->len, &root, 1, &again, &e) == 0 && again.type == sp->type &&
	    again.p == sp->p && again.len == sp->len);
	check(jc_parse(sp->p, sp->len, &again_jc) && json_object_equal(again_jc, v));
	json_object_put(again_jc);
	if (sp->type == JT_NUMBER)
		check_number(sp, v);
	if (sp->type == JT_STRING) {
		char *dec = malloc(sp->len);
		size_t n;

		check(dec != NULL);
		n = jscan_string(sp, dec);
		check(n <= sp->len);
		check((size_t)json_object_get_string_len(v) == n && memcmp(json_object_get_string(v), dec, n) == 0);
		free(dec);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jpath paths[NPATHS];
	struct jspan out[NPATHS];
	bool shadowed[NPATHS] = { false };
	struct jscan_error err;
	struct json_object *o;
	const char *s = (const char *)data;
	int js, jc;

	for (size_t i = 0; i < NPATHS; i++)
		check(jpath_parse(&paths[i], dotted[i]) == 0);
	js = jscan(s, size, paths, NPATHS, out, &err) == 0;
	jc = jc_parse(s, size, &o);
	if (!js)
		check(err.reason != NULL && err.offset <= size);
	if (!js && jc)
		explain_refusal(s, size);
	check(!js || jc);	/* no exception this way ... */
	check(!js || rfc_tokens(s, size));	/* ... nor hidden by json-c's quirks */
	if (js) {
		nul_keys(s, size, paths, shadowed);
		for (size_t i = 0; i < NPATHS; i++) {
			struct json_object *v;
			int present = jc_path(o, dotted[i], &v);

			if (!shadowed[i])
				check_field(s, size, &out[i], present, v);
		}
	}
	json_object_put(o);
	return 0;
}

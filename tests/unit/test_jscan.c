/*
 * jscan: what it accepts and refuses (RFC 8259), what it finds at paths,
 * and how jscan_string decodes. Expected results come from the RFC, not
 * from running the code.
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "lib/jscan.h"
#include "tap.h"

static int
scan1(const char *s, const char *path, struct jspan *v, struct jscan_error *err)
{
	struct jpath jp;

	if (jpath_parse(&jp, path) < 0)
		return -2;
	return jscan(s, strlen(s), &jp, 1, v, err);
}

static void
valid(const char *s)
{
	struct jspan v;
	struct jscan_error err;

	ok(scan1(s, "x", &v, &err) == 0, "valid: %s", s);
}

static void
invalid(const char *s, const char *why)
{
	struct jspan v;
	struct jscan_error err = { 0, NULL };
	int r = scan1(s, "x", &v, &err);

	ok(r == -1 && err.reason && strstr(err.reason, why), "invalid (%s): %s [got: %s]", why, s,
	    err.reason ? err.reason : "accepted");
}

static void
found(const char *s, const char *path, enum jtype t, const char *raw)
{
	struct jspan v;
	struct jscan_error err;
	int r = scan1(s, path, &v, &err);

	ok(r == 0 && v.type == t && (raw == NULL || (v.len == strlen(raw) && memcmp(v.p, raw, v.len) == 0)),
	    "%s in %s is %s %s", path, s, jtype_name(t), raw ? raw : "");
}

static void
decodes(const char *s, const char *want, size_t wantlen)
{
	struct jspan v;
	struct jscan_error err;
	char buf[64];
	size_t n = 0;

	if (scan1(s, "x", &v, &err) == 0 && v.type == JT_STRING)
		n = jscan_string(&v, buf);
	ok(n == wantlen && memcmp(buf, want, wantlen) == 0, "decodes %s", s);
}

int
main(void)
{
	struct jpath jp;
	struct jspan v[2];
	struct jscan_error err;
	const char *two = "{\"a\":{\"b\":1,\"c\":\"z\"},\"d\":[1,{\"b\":2}]}";

	/* Values of every kind, and whitespace around them. */
	valid("{}");
	valid(" \t\r\n{ \"x\" : [ 1 , -0.5e+3 , true , false , null , \"s\" , { } , [ ] ] } \n");
	valid("0");
	valid("\"\"");
	valid("[[[[[[[[[[]]]]]]]]]]");
	valid("\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
	valid("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\uD83D\\uDE00\"");
	valid("123456789012345678901234567890");

	/* Refused, with the reason. */
	invalid("", "no JSON text");
	invalid("   ", "no JSON text");
	invalid("{} {}", "trailing");
	invalid("{\"x\":1}x", "trailing");
	invalid("{\"x\":1,}", "object key");
	invalid("[1,]", "unexpected character");
	invalid("{\"x\" 1}", "':'");
	invalid("{'x':1}", "object key");
	invalid("{\"x\":1", "',' or '}'");
	invalid("[1 2]", "',' or ']'");
	invalid("01", "trailing");
	invalid("-", "malformed number");
	invalid("1.", "malformed number");
	invalid(".5", "unexpected character");
	invalid("1e", "malformed number");
	invalid("+1", "unexpected character");
	invalid("NaN", "unexpected character");
	invalid("tru", "unexpected character");
	invalid("nul", "unexpected character");
	invalid("\"abc", "unterminated");
	invalid("\"a\tb\"", "control character");
	invalid("\"\\x\"", "bad escape");
	invalid("\"\\u12G4\"", "bad \\u escape");
	/* A surrogate escape names no character unless it is half of a pair. */
	invalid("\"\\ud800\"", "lone surrogate");
	invalid("\"\\udc00\"", "lone surrogate");
	invalid("\"\\ud83d!\"", "lone surrogate");
	invalid("\"\\ud800\\u0041\"", "lone surrogate");
	invalid("\"\\udc00\\ud800\"", "lone surrogate");
	invalid("\"\xff\"", "invalid UTF-8");
	invalid("\"\xc0\xaf\"", "invalid UTF-8");		/* overlong '/' */
	invalid("\"\xed\xa0\x80\"", "invalid UTF-8");		/* a surrogate */
	invalid("\"\xf4\x90\x80\x80\"", "invalid UTF-8");	/* above U+10FFFF */
	invalid("\"\xe2\x82\"", "invalid UTF-8");		/* cut short */
	invalid("\"abcdefghijklmno\x01pq\"", "control character");	/* past the 8-byte fast path */
	{
		char deep[2 * JSCAN_MAX_DEPTH + 3];

		memset(deep, '[', JSCAN_MAX_DEPTH + 1);
		memset(deep + JSCAN_MAX_DEPTH + 1, ']', JSCAN_MAX_DEPTH + 1);
		deep[2 * JSCAN_MAX_DEPTH + 2] = '\0';
		invalid(deep, "nested too deeply");
	}

	/* The error offset points at the problem. */
	ok(scan1("{\"x\":1,\"y\":tx}", "x", v, &err) == -1 && err.offset == 11, "error offset %zu", err.offset);

	/* Paths. */
	found("{\"userId\":\"user_1\",\"amount\":12.50}", "userId", JT_STRING, "\"user_1\"");
	found("{\"userId\":\"user_1\",\"amount\":12.50}", "amount", JT_NUMBER, "12.50");
	found("{\"userId\":\"user_1\"}", "merchantId", JT_NONE, NULL);
	found(two, "a.b", JT_NUMBER, "1");
	found(two, "a", JT_OBJECT, "{\"b\":1,\"c\":\"z\"}");
	found(two, "d", JT_ARRAY, "[1,{\"b\":2}]");
	found(two, "d.b", JT_NONE, NULL);			/* no descent into arrays */
	found("{\"a\":1,\"a\":2}", "a", JT_NUMBER, "2");	/* the last one wins */
	/* ... at every level: a repeated parent replaces what the earlier one held */
	found("{\"value\":{\"amount\":12},\"value\":{}}", "value.amount", JT_NONE, NULL);
	found("{\"value\":{\"amount\":12},\"value\":5}", "value.amount", JT_NONE, NULL);
	found("{\"a\":{\"b\":{\"c\":1}},\"a\":{\"b\":[]}}", "a.b.c", JT_NONE, NULL);
	found("{\"a\":{\"b\":1},\"a\":{\"c\":2,\"b\":3}}", "a.b", JT_NUMBER, "3");
	found("{\"a\\u0062\":true}", "ab", JT_TRUE, "true");	/* escaped keys match */
	found("{\"a\":{\"b\":null}}", "a.b", JT_NULL, "null");
	found("[{\"a\":1}]", "a", JT_NONE, NULL);
	ok(jpath_parse(&jp, "a..b") < 0 && jpath_parse(&jp, "") < 0 && jpath_parse(&jp, "a.") < 0,
	    "empty path parts are refused");
	{
		struct jpath ps[2];

		jpath_parse(&ps[0], "a.c");
		jpath_parse(&ps[1], "a.b");
		ok(jscan(two, strlen(two), ps, 2, v, &err) == 0 && v[0].type == JT_STRING && v[1].type == JT_NUMBER,
		    "two paths in one scan");
	}
	/* Not NUL-terminated: the length is the end. */
	ok(jscan("{\"x\":1}garbage", 7, NULL, 0, v, &err) == 0, "the length bounds the text");

	/* Decoding. */
	decodes("{\"x\":\"plain\"}", "plain", 5);
	decodes("{\"x\":\"a\\nb\\t\\\"\\\\\\/\"}", "a\nb\t\"\\/", 7);
	decodes("{\"x\":\"\\u00e9\\u20ac\"}", "\xc3\xa9\xe2\x82\xac", 5);
	decodes("{\"x\":\"\\ud83d\\ude00\"}", "\xf0\x9f\x98\x80", 4);
	decodes("{\"x\":\"\\u0000\"}", "\0", 1);

	/* The root: a path of no parts is the whole text, whitespace around it left out. */
	{
		struct jpath root = { 0 };
		const char *s = " \t[1, 2] \r\n";

		ok(jscan(s, strlen(s), &root, 1, v, &err) == 0 && v[0].type == JT_ARRAY && v[0].len == 6 &&
		    memcmp(v[0].p, "[1, 2]", 6) == 0, "a path of no parts finds the whole text");
		s = "\"s\"";
		ok(jscan(s, strlen(s), &root, 1, v, &err) == 0 && v[0].type == JT_STRING && v[0].len == 3,
		    "... of any kind");
	}

	/* Members of an object, in order, every kind of value, repeated keys too. */
	{
		struct jpath root = { 0 };
		const char *s = "{ \"a\" : 1.50 , \"b\\u0063\":\"x,}\",\"o\":{\"p\":[1,{}]},\"l\":[],"
		    "\"t\":true,\"f\":false,\"n\":null,\"a\":-0 }";
		static const struct { const char *key, *val; enum jtype t; } want[] = {
			{ "\"a\"", "1.50", JT_NUMBER },
			{ "\"b\\u0063\"", "\"x,}\"", JT_STRING },
			{ "\"o\"", "{\"p\":[1,{}]}", JT_OBJECT },
			{ "\"l\"", "[]", JT_ARRAY },
			{ "\"t\"", "true", JT_TRUE },
			{ "\"f\"", "false", JT_FALSE },
			{ "\"n\"", "null", JT_NULL },
			{ "\"a\"", "-0", JT_NUMBER },
		};
		struct jmembers it;
		struct jspan k, val;
		size_t i = 0;
		int same = 1;

		ok(jscan(s, strlen(s), &root, 1, v, &err) == 0 && v[0].type == JT_OBJECT, "an object to walk");
		jmembers_init(&it, &v[0]);
		while (jmembers_next(&it, &k, &val)) {
			if (i >= sizeof(want) / sizeof(want[0]) || k.type != JT_STRING ||
			    k.len != strlen(want[i].key) || memcmp(k.p, want[i].key, k.len) != 0 ||
			    val.type != want[i].t || val.len != strlen(want[i].val) ||
			    memcmp(val.p, want[i].val, val.len) != 0)
				same = 0;
			i++;
		}
		ok(same && i == sizeof(want) / sizeof(want[0]), "members in order, %zu of them", i);
		ok(jmembers_next(&it, &k, &val) == 0, "and nothing after the last");

		s = "{ }";
		ok(jscan(s, strlen(s), &root, 1, v, &err) == 0, "an empty object");
		jmembers_init(&it, &v[0]);
		ok(jmembers_next(&it, &k, &val) == 0, "has no members");

		/* A nested object, found at a path, walks the same way. */
		jpath_parse(&jp, "a");
		ok(jscan(two, strlen(two), &jp, 1, v, &err) == 0, "a nested object");
		jmembers_init(&it, &v[0]);
		ok(jmembers_next(&it, &k, &val) == 1 && val.len == 1 && val.p[0] == '1' &&
		    jmembers_next(&it, &k, &val) == 1 && k.len == 3 && k.p[1] == 'c' && val.type == JT_STRING &&
		    jmembers_next(&it, &k, &val) == 0, "its two members");
	}
	{
		/* jscan_uint: whole numbers within a bound, nothing else. */
		static const struct {
			const char *text;
			uint64_t max;
			int ok;
			uint64_t want;
		} u[] = {
			{ "0", 5, 1, 0 }, { "5", 5, 1, 5 }, { "7", 5, 0, 0 }, { "10", 9, 0, 0 },
			{ "2147483647", INT32_MAX, 1, INT32_MAX }, { "2147483648", INT32_MAX, 0, 0 },
			{ "9223372036854775807", INT64_MAX, 1, INT64_MAX },
			{ "9223372036854775808", INT64_MAX, 0, 0 },
			{ "99999999999999999999", UINT64_MAX, 0, 0 },	/* would wrap a 64-bit sum */
			{ "-1", 5, 0, 0 }, { "1.0", 5, 0, 0 }, { "1e0", 5, 0, 0 },
		};

		for (size_t k = 0; k < sizeof(u) / sizeof(u[0]); k++) {
			struct jspan sp = { JT_NUMBER, u[k].text, strlen(u[k].text) };
			uint64_t got = 12345;
			int rc = jscan_uint(&sp, u[k].max, &got);

			ok(u[k].ok ? rc == 0 && got == u[k].want : rc < 0 && got == 12345,
			    "jscan_uint %s (max %llu): %s", u[k].text, (unsigned long long)u[k].max,
			    u[k].ok ? "taken" : "refused");
		}
		struct jspan str = { JT_STRING, "\"1\"", 3 };
		uint64_t got;

		ok(jscan_uint(&str, 5, &got) < 0, "jscan_uint refuses a string");
	}
	return tap_done();
}

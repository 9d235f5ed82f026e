/*
 * jprint: JSON re-indented token by token. Expected texts are written by
 * hand, as jq writes them (jq . and jq -c .), except that numbers and
 * string escapes stay as they came.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fmt/jprint.h"
#include "lib/jscan.h"
#include "tap.h"

static char got[4096];

/* jprint's output for s, in got. */
static const char *
print(const char *s, int indent, bool color)
{
	struct jprint_style style = { indent, color };
	struct lwriter w;
	FILE *f = tmpfile();
	size_t n;

	lw_init(&w, fileno(f), 0, false);
	jprint(&w, &style, s, strlen(s));
	lw_flush(&w);
	lw_free(&w);
	rewind(f);
	n = fread(got, 1, sizeof(got) - 1, f);
	got[n] = '\0';
	fclose(f);
	return got;
}

/* jprint_members' output for the members, in got. */
static const char *
print_members(const struct jprint_member *m, size_t n, int indent, bool color)
{
	struct jprint_style style = { indent, color };
	struct lwriter w;
	FILE *f = tmpfile();
	size_t len;

	lw_init(&w, fileno(f), 0, false);
	jprint_members(&w, &style, m, n);
	lw_flush(&w);
	lw_free(&w);
	rewind(f);
	len = fread(got, 1, sizeof(got) - 1, f);
	got[len] = '\0';
	fclose(f);
	return got;
}

/* The members written one by one come out as the object's text written whole. */
static void
members(const struct jprint_member *m, size_t n, const char *whole)
{
	static char want[4096];

	for (int indent = 0; indent <= 4; indent += 2) {
		for (int color = 0; color <= 1; color++) {
			snprintf(want, sizeof(want), "%s", print(whole, indent, color));
			ok(strcmp(print_members(m, n, indent, color), want) == 0,
			    "members, indent %d%s: as %s [got: %s]", indent, color ? ", color" : "", whole, got);
		}
	}
}

static void
pretty(const char *s, int indent, const char *want)
{
	struct jscan_error err;

	ok(jscan(s, strlen(s), NULL, 0, NULL, &err) == 0 && strcmp(print(s, indent, false), want) == 0,
	    "indent %d: %s [got: %s]", indent, s, got);
}

static void
compact(const char *s, const char *want)
{
	char buf[256];
	size_t n = jprint_compact(buf, s, strlen(s));

	ok(n == strlen(want) && memcmp(buf, want, n) == 0 && strcmp(print(s, 0, false), want) == 0,
	    "compact: %s", s);
}

int
main(void)
{
	const char *rec = " { \"a\" : [ 1 , 2.50 , -0 ] , \"b\" : { } , \"c\" : [ ] , \"d\" : \"x \\\" y\\u00e9\" ,"
	    " \"e\" : { \"f\" : 1E-7 } } ";

	compact(rec, "{\"a\":[1,2.50,-0],\"b\":{},\"c\":[],\"d\":\"x \\\" y\\u00e9\",\"e\":{\"f\":1E-7}}");
	compact("\"a , b : { [ \\\\\"", "\"a , b : { [ \\\\\"");	/* inside strings nothing changes */
	compact(" 123456789012345678901234567890 ", "123456789012345678901234567890");
	compact("[ 1e400 , true , false , null ]", "[1e400,true,false,null]");

	pretty(rec, 2, "{\n  \"a\": [\n    1,\n    2.50,\n    -0\n  ],\n  \"b\": {},\n  \"c\": [],\n"
	    "  \"d\": \"x \\\" y\\u00e9\",\n  \"e\": {\n    \"f\": 1E-7\n  }\n}");
	pretty("[[[]]]", 1, "[\n [\n  []\n ]\n]");
	pretty(" 7 ", 2, "7");
	pretty("{\"k\":\"v\"}", 8, "{\n        \"k\": \"v\"\n}");

	/* Colors: keys and values apart, punctuation plain. */
	ok(strcmp(print("{\"k\":[\"v\",1,true,null]}", 0, true),
	    "{\033[1;34m\"k\"\033[0m:[\033[32m\"v\"\033[0m,\033[36m1\033[0m,\033[33mtrue\033[0m,"
	    "\033[90mnull\033[0m]}") == 0, "colors [got: %s]", got);
	/* A string value after a nested object is a value, not a key. */
	ok(strcmp(print("{\"a\":{\"b\":1},\"c\":\"d\"}", 0, true),
	    "{\033[1;34m\"a\"\033[0m:{\033[1;34m\"b\"\033[0m:\033[36m1\033[0m},\033[1;34m\"c\"\033[0m:"
	    "\033[32m\"d\"\033[0m}") == 0, "keys after a nested object [got: %s]", got);
	/* Strings in arrays inside objects are values. */
	ok(strcmp(print("{\"a\":[\"x\",\"y\"]}", 0, true),
	    "{\033[1;34m\"a\"\033[0m:[\033[32m\"x\"\033[0m,\033[32m\"y\"\033[0m]}") == 0,
	    "array elements are values [got: %s]", got);

	{
		static const struct jprint_member m[] = {
			{ "\"a\"", "[ 1 , { \"k\" : \"v\" , \"l\" : [ ] } ]", 3, 33 },
			{ "\"b.c\"", "\"x\"", 5, 3 },
			{ "\"d\"", "{ }", 3, 3 },
		};

		members(m, 3, "{\"a\":[ 1 , { \"k\" : \"v\" , \"l\" : [ ] } ],\"b.c\":\"x\",\"d\":{ }}");
		members(m + 1, 1, "{\"b.c\":\"x\"}");
		members(m, 0, "{}");
	}
	return tap_done();
}

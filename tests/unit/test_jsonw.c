/* jsonw: numbers against snprintf, strings against the JSON grammar. */
#include "config.h"

#include <inttypes.h>
#include <stdint.h>
#include <string.h>

#include "lib/jsonw.h"
#include "tap.h"

static int
u64_matches(uint64_t v)
{
	char got[JW_U64_MAX + 1], want[32];
	size_t n = jw_u64(got, v);

	got[n] = '\0';
	snprintf(want, sizeof(want), "%" PRIu64, v);
	return strcmp(got, want) == 0;
}

static int
i64_matches(int64_t v)
{
	char got[JW_I64_MAX + 1], want[32];
	size_t n = jw_i64(got, v);

	got[n] = '\0';
	snprintf(want, sizeof(want), "%" PRId64, v);
	return strcmp(got, want) == 0;
}

static int
string_is(const char *in, size_t len, const char *want)
{
	char got[jw_string_max(64)];
	size_t n = jw_string(got, in, len);

	return n == strlen(want) && memcmp(got, want, n) == 0;
}

int
main(void)
{
	static const uint64_t u[] = { 0, 1, 9, 10, 99, 100, 101, 12345, 4294967295u,
		4294967296u, 9999999999999999999u, UINT64_MAX };
	static const int64_t s[] = { 0, -1, 1, -10, INT64_MAX, INT64_MIN, INT64_MIN + 1 };
	int all = 1;
	uint64_t x = 0x9e3779b97f4a7c15u;

	for (size_t i = 0; i < sizeof(u) / sizeof(u[0]); i++)
		ok(u64_matches(u[i]), "jw_u64(%" PRIu64 ")", u[i]);
	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++)
		ok(i64_matches(s[i]), "jw_i64(%" PRId64 ")", s[i]);
	/* Every power of ten and its neighbours, and a stream of odd values. */
	for (uint64_t p = 1; p <= 1000000000000000000u; p *= 10)
		all &= u64_matches(p - 1) & u64_matches(p) & u64_matches(p + 1);
	for (int i = 0; i < 100000; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		all &= u64_matches(x >> (i % 64)) & i64_matches((int64_t)x);
	}
	ok(all, "jw_u64 and jw_i64 agree with printf on 200,000 values");

	ok(string_is("abc", 3, "\"abc\""), "plain string");
	ok(string_is("", 0, "\"\""), "empty string");
	ok(string_is("a\"b\\c", 5, "\"a\\\"b\\\\c\""), "quote and backslash");
	ok(string_is("\n\t\r\b\f", 5, "\"\\n\\t\\r\\b\\f\""), "short escapes");
	ok(string_is("\x01\x1f\x7f", 3, "\"\\u0001\\u001f\\u007f\""), "control characters as \\u00XX");
	ok(string_is("a\0b", 3, "\"a\\u0000b\""), "NUL inside a string");
	ok(string_is("\xc3\xa9", 2, "\"\xc3\xa9\""), "UTF-8 passes through");
	return tap_done();
}

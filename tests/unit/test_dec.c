/*
 * dec: exact decimal parsing, sums and text. The fixed cases follow from
 * decimal arithmetic by hand; the random ones are checked against
 * Python's decimal module (an independent implementation), run through
 * /usr/bin/python3.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/dec.h"
#include "tap.h"

static const char *
fmt(const struct dec *d)
{
	static char buf[DEC_STR_MAX + 1];

	buf[dec_format(d, buf)] = '\0';
	return buf;
}

static void
parses(const char *s, const char *want)
{
	struct dec d;
	enum dec_status st = dec_parse(&d, s, strlen(s));

	ok(st == DEC_OK && strcmp(fmt(&d), want) == 0, "%s parses as %s (got %s)", s, want,
	    st == DEC_OK ? fmt(&d) : dec_strerror(st));
}

static void
refuses(const char *s, enum dec_status want)
{
	struct dec d;

	ok(dec_parse(&d, s, strlen(s)) == want, "%s is refused: %s", s, dec_strerror(want));
}

static void
sums(const char *a, const char *b, const char *want)
{
	struct dec x, y;

	dec_parse(&x, a, strlen(a));
	dec_parse(&y, b, strlen(b));
	ok(dec_add(&x, &y) == DEC_OK && strcmp(fmt(&x), want) == 0, "%s + %s = %s (got %s)", a, b, want, fmt(&x));
}

static void
divides(const char *a, unsigned long long n, int extra, const char *want)
{
	struct dec x, q;

	dec_parse(&x, a, strlen(a));
	ok(dec_div_u64(&q, &x, n, x.scale + extra) == DEC_OK && strcmp(fmt(&q), want) == 0,
	    "%s / %llu to %d more places = %s (got %s)", a, n, extra, want, fmt(&q));
}

static void
floors(const char *a, int shift, long long want)
{
	struct dec x;
	long long v = 0;

	dec_parse(&x, a, strlen(a));
	ok(dec_to_i64(&x, shift, &v) == DEC_OK && v == want, "floor(%s × 10^%d) = %lld (got %lld)", a, shift, want, v);
}

/* Random decimal text: up to 12 integer digits, 0-4 decimals, a sign. */
static void
random_number(char *buf, size_t size, unsigned *seed)
{
	int ip = 1 + rand_r(seed) % 12, fp = rand_r(seed) % 5;
	size_t n = 0;

	if (rand_r(seed) % 4 == 0)
		buf[n++] = '-';
	buf[n++] = (char)('1' + rand_r(seed) % 9);
	for (int i = 1; i < ip; i++)
		buf[n++] = (char)('0' + rand_r(seed) % 10);
	if (fp) {
		buf[n++] = '.';
		for (int i = 0; i < fp; i++)
			buf[n++] = (char)('0' + rand_r(seed) % 10);
	}
	buf[n] = '\0';
	(void)size;
}

static void
against_python(void)
{
	char path[] = "/tmp/test_dec.XXXXXX", num[32], ours[DEC_STR_MAX + 1], theirs[128], cmd[256];
	int fd = mkstemp(path);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL, *py;
	unsigned seed = 20261125;
	struct dec acc = { 0, 0 }, v;
	int bad = 0;

	if (!f) {
		ok(0, "cannot make a temporary file");
		return;
	}
	for (int i = 0; i < 20000; i++) {
		random_number(num, sizeof(num), &seed);
		fprintf(f, "%s\n", num);
		if (dec_parse(&v, num, strlen(num)) != DEC_OK || dec_add(&acc, &v) != DEC_OK)
			bad++;
	}
	fclose(f);
	ours[dec_format(&acc, ours)] = '\0';
	snprintf(cmd, sizeof(cmd), "/usr/bin/python3 -c 'import sys, decimal; decimal.getcontext().prec = 60; "
	    "print(sum((decimal.Decimal(l) for l in open(sys.argv[1])), decimal.Decimal(0)))' %s", path);
	py = popen(cmd, "r");
	theirs[0] = '\0';
	if (py && fgets(theirs, sizeof(theirs), py))
		theirs[strcspn(theirs, "\n")] = '\0';
	if (py)
		pclose(py);
	unlink(path);
	ok(bad == 0 && strcmp(ours, theirs) == 0, "the sum of 20,000 random decimals is Python's: %s vs %s", ours,
	    theirs);
}

int
main(void)
{
	struct dec a, b, big;

	parses("0", "0");
	parses("-0", "0");
	parses("12.50", "12.50");
	parses("-0.05", "-0.05");
	parses("150000.00", "150000.00");
	parses("1e3", "1000");
	parses("1.5E+2", "150");
	parses("125e-2", "1.25");
	parses("0.000e5", "0");
	parses("99999999999999999999999999999999999999", "99999999999999999999999999999999999999");
	parses("0.00000000000000000000000000000000000001", "0.00000000000000000000000000000000000001");
	parses("123456789012345678901234567890.12345678", "123456789012345678901234567890.12345678");
	/* Beyond 64 bits, where json-c would clamp. */
	parses("18446744073709551616", "18446744073709551616");
	parses("-9223372036854775809", "-9223372036854775809");

	refuses("", DEC_SYNTAX);
	refuses("-", DEC_SYNTAX);
	refuses("01", DEC_SYNTAX);
	refuses("1.", DEC_SYNTAX);
	refuses(".5", DEC_SYNTAX);
	refuses("1e", DEC_SYNTAX);
	refuses("+1", DEC_SYNTAX);
	refuses("1 ", DEC_SYNTAX);
	refuses("\"1\"", DEC_SYNTAX);
	refuses("NaN", DEC_SYNTAX);
	refuses("100000000000000000000000000000000000000", DEC_RANGE);	/* 39 digits */
	refuses("1e38", DEC_RANGE);
	refuses("1e-39", DEC_RANGE);
	refuses("1e99999", DEC_RANGE);

	sums("12.50", "1.5", "14.00");
	sums("0.1", "0.2", "0.3");
	sums("-5", "5", "0");
	sums("1.005", "-2", "-0.995");
	sums("150000.00", "50000.00", "200000.00");
	sums("18446744073709551615", "1", "18446744073709551616");

	dec_parse(&big, "99999999999999999999999999999999999999", 38);
	dec_parse(&a, "1", 1);
	b = big;
	ok(dec_add(&b, &a) == DEC_OVERFLOW && strcmp(fmt(&b), "99999999999999999999999999999999999999") == 0,
	    "overflow is reported, and the sum is left as it was");
	dec_parse(&b, "1.5", 3);
	a = big;
	ok(dec_add(&a, &b) == DEC_OVERFLOW, "aligning scales past 38 digits is an overflow");

	dec_parse(&a, "2.50", 4);
	dec_parse(&b, "2.5", 3);
	ok(dec_cmp(&a, &b) == 0, "2.50 == 2.5");
	dec_parse(&b, "-3", 2);
	ok(dec_cmp(&a, &b) == 1 && dec_cmp(&b, &a) == -1, "2.50 > -3");
	dec_parse(&b, "0.00000000000000000000000000000000000001", 40);
	ok(dec_cmp(&big, &b) == 1 && dec_cmp(&b, &big) == -1, "comparing values too far apart to align");

	/* Averages: half away from zero, like Spark's HALF_UP on decimals. */
	divides("10", 4, 4, "2.5000");
	divides("2.00", 3, 4, "0.666667");
	divides("1.00", 3, 4, "0.333333");
	divides("-2.00", 3, 4, "-0.666667");
	divides("0.000005", 10, 0, "0.000001");	/* 0.0000005 rounds up */
	divides("-0.000005", 10, 0, "-0.000001");
	divides("0.000004", 10, 0, "0.000000");	/* the scale is kept */
	divides("18446744073709551616", 18446744073709551615ULL, 4, "1.0000");
	divides("99999999999999999999999999999999999999", 1, 4, "99999999999999999999999999999999999999");
	divides("99999999999999999999999999999999999999", 2, 4, "50000000000000000000000000000000000000");
	dec_parse(&a, "5", 1);
	ok(dec_div_u64(&b, &a, 0, 4) == DEC_RANGE, "division by zero is refused");

	floors("1795654222", 3, 1795654222000LL);
	floors("1795654222.5", 3, 1795654222500LL);
	floors("1795654222.9999", 3, 1795654222999LL);
	floors("-1.0001", 3, -1001);
	floors("-0.5", 0, -1);
	floors("0.00000000000000000000000000000000000001", 0, 0);
	floors("-0.00000000000000000000000000000000000001", 0, -1);
	floors("9223372036854775807", 0, INT64_MAX);
	dec_parse(&a, "9223372036854775808", 19);
	ok(dec_to_i64(&a, 0, &(long long){ 0 }) == DEC_RANGE, "beyond 64 bits is out of range");
	dec_parse(&a, "9223372036854775807", 19);
	ok(dec_to_i64(&a, 3, &(long long){ 0 }) == DEC_RANGE, "and so is a shift past it");

	against_python();
	return tap_done();
}

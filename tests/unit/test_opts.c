/* opts: duration and number parsing (txstream(7), Command line). */
#include "config.h"

#include <math.h>
#include <stdint.h>

#include "lib/opts.h"
#include "tap.h"

static void
duration_is(const char *s, double want)
{
	double got = -1;

	ok(opts_duration(s, &got) == 0 && fabs(got - want) < 1e-9,
	    "duration '%s' is %g s (got %g)", s, want, got);
}

static void
duration_bad(const char *s)
{
	double got = 42;

	ok(opts_duration(s, &got) == -1 && got == 42, "duration '%s' is refused", s);
}

int
main(void)
{
	uint64_t u = 7;
	double r = -1;

	duration_is("10", 10);
	duration_is("0", 0);
	duration_is("250ms", 0.25);
	duration_is("1.5s", 1.5);
	duration_is("0.5s", 0.5);
	duration_is(".5s", 0.5);
	duration_is("2m", 120);
	duration_is("1.5h", 5400);
	duration_is("3.", 3);
	duration_bad("");
	duration_bad("s");
	duration_bad("-1s");
	duration_bad("+1s");
	duration_bad("1e3");
	duration_bad("1x");
	duration_bad("1 s");
	duration_bad(" 1s");
	duration_bad("1.2.3s");
	duration_bad("0x10");
	duration_bad("inf");
	duration_bad("nan");
	duration_bad("1d");
	duration_bad("1sec");

	ok(opts_uint("42", 0, 100, &u) == 0 && u == 42, "uint 42");
	ok(opts_uint("18446744073709551615", 0, UINT64_MAX, &u) == 0 && u == UINT64_MAX, "uint at UINT64_MAX");
	u = 7;
	ok(opts_uint("18446744073709551616", 0, UINT64_MAX, &u) == -1 && u == 7, "uint overflow refused");
	ok(opts_uint("-1", 0, 100, &u) == -1, "uint negative refused");
	ok(opts_uint("101", 0, 100, &u) == -1, "uint above max refused");
	ok(opts_uint("0", 1, 100, &u) == -1, "uint below min refused");
	ok(opts_uint("12x", 0, 100, &u) == -1, "uint trailing garbage refused");
	ok(opts_uint("", 0, 100, &u) == -1, "uint empty refused");
	ok(opts_uint(" 1", 0, 100, &u) == -1, "uint leading space refused");

	ok(opts_rate("30", &r) == 0 && r == 30, "rate 30");
	ok(opts_rate("0.5", &r) == 0 && r == 0.5, "rate 0.5");
	ok(opts_rate("0", &r) == 0 && r == 0, "rate 0");
	ok(opts_rate("abc", &r) == -1, "rate abc refused");
	ok(opts_rate("-3", &r) == -1, "rate -3 refused");
	ok(opts_rate("3s", &r) == -1, "rate with a unit refused");
	return tap_done();
}

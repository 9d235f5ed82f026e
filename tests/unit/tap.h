/*
 * tap: the smallest Test Anything Protocol producer, for tests/unit/.
 * ok() prints one test point; tap_done() prints the plan and returns the
 * exit status Automake's TAP driver expects (the plan is checked there).
 */
#ifndef TXS_TAP_H
#define TXS_TAP_H

#include <stdio.h>

static int tap_n, tap_failed;

#define ok(cond, ...) do { \
	int ok_c = (cond); \
	printf("%sok %d - ", ok_c ? "" : "not ", ++tap_n); \
	printf(__VA_ARGS__); \
	putchar('\n'); \
	if (!ok_c) { \
		tap_failed++; \
		printf("# failed at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
	} \
} while (0)

static inline int
tap_done(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

#endif

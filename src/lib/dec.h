/*
 * dec: exact decimal numbers for sums, as 128-bit scaled integers.
 *
 * A dec is coef × 10^-scale, with |coef| < 10^38 and 0 <= scale <= 38:
 * 38 significant digits, no binary floating point anywhere. Parsing takes
 * JSON number text as it is (exponents included) and refuses what does
 * not fit rather than rounding it; adding keeps the larger scale (12.50 +
 * 1.5 = 14.00, as SQL decimals do) and reports overflow instead of
 * wrapping. Formatting writes plain decimal text without an exponent.
 *
 * No allocation, no global state: thread-safe.
 */
#ifndef TXS_DEC_H
#define TXS_DEC_H

#include <stdbool.h>
#include <stddef.h>

#define DEC_MAX_DIGITS 38
#define DEC_MAX_SCALE 38
#define DEC_STR_MAX 42	/* sign, 38 digits, point, leading "0" */

struct dec {
	__int128 coef;
	int scale;
};

enum dec_status {
	DEC_OK = 0,
	DEC_SYNTAX,	/* not a JSON number */
	DEC_RANGE,	/* more than 38 significant digits, or scale beyond 38 */
	DEC_OVERFLOW,	/* a result beyond 38 digits */
};

/* JSON number text, len bytes (need not be NUL-terminated). */
enum dec_status dec_parse(struct dec *d, const char *s, size_t len);
/* *acc += v. On overflow *acc is unchanged. */
enum dec_status dec_add(struct dec *acc, const struct dec *v);
/* -1, 0 or 1, as a < b, a == b, a > b (scales may differ). */
int dec_cmp(const struct dec *a, const struct dec *b);
/*
 * *q = a / n (n > 0) with scale decimal places, rounded half away from
 * zero; fewer places when the quotient would not fit in 38 digits at that
 * scale (never fewer than a's). For averages: scale is a->scale + 4.
 */
enum dec_status dec_div_u64(struct dec *q, const struct dec *a, unsigned long long n, int scale);
/* floor(d × 10^shift) as a 64-bit integer; DEC_RANGE when it does not fit. */
enum dec_status dec_to_i64(const struct dec *d, int shift, long long *out);
/* Plain text into dst (at least DEC_STR_MAX bytes); returns its length. */
size_t dec_format(const struct dec *d, char *dst);
const char *dec_strerror(enum dec_status s);

#endif

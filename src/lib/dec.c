#include "config.h"

#include <stdint.h>
#include <string.h>

#include "dec.h"

/* 10^38 - 1: the largest coefficient. */
#define COEF_MAX ((__int128)(((unsigned __int128)0x4b3b4ca85a86c47aULL << 64) | 0x098a223fffffffffULL))

static __int128
pow10_i128(int n)
{
	__int128 p = 1;

	while (n-- > 0)
		p *= 10;
	return p;
}

const char *
dec_strerror(enum dec_status s)
{
	switch (s) {
	case DEC_OK: return "ok";
	case DEC_SYNTAX: return "not a number";
	case DEC_RANGE: return "more than 38 significant digits or decimal places";
	case DEC_OVERFLOW: return "result beyond 38 digits";
	}
	return "?";
}

/*
 * The usual number, "-123.45": no exponent, at most 18 digits, so the
 * coefficient fits in 64 bits on the way. Returns false to hand anything
 * else to the general parser.
 */
static bool
parse_short(struct dec *d, const char *s, size_t len)
{
	const char *p = s, *end = s + len;
	uint64_t coef = 0;
	int frac = 0;
	bool neg = false;

	if (len > 19)
		return false;
	if (p < end && *p == '-')
		neg = true, p++;
	if (p >= end || *p < '0' || *p > '9' || (*p == '0' && p + 1 < end && p[1] >= '0' && p[1] <= '9'))
		return false;
	for (; p < end && *p >= '0' && *p <= '9'; p++)
		coef = coef * 10 + (uint64_t)(*p - '0');
	if (p < end && *p == '.') {
		if (++p >= end)
			return false;
		for (; p < end && *p >= '0' && *p <= '9'; p++, frac++)
			coef = coef * 10 + (uint64_t)(*p - '0');
		if (frac == 0)
			return false;
	}
	if (p != end)
		return false;
	d->coef = neg ? -(__int128)coef : (__int128)coef;
	d->scale = frac;
	return true;
}

enum dec_status
dec_parse(struct dec *d, const char *s, size_t len)
{
	const char *p = s, *end = s + len;
	bool neg = false, any = false;
	__int128 coef = 0;
	int digits = 0, frac = 0;
	long exp = 0;

	if (parse_short(d, s, len))
		return DEC_OK;
	if (p < end && *p == '-')
		neg = true, p++;
	if (p >= end || *p < '0' || *p > '9' || (*p == '0' && p + 1 < end && p[1] >= '0' && p[1] <= '9'))
		return DEC_SYNTAX;
	for (; p < end && *p >= '0' && *p <= '9'; p++) {
		if (digits || *p != '0')
			digits++;
		if (digits > DEC_MAX_DIGITS)
			return DEC_RANGE;
		coef = coef * 10 + (*p - '0');
		any = true;
	}
	if (p < end && *p == '.') {
		if (++p >= end || *p < '0' || *p > '9')
			return DEC_SYNTAX;
		for (; p < end && *p >= '0' && *p <= '9'; p++) {
			if (digits || *p != '0')
				digits++;
			if (digits > DEC_MAX_DIGITS || frac > 100000)
				return DEC_RANGE;
			coef = coef * 10 + (*p - '0');
			frac++;
		}
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		bool eneg = false;

		if (++p < end && (*p == '+' || *p == '-'))
			eneg = *p++ == '-';
		if (p >= end || *p < '0' || *p > '9')
			return DEC_SYNTAX;
		for (; p < end && *p >= '0' && *p <= '9'; p++)
			if ((exp = exp * 10 + (*p - '0')) > 10000)
				return DEC_RANGE;
		if (eneg)
			exp = -exp;
	}
	if (p != end || !any)
		return DEC_SYNTAX;
	/* value = coef × 10^(exp - frac) */
	long scale = frac - exp;

	if (scale < 0) {
		if (coef != 0 && digits - scale > DEC_MAX_DIGITS)
			return DEC_RANGE;
		coef = coef == 0 ? 0 : coef * pow10_i128((int)-scale);
		scale = 0;
	} else if (scale > DEC_MAX_SCALE) {
		return DEC_RANGE;
	}
	d->coef = neg ? -coef : coef;
	d->scale = (int)scale;
	return DEC_OK;
}

/* coef × 10^n, or false when beyond 38 digits. */
static bool
upscale(__int128 coef, int n, __int128 *out)
{
	for (; n > 0; n--) {
		if (coef > COEF_MAX / 10 || coef < -(COEF_MAX / 10))
			return false;
		coef *= 10;
	}
	*out = coef;
	return true;
}

enum dec_status
dec_add(struct dec *acc, const struct dec *v)
{
	__int128 a = acc->coef, b = v->coef, sum;
	int scale = acc->scale > v->scale ? acc->scale : v->scale;

	if (!upscale(a, scale - acc->scale, &a) || !upscale(b, scale - v->scale, &b))
		return DEC_OVERFLOW;
	sum = a + b;	/* |a|, |b| < 10^38 < 2^127 / 2: cannot wrap */
	if (sum > COEF_MAX || sum < -COEF_MAX)
		return DEC_OVERFLOW;
	acc->coef = sum;
	acc->scale = scale;
	return DEC_OK;
}

int
dec_cmp(const struct dec *a, const struct dec *b)
{
	__int128 x = a->coef, y = b->coef;
	int scale = a->scale > b->scale ? a->scale : b->scale;

	/* Beyond 38 digits when aligned: the one that would overflow is larger in size. */
	if (!upscale(x, scale - a->scale, &x))
		return x < 0 ? -1 : 1;
	if (!upscale(y, scale - b->scale, &y))
		return y < 0 ? 1 : -1;
	return (x > y) - (x < y);
}

enum dec_status
dec_div_u64(struct dec *q, const struct dec *a, unsigned long long n, int scale)
{
	unsigned __int128 u = a->coef < 0 ? -(unsigned __int128)a->coef : (unsigned __int128)a->coef;
	unsigned __int128 quot, rem;
	int s = a->scale;

	if (n == 0 || scale > DEC_MAX_SCALE)
		return DEC_RANGE;
	quot = u / n;
	rem = u % n;
	/* Long division, a digit at a time: rem < n < 2^64, so rem × 10 cannot wrap. */
	for (; s < scale && quot <= (unsigned __int128)COEF_MAX / 10; s++) {
		rem *= 10;
		quot = quot * 10 + rem / n;
		rem %= n;
	}
	if (rem >= n - rem)	/* rem / n >= 1/2 */
		quot++;
	if (quot > (unsigned __int128)COEF_MAX)
		return DEC_OVERFLOW;
	q->coef = a->coef < 0 ? -(__int128)quot : (__int128)quot;
	q->scale = s;
	return DEC_OK;
}

enum dec_status
dec_to_i64(const struct dec *d, int shift, long long *out)
{
	__int128 v = d->coef;
	int s = d->scale - shift;	/* value = v × 10^-s */

	if (s < 0) {
		if (!upscale(v, -s, &v))
			return DEC_RANGE;
	} else if (s > 0) {
		__int128 p = s > DEC_MAX_DIGITS ? 0 : pow10_i128(s);

		if (p == 0) {
			v = v < 0 ? -1 : 0;
		} else {
			__int128 f = v / p;

			if (v % p != 0 && v < 0)
				f--;	/* floor, not truncation */
			v = f;
		}
	}
	if (v > INT64_MAX || v < INT64_MIN)
		return DEC_RANGE;
	*out = (long long)v;
	return DEC_OK;
}

size_t
dec_format(const struct dec *d, char *dst)
{
	char tmp[DEC_STR_MAX];
	size_t i = sizeof(tmp), n;
	unsigned __int128 u = d->coef < 0 ? -(unsigned __int128)d->coef : (unsigned __int128)d->coef;
	int digits = 0;

	do {
		tmp[--i] = (char)('0' + (int)(u % 10));
		u /= 10;
		if (++digits == d->scale)
			tmp[--i] = '.';
	} while (u != 0 || digits < d->scale);
	if (tmp[i] == '.')
		tmp[--i] = '0';
	if (d->coef < 0)
		tmp[--i] = '-';
	n = sizeof(tmp) - i;
	memcpy(dst, tmp + i, n);
	return n;
}

#include "config.h"

#include <string.h>

#include "jsonw.h"

/* Two digits at a time: half the divisions of the naive loop. */
static const char digit_pairs[] =
	"00010203040506070809101112131415161718192021222324252627282930313233343536373839"
	"40414243444546474849505152535455565758596061626364656667686970717273747576777879"
	"8081828384858687888990919293949596979899";

size_t
jw_u64(char *dst, uint64_t v)
{
	char tmp[JW_U64_MAX];
	size_t i = sizeof(tmp), n;

	while (v >= 100) {
		unsigned d = (unsigned)(v % 100) * 2;

		v /= 100;
		tmp[--i] = digit_pairs[d + 1];
		tmp[--i] = digit_pairs[d];
	}
	if (v >= 10) {
		unsigned d = (unsigned)v * 2;

		tmp[--i] = digit_pairs[d + 1];
		tmp[--i] = digit_pairs[d];
	} else {
		tmp[--i] = (char)('0' + v);
	}
	n = sizeof(tmp) - i;
	memcpy(dst, tmp + i, n);
	return n;
}

size_t
jw_i64(char *dst, int64_t v)
{
	if (v < 0) {
		dst[0] = '-';
		/* Negate in unsigned arithmetic: -INT64_MIN does not fit. */
		return 1 + jw_u64(dst + 1, (uint64_t)0 - (uint64_t)v);
	}
	return jw_u64(dst, (uint64_t)v);
}

size_t
jw_string(char *dst, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	char *p = dst;

	*p++ = '"';
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		switch (c) {
		case '"':  *p++ = '\\'; *p++ = '"'; break;
		case '\\': *p++ = '\\'; *p++ = '\\'; break;
		case '\b': *p++ = '\\'; *p++ = 'b'; break;
		case '\f': *p++ = '\\'; *p++ = 'f'; break;
		case '\n': *p++ = '\\'; *p++ = 'n'; break;
		case '\r': *p++ = '\\'; *p++ = 'r'; break;
		case '\t': *p++ = '\\'; *p++ = 't'; break;
		default:
			if (c < 0x20 || c == 0x7f) {
				memcpy(p, JW_LIT("\\u00"));
				p[4] = hex[c >> 4];
				p[5] = hex[c & 15];
				p += 6;
			} else {
				*p++ = (char)c;
			}
		}
	}
	*p++ = '"';
	return (size_t)(p - dst);
}

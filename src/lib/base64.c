#include "config.h"

#include <stdint.h>

#include "base64.h"

static const char alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t
base64_encode(char *dst, const void *src, size_t len)
{
	const unsigned char *s = src;
	char *o = dst;
	size_t i = 0;

	for (; i + 3 <= len; i += 3) {
		uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];

		*o++ = alphabet[v >> 18];
		*o++ = alphabet[(v >> 12) & 63];
		*o++ = alphabet[(v >> 6) & 63];
		*o++ = alphabet[v & 63];
	}
	if (len - i == 1) {
		uint32_t v = (uint32_t)s[i] << 16;

		*o++ = alphabet[v >> 18];
		*o++ = alphabet[(v >> 12) & 63];
		*o++ = '=';
		*o++ = '=';
	} else if (len - i == 2) {
		uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8;

		*o++ = alphabet[v >> 18];
		*o++ = alphabet[(v >> 12) & 63];
		*o++ = alphabet[(v >> 6) & 63];
		*o++ = '=';
	}
	return (size_t)(o - dst);
}

static int
sextet(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

ssize_t
base64_decode(void *dst, const char *src, size_t len)
{
	unsigned char *o = dst;

	if (len % 4 != 0)
		return -1;
	for (size_t i = 0; i < len; i += 4) {
		int a = sextet(src[i]), b = sextet(src[i + 1]);
		int c = src[i + 2] == '=' ? 0 : sextet(src[i + 2]);
		int d = src[i + 3] == '=' ? 0 : sextet(src[i + 3]);
		int pad = (src[i + 3] == '=') + (src[i + 2] == '=');
		uint32_t v;

		/* Padding only at the very end, and "x=y=" is not padding. */
		if (a < 0 || b < 0 || c < 0 || d < 0 || (pad && i + 4 != len) ||
		    (src[i + 2] == '=' && src[i + 3] != '='))
			return -1;
		v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 | (uint32_t)d;
		*o++ = (unsigned char)(v >> 16);
		if (pad < 2)
			*o++ = (unsigned char)(v >> 8);
		if (pad < 1)
			*o++ = (unsigned char)v;
	}
	return (ssize_t)(o - (unsigned char *)dst);
}

/*
 * base64: RFC 4648 base64 (standard alphabet, '=' padding), for the
 * envelope's key_base64 and value_base64 members (txstream(7), Envelope).
 * Callers size dst with the macros. No state: thread-safe.
 */
#ifndef TXS_BASE64_H
#define TXS_BASE64_H

#include <stddef.h>
#include <sys/types.h>

#define BASE64_ENCODED_LEN(n) (((n) + 2) / 3 * 4)
#define BASE64_DECODED_MAX(n) ((n) / 4 * 3 + 3)

size_t base64_encode(char *dst, const void *src, size_t len);
/* Returns the decoded length, or -1 for text that is not padded base64. */
ssize_t base64_decode(void *dst, const char *src, size_t len);

#endif

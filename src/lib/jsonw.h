/*
 * jsonw: the few pieces of JSON text every program writes, done by hand
 * because printf of numbers and a DOM per record are the slow part of a
 * hot loop.
 *
 * All functions write into a caller's buffer that is large enough (the
 * JW_*_MAX bounds say how large) and return the number of bytes written.
 * Nothing is NUL-terminated. No allocation, no global state: thread-safe.
 */
#ifndef TXS_JSONW_H
#define TXS_JSONW_H

#include <stddef.h>
#include <stdint.h>

#define JW_U64_MAX 20		/* digits in UINT64_MAX */
#define JW_I64_MAX 20		/* "-9223372036854775808" */

/*
 * A string literal and its length, counted by the compiler:
 * lw_write(w, JW_LIT("{\"brokers\":[")) rather than a length by hand.
 */
#define JW_LIT(s) ("" s), (sizeof(s) - 1)

size_t jw_u64(char *dst, uint64_t v);
size_t jw_i64(char *dst, int64_t v);

/*
 * A JSON string, quotes included, from len bytes of UTF-8 at s. Control
 * characters are escaped (\n \t ... or \u00XX), as are '"' and '\\'.
 * Bytes >= 0x80 pass through: callers check UTF-8 where it matters.
 * dst needs at most jw_string_max(len) bytes.
 */
size_t jw_string(char *dst, const char *s, size_t len);
#define jw_string_max(len) (6 * (len) + 2)

#endif

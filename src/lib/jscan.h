/*
 * jscan: a validating single-pass JSON scanner for one record (RFC 8259).
 *
 * jscan() checks that a buffer holds exactly one JSON text (whitespace
 * around it allowed) and, on the way, notes where the values at a few
 * dotted paths ("userId", "value.amount") are, without building a tree
 * and without allocating: the hot path of a filter that needs two fields
 * out of every line. Strings must be valid UTF-8 with well-formed escapes
 * (a \u surrogate escape only as half of a pair: "\ud800" is refused),
 * numbers follow the JSON grammar, nesting deeper than JSCAN_MAX_DEPTH is
 * refused. Paths descend through objects only, not arrays. When a key is
 * repeated, the last value wins (as in json-c).
 *
 * Found values are spans of the input: the raw text, quotes included for
 * strings; jscan_string() decodes a string span. A path of no parts (a
 * zeroed struct jpath) finds the whole text, so one scan also says what
 * kind of value a line holds. jmembers walks an object's members in
 * order, for callers that need every key rather than a few known ones.
 * No global state: thread-safe. The input need not be NUL-terminated.
 */
#ifndef TXS_JSCAN_H
#define TXS_JSCAN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define JSCAN_MAX_DEPTH 64	/* nested objects and arrays */
#define JPATH_MAX_PARTS 8	/* components of a dotted path */
#define JSCAN_MAX_PATHS 64	/* paths looked for in one scan */

enum jtype {
	JT_NONE = 0,		/* not present */
	JT_NULL, JT_FALSE, JT_TRUE, JT_NUMBER, JT_STRING, JT_ARRAY, JT_OBJECT,
};

struct jspan {
	enum jtype type;
	const char *p;		/* raw text in the scanned buffer */
	size_t len;
};

struct jpath {
	size_t n;
	const char *part[JPATH_MAX_PARTS];
	size_t len[JPATH_MAX_PARTS];
};

struct jscan_error {
	size_t offset;		/* byte offset of the problem */
	const char *reason;	/* static text */
};

/* Split "a.b.c" into parts pointing into dotted (which must outlive p). */
int jpath_parse(struct jpath *p, const char *dotted);

/*
 * Scan len bytes at s. For each of the npaths paths, out[i] is the value
 * found there, or JT_NONE. Returns 0 for valid JSON, -1 with *err set.
 */
int jscan(const char *s, size_t len, const struct jpath *paths, size_t npaths,
    struct jspan *out, struct jscan_error *err);

/*
 * Decode a JT_STRING span into dst (at most span->len bytes are needed);
 * returns the decoded length. The span must come from a successful scan.
 * It never holds a lone surrogate: jscan() refuses a surrogate escape
 * that is not half of a pair, so the result is always UTF-8.
 */
size_t jscan_string(const struct jspan *v, char *dst);

/*
 * A JT_NUMBER span that is a whole number from 0 to max, digits only (no
 * sign, fraction or exponent), such as an envelope's partition or
 * offset. Returns 0 with *out set, or -1.
 */
int jscan_uint(const struct jspan *v, uint64_t max, uint64_t *out);

const char *jtype_name(enum jtype t);

/*
 * The members of a JT_OBJECT span from a successful scan, in the order
 * they are written, repeated keys included (the caller decides which
 * wins). jmembers_next() gives the next key (a JT_STRING span, quotes
 * included: decode it with jscan_string) and its value, and returns 1,
 * or 0 after the last member.
 */
struct jmembers {
	const char *p, *end;
};

void jmembers_init(struct jmembers *it, const struct jspan *obj);
int jmembers_next(struct jmembers *it, struct jspan *key, struct jspan *val);
/* The elements of a JT_ARRAY span, the same way (jmembers_init() starts it): 1 and the next in *val, or 0. */
int jelems_next(struct jmembers *it, struct jspan *val);

/* Is s[0..len) well-formed UTF-8 (no overlongs, surrogates or > U+10FFFF)? */
int utf8_valid(const char *s, size_t len);

#endif

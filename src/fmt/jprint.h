/*
 * jprint: a JSON text written again for people, token by token: compact
 * or indented, optionally in color, without building a tree.
 *
 * Only the whitespace between tokens changes. Numbers and strings are
 * copied as they were written, so 2.50 stays 2.50, 1e400 and
 * 123456789012345678901234567890 are not rounded, and "\u00e9" keeps its
 * escape: what comes out is the same JSON value, byte for byte in every
 * token. An empty object or array is written {} or [].
 *
 * The text must have passed jscan() first: nothing is checked again.
 * No allocation, no global state: thread-safe.
 */
#ifndef TXS_JPRINT_H
#define TXS_JPRINT_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/lineio.h"

#define JPRINT_MAX_INDENT 8	/* spaces per level */

struct jprint_style {
	int indent;		/* spaces per level, up to JPRINT_MAX_INDENT; 0: compact */
	bool color;		/* ANSI colors (SGR) around keys and values */
};

/* Write the text s[0..len) to w, with no newline after it. Returns 0, or -1 once w failed. */
int jprint(struct lwriter *w, const struct jprint_style *style, const char *s, size_t len);

/*
 * An object of members written as jprint() writes one, without building
 * its text: each key an encoded JSON string (quotes included), each value
 * a text that passed jscan() at a depth below JSCAN_MAX_DEPTH. jprint()
 * of "{" key ":" value "," ... "}" writes the same bytes.
 */
struct jprint_member {
	const char *key, *value;
	size_t key_len, value_len;
};

int jprint_members(struct lwriter *w, const struct jprint_style *style, const struct jprint_member *m, size_t n);

/* The compact form, without color, into dst (len bytes suffice); returns its length. */
size_t jprint_compact(char *dst, const char *s, size_t len);

#endif

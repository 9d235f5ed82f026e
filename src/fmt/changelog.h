/*
 * changelog: the latest line per key of a stream of updates, such as a
 * compacted Kafka topic or jagg's output, where the last record per key
 * is the answer (txstream(7), Aggregate record), kept in key order for display.
 *
 * A key is a byte string with a kind (its JSON type, so that "1" and 1
 * stay apart), ordered as cell_natcmp() orders text (user_2 before
 * user_10), then by kind. Keys and lines are copied. A lookup is a
 * binary search; a new key moves the entries after it.
 *
 * Not thread-safe. changelog_put() returns 0, or -1 with errno ENOMEM,
 * leaving the changelog as it was.
 */
#ifndef TXS_CHANGELOG_H
#define TXS_CHANGELOG_H

#include <stddef.h>

struct changelog_entry {
	char *key;
	size_t keylen;
	int kind;
	char *line;
	size_t len;
};

struct changelog {
	struct changelog_entry *e;	/* in key order */
	size_t n, cap;
};

int changelog_put(struct changelog *c, const char *key, size_t keylen, int kind, const char *line, size_t len);
void changelog_free(struct changelog *c);

#endif

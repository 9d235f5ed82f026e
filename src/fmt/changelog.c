#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fmt/cells.h"
#include "fmt/changelog.h"
#include "lib/grow.h"

#define CHANGELOG_INITIAL_CAP 64	/* entries */

static int
cmp(const struct changelog_entry *e, const char *key, size_t keylen, int kind)
{
	int c = cell_natcmp(e->key, e->keylen, key, keylen);

	return c != 0 ? c : (e->kind > kind) - (e->kind < kind);
}

/* Where key is, or would go: the first entry not before it. */
static size_t
find(const struct changelog *c, const char *key, size_t keylen, int kind)
{
	size_t lo = 0, hi = c->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (cmp(&c->e[mid], key, keylen, kind) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int
changelog_put(struct changelog *c, const char *key, size_t keylen, int kind, const char *line, size_t len)
{
	size_t i = find(c, key, keylen, kind);
	struct changelog_entry *e;
	char *copy = malloc(len ? len : 1), *kcopy;

	if (!copy)
		return -1;
	memcpy(copy, line, len);
	if (i < c->n && cmp(&c->e[i], key, keylen, kind) == 0) {
		e = &c->e[i];
		free(e->line);
		e->line = copy;
		e->len = len;
		return 0;
	}
	if (grow(&c->e, &c->cap, c->n + 1, sizeof(*c->e), CHANGELOG_INITIAL_CAP) < 0) {
		free(copy);
		return -1;
	}
	if (!(kcopy = malloc(keylen ? keylen : 1))) {
		free(copy);
		return -1;
	}
	memcpy(kcopy, key, keylen);
	memmove(&c->e[i + 1], &c->e[i], (c->n - i) * sizeof(*c->e));
	c->n++;
	c->e[i] = (struct changelog_entry){ kcopy, keylen, kind, copy, len };
	return 0;
}

void
changelog_free(struct changelog *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->e[i].key);
		free(c->e[i].line);
	}
	free(c->e);
	memset(c, 0, sizeof(*c));
}

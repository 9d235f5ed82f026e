#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/atomicfile.h"
#include "lib/grow.h"
#include "lib/offsets.h"
#include "pub/frontier.h"

struct inflight {
	int64_t offset;
	bool done;
};

struct source {
	char *topic;
	size_t len;
	int32_t partition;
	struct inflight *q;	/* in offset order; live entries are q[head..tail) */
	size_t head, tail, cap;
	int64_t next;		/* one past the last offset added */
};

struct frontier {
	char *path;
	struct offsets *base;	/* what the file held, for partitions not seen */
	struct source *s;
	size_t n, cap;
};

struct frontier *
frontier_new(const char *path, char *why, size_t whysize)
{
	struct frontier *f = calloc(1, sizeof(*f));

	if (!f || !(f->path = strdup(path)) || !(f->base = offsets_new())) {
		snprintf(why, whysize, "out of memory");
		frontier_free(f);
		return NULL;
	}
	if (offsets_read_file(f->base, path, why, whysize) < 0) {
		frontier_free(f);
		return NULL;
	}
	return f;
}

void
frontier_free(struct frontier *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->n; i++) {
		free(f->s[i].topic);
		free(f->s[i].q);
	}
	free(f->s);
	offsets_free(f->base);
	free(f->path);
	free(f);
}

static long
source_of(struct frontier *f, const char *topic, size_t len, int32_t partition)
{
	struct source *s;

	for (size_t i = 0; i < f->n; i++)
		if (f->s[i].partition == partition && f->s[i].len == len && memcmp(f->s[i].topic, topic, len) == 0)
			return (long)i;
	if (grow(&f->s, &f->cap, f->n + 1, sizeof(*f->s), 8) < 0)
		return -1;
	s = &f->s[f->n];
	memset(s, 0, sizeof(*s));
	if (!(s->topic = malloc(len + 1)))
		return -1;
	memcpy(s->topic, topic, len);
	s->topic[len] = '\0';
	s->len = len;
	s->partition = partition;
	s->next = -1;
	return (long)f->n++;
}

long
frontier_add(struct frontier *f, const char *topic, size_t len, int32_t partition, int64_t offset)
{
	long h = source_of(f, topic, len, partition);
	struct source *s;

	if (h < 0)
		return -1;
	s = &f->s[h];
	if (s->tail == s->cap) {
		/* Slide the live entries down before growing. */
		if (s->head > 0) {
			memmove(s->q, s->q + s->head, (s->tail - s->head) * sizeof(*s->q));
			s->tail -= s->head;
			s->head = 0;
		}
		if (grow(&s->q, &s->cap, s->tail + 1, sizeof(*s->q), 256) < 0)
			return -1;
	}
	s->q[s->tail++] = (struct inflight){ offset, false };
	if (offset + 1 > s->next)
		s->next = offset + 1;
	return h;
}

void
frontier_done(struct frontier *f, long h, int64_t offset)
{
	struct source *s = &f->s[h];
	size_t lo = s->head, hi = s->tail;

	/* Binary search: offsets were added in order. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->q[mid].offset < offset)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < s->tail && s->q[lo].offset == offset; lo++)
		if (!s->q[lo].done) {
			s->q[lo].done = true;
			break;
		}
	while (s->head < s->tail && s->q[s->head].done)
		s->head++;
}

int
frontier_save(struct frontier *f)
{
	struct afile a;
	int e;

	/* The file's partitions first, then what this run has: the lowest not done. */
	for (size_t i = 0; i < f->n; i++) {
		struct source *s = &f->s[i];
		long long *slot = offsets_slot(f->base, s->topic, s->len, s->partition);

		if (!slot)
			return errno = ENOMEM, -1;
		*slot = s->head < s->tail ? s->q[s->head].offset : s->next;
	}
	if (afile_open(&a, f->path) < 0)
		return -1;
	fputs("{\"offsets\":", a.f);
	if (offsets_write(f->base, a.f) < 0 || fputs("}\n", a.f) == EOF) {
		e = errno;
		afile_abort(&a);
		errno = e;
		return -1;
	}
	return afile_commit(&a);
}

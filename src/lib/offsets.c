#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <json-c/json.h>

#include "grow.h"
#include "jsonw.h"
#include "offsets.h"

struct entry {
	char *topic;
	size_t len;
	int32_t partition;
	long long next;
};

struct offsets {
	struct entry *e;
	size_t n, cap;
	size_t hit;		/* index of the last entry found */
};

struct offsets *
offsets_new(void)
{
	return calloc(1, sizeof(struct offsets));
}

void
offsets_free(struct offsets *o)
{
	if (!o)
		return;
	for (size_t i = 0; i < o->n; i++)
		free(o->e[i].topic);
	free(o->e);
	free(o);
}

size_t
offsets_count(const struct offsets *o)
{
	return o->n;
}

static int
matches(const struct entry *e, const char *topic, size_t len, int32_t partition)
{
	return e->partition == partition && e->len == len && memcmp(e->topic, topic, len) == 0;
}

static struct entry *
find(const struct offsets *o, const char *topic, size_t len, int32_t partition)
{
	if (o->hit < o->n && matches(&o->e[o->hit], topic, len, partition))
		return &o->e[o->hit];
	for (size_t i = 0; i < o->n; i++)
		if (matches(&o->e[i], topic, len, partition)) {
			((struct offsets *)o)->hit = i;	/* a cache, not state */
			return &o->e[i];
		}
	return NULL;
}

long long *
offsets_slot(struct offsets *o, const char *topic, size_t len, int32_t partition)
{
	struct entry *e = find(o, topic, len, partition);

	if (e)
		return &e->next;
	if (grow(&o->e, &o->cap, o->n + 1, sizeof(*o->e), 16) < 0)
		return NULL;
	e = &o->e[o->n];
	if (!(e->topic = malloc(len + 1)))
		return NULL;
	memcpy(e->topic, topic, len);
	e->topic[len] = '\0';
	e->len = len;
	e->partition = partition;
	e->next = -1;
	o->hit = o->n++;
	return &e->next;
}

long long
offsets_get(const struct offsets *o, const char *topic, int32_t partition)
{
	const struct entry *e = find(o, topic, strlen(topic), partition);

	return e ? e->next : -1;
}

static int
by_topic_partition(const void *a, const void *b)
{
	const struct entry *x = *(const struct entry *const *)a, *y = *(const struct entry *const *)b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->topic, y->topic, n);

	if (c == 0 && x->len != y->len)
		c = x->len < y->len ? -1 : 1;
	return c ? c : (x->partition > y->partition) - (x->partition < y->partition);
}

int
offsets_write(const struct offsets *o, FILE *f)
{
	const struct entry **sorted = malloc((o->n ? o->n : 1) * sizeof(*sorted));
	const struct entry *prev = NULL;
	char *name = NULL;
	size_t namecap = 0;

	if (!sorted)
		return -1;
	for (size_t i = 0; i < o->n; i++)
		sorted[i] = &o->e[i];
	qsort(sorted, o->n, sizeof(*sorted), by_topic_partition);
	putc('{', f);
	for (size_t i = 0; i < o->n; i++) {
		const struct entry *e = sorted[i];

		if (e->next < 0)	/* seen, but nothing absorbed yet */
			continue;
		if (!prev || prev->len != e->len || memcmp(prev->topic, e->topic, e->len) != 0) {
			if (namecap < jw_string_max(e->len)) {
				char *nn = realloc(name, jw_string_max(e->len));

				if (!nn) {
					free(sorted);
					free(name);
					return -1;
				}
				name = nn;
				namecap = jw_string_max(e->len);
			}
			fprintf(f, "%s%.*s:{", prev ? "}," : "", (int)jw_string(name, e->topic, e->len), name);
		} else {
			putc(',', f);
		}
		fprintf(f, "\"%" PRId32 "\":%lld", e->partition, e->next);
		prev = e;
	}
	fputs(prev ? "}}" : "}", f);
	free(sorted);
	free(name);
	return ferror(f) ? -1 : 0;
}

int
offsets_from_json(struct offsets *o, struct json_object *value, char *why, size_t whysize)
{
	if (!json_object_is_type(value, json_type_object)) {
		snprintf(why, whysize, "\"offsets\" is not an object");
		return -1;
	}
	json_object_object_foreach(value, topic, parts) {
		if (!json_object_is_type(parts, json_type_object)) {
			snprintf(why, whysize, "offsets of topic \"%s\" are not an object", topic);
			return -1;
		}
		json_object_object_foreach(parts, pstr, off) {
			char *end;
			long p;
			int64_t v;
			long long *slot;

			errno = 0;
			p = strtol(pstr, &end, 10);
			if (errno || end == pstr || *end || p < 0 || p > INT32_MAX) {
				snprintf(why, whysize, "topic \"%s\": \"%s\" is not a partition number", topic, pstr);
				return -1;
			}
			if (!json_object_is_type(off, json_type_int) || (v = json_object_get_int64(off)) < 0) {
				snprintf(why, whysize, "topic \"%s\" partition %ld: the offset is not a whole "
				    "number >= 0", topic, p);
				return -1;
			}
			if (!(slot = offsets_slot(o, topic, strlen(topic), (int32_t)p))) {
				snprintf(why, whysize, "out of memory");
				return -1;
			}
			*slot = v;
		}
	}
	return 0;
}

int
offsets_read_file(struct offsets *o, const char *path, char *why, size_t whysize)
{
	struct json_object *root, *value;
	int rc;

	if (access(path, F_OK) != 0 && errno == ENOENT)
		return 0;
	if (!(root = json_object_from_file(path))) {
		const char *e = json_util_get_last_err();

		snprintf(why, whysize, "not a JSON offsets file: %.*s", e ? (int)strcspn(e, "\n") : 1, e ? e : "?");
		return -1;
	}
	if (!json_object_object_get_ex(root, "offsets", &value)) {
		json_object_put(root);
		snprintf(why, whysize, "no \"offsets\" member");
		return -1;
	}
	rc = offsets_from_json(o, value, why, whysize);
	json_object_put(root);
	return rc < 0 ? -1 : 1;
}

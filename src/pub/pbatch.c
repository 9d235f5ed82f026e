/*
 * pbatch: messages gathered by partition, handed to librdkafka a batch at
 * a time. See pbatch.h.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/grow.h"
#include "lib/stop.h"
#include "pub/pbatch.h"

#define PBATCH_INITIAL 256		/* messages a partition's array starts with */
#define PBATCH_KEYS_INITIAL 4096	/* bytes of keys */

/* librdkafka's key partitioners, by their "partitioner" property names. */
static const struct {
	const char *name;
	pbatch_partitioner *fn;
} partitioners[] = {
	{ "consistent_random", rd_kafka_msg_partitioner_consistent_random },
	{ "consistent", rd_kafka_msg_partitioner_consistent },
	{ "murmur2_random", rd_kafka_msg_partitioner_murmur2_random },
	{ "murmur2", rd_kafka_msg_partitioner_murmur2 },
	{ "fnv1a_random", rd_kafka_msg_partitioner_fnv1a_random },
	{ "fnv1a", rd_kafka_msg_partitioner_fnv1a },
};

/* The topic's partition count from metadata; 0 when it cannot be had. */
static int32_t
partition_count(rd_kafka_t *rk, rd_kafka_topic_t *rkt, int timeout_ms)
{
	const struct rd_kafka_metadata *md;
	int32_t n = 0;

	if (rd_kafka_metadata(rk, 0, rkt, &md, timeout_ms) != RD_KAFKA_RESP_ERR_NO_ERROR)
		return 0;
	if (md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR)
		n = md->topics[0].partition_cnt;
	rd_kafka_metadata_destroy(md);
	return n;
}

int
pbatch_init(struct pbatch *b, rd_kafka_t *rk, rd_kafka_topic_t *rkt, const char *partitioner,
    int timeout_ms, char *why, size_t whysize)
{
	memset(b, 0, sizeof(*b));
	why[0] = '\0';
	b->rk = rk;
	b->rkt = rkt;
	b->timeout_ms = timeout_ms;
	if (!partitioner)
		partitioner = "consistent_random";	/* librdkafka's default; kpub sets murmur2_random */
	for (size_t i = 0; i < sizeof(partitioners) / sizeof(partitioners[0]); i++)
		if (strcmp(partitioner, partitioners[i].name) == 0)
			b->partitioner = partitioners[i].fn;
	b->nparts = partition_count(rk, rkt, timeout_ms);
	b->next_refresh = mono_now() + PBATCH_REFRESH_S;
	if (b->nparts <= 0) {
		snprintf(why, whysize, "the partition count of %s is not known", rd_kafka_topic_name(rkt));
		return -1;
	}
	if (!(b->part = calloc((size_t)b->nparts, sizeof(*b->part)))) {
		errno = ENOMEM;
		return -1;
	}
	if (!b->partitioner)
		snprintf(why, whysize, "partitioner %s: only a fixed partition is batched", partitioner);
	return 0;
}

void
pbatch_free(struct pbatch *b)
{
	for (int32_t i = 0; b->part && i < b->nparts; i++)
		free(b->part[i].msg);
	free(b->part);
	free(b->keys);
	memset(b, 0, sizeof(*b));
}

int32_t
pbatch_partition(struct pbatch *b, int32_t fixed, const void *key, size_t key_len)
{
	if (b->nparts <= 0)
		return -1;
	if (fixed >= 0)
		return fixed < b->nparts ? fixed : -1;	/* librdkafka reports a bad one */
	if (!b->partitioner || !key || key_len == 0)
		return -1;
	return b->partitioner(b->rkt, key, key_len, b->nparts, NULL, NULL);
}

int
pbatch_add(struct pbatch *b, int32_t p, const void *key, size_t key_len, const void *payload, size_t len,
    void *opaque)
{
	struct pbatch_part *pt = &b->part[p];
	rd_kafka_message_t *m;

	if (grow(&pt->msg, &pt->cap, pt->n + 1, sizeof(*pt->msg), PBATCH_INITIAL) < 0 ||
	    grow(&b->keys, &b->keys_cap, b->keys_len + key_len, 1, PBATCH_KEYS_INITIAL) < 0)
		return -1;
	m = &pt->msg[pt->n++];
	memset(m, 0, sizeof(*m));
	m->partition = p;
	m->payload = (void *)payload;
	m->len = len;
	/* The key array may move as it grows: where the key starts (-1: no key), until the flush. */
	m->offset = key ? (int64_t)b->keys_len : -1;
	m->key_len = key_len;
	m->_private = opaque;
	if (key_len)
		memcpy(b->keys + b->keys_len, key, key_len);
	b->keys_len += key_len;
	b->pending++;
	return 0;
}

void
pbatch_flush(struct pbatch *b, void (*failed)(void *arg, rd_kafka_message_t *m), void *arg)
{
	if (b->pending == 0)
		return;
	for (int32_t p = 0; p < b->nparts; p++) {
		struct pbatch_part *pt = &b->part[p];
		int done;

		if (pt->n == 0)
			continue;
		/* An empty key is a key, not none: it must not become NULL. */
		for (size_t i = 0; i < pt->n; i++)
			pt->msg[i].key = pt->msg[i].offset < 0 ? NULL : pt->msg[i].key_len ? b->keys + pt->msg[i].offset : "";
		done = rd_kafka_produce_batch(b->rkt, p, RD_KAFKA_MSG_F_COPY, pt->msg, (int)pt->n);
		for (size_t i = 0; done < (int)pt->n && i < pt->n; i++)
			if (pt->msg[i].err)
				failed(arg, &pt->msg[i]);
		pt->n = 0;
	}
	b->keys_len = 0;
	b->pending = 0;
}

void
pbatch_refresh(struct pbatch *b, double now)
{
	int32_t n;
	struct pbatch_part *np;

	if (b->nparts <= 0 || now < b->next_refresh || b->pending)
		return;
	b->next_refresh = now + PBATCH_REFRESH_S;
	n = partition_count(b->rk, b->rkt, PBATCH_REFRESH_TIMEOUT_MS);
	if (n <= 0 || n == b->nparts)
		return;	/* not known now, or the same */
	/* Fewer only when the topic was made again: the arrays past n go. */
	for (int32_t i = n; i < b->nparts; i++)
		free(b->part[i].msg);
	if (!(np = realloc(b->part, (size_t)n * sizeof(*np)))) {
		if (n < b->nparts)
			b->nparts = n;	/* the block stays as big as it was */
		return;	/* more partitions: the old count still keeps each key in one */
	}
	if (n > b->nparts)
		memset(np + b->nparts, 0, (size_t)(n - b->nparts) * sizeof(*np));
	b->part = np;
	b->nparts = n;
}

/*
 * pbatch: messages gathered by partition and handed to librdkafka a
 * partition at a time, with rd_kafka_produce_batch().
 *
 * rd_kafka_producev() takes the topic's and the partition's locks, reads
 * the clock and may wake a broker thread for every message; spread by key
 * over many partitions, that is most of a producer's time. A batch for
 * one partition pays those once. For that the partition must be known
 * before librdkafka sees the message, so pbatch computes it with the
 * partitioner librdkafka itself would use (the same public functions) over
 * the topic's partition count from metadata, refreshed every
 * PBATCH_REFRESH_S seconds. Per partition, messages keep their order.
 *
 * Not every message can be batched: a partitioner pbatch does not know
 * (random, or a callback), an empty or absent key (the *_random
 * partitioners choose a partition by availability, which only librdkafka
 * can tell), headers (produce_batch takes none). pbatch_partition() says
 * so with -1, and the caller produces that message alone, after
 * pbatch_flush(), so that order still holds.
 *
 * Not thread-safe.
 */
#ifndef TXS_PBATCH_H
#define TXS_PBATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#define PBATCH_REFRESH_S 30.0		/* seconds between partition count look-ups */
#define PBATCH_REFRESH_TIMEOUT_MS 1000	/* each may hold the producer this long; a failed one changes nothing */

typedef int32_t pbatch_partitioner(const rd_kafka_topic_t *, const void *, size_t, int32_t, void *, void *);

struct pbatch_part {
	rd_kafka_message_t *msg;
	size_t n, cap;
};

struct pbatch {
	rd_kafka_t *rk;
	rd_kafka_topic_t *rkt;
	pbatch_partitioner *partitioner;	/* NULL: no batching, only a fixed partition */
	int32_t nparts;				/* 0: not known (batching off) */
	struct pbatch_part *part;
	char *keys;				/* the keys' bytes, until the flush */
	size_t keys_len, keys_cap;
	size_t pending;				/* messages in the batches */
	double next_refresh;			/* monotonic seconds */
	int timeout_ms;				/* the first metadata request */
};

/*
 * Batching for rkt, with the partitioner named in the "partitioner"
 * property (NULL: librdkafka's default). Returns 0 (with why set when
 * only a fixed partition can be batched, else empty), or -1 with why set
 * when batching is off for good (messages then go one by one); memory
 * errors are -1 with errno ENOMEM.
 */
int pbatch_init(struct pbatch *b, rd_kafka_t *rk, rd_kafka_topic_t *rkt, const char *partitioner,
    int timeout_ms, char *why, size_t whysize);
void pbatch_free(struct pbatch *b);

/*
 * The partition of a message with this key (fixed >= 0: that one), or
 * -1 when the message cannot be batched.
 */
int32_t pbatch_partition(struct pbatch *b, int32_t fixed, const void *key, size_t key_len);

/* Add a message for partition p (from pbatch_partition); payload must live until the flush. */
int pbatch_add(struct pbatch *b, int32_t p, const void *key, size_t key_len, const void *payload, size_t len,
    void *opaque);

/*
 * Hand every batch to librdkafka (RD_KAFKA_MSG_F_COPY: payloads may go
 * after). A message librdkafka refuses is passed to failed(), with its
 * err set, in input order within its partition: when the queue is full,
 * the rest of that partition's batch, which failed() may send again one
 * by one (nothing after it has gone yet). Better, the caller makes sure
 * librdkafka's queue has room for b->pending messages first.
 */
void pbatch_flush(struct pbatch *b, void (*failed)(void *arg, rd_kafka_message_t *m), void *arg);

/* Look the partition count up again when PBATCH_REFRESH_S have passed (call with no batch pending). */
void pbatch_refresh(struct pbatch *b, double now);

#endif

/*
 * Messages handed to librdkafka a batch per partition, when kpub can tell
 * the partition itself (see pbatch.h), in input order with the messages
 * that go one at a time.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <sysexits.h>

#include "lib/diag.h"
#include "lib/stop.h"
#include "pub/pub.h"

/*
 * Messages go to librdkafka in batches by partition when kpub can tell
 * the partition itself: a key (or -p), no headers, plain lines.
 */
void
start_batching(struct state *st)
{
	const struct options *o = st->opt;
	char why[256];

	/*
	 * --strict stops at the first refused message: one at a time, no
	 * message after it has gone.
	 */
	if (!st->rkt || o->envelope || st->opt->source_offsets || o->nheaders > 0 || o->strict ||
	    (!o->key && o->key_delim < 0 && !o->key_field && o->partition == RD_KAFKA_PARTITION_UA))
		return;
	if (pbatch_init(&st->batch, st->rk, st->rkt, st->partitioner[0] ? st->partitioner : NULL,
	    (int)(o->connect_timeout * 1000), why, sizeof(why)) < 0) {
		if (errno == ENOMEM)
			diag_exit(EX_OSERR, "out of memory");
		diag_debug("messages go one by one: %s", why);
		return;
	}
	if (why[0])
		diag_debug("%s", why);
	diag_info("messages go to librdkafka a batch per partition (%" PRId32 " partitions)", st->batch.nparts);
	st->batching = true;
}

/* A message of a batch librdkafka refused. */
static void
batch_failed(void *arg, rd_kafka_message_t *bm)
{
	struct state *st = arg;
	uint64_t w = (uint64_t)(uintptr_t)bm->_private;
	struct msg m = {
		.partition = bm->partition, .key = bm->key, .key_len = bm->key_len,
		.value = bm->payload, .value_len = bm->len,
	};
	struct line l = { .data = bm->payload, .len = bm->len, .no = where_line(w) };
	rd_kafka_resp_err_t err = bm->err;

	/* The queue filled up: this one and the rest of its batch wait their turn, in order. */
	if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL && (err = produce(st, &m, bm->_private)) == 0)
		return;
	st->produced--;
	if (st->opt->key_delim >= 0 && bm->key) {
		/* -K: the line is the key, the delimiter and the value, as read. */
		l.data = (char *)bm->payload - bm->key_len - 1;
		l.len += bm->key_len + 1;
	}
	bad_line(st, where_source(st, w), &l, "produce_error", "cannot produce", rd_kafka_err2str(err));
}

/*
 * Hand the batches to librdkafka, once its queue has room for all of
 * them: a full queue would refuse the rest of a batch, which would then go
 * one message at a time.
 */
void
flush_batches(struct state *st)
{
	struct pbatch *b = &st->batch;

	if (b->pending == 0)
		return;
	while ((size_t)rd_kafka_outq_len(st->rk) + b->pending > st->queue_max && !st->fatal)
		rd_kafka_poll(st->rk, QUEUE_FULL_POLL_MS);
	pbatch_flush(b, batch_failed, st);
	rd_kafka_poll(st->rk, 0);
	pbatch_refresh(b, mono_now());
}

/*
 * ksub's poll loop: each message becomes a line, a jump past the next
 * offset is checked for a gap, a rebalance commits what was written, and
 * SIGUSR1 reads to the end as it is now, then stops.
 */
#include "config.h"

#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sysexits.h>

#include "lib/diag.h"
#include "lib/envelope.h"
#include "lib/grow.h"
#include "lib/stop.h"
#include "sub/sub.h"

#define POLL_MS 100			/* consumer poll; output is flushed when idle */
#define DRAIN_QUERY_TIMEOUT_MS 2000	/* a partition's end, when a drain begins */
#define DRAIN_QUERY_TRIES 3
#define DRAIN_CHECK_EVERY 1024		/* messages between drain checks while busy */

/* The message as one envelope line; its headers gathered in st->hdr. */
static int
write_envelope(struct state *st, const rd_kafka_message_t *m)
{
	rd_kafka_headers_t *hdrs = NULL;
	rd_kafka_timestamp_type_t tt;
	struct envelope e = {
		.topic = rd_kafka_topic_name(m->rkt), .partition = m->partition, .offset = m->offset,
		.timestamp = rd_kafka_message_timestamp(m, &tt), .key = m->key, .key_len = m->key_len,
		.value = m->payload, .value_len = m->len,
	};
	const char *name;
	const void *val;
	size_t size, n;
	char *d;

	e.topic_len = strlen(e.topic);
	if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR && hdrs)
		for (; rd_kafka_header_get_all(hdrs, e.nheaders, &name, &val, &size) == RD_KAFKA_RESP_ERR_NO_ERROR;
		    e.nheaders++) {
			if (grow(&st->hdr, &st->hcap, e.nheaders + 1, sizeof(*st->hdr), 8) < 0)
				diag_exit(EX_OSERR, "out of memory");
			st->hdr[e.nheaders] = (struct env_header){ name, strlen(name), val, size };
		}
	e.headers = st->hdr;
	if (!(d = lw_reserve(&st->out, env_write_max(&e) + 1)))
		return -1;
	n = env_write(d, &e);
	d[n++] = (char)st->opt->delim;
	lw_commit(&st->out, n);
	return 0;
}

static int
write_message(struct state *st, const rd_kafka_message_t *m)
{
	const struct options *o = st->opt;
	char delim = (char)o->delim;

	if (o->envelope)
		return write_envelope(st, m);
	if (o->key_delim >= 0) {
		char kd = (char)o->key_delim;

		if ((m->key && lw_write(&st->out, m->key, m->key_len) < 0) || lw_write(&st->out, &kd, 1) < 0)
			return -1;
	}
	if (m->payload && lw_write(&st->out, m->payload, m->len) < 0)
		return -1;
	return lw_write(&st->out, &delim, 1);
}

/*
 * m is the first message after a jump past the offset this partition
 * needed next. When the broker no longer has that offset (retention
 * deleted it, so the low watermark is past it), that is a gap: exit 65
 * naming what is missing, or with --on-gap skip count it and go on. A
 * jump over offsets the broker still has (compaction, transaction
 * markers) is no loss. Returns -1 when m must not be written.
 */
static int
check_gap(struct state *st, struct part *p, const rd_kafka_message_t *m)
{
	int64_t low = 0, high = 0, want = p->next, lost;
	rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(st->rk, p->topic, p->partition, &low, &high,
	    WATERMARK_TIMEOUT_MS);

	if (e) {
		diag_err("%s [%" PRId32 "]: offsets %" PRId64 " to %" PRId64 " were not delivered, and the "
		    "watermarks cannot be read: %s", p->topic, p->partition, want, m->offset - 1, rd_kafka_err2str(e));
		st->status = EX_DATAERR;
		st->done = true;
		return -1;
	}
	if (low <= want)
		return 0;	/* compacted away or not messages: nothing lost */
	lost = (low < m->offset ? low : m->offset) - want;
	st->gaps++;
	if (!st->opt->skip_gaps) {
		diag_err("%s [%" PRId32 "]: offsets %" PRId64 " to %" PRId64 " are gone from the broker "
		    "(it keeps %" PRId64 " to %" PRId64 "); --on-gap skip goes on from the oldest",
		    p->topic, p->partition, want, want + lost - 1, low, high - 1);
		st->status = EX_DATAERR;
		st->done = true;
		return -1;
	}
	diag_warn("%s [%" PRId32 "]: offsets %" PRId64 " to %" PRId64 " are gone from the broker; skipped %"
	    PRId64 " message%s, going on from %" PRId64, p->topic, p->partition, want, want + lost - 1, lost,
	    lost == 1 ? "" : "s", m->offset);
	st->skipped += (uint64_t)lost;
	metric_add(st->m_gaps, (uint64_t)lost);
	return 0;
}

static bool
all_at_end(const struct state *st)
{
	if (st->nparts == 0)
		return false;
	for (size_t i = 0; i < st->nparts; i++)
		if (st->parts[i].assigned && !st->parts[i].eof)
			return false;
	return true;
}

static void
on_error_message(struct state *st, const rd_kafka_message_t *m)
{
	switch (m->err) {
	case RD_KAFKA_RESP_ERR__PARTITION_EOF: {
		struct part *p = m->rkt ? part_find(st, rd_kafka_topic_name(m->rkt), m->partition) : NULL;

		/*
		 * The end, past the offset this partition needed next, with no
		 * message in between: all of it may be gone (Kafka's time
		 * retention deletes even the newest segment once it is old), so
		 * the jump is checked as a message's would be.
		 */
		if (p && p->next >= 0 && m->offset > p->next) {
			if (check_gap(st, p, m) < 0)
				break;
			p->next = m->offset;
		}
		if (p)
			p->eof = true;
		if (st->opt->exit_at_end && all_at_end(st))
			st->done = true;
		break;
	}
	case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
	case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
	case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
		diag_err("%s: %s", m->rkt ? rd_kafka_topic_name(m->rkt) : "?", rd_kafka_message_errstr(m));
		st->status = EX_NOINPUT;
		st->done = true;
		break;
	default:
		if (rd_kafka_fatal_error(st->rk, NULL, 0)) {
			diag_err("fatal: %s", rd_kafka_message_errstr(m));
			st->status = EX_SOFTWARE;
			st->done = true;
		} else {
			diag_debug("%s", rd_kafka_message_errstr(m));
		}
	}
}

static void
on_message(struct state *st, const rd_kafka_message_t *m)
{
	struct part *p = part_add(st, rd_kafka_topic_name(m->rkt), m->partition);
	unsigned long long before = st->out.bytes;

	metric_inc(st->m_in);
	if (p->next >= 0 && m->offset > p->next && check_gap(st, p, m) < 0)
		return;
	if (write_message(st, m) < 0) {
		st->done = true;	/* stdout is gone */
		return;
	}
	metric_inc(st->m_out);
	metric_add(st->m_bytes_out, st->out.bytes - before);
	p->next = m->offset + 1;
	p->pending = true;
	p->eof = false;
	st->written++;
	/*
	 * Flush here, before the writer would flush by itself, so the offsets
	 * of every line that reaches the pipe get stored with it.
	 */
	if ((st->opt->unbuffered || st->out.len >= st->out.cap / 2) && flush_and_store(st) < 0)
		st->done = true;
	if (st->opt->count && st->written >= st->opt->count)
		st->done = true;
}

/*
 * Group rebalances: what was written is committed before partitions go.
 * That commit can fail (a coordinator may refuse commits once a rebalance
 * has begun; librdkafka's mock does), so ksub also remembers how far it
 * wrote each partition: when one comes back to it with an older committed
 * offset, it goes on from where its output ended instead of writing those
 * messages twice, and commits that position.
 */
void
on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *l, void *opaque)
{
	struct state *st = opaque;
	bool cooperative = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;

	if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
		rd_kafka_resp_err_t e = rd_kafka_committed(rk, l, WATERMARK_TIMEOUT_MS);

		for (int i = 0; i < l->cnt; i++) {
			rd_kafka_topic_partition_t *tp = &l->elems[i];
			struct part *p = part_add(st, tp->topic, tp->partition);
			int64_t committed = e == RD_KAFKA_RESP_ERR_NO_ERROR && tp->offset >= 0 ? tp->offset : -1;

			if (p->next >= 0 && committed < p->next) {
				tp->offset = p->next;	/* our output is already past it */
				p->pending = true;
			} else {
				/* Where the group stands: a first message past it is checked for a gap. */
				p->next = committed;
				if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
					tp->offset = RD_KAFKA_OFFSET_INVALID;
			}
			p->assigned = true;
			p->eof = false;
		}
		diag_info("assigned %d partition%s", l->cnt, l->cnt == 1 ? "" : "s");
		if (cooperative)
			rd_kafka_error_destroy(rd_kafka_incremental_assign(rk, l));
		else
			rd_kafka_assign(rk, l);
		return;
	}
	if (flush_and_store(st) == 0)
		commit_sync(st);
	diag_info("revoked %d partition%s", l->cnt, l->cnt == 1 ? "" : "s");
	for (int i = 0; i < l->cnt; i++) {
		struct part *p = part_find(st, l->elems[i].topic, l->elems[i].partition);

		if (p)
			p->assigned = false;	/* no longer ours to wait for or store */
	}
	if (cooperative)
		rd_kafka_error_destroy(rd_kafka_incremental_unassign(rk, l));
	else
		rd_kafka_assign(rk, NULL);
}

/* --- draining: SIGUSR1 asks to read to the end as it is now, then stop --- */

static volatile sig_atomic_t drain_asked;

void
on_usr1(int sig)
{
	(void)sig;
	drain_asked = 1;
}

/*
 * The end each assigned partition has now: what a drain reads up to.
 * Asked of the leader a few times (a loaded broker may miss one
 * deadline); failing that, the end the last fetch response carried,
 * which is what the leader had then; failing that too, there is no end
 * to reach and the drain goes on until a stop signal.
 */
static void
drain_targets(struct state *st)
{
	for (size_t i = 0; i < st->nparts; i++) {
		struct part *p = &st->parts[i];
		rd_kafka_resp_err_t e;
		int tries = 0;

		if (!p->assigned)
			continue;
		do
			e = rd_kafka_query_watermark_offsets(st->rk, p->topic, p->partition, &p->drain_low,
			    &p->drain_to, DRAIN_QUERY_TIMEOUT_MS);
		while (e != RD_KAFKA_RESP_ERR_NO_ERROR && ++tries < DRAIN_QUERY_TRIES);
		if (e == RD_KAFKA_RESP_ERR_NO_ERROR)
			continue;
		if (rd_kafka_get_watermark_offsets(st->rk, p->topic, p->partition, &p->drain_low,
		    &p->drain_to) == RD_KAFKA_RESP_ERR_NO_ERROR && p->drain_low >= 0 && p->drain_to >= p->drain_low) {
			diag_warn("%s [%" PRId32 "]: cannot read its end (%s); draining to offset %" PRId64 ", the end "
			    "its last fetch saw", p->topic, p->partition, rd_kafka_err2str(e), p->drain_to);
			continue;
		}
		diag_warn("%s [%" PRId32 "]: cannot read its end (%s), and no fetch has seen it; reading on until "
		    "a stop signal", p->topic, p->partition, rd_kafka_err2str(e));
		p->drain_low = -1;
		p->drain_to = INT64_MAX;
	}
	diag_info("draining: reading to the end of %zu partition%s, then stopping", st->nparts,
	    st->nparts == 1 ? "" : "s");
}

/* Has every assigned partition been written up to its drain target? */
static bool
drained(struct state *st)
{
	for (size_t i = 0; i < st->nparts; i++) {
		struct part *p = &st->parts[i];
		rd_kafka_topic_partition_list_t *l;
		int64_t at;

		if (!p->assigned || p->drain_to == p->drain_low)
			continue;	/* not ours, or empty */
		l = rd_kafka_topic_partition_list_new(1);
		rd_kafka_topic_partition_list_add(l, p->topic, p->partition);
		/* The position: one past the last message handed to ksub, if any was. */
		at = rd_kafka_position(st->rk, l) == RD_KAFKA_RESP_ERR_NO_ERROR ? l->elems[0].offset : -1;
		rd_kafka_topic_partition_list_destroy(l);
		if (at < 0)
			at = p->next >= 0 ? p->next : p->start;
		if (at < p->drain_to)
			return false;
	}
	return true;
}

void
consume(struct state *st)
{
	bool draining = false;
	unsigned since_check = 0;

	while (!st->done && !stop_requested()) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(st->rk, POLL_MS);

		if (drain_asked && !draining) {
			draining = true;
			drain_targets(st);
		}
		if (draining && (!m || ++since_check % DRAIN_CHECK_EVERY == 0) && drained(st)) {
			if (m)
				rd_kafka_message_destroy(m);
			st->done = true;
			break;
		}
		if (!m) {
			/* Idle: what was written reaches the pipe, then the group. */
			if (flush_and_store(st) < 0)
				break;
			continue;
		}
		if (m->err)
			on_error_message(st, m);
		else
			on_message(st, m);
		rd_kafka_message_destroy(m);
	}
}

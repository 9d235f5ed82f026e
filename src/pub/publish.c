/*
 * kpub's work: each input line becomes a message (a key from -k, -K or
 * --key-field, or an envelope's members), produced in input order; each
 * delivery report is checked, and a line that is bad or undelivered is
 * reported, counted and dead-lettered.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "lib/diag.h"
#include "lib/envelope.h"
#include "lib/jscan.h"
#include "lib/kconf.h"
#include "lib/stop.h"
#include "pub/pub.h"

#define FLUSH_POLL_MS 100
#define PARALLEL_MIN 64			/* lines: fewer are not worth a second thread */

/* The input line of a message, rebuilt for -T and --errors: its pieces, the delimiter aside. */
static int
line_pieces(const struct state *st, const rd_kafka_message_t *m, struct iovec piece[3])
{
	const struct options *o = st->opt;

	if (o->envelope) {
		const struct copy *c = m->_private;

		piece[0] = (struct iovec){ (void *)c->data, c->len };
		return 1;
	}
	if (o->key_delim >= 0 && m->key) {
		piece[0] = (struct iovec){ m->key, m->key_len };
		piece[1] = (struct iovec){ (void *)&st->key_delim, 1 };
		piece[2] = (struct iovec){ m->payload, m->len };
		return 3;
	}
	piece[0] = (struct iovec){ m->payload, m->len };
	return 1;
}

void
on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	struct state *st = opaque;
	bool copied = st->opt->envelope || st->frontier;
	struct copy *c = copied ? m->_private : NULL;
	uint64_t w = c ? c->where : (uint64_t)(uintptr_t)m->_private;
	bool handled = true;
	struct iovec piece[3];
	int64_t latency;

	(void)rk;
	/* Only when served: reading the clock for every message costs ~5 % (bench/kpub.sh). */
	if (st->m_latency && (latency = rd_kafka_message_latency(m)) >= 0)	/* -1: not known */
		metric_observe(st->m_latency, (double)latency / 1e6);
	if (m->err) {
		st->failed++;
		metric_inc(st->m_delivery_errors);
		diag_badline(where_source(st, w), where_line(w), "not delivered to %s [%" PRId32 "]: %s",
		    rd_kafka_topic_name(m->rkt), m->partition, rd_kafka_err2str(m->err));
		if (dl_keep(&st->dl, piece, line_pieces(st, m, piece)) < 0) {
			st->lost++;
			handled = false;	/* the frontier stays below it: a restart sends it again */
		}
	} else {
		st->delivered++;
		metric_inc(st->m_out);
		if (st->opt->tee) {
			char delim = (char)st->opt->delim;
			int n = line_pieces(st, m, piece);
			bool ok = true;

			for (int i = 0; i < n && ok; i++)
				ok = lw_write(&st->out, piece[i].iov_base, piece[i].iov_len) == 0;
			if (ok && lw_write(&st->out, &delim, 1) == 0)
				lw_end_record(&st->out);
		}
	}
	if (c && c->frontier >= 0 && handled)
		frontier_done(st->frontier, c->frontier, c->offset);
	free(c);
}

/*
 * A bad input line: reported, counted under reason (METRICS in kpub(1)),
 * and dead-lettered when asked. Returns -1 when reading should stop.
 */
int
bad_line(struct state *st, const char *source, const struct line *l, const char *reason, const char *what,
    const char *detail)
{
	return dl_bad(&st->dl, source, l, reason, "%s: %s", what, detail);
}

static char *
scratch(struct state *st, size_t n)
{
	if (n > st->scratch_cap) {
		char *p = realloc(st->scratch, n);

		if (!p)
			diag_exit(EX_OSERR, "out of memory");
		st->scratch = p;
		st->scratch_cap = n;
	}
	return st->scratch;
}

static rd_kafka_headers_t *
add_fixed_headers(const struct options *o, rd_kafka_headers_t *h)
{
	if (o->nheaders == 0)
		return h;
	if (!h)
		h = rd_kafka_headers_new(o->nheaders);
	for (size_t i = 0; i < o->nheaders; i++)
		rd_kafka_header_add(h, o->headers[i].name, -1, o->headers[i].value, -1);
	return h;
}

static int
bad_message(struct msg *m, const char *reason, const char *why, const char *detail)
{
	m->reason = reason;
	m->why = why;
	m->why_arg = detail;
	return -1;
}

/* The key from --key-field: a string as is, a number as its text. */
static int
key_from_field(struct state *st, const struct keyscan *k, struct msg *m)
{
	const struct options *o = st->opt;

	if (k->rc < 0)
		return bad_message(m, "not_json", "not JSON", k->err.reason);
	switch (k->v.type) {
	case JT_STRING:
		m->key = scratch(st, k->v.len);
		m->key_len = jscan_string(&k->v, st->scratch);
		return 0;
	case JT_NUMBER:
		m->key = k->v.p;
		m->key_len = k->v.len;
		return 0;
	case JT_NONE:
	case JT_NULL:
		if (o->missing_key_null)
			return 0;
		return bad_message(m, "missing_key", "no key field", o->key_field);
	default:
		return bad_message(m, "bad_key", "key field is not a string or a number", o->key_field);
	}
}

/*
 * An envelope line (as ksub --envelope writes it) into a message: the
 * envelope module decodes it; kpub decides what -t and --no-timestamp
 * change and whether the topic is one Kafka takes.
 */
static int
from_envelope(struct state *st, const struct line *l, struct msg *m)
{
	const struct options *o = st->opt;
	struct envelope e;
	char why[96];

	if (env_parse(&st->env, l->data, l->len, &e) < 0) {
		if (!st->env.kind)
			diag_exit(EX_OSERR, "out of memory");
		return bad_message(m, st->env.kind, strcmp(st->env.kind, "not_json") == 0 ? "not JSON" :
		    "not an envelope", st->env.why);
	}
	if (!o->topic) {
		if (!e.topic)
			return bad_message(m, "not_envelope", "not an envelope", "no topic (give -t)");
		if (kconf_topic_check(e.topic, e.topic_len, why, sizeof(why)) < 0) {
			snprintf(st->why, sizeof(st->why), "topic '%.40s%s' is not a Kafka topic name: it %s", e.topic,
			    e.topic_len > 40 ? "..." : "", why);
			return bad_message(m, "not_envelope", "not an envelope", st->why);
		}
		m->topic = e.topic;
	}
	if (e.partition >= 0)
		m->partition = e.partition;
	m->key = e.key;
	m->key_len = e.key_len;
	m->value = e.value;
	m->value_len = e.value_len;
	/* CreateTime as the source had it, unless asked for the time of producing (0: now). */
	m->timestamp = o->no_timestamp || e.timestamp < 0 ? 0 : e.timestamp;
	if (e.nheaders > 0) {
		if (!(m->headers = rd_kafka_headers_new(e.nheaders)))
			diag_exit(EX_OSERR, "out of memory");
		for (size_t i = 0; i < e.nheaders; i++)
			rd_kafka_header_add(m->headers, e.headers[i].name, (ssize_t)e.headers[i].name_len,
			    e.headers[i].value, (ssize_t)e.headers[i].value_len);
	}
	return 0;
}

/* Turn one line into a message; -1 with m->why when the line is bad. */
static int
make_message(struct state *st, const struct keyscan *k, struct msg *m)
{
	const struct line *l = &k->l;
	const struct options *o = st->opt;
	char *kd;

	memset(m, 0, sizeof(*m));
	m->partition = o->partition;
	if (o->envelope)
		return from_envelope(st, l, m);
	m->value = l->data;
	m->value_len = l->len;
	if (o->key) {
		m->key = o->key;
		m->key_len = strlen(o->key);
	} else if (o->key_delim >= 0 && (kd = memchr(l->data, o->key_delim, l->len))) {
		m->key = l->data;
		m->key_len = (size_t)(kd - l->data);
		m->value = kd + 1;
		m->value_len = l->len - m->key_len - 1;
	} else if (o->key_field) {
		return key_from_field(st, k, m);
	}
	return 0;
}

/*
 * Hand one message to librdkafka. When its queue is full, serve delivery
 * reports until there is room: waiting, never dropping.
 */
rd_kafka_resp_err_t
produce(struct state *st, struct msg *m, void *opaque)
{
	for (;;) {
		rd_kafka_resp_err_t err;

		if (m->topic)
			err = rd_kafka_producev(st->rk, RD_KAFKA_V_TOPIC(m->topic),
			    RD_KAFKA_V_PARTITION(m->partition), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
			    RD_KAFKA_V_VALUE((void *)m->value, m->value_len),
			    RD_KAFKA_V_KEY(m->key, m->key_len), RD_KAFKA_V_HEADERS(m->headers),
			    RD_KAFKA_V_TIMESTAMP(m->timestamp), RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END);
		else
			err = rd_kafka_producev(st->rk, RD_KAFKA_V_RKT(st->rkt),
			    RD_KAFKA_V_PARTITION(m->partition), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
			    RD_KAFKA_V_VALUE((void *)m->value, m->value_len),
			    RD_KAFKA_V_KEY(m->key, m->key_len), RD_KAFKA_V_HEADERS(m->headers),
			    RD_KAFKA_V_TIMESTAMP(m->timestamp), RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END);
		if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
			return err;
		rd_kafka_poll(st->rk, QUEUE_FULL_POLL_MS);
	}
}

/* One input line. Returns -1 when reading should stop (--strict, or --errors failed). */
static int
publish_line(struct state *st, const char *source, size_t src_index, const struct keyscan *k)
{
	const struct line *l = &k->l;
	const struct options *o = st->opt;
	struct copy *c = NULL;
	void *opaque;
	struct msg m;
	rd_kafka_resp_err_t err;

	/* An envelope is longer than its message (escapes, base64): librdkafka measures that one. */
	if (!o->envelope && l->len > st->message_max) {
		char why[96];

		snprintf(why, sizeof(why), "%zu bytes, over message.max.bytes (%zu)", l->len, st->message_max);
		return bad_line(st, source, l, "too_long", "line too long", why);
	}
	if (make_message(st, k, &m) < 0) {
		if (m.headers)
			rd_kafka_headers_destroy(m.headers);
		return bad_line(st, source, l, m.reason, m.why, m.why_arg);
	}
	m.headers = add_fixed_headers(o, m.headers);
	if (o->envelope || st->frontier) {
		size_t keep = o->envelope ? l->len : 0;

		/* Envelopes are rebuilt from nothing: keep the line for -T and --errors. */
		if (!(c = malloc(sizeof(*c) + keep)))
			diag_exit(EX_OSERR, "out of memory");
		c->where = where(src_index, l->no);
		c->len = keep;
		memcpy(c->data, l->data, keep);
		c->frontier = -1;
		if (st->frontier && track_source(st, l, c) < 0) {
			free(c);
			if (m.headers)
				rd_kafka_headers_destroy(m.headers);
			return bad_line(st, source, l, "not_envelope", "not an envelope",
			    "--source-offsets needs topic, partition and offset");
		}
		opaque = c;
	} else {
		int32_t p;

		opaque = (void *)(uintptr_t)where(src_index, l->no);
		if (st->batching && !m.headers && (p = pbatch_partition(&st->batch, m.partition, m.key, m.key_len)) >= 0) {
			if (pbatch_add(&st->batch, p, m.key, m.key_len, m.value, m.value_len, opaque) < 0)
				diag_exit(EX_OSERR, "out of memory");
			st->produced++;
			if (st->batch.pending >= st->batch_max)
				flush_batches(st);
			return 0;
		}
	}
	/* Alone, after what is batched: a partition's messages keep their order. */
	flush_batches(st);
	err = produce(st, &m, opaque);
	if (err) {
		free(c);
		if (m.headers)
			rd_kafka_headers_destroy(m.headers);
		return bad_line(st, source, l, "produce_error", "cannot produce", rd_kafka_err2str(err));
	}
	st->produced++;
	rd_kafka_poll(st->rk, 0);
	return 0;
}

/* Lines taken from the reader's buffer, not yet sent. */
struct gather {
	struct keyscan *k;	/* GATHER_MAX of them */
	size_t n;
	const struct jpath *key_path;
};


/* --key-field: each line's key, found in either thread (jscan keeps no state). */
static void
scan_keys(void *arg, size_t from, size_t to)
{
	struct gather *g = arg;

	for (size_t i = from; i < to; i++) {
		struct keyscan *k = &g->k[i];

		k->rc = jscan(k->l.data, k->l.len, g->key_path, 1, &k->v, &k->err);
	}
}

/*
 * Lines into g, from the one in l (status s) on, while the buffer has
 * them, at most max. Returns the status that ended it: LR_LINE when g is
 * full, else what came after the last line (l then holds it).
 */
static enum lr_status
gather_lines(const struct state *st, struct lreader *r, struct gather *g, enum lr_status s, struct line *l,
    uint64_t max)
{
	g->n = 0;
	for (; s == LR_LINE && max > 0; s = lr_next_wait(r, l, LR_NO_READ)) {
		if (l->len == 0 && st->opt->delim == '\n')
			continue;	/* txstream(7), Record streams: an empty line is skipped */
		g->k[g->n++].l = *l;
		if (g->n == GATHER_MAX || g->n == max)
			break;
	}
	return s;
}

static int
publish_gathered(struct state *st, const char *source, size_t src_index, const struct gather *g)
{
	for (size_t i = 0; i < g->n; i++) {
		const struct line *l = &g->k[i].l;

		metric_inc(st->m_in);
		metric_add(st->m_bytes_in, l->len + 1);
		if (publish_line(st, source, src_index, &g->k[i]) < 0)
			return -1;
		if (st->frontier && l->no % 256 == 0 && mono_now() >= st->next_save)
			save_frontier(st);
	}
	return 0;
}

/*
 * The lines of one input file, taken a buffer at a time: with
 * --key-field the keys are found in two threads, then the lines are sent
 * in order. Batched lines point into the reader's buffer, so the batches
 * are handed over before it reads again.
 */
static int
publish_lines(struct state *st, struct lreader *r, size_t src_index)
{
	const struct options *o = st->opt;
	const char *source = lr_name(r);
	struct gather g = { st->gathered, 0, &o->key_path };
	struct line l;
	enum lr_status s;

	/* After a stop request the reader still hands out what it holds. */
	while (!st->fatal && !dl_failed(&st->dl)) {
		if (o->count && st->produced >= o->count) {
			if (!st->batch.pending)
				break;
			flush_batches(st);	/* a message refused there gives its place back */
			continue;
		}
		/* While input is quiet, delivery reports are served as they come. */
		r->wake_fd = st->events[0];
		s = lr_next_wait(r, &l, st->batch.pending ? LR_NO_READ : -1);
		s = gather_lines(st, r, &g, s, &l, o->count ? o->count - st->produced : UINT64_MAX);
		if (o->key_field && !o->envelope)
			fj_run(&st->helper, scan_keys, &g, g.n, PARALLEL_MIN);
		if (publish_gathered(st, source, src_index, &g) < 0)
			return -1;
		if (s == LR_LINE)
			continue;	/* GATHER_MAX lines, or -c's count */
		if (s == LR_TIMEOUT) {
			flush_batches(st);
			rd_kafka_poll(st->rk, 0);
			if (st->frontier && mono_now() >= st->next_save)
				save_frontier(st);
			continue;
		}
		if (s == LR_EOF)
			break;
		if (s == LR_ERROR) {
			diag_err("%s: read error: %s", source, strerror(errno));
			return -1;
		}
		if (s == LR_CUT) {
			bad_line(st, source, &l, "cut", "cut short", "the stop came before its delimiter");
			break;
		}
		if (s == LR_TOOLONG) {
			metric_inc(st->m_in);
			metric_add(st->m_bytes_in, l.len + 1);
			if (dl_bad(&st->dl, source, &(struct line){ NULL, 0, l.no }, "too_long",
			    "line of %zu bytes is longer than kpub reads; skipped", l.len) < 0)
				return -1;
		}
	}
	return 0;
}

int
publish_input(struct state *st, struct lreader *r, size_t src_index)
{
	int rc = publish_lines(st, r, src_index);

	flush_batches(st);
	return rc;
}

/*
 * Wait for every delivery report, up to --flush-timeout. What is still
 * undelivered then is purged, so its report comes back as a failure and
 * is dead-lettered or counted as lost, never forgotten.
 */
void
drain(struct state *st)
{
	double deadline = mono_now() + st->opt->flush_timeout;
	int left;

	while ((left = rd_kafka_outq_len(st->rk)) > 0 && mono_now() < deadline && !st->fatal)
		rd_kafka_flush(st->rk, FLUSH_POLL_MS);
	if (left > 0) {
		diag_err("%d message%s not delivered within the flush timeout", left, left == 1 ? "" : "s");
		rd_kafka_purge(st->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
		for (int i = 0; i < 50 && rd_kafka_outq_len(st->rk) > 0; i++)
			rd_kafka_poll(st->rk, FLUSH_POLL_MS);
	}
	rd_kafka_poll(st->rk, 0);
}

/*
 * ksub: messages on Kafka topics become lines on stdout, each handed to
 * the pipe once. Offsets move only behind the output: in a consumer group
 * an offset is stored for commit after its line has been written and
 * flushed, so a restart after a crash starts at or before the first line
 * that was not written. A partition whose next offset is gone from the
 * broker is an error (or, with --on-gap skip, a counted skip), never a
 * quiet jump ahead.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include <json-c/json.h>

#include "lib/base64.h"
#include "lib/diag.h"
#include "lib/grow.h"
#include "lib/jscan.h"
#include "lib/jsonw.h"
#include "lib/kconf.h"
#include "lib/lineio.h"
#include "lib/metrics.h"
#include "lib/offsets.h"
#include "lib/opts.h"
#include "lib/stop.h"

#define MAX_TOPICS 64
#define POLL_MS 100			/* consumer poll; output is flushed when idle */
#define DEFAULT_TIMEOUT 10.0		/* seconds to reach a broker */
#define WATERMARK_TIMEOUT_MS 5000
#define DRAIN_QUERY_TIMEOUT_MS 2000	/* a partition's end, when a drain begins */
#define TIME_LOOKUP_RETRY_MS 200	/* -o s@MS: a partition whose leader did not answer */
#define DRAIN_CHECK_EVERY 1024		/* messages between drain checks while busy */
#define STATS_INTERVAL_MS "1000"		/* statistics for the lag gauges, with --metrics-addr */

enum offset_kind { OFF_BEGINNING, OFF_END, OFF_STORED, OFF_ABS, OFF_TAIL, OFF_TIME, OFF_FILE };

struct options {
	const char *topics[MAX_TOPICS];
	int ntopics;
	const char *partitions;		/* -p list, or NULL: all */
	enum offset_kind off_kind;
	int64_t off_value;		/* OFF_ABS, OFF_TAIL (count), OFF_TIME (ms) */
	const char *off_file;		/* -o @FILE */
	const char *group;		/* -G */
	bool exit_at_end;		/* -e */
	uint64_t count;			/* -c; 0: no limit */
	bool unbuffered;		/* -u */
	int delim;			/* -D */
	int key_delim;			/* -K, or -1 */
	bool envelope;
	bool list;			/* -L */
	bool skip_gaps;			/* --on-gap skip */
	double timeout;			/* -m */
	const char *metrics_addr;
};

enum {
	OPT_ENVELOPE = OPT_PRIVATE,
	OPT_ON_GAP,
};

/* One assigned partition. */
struct part {
	char *topic;
	int32_t partition;
	int64_t next;			/* offset after the last message written */
	bool pending;			/* next not yet stored for commit */
	bool eof;
	bool assigned;			/* ours now (a group may take it away) */
	int64_t start;			/* the absolute start offset, or -1 */
	int64_t drain_low, drain_to;	/* SIGUSR1: the watermarks to read up to */
};

struct state {
	const struct options *opt;
	rd_kafka_t *rk;
	struct lwriter out;
	struct part *parts;
	size_t nparts, cap;
	size_t last;			/* lookup cache */
	uint64_t written, skipped, gaps;
	bool done;
	int status;
	/* What ksub tells Prometheus; see METRICS in ksub(1). */
	struct metric *m_in, *m_out, *m_bytes_out, *m_rebalances, *m_gaps;
};

static const char synopsis[] =
	"usage: ksub [-quveL] [-b brokers] [-t topic]... [-p partitions] [-o offset]\n"
	"            [-G group] [-c count] [-D delim] [-K delim] [-X prop=val] [-F file]\n"
	"            [-m timeout] [--envelope] [--on-gap fail|skip]\n"
	"            [--log-format text|json] [--metrics-addr addr] [topic ...]\n";

static void
usage(void)
{
	fputs(synopsis, stderr);
}

static void
help(void)
{
	fputs(synopsis, stdout);
	fputs("\n"
	    "Write the messages of Kafka topics to stdout, each once.\n"
	    "\n"
	    "  -b, --brokers LIST       bootstrap brokers host:port,... (else -F, $KAFKA_BROKERS)\n"
	    "  -t, --topic TOPIC        a topic to read; repeatable (also as arguments)\n"
	    "  -p, --partition LIST     partitions, as 0,2-4 (default: all; not with -G)\n"
	    "  -o, --offset OFFSET      beginning (default), end, stored, N, -N (the last N),\n"
	    "                           s@MS (the first at or after that time), @FILE\n"
	    "                           (a Contract 4 offsets file, e.g. a jagg checkpoint)\n"
	    "  -G, --group GROUP        read as a member of a balanced consumer group\n"
	    "  -e, --exit               exit once every assigned partition is at its end\n"
	    "  -c, --count N            exit after N messages\n"
	    "  -u, --unbuffered         flush after every message\n"
	    "  -D, --delimiter C        after each message (default \\n)\n"
	    "  -K, --key-delimiter C    print the key, then C, before the value\n"
	    "      --envelope           one JSON envelope per message: topic, partition,\n"
	    "                           offset, timestamp, key, headers, value\n"
	    "      --on-gap fail|skip   when the next offset is gone: exit 65 (fail, the\n"
	    "                           default) or go on from the oldest one and count\n"
	    "  -L, --list               cluster metadata as JSON lines, then exit\n"
	    "  -X, --property NAME=VAL  a librdkafka property (repeatable)\n"
	    "  -F, --config FILE        librdkafka properties, one NAME=VALUE a line\n"
	    "  -m, --timeout TIME       give up reaching a broker after TIME (default 10s)\n"
	    "  -q, --quiet              only errors on stderr\n"
	    "  -v, --verbose            more on stderr (twice: librdkafka debug)\n"
	    "      --log-format FORMAT  text (default) or json\n"
	    "      --metrics-addr ADDR  serve Prometheus metrics on http://ADDR/metrics\n"
	    "      --help               this help\n"
	    "      --version            the version\n", stdout);
}

/* --- partitions --- */

static struct part *
part_find(struct state *st, const char *topic, int32_t partition)
{
	if (st->last < st->nparts && st->parts[st->last].partition == partition &&
	    strcmp(st->parts[st->last].topic, topic) == 0)
		return &st->parts[st->last];
	for (size_t i = 0; i < st->nparts; i++)
		if (st->parts[i].partition == partition && strcmp(st->parts[i].topic, topic) == 0)
			return &st->parts[st->last = i];
	return NULL;
}

static struct part *
part_add(struct state *st, const char *topic, int32_t partition)
{
	struct part *p;

	if ((p = part_find(st, topic, partition)))
		return p;
	if (grow(&st->parts, &st->cap, st->nparts + 1, sizeof(*st->parts), 16) < 0)
		diag_exit(EX_OSERR, "out of memory");
	p = &st->parts[st->nparts++];
	*p = (struct part){ .topic = strdup(topic), .partition = partition, .next = -1, .start = -1, .assigned = true };
	if (!p->topic)
		diag_exit(EX_OSERR, "out of memory");
	return p;
}

static void
parts_clear(struct state *st)
{
	for (size_t i = 0; i < st->nparts; i++)
		free(st->parts[i].topic);
	st->nparts = 0;
	st->last = 0;
}

/*
 * Flush stdout, and only then store the next offsets of what it carried,
 * for the group's commits. Returns -1 once stdout is gone.
 */
static int
flush_and_store(struct state *st)
{
	rd_kafka_topic_partition_list_t *l;

	if (lw_flush(&st->out) < 0)
		return -1;
	if (!st->opt->group)
		return 0;
	l = rd_kafka_topic_partition_list_new(8);
	for (size_t i = 0; i < st->nparts; i++) {
		struct part *p = &st->parts[i];

		if (p->pending && p->assigned) {
			rd_kafka_topic_partition_list_add(l, p->topic, p->partition)->offset = p->next;
			p->pending = false;
		}
	}
	if (l->cnt > 0) {
		rd_kafka_resp_err_t e = rd_kafka_offsets_store(st->rk, l);

		if (e)
			diag_warn("cannot store offsets: %s", rd_kafka_err2str(e));
	}
	rd_kafka_topic_partition_list_destroy(l);
	return 0;
}

static void
commit_sync(struct state *st)
{
	rd_kafka_resp_err_t e = rd_kafka_commit(st->rk, NULL, 0);

	if (e && e != RD_KAFKA_RESP_ERR__NO_OFFSET)
		diag_warn("cannot commit offsets: %s", rd_kafka_err2str(e));
}

/* --- output --- */

static bool
one_line_json(const char *p, size_t len)
{
	struct jspan none;
	struct jscan_error err;

	return len > 0 && !memchr(p, '\n', len) && !memchr(p, '\r', len) &&
	    jscan(p, len, NULL, 0, &none, &err) == 0;
}

/* "name": then a string, or name_base64 when not UTF-8; into d. */
static size_t
put_bytes(char *d, const char *name, const void *p, size_t len)
{
	size_t n = 0, nl = strlen(name);

	d[n++] = '"';
	memcpy(d + n, name, nl);
	n += nl;
	if (utf8_valid(p, len)) {
		memcpy(d + n, "\":", 2);
		n += 2;
		return n + jw_string(d + n, p, len);
	}
	memcpy(d + n, "_base64\":\"", 10);
	n += 10;
	n += base64_encode(d + n, p, len);
	d[n++] = '"';
	return n;
}

static int
write_envelope(struct state *st, const rd_kafka_message_t *m)
{
	const char *topic = rd_kafka_topic_name(m->rkt);
	size_t tl = strlen(topic), klen = m->key_len, vlen = m->len, bound;
	rd_kafka_headers_t *hdrs = NULL;
	rd_kafka_timestamp_type_t tt;
	int64_t ts = rd_kafka_message_timestamp(m, &tt);
	size_t nh = 0, hbytes = 0;
	char *d, *start;

	if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR && hdrs) {
		const char *name;
		const void *val;
		size_t size;

		for (; rd_kafka_header_get_all(hdrs, nh, &name, &val, &size) == RD_KAFKA_RESP_ERR_NO_ERROR; nh++)
			hbytes += 6 * strlen(name) + 6 * size + 48;
	}
	bound = 128 + jw_string_max(tl) + 3 * JW_I64_MAX + jw_string_max(klen) + 16 + hbytes +
	    jw_string_max(vlen) + 20;
	if (!(d = start = lw_reserve(&st->out, bound)))
		return -1;
#define PUT(s) (memcpy(d, s, sizeof(s) - 1), d += sizeof(s) - 1)
	PUT("{\"topic\":");
	d += jw_string(d, topic, tl);
	PUT(",\"partition\":");
	d += jw_i64(d, m->partition);
	PUT(",\"offset\":");
	d += jw_i64(d, m->offset);
	PUT(",\"timestamp\":");
	if (ts >= 0)
		d += jw_i64(d, ts);
	else
		PUT("null");
	*d++ = ',';
	if (m->key)
		d += put_bytes(d, "key", m->key, klen);
	else
		PUT("\"key\":null");
	if (nh > 0) {
		const char *name;
		const void *val;
		size_t size;

		PUT(",\"headers\":[");
		for (size_t i = 0; i < nh; i++) {
			rd_kafka_header_get_all(hdrs, i, &name, &val, &size);
			if (i)
				*d++ = ',';
			PUT("{\"key\":");
			d += jw_string(d, name, strlen(name));
			*d++ = ',';
			if (val)
				d += put_bytes(d, "value", val, size);
			else
				PUT("\"value\":null");
			*d++ = '}';
		}
		*d++ = ']';
	}
	*d++ = ',';
	if (!m->payload) {
		PUT("\"value\":null");
	} else if (one_line_json(m->payload, vlen)) {
		PUT("\"value\":");
		memcpy(d, m->payload, vlen);
		d += vlen;
	} else if (utf8_valid(m->payload, vlen)) {
		PUT("\"value_text\":");
		d += jw_string(d, m->payload, vlen);
	} else {
		PUT("\"value_base64\":\"");
		d += base64_encode(d, m->payload, vlen);
		*d++ = '"';
	}
	*d++ = '}';
	*d++ = (char)st->opt->delim;
#undef PUT
	lw_commit(&st->out, (size_t)(d - start));
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

/* --- gaps --- */

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

/* --- consuming --- */

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
static void
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

static void
on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	(void)rk;
	(void)opaque;
	if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN)
		diag_warn("%s", reason);
	else
		diag_debug("%s", reason);
}

/* --- metrics --- */

static void
register_metrics(struct state *st)
{
	st->m_in = metric_counter("txstream_ksub_records_in_total", "Messages consumed.");
	st->m_out = metric_counter("txstream_ksub_records_out_total", "Lines written.");
	st->m_bytes_out = metric_counter("txstream_ksub_bytes_out_total", "Bytes written, delimiters included.");
	st->m_rebalances = metric_counter("txstream_ksub_rebalances_total",
	    "Rebalances of the consumer group (-G), from librdkafka's statistics.");
	st->m_gaps = metric_counter("txstream_ksub_gap_messages_total",
	    "Messages gone from the broker before they were read, skipped (--on-gap skip).");
}

/* librdkafka's statistics (STATISTICS.md): cgrp.rebalance_cnt counts the group's rebalances. */
static int
on_stats(rd_kafka_t *rk, char *json, size_t len, void *opaque)
{
	struct json_object *root = json_tokener_parse(json), *cgrp, *cnt;
	struct state *st = opaque;

	(void)rk, (void)len;
	if (root && json_object_object_get_ex(root, "cgrp", &cgrp) &&
	    json_object_object_get_ex(cgrp, "rebalance_cnt", &cnt) && json_object_get_int64(cnt) >= 0) {
		uint64_t n = (uint64_t)json_object_get_int64(cnt), seen = metric_count(st->m_rebalances);

		if (n > seen)
			metric_add(st->m_rebalances, n - seen);
	}
	json_object_put(root);
	return 0;	/* json is librdkafka's to free */
}

/*
 * The lag gauges: for each assigned partition, its end as its leader
 * tells it now, less ksub's position (one past the last message
 * librdkafka handed to ksub), asked every LAG_REFRESH_MS by a thread of
 * their own. Not from librdkafka's statistics: those are served only
 * while ksub polls, and a ksub blocked on a reader that stopped reading,
 * its lag growing, is just when the gauge matters. Not at scrape time
 * either: a scrape must not wait on the brokers. A partition whose leader
 * does not answer within LAG_QUERY_TIMEOUT_MS keeps its last value.
 */
#define LAG_REFRESH_MS 1000
#define LAG_QUERY_TIMEOUT_MS 500

static struct {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	rd_kafka_t *rk;
	bool stop, running;
} lag = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };

static void
refresh_lag(rd_kafka_t *rk)
{
	rd_kafka_topic_partition_list_t *l = NULL;

	if (rd_kafka_assignment(rk, &l) || !l)
		return;
	if (rd_kafka_position(rk, l) == RD_KAFKA_RESP_ERR_NO_ERROR) {
		for (int i = 0; i < l->cnt; i++) {
			const rd_kafka_topic_partition_t *tp = &l->elems[i];
			char partition[16];
			const char *const labels[] = { "topic", tp->topic, "partition", partition, NULL };
			int64_t low, high;

			if (tp->offset < 0 ||
			    rd_kafka_query_watermark_offsets(rk, tp->topic, tp->partition, &low, &high,
			    LAG_QUERY_TIMEOUT_MS) != RD_KAFKA_RESP_ERR_NO_ERROR)
				continue;
			snprintf(partition, sizeof partition, "%" PRId32, tp->partition);
			metric_set(metric_new(METRIC_GAUGE, "txstream_ksub_consumer_lag_messages",
			    "Messages between the end of the partition and the last one ksub read.",
			    labels, NULL, 0), (double)(high > tp->offset ? high - tp->offset : 0));
		}
	}
	rd_kafka_topic_partition_list_destroy(l);
}

static void *
lag_thread(void *arg)
{
	struct timespec t;

	(void)arg;
	pthread_mutex_lock(&lag.mu);
	while (!lag.stop) {
		pthread_mutex_unlock(&lag.mu);
		refresh_lag(lag.rk);
		clock_gettime(CLOCK_REALTIME, &t);
		t.tv_sec += LAG_REFRESH_MS / 1000;
		t.tv_nsec += (long)(LAG_REFRESH_MS % 1000) * 1000000L;
		if (t.tv_nsec >= 1000000000L)
			t.tv_sec++, t.tv_nsec -= 1000000000L;
		pthread_mutex_lock(&lag.mu);
		while (!lag.stop && pthread_cond_timedwait(&lag.cv, &lag.mu, &t) == 0)
			;
	}
	pthread_mutex_unlock(&lag.mu);
	return NULL;
}

/* From here until lag_stop(), the lag gauges follow st->rk's partitions. */
static void
lag_start(struct state *st)
{
	sigset_t all, old;
	int e;

	lag.rk = st->rk;
	/* The thread takes no signal: ksub's handlers stay the main thread's. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	e = pthread_create(&lag.thread, NULL, lag_thread, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	lag.running = e == 0;
	if (e)
		diag_warn("the lag gauges cannot be kept: %s", strerror(e));
}

/* Before st->rk is destroyed: ends the thread, after a query it is waiting on. */
static void
lag_stop(void)
{
	if (!lag.running)
		return;
	pthread_mutex_lock(&lag.mu);
	lag.stop = true;
	pthread_cond_signal(&lag.cv);
	pthread_mutex_unlock(&lag.mu);
	pthread_join(lag.thread, NULL);
	lag.running = false;
}

/* --- start offsets --- */

/* "0,2-4" into partition numbers; -1 when malformed. */
static int
parse_partitions(const char *s, int32_t *out, int max)
{
	int n = 0;

	while (*s) {
		char *e;
		long a = strtol(s, &e, 10), b = a;

		if (e == s || a < 0)
			return -1;
		if (*e == '-') {
			s = e + 1;
			b = strtol(s, &e, 10);
			if (e == s || b < a)
				return -1;
		}
		for (long i = a; i <= b; i++) {
			if (n == max)
				return -1;
			out[n++] = (int32_t)i;
		}
		if (*e == ',')
			e++;
		else if (*e)
			return -1;
		s = e;
	}
	return n;
}

/* Contract 4: {"offsets":{"topic":{"0":1043}}}; a missing file is no offsets. */
static struct offsets *
load_offsets(const char *path)
{
	struct offsets *o = offsets_new();
	char why[512];
	int rc;

	if (!o)
		diag_exit(EX_OSERR, "out of memory");
	if ((rc = offsets_read_file(o, path, why, sizeof(why))) < 0)
		diag_exit(EX_DATAERR, "-o @%s: %s", path, why);
	if (rc == 0)
		diag_info("%s does not exist yet: starting from the beginning", path);
	return o;
}

static int64_t
file_offset(const struct offsets *offsets, const char *topic, int32_t partition)
{
	long long v = offsets_get(offsets, topic, partition);

	return v >= 0 ? v : RD_KAFKA_OFFSET_BEGINNING;
}

static int64_t
start_offset(const struct options *o)
{
	switch (o->off_kind) {
	case OFF_END: return RD_KAFKA_OFFSET_END;
	case OFF_STORED: return RD_KAFKA_OFFSET_STORED;
	case OFF_ABS: return o->off_value;
	case OFF_TAIL: return RD_KAFKA_OFFSET_TAIL(o->off_value);
	case OFF_TIME: return o->off_value;	/* looked up below */
	default: return RD_KAFKA_OFFSET_BEGINNING;
	}
}

/*
 * A logical start (beginning, end, the last N) made absolute from the
 * partition's watermarks. librdkafka 2.0 looks logical offsets up itself,
 * but a partition whose leader connection is not up yet waits a fixed
 * 500 ms to retry, which made every third start stall; an absolute
 * offset starts fetching as soon as the leader is there. Left logical
 * when the watermarks cannot be read.
 */
static void
resolve_logical(struct state *st, rd_kafka_topic_partition_t *tp)
{
	const struct options *o = st->opt;
	bool tail = o->off_kind == OFF_TAIL;
	int64_t low, high;

	if ((tp->offset != RD_KAFKA_OFFSET_BEGINNING && tp->offset != RD_KAFKA_OFFSET_END && !tail) ||
	    rd_kafka_query_watermark_offsets(st->rk, tp->topic, tp->partition, &low, &high,
	    WATERMARK_TIMEOUT_MS) != RD_KAFKA_RESP_ERR_NO_ERROR)
		return;
	if (tail)
		tp->offset = high - o->off_value > low ? high - o->off_value : low;
	else
		tp->offset = tp->offset == RD_KAFKA_OFFSET_BEGINNING ? low : high;
}

/*
 * An offset from -o @FILE past the partition's end: the file belongs to
 * another cluster, or the topic was made anew. Starting anywhere would
 * be wrong (and the consumer's reset to the beginning would make a
 * checkpointed jagg skip the new messages as old), so stop and say so.
 */
static void
check_file_offset(struct state *st, const rd_kafka_topic_partition_t *tp)
{
	int64_t low, high;

	if (rd_kafka_query_watermark_offsets(st->rk, tp->topic, tp->partition, &low, &high,
	    WATERMARK_TIMEOUT_MS) == RD_KAFKA_RESP_ERR_NO_ERROR && tp->offset > high)
		diag_exit(EX_DATAERR, "-o @%s: %s [%" PRId32 "] starts at offset %" PRId64 " there, but the partition "
		    "ends at %" PRId64 ": the file is from another cluster or an older topic of that name",
		    st->opt->off_file, tp->topic, tp->partition, tp->offset, high);
}

/*
 * -o s@MS: each partition's first offset at or after MS, by
 * offsets-for-times; -1 (no message that late) means the end. The
 * lookup answers per partition, and a partition whose leader does not
 * answer yet keeps the time as its "offset" with an error set: starting
 * there would be out of range and reset to the beginning, so such
 * partitions are asked again until --timeout.
 */
static void
offsets_for_time(struct state *st, rd_kafka_topic_partition_list_t *l)
{
	const struct options *o = st->opt;
	double deadline = mono_now() + o->timeout;
	rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR_NO_ERROR;
	bool again = true;

	while (again) {
		again = false;
		for (int i = 0; i < l->cnt; i++)
			l->elems[i].offset = o->off_value;
		e = rd_kafka_offsets_for_times(st->rk, l, (int)(o->timeout * 1000));
		for (int i = 0; !e && i < l->cnt; i++)
			if (l->elems[i].err) {
				e = l->elems[i].err;
				again = true;
			}
		if (e && (!again || mono_now() >= deadline))
			diag_exit(EX_UNAVAILABLE, "-o s@%" PRId64 ": offset lookup failed: %s", o->off_value,
			    rd_kafka_err2str(e));
		if (again)
			usleep(TIME_LOOKUP_RETRY_MS * 1000);
	}
	for (int i = 0; i < l->cnt; i++)
		if (l->elems[i].offset < 0)
			l->elems[i].offset = RD_KAFKA_OFFSET_END;
}

/* Without a group: assign the partitions asked for, from their start offsets. */
static void
assign_partitions(struct state *st)
{
	const struct options *o = st->opt;
	const struct rd_kafka_metadata *md;
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(32);
	struct offsets *file = o->off_file ? load_offsets(o->off_file) : NULL;
	rd_kafka_resp_err_t e;
	int32_t want[1024];
	int nwant = 0;

	if (o->partitions && (nwant = parse_partitions(o->partitions, want, 1024)) < 0)
		diag_exit(EX_USAGE, "-p: '%s' is not a list of partitions like 0,2-4", o->partitions);
	if ((e = rd_kafka_metadata(st->rk, 1, NULL, &md, (int)(o->timeout * 1000))))
		diag_exit(EX_UNAVAILABLE, "cannot read the cluster's metadata: %s", rd_kafka_err2str(e));
	for (int t = 0; t < o->ntopics; t++) {
		const struct rd_kafka_metadata_topic *mt = NULL;

		for (int i = 0; i < md->topic_cnt; i++)
			if (strcmp(md->topics[i].topic, o->topics[t]) == 0)
				mt = &md->topics[i];
		if (!mt || mt->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART || mt->partition_cnt == 0)
			diag_exit(EX_NOINPUT, "%s: no such topic", o->topics[t]);
		if (nwant) {
			for (int i = 0; i < nwant; i++) {
				if (want[i] >= mt->partition_cnt)
					diag_exit(EX_USAGE, "-p: %s has no partition %" PRId32 " (it has %d)",
					    o->topics[t], want[i], mt->partition_cnt);
				rd_kafka_topic_partition_list_add(l, o->topics[t], want[i]);
			}
		} else {
			for (int i = 0; i < mt->partition_cnt; i++)
				rd_kafka_topic_partition_list_add(l, o->topics[t], mt->partitions[i].id);
		}
	}
	rd_kafka_metadata_destroy(md);
	for (int i = 0; i < l->cnt; i++) {
		l->elems[i].offset = o->off_kind == OFF_FILE ?
		    file_offset(file, l->elems[i].topic, l->elems[i].partition) : start_offset(o);
		if (o->off_kind == OFF_FILE && l->elems[i].offset >= 0)
			check_file_offset(st, &l->elems[i]);
		/* An absolute start is a promise: a first message past it is checked for a gap. */
		part_add(st, l->elems[i].topic, l->elems[i].partition)->next =
		    l->elems[i].offset >= 0 && o->off_kind != OFF_TIME ? l->elems[i].offset : -1;
		resolve_logical(st, &l->elems[i]);
	}
	if (o->off_kind == OFF_TIME)
		offsets_for_time(st, l);
	for (int i = 0; i < l->cnt; i++)
		part_add(st, l->elems[i].topic, l->elems[i].partition)->start = l->elems[i].offset;
	if ((e = rd_kafka_assign(st->rk, l)))
		diag_exit(EX_SOFTWARE, "cannot assign partitions: %s", rd_kafka_err2str(e));
	rd_kafka_topic_partition_list_destroy(l);
	offsets_free(file);
}

static void
subscribe(struct state *st)
{
	const struct options *o = st->opt;
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(o->ntopics);
	rd_kafka_resp_err_t e;

	for (int t = 0; t < o->ntopics; t++)
		rd_kafka_topic_partition_list_add(l, o->topics[t], RD_KAFKA_PARTITION_UA);
	if ((e = rd_kafka_subscribe(st->rk, l)))
		diag_exit(EX_SOFTWARE, "cannot subscribe: %s", rd_kafka_err2str(e));
	rd_kafka_topic_partition_list_destroy(l);
}

/* --- -L --- */

static void
put_int_array(struct lwriter *w, const int32_t *v, int n)
{
	char num[JW_I64_MAX];

	lw_write(w, "[", 1);
	for (int i = 0; i < n; i++) {
		if (i)
			lw_write(w, ",", 1);
		lw_write(w, num, jw_i64(num, v[i]));
	}
	lw_write(w, "]", 1);
}

static int
list_metadata(struct state *st)
{
	const struct options *o = st->opt;
	const struct rd_kafka_metadata *md;
	struct lwriter *w = &st->out;
	rd_kafka_resp_err_t e;
	char num[JW_I64_MAX], *d;
	int status = EX_OK;

	if ((e = rd_kafka_metadata(st->rk, 1, NULL, &md, (int)(o->timeout * 1000))))
		diag_exit(EX_UNAVAILABLE, "cannot read the cluster's metadata: %s", rd_kafka_err2str(e));
	lw_write(w, "{\"brokers\":[", 12);
	for (int i = 0; i < md->broker_cnt; i++) {
		if (i)
			lw_write(w, ",", 1);
		lw_write(w, "{\"id\":", 6);
		lw_write(w, num, jw_i64(num, md->brokers[i].id));
		lw_write(w, ",\"host\":", 8);
		d = lw_reserve(w, jw_string_max(strlen(md->brokers[i].host)));
		lw_commit(w, jw_string(d, md->brokers[i].host, strlen(md->brokers[i].host)));
		lw_write(w, ",\"port\":", 8);
		lw_write(w, num, jw_i64(num, md->brokers[i].port));
		lw_write(w, "}", 1);
	}
	lw_write(w, "]}\n", 3);
	for (int t = 0; t < md->topic_cnt; t++) {
		const struct rd_kafka_metadata_topic *mt = &md->topics[t];
		int64_t total = 0;
		bool wanted = o->ntopics == 0;

		for (int i = 0; i < o->ntopics; i++)
			wanted |= strcmp(o->topics[i], mt->topic) == 0;
		if (!wanted)
			continue;
		lw_write(w, "{\"topic\":", 9);
		d = lw_reserve(w, jw_string_max(strlen(mt->topic)));
		lw_commit(w, jw_string(d, mt->topic, strlen(mt->topic)));
		if (mt->err) {
			lw_write(w, ",\"error\":", 9);
			d = lw_reserve(w, jw_string_max(256));
			lw_commit(w, jw_string(d, rd_kafka_err2str(mt->err), strlen(rd_kafka_err2str(mt->err))));
			status = EX_NOINPUT;
		}
		lw_write(w, ",\"partition_count\":", 19);
		lw_write(w, num, jw_i64(num, mt->partition_cnt));
		lw_write(w, ",\"partitions\":[", 15);
		for (int i = 0; i < mt->partition_cnt; i++) {
			const struct rd_kafka_metadata_partition *p = &mt->partitions[i];
			int64_t low = -1, high = -1;

			if (rd_kafka_query_watermark_offsets(st->rk, mt->topic, p->id, &low, &high,
			    WATERMARK_TIMEOUT_MS) == RD_KAFKA_RESP_ERR_NO_ERROR)
				total += high - low;
			if (i)
				lw_write(w, ",", 1);
			lw_write(w, "{\"partition\":", 13);
			lw_write(w, num, jw_i64(num, p->id));
			lw_write(w, ",\"leader\":", 10);
			lw_write(w, num, jw_i64(num, p->leader));
			lw_write(w, ",\"replicas\":", 12);
			put_int_array(w, p->replicas, p->replica_cnt);
			lw_write(w, ",\"isrs\":", 8);
			put_int_array(w, p->isrs, p->isr_cnt);
			lw_write(w, ",\"low\":", 7);
			lw_write(w, num, jw_i64(num, low));
			lw_write(w, ",\"high\":", 8);
			lw_write(w, num, jw_i64(num, high));
			lw_write(w, "}", 1);
		}
		lw_write(w, "],\"messages\":", 13);
		lw_write(w, num, jw_i64(num, total));
		lw_write(w, "}\n", 2);
	}
	for (int i = 0; i < o->ntopics; i++) {
		bool seen = false;

		for (int t = 0; t < md->topic_cnt; t++)
			seen |= strcmp(o->topics[i], md->topics[t].topic) == 0;
		if (!seen) {
			diag_err("%s: no such topic", o->topics[i]);
			status = EX_NOINPUT;
		}
	}
	rd_kafka_metadata_destroy(md);
	if (lw_flush(w) < 0 && w->err != EPIPE)
		diag_exit(EX_IOERR, "stdout: %s", strerror(w->err));
	return status;
}

/* --- options --- */

static int
parse_offset(const char *s, struct options *o)
{
	uint64_t v;

	if (strcmp(s, "beginning") == 0)
		o->off_kind = OFF_BEGINNING;
	else if (strcmp(s, "end") == 0)
		o->off_kind = OFF_END;
	else if (strcmp(s, "stored") == 0)
		o->off_kind = OFF_STORED;
	else if (s[0] == '@' && s[1])
		o->off_kind = OFF_FILE, o->off_file = s + 1;
	else if (strncmp(s, "s@", 2) == 0 && opts_uint(s + 2, 0, INT64_MAX, &v) == 0)
		o->off_kind = OFF_TIME, o->off_value = (int64_t)v;
	else if (s[0] == '-' && opts_uint(s + 1, 1, INT64_MAX, &v) == 0)
		o->off_kind = OFF_TAIL, o->off_value = (int64_t)v;
	else if (opts_uint(s, 0, INT64_MAX, &v) == 0)
		o->off_kind = OFF_ABS, o->off_value = (int64_t)v;
	else
		return -1;
	return 0;
}

static int
parse_options(int argc, char **argv, struct options *o, struct kconf *k)
{
	char why[96];
	static const struct option longopts[] = {
		{ "brokers", required_argument, NULL, 'b' },
		{ "topic", required_argument, NULL, 't' },
		{ "partition", required_argument, NULL, 'p' },
		{ "offset", required_argument, NULL, 'o' },
		{ "group", required_argument, NULL, 'G' },
		{ "exit", no_argument, NULL, 'e' },
		{ "count", required_argument, NULL, 'c' },
		{ "unbuffered", no_argument, NULL, 'u' },
		{ "delimiter", required_argument, NULL, 'D' },
		{ "key-delimiter", required_argument, NULL, 'K' },
		{ "list", no_argument, NULL, 'L' },
		{ "property", required_argument, NULL, 'X' },
		{ "config", required_argument, NULL, 'F' },
		{ "timeout", required_argument, NULL, 'm' },
		{ "envelope", no_argument, NULL, OPT_ENVELOPE },
		{ "on-gap", required_argument, NULL, OPT_ON_GAP },
		OPTS_METRICS_LONG,
		OPTS_COMMON_LONG,
		{ NULL, 0, NULL, 0 },
	};
	int c, r;

	while ((c = getopt_long(argc, argv, "b:t:p:o:G:ec:uD:K:LX:F:m:" OPTS_COMMON_SHORT, longopts, NULL)) != -1) {
		switch (c) {
		case 'b':
		case 'X':
		case 'F':
			if ((r = kconf_option(k, c, optarg)) != 0)
				return r;
			break;
		case 't':
			if (o->ntopics == MAX_TOPICS)
				return diag_err("-t: at most %d topics", MAX_TOPICS), EX_USAGE;
			o->topics[o->ntopics++] = optarg;
			break;
		case 'p':
			o->partitions = optarg;
			break;
		case 'o':
			if (parse_offset(optarg, o) < 0)
				return diag_err("-o: '%s' is not beginning, end, stored, N, -N, s@MS or @FILE",
				    optarg), EX_USAGE;
			break;
		case 'G':
			o->group = optarg;
			break;
		case 'e':
			o->exit_at_end = true;
			break;
		case 'c':
			if (opts_uint(optarg, 1, UINT64_MAX, &o->count) < 0)
				return diag_err("-c: '%s' is not a count of 1 or more", optarg), EX_USAGE;
			break;
		case 'u':
			o->unbuffered = true;
			break;
		case 'D':
			if ((o->delim = opts_delim(optarg)) < 0)
				return diag_err("-D: '%s' is not one character (or \\n \\t \\r \\0 \\xNN)", optarg), EX_USAGE;
			break;
		case 'K':
			if ((o->key_delim = opts_delim(optarg)) < 0)
				return diag_err("-K: '%s' is not one character (or \\n \\t \\r \\0 \\xNN)", optarg), EX_USAGE;
			break;
		case 'L':
			o->list = true;
			break;
		case 'm':
			if (opts_duration(optarg, &o->timeout) < 0 || o->timeout <= 0)
				return diag_err("-m: '%s' is not a duration", optarg), EX_USAGE;
			break;
		case OPT_ENVELOPE:
			o->envelope = true;
			break;
		case OPT_METRICS_ADDR:
			o->metrics_addr = optarg;
			break;
		case OPT_ON_GAP:
			if (strcmp(optarg, "skip") == 0)
				o->skip_gaps = true;
			else if (strcmp(optarg, "fail") == 0)
				o->skip_gaps = false;
			else
				return diag_err("--on-gap: '%s' is not fail or skip", optarg), EX_USAGE;
			break;
		default:
			if ((r = opts_default(c, optarg, help)) != OPTS_HANDLED)
				return r;
		}
	}
	for (; optind < argc; optind++) {
		if (o->ntopics == MAX_TOPICS)
			return diag_err("at most %d topics", MAX_TOPICS), EX_USAGE;
		o->topics[o->ntopics++] = argv[optind];
	}
	if (o->list)
		return EX_OK;
	if (o->ntopics == 0)
		return diag_err("no topic: give -t TOPIC (or topics as arguments)"), EX_USAGE;
	for (int t = 0; t < o->ntopics; t++)
		if (kconf_topic_check(o->topics[t], strlen(o->topics[t]), why, sizeof(why)) < 0)
			return diag_err("topic '%s': not a Kafka topic name: it %s", o->topics[t], why), EX_USAGE;
	if (o->group && o->partitions)
		return diag_err("-p and -G: a group assigns the partitions itself"), EX_USAGE;
	if (o->group && (o->off_kind == OFF_FILE || o->off_kind == OFF_ABS || o->off_kind == OFF_TAIL ||
	    o->off_kind == OFF_TIME))
		return diag_err("-G reads from the group's committed offsets; -o may only be beginning or end "
		    "(where a new group starts)"), EX_USAGE;
	if (!o->group && o->off_kind == OFF_STORED)
		return diag_err("-o stored needs a group (-G)"), EX_USAGE;
	return EX_OK;
}

static void
open_consumer(struct state *st, struct kconf *k)
{
	const struct options *o = st->opt;
	char err[512];

	/*
	 * Offsets are stored by hand, after the output is flushed; commits
	 * of what is stored run in the background and once more at exit.
	 * An offset that is gone resets to the oldest (or with -o end the
	 * newest), and the jump is then checked (check_gap), never taken
	 * quietly.
	 */
	if (kconf_set(k, "enable.partition.eof", "true") < 0 ||
	    kconf_set(k, "auto.offset.reset", o->off_kind == OFF_END ? "latest" : "earliest") < 0 ||
	    kconf_set(k, "enable.auto.offset.store", "false") < 0)
		diag_exit(EX_SOFTWARE, "%s", k->errstr);
	/*
	 * With -e the last fetch of each partition finds nothing, and the
	 * broker holds an empty fetch for fetch.wait.max.ms (500 by default)
	 * before answering: a shorter wait ends the read sooner.
	 */
	if (o->exit_at_end && !kconf_given(k, "fetch.wait.max.ms") && kconf_set(k, "fetch.wait.max.ms", "100") < 0)
		diag_exit(EX_SOFTWARE, "%s", k->errstr);
	if (o->group) {
		if (kconf_set(k, "group.id", o->group) < 0 || kconf_set(k, "enable.auto.commit", "true") < 0)
			diag_exit(EX_USAGE, "%s", k->errstr);
		rd_kafka_conf_set_rebalance_cb(k->conf, on_rebalance);
	} else {
		/*
		 * librdkafka 2.0 will not assign() without a group.id; this one
		 * is never joined and nothing is committed to it.
		 */
		if ((!kconf_given(k, "group.id") && kconf_set(k, "group.id", "ksub") < 0) ||
		    kconf_set(k, "enable.auto.commit", "false") < 0)
			diag_exit(EX_SOFTWARE, "%s", k->errstr);
	}
	if (diag_enabled(DIAG_DEBUG))
		kconf_set(k, "debug", "consumer,cgrp,topic,fetch");
	/* Rebalances come from librdkafka's statistics, served from the poll loop. */
	if (o->metrics_addr) {
		if (!kconf_given(k, "statistics.interval.ms") &&
		    kconf_set(k, "statistics.interval.ms", STATS_INTERVAL_MS) < 0)
			diag_exit(EX_SOFTWARE, "%s", k->errstr);
		rd_kafka_conf_set_stats_cb(k->conf, on_stats);
	}
	if (kconf_finish(k) < 0)
		diag_exit(EX_USAGE, "%s", k->errstr);
	rd_kafka_conf_set_opaque(k->conf, st);
	rd_kafka_conf_set_error_cb(k->conf, on_error);
	if (!(st->rk = rd_kafka_new(RD_KAFKA_CONSUMER, k->conf, err, sizeof(err))))
		diag_exit(EX_CONFIG, "%s", err);
	k->conf = NULL;	/* now owned by rk */
	rd_kafka_poll_set_consumer(st->rk);
	if (kconf_reach(st->rk, o->timeout) < 0) {
		rd_kafka_destroy(st->rk);
		exit(EX_UNAVAILABLE);
	}
}

/* --- draining: SIGUSR1 asks to read to the end as it is now, then stop --- */

static volatile sig_atomic_t drain_asked;

static void
on_usr1(int sig)
{
	(void)sig;
	drain_asked = 1;
}

/* The end each assigned partition has now: what a drain reads up to. */
static void
drain_targets(struct state *st)
{
	for (size_t i = 0; i < st->nparts; i++) {
		struct part *p = &st->parts[i];

		if (!p->assigned)
			continue;
		if (rd_kafka_query_watermark_offsets(st->rk, p->topic, p->partition, &p->drain_low, &p->drain_to,
		    DRAIN_QUERY_TIMEOUT_MS) != RD_KAFKA_RESP_ERR_NO_ERROR) {
			diag_warn("%s [%" PRId32 "]: cannot read its end; draining until it is reached", p->topic,
			    p->partition);
			p->drain_low = -1;
			p->drain_to = INT64_MAX;
		}
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

static void
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

int
main(int argc, char **argv)
{
	struct options opt = { .delim = '\n', .key_delim = -1, .timeout = DEFAULT_TIMEOUT };
	struct state st = { .opt = &opt, .status = EX_OK };
	struct kconf k;
	int status;

	diag_init(argv[0]);
	{
		/* First of all: SIGUSR1's default would kill a ksub signalled early. */
		struct sigaction sa = { .sa_handler = on_usr1 };

		sigemptyset(&sa.sa_mask);
		sigaction(SIGUSR1, &sa, NULL);
	}
	if (kconf_init(&k) < 0)
		diag_exit(EX_OSERR, "%s", k.errstr);
	status = parse_options(argc, argv, &opt, &k);
	if (status != EX_OK) {
		kconf_destroy(&k);
		if (status == OPTS_DONE)
			return EX_OK;
		usage();
		return status;
	}
	stop_init();
	if (lw_init(&st.out, STDOUT_FILENO, 0, false) < 0)
		diag_exit(EX_OSERR, "out of memory");
	/* A reader that stopped reading does not keep ksub from stopping. */
	st.out.stop_abandons = true;
	register_metrics(&st);
	if (!opt.list && metrics_serve_option(opt.metrics_addr) < 0)
		exit(EX_CONFIG);
	open_consumer(&st, &k);
	if (opt.list) {
		status = list_metadata(&st);
		rd_kafka_destroy(st.rk);
		lw_free(&st.out);
		kconf_destroy(&k);
		return status;
	}
	if (opt.group)
		subscribe(&st);
	else
		assign_partitions(&st);
	if (opt.metrics_addr)
		lag_start(&st);

	consume(&st);

	/* Whatever was written reaches the pipe; then, in a group, its offsets are committed. */
	if (flush_and_store(&st) < 0 && st.out.err == EINTR) {
		diag_warn("stopped while stdout was not being read: what was not written is not committed, "
		    "and a group member reads it again");
	} else if (st.out.err && st.out.err != EPIPE) {
		diag_err("stdout: %s", strerror(st.out.err));
		if (st.status == EX_OK)
			st.status = EX_IOERR;
	}
	if (opt.group) {
		commit_sync(&st);
		rd_kafka_consumer_close(st.rk);
	}
	lag_stop();
	rd_kafka_destroy(st.rk);
	metrics_stop();
	if (st.skipped)
		diag_warn("skipped %" PRIu64 " message%s gone from the broker (%" PRIu64 " gap%s)", st.skipped,
		    st.skipped == 1 ? "" : "s", st.gaps, st.gaps == 1 ? "" : "s");
	diag_info("%" PRIu64 " message%s written", st.written, st.written == 1 ? "" : "s");
	parts_clear(&st);
	free(st.parts);
	lw_free(&st.out);
	kconf_destroy(&k);
	return st.status;
}

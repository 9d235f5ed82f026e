/*
 * kpub: lines on stdin (or files) become messages on a Kafka topic, one
 * message per line, and none is lost without a word: every delivery
 * report is checked, and a message that cannot be delivered goes to the
 * dead-letter file or makes the exit status 75.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include <json-c/json.h>
#include <librdkafka/rdkafka.h>

#include "lib/atomicfile.h"
#include "lib/base64.h"
#include "lib/diag.h"
#include "lib/forkjoin.h"
#include "lib/jscan.h"
#include "lib/kconf.h"
#include "lib/lineio.h"
#include "lib/metrics.h"
#include "lib/opts.h"
#include "lib/stop.h"
#include "pub/frontier.h"
#include "pub/pbatch.h"

#define MAX_HEADERS 64			/* --header options */
#define QUEUE_FULL_POLL_MS 50		/* wait for room when librdkafka's queue is full */
#define FLUSH_POLL_MS 100
#define DEFAULT_FLUSH_TIMEOUT 30.0	/* seconds */
#define DEFAULT_CONNECT_TIMEOUT 10.0	/* seconds to reach a broker at start */
#define ADMIN_TIMEOUT_MS 10000
#define FRONTIER_SAVE_S 1.0		/* --source-offsets: seconds between saves */
#define SOURCE_OFFSET_MAX 999999999999999999ULL	/* 18 digits: a source offset --source-offsets takes */
#define PARTITION_TEXT_MAX 16		/* envelope partitions this long are out of range */
#define LINE_BITS 40			/* opaque: line number bits; source index above */
#define READ_CAP (256u << 10)		/* bytes read at a time: the lines of one read are one batch */
#define BATCH_MAX 10000			/* messages: batches are handed over at this many */
#define GATHER_MAX 4096			/* lines taken from the reader's buffer at a time */
#define PARALLEL_MIN 64			/* lines: fewer are not worth a second thread */

struct header {
	const char *name, *value;
};

struct options {
	const char *topic;
	int32_t partition;
	const char *key;		/* -k */
	int key_delim;			/* -K, or -1 */
	const char *key_field;		/* --key-field */
	struct jpath key_path;
	bool missing_key_null;
	int delim;			/* -D */
	uint64_t count;			/* -c; 0: all */
	bool tee;			/* -T */
	bool envelope;
	bool create_topic;
	uint64_t partitions, replication;
	const char *errors_path;
	bool strict;
	bool unbuffered;
	double flush_timeout, connect_timeout;
	struct header headers[MAX_HEADERS];
	size_t nheaders;
	const char *metrics_addr;
	const char *source_offsets;	/* --source-offsets FILE */
	char **inputs;
	int ninputs;
};

enum {
	OPT_KEY_FIELD = OPT_PRIVATE,
	OPT_MISSING_KEY,
	OPT_HEADER,
	OPT_ENVELOPE,
	OPT_CREATE_TOPIC,
	OPT_PARTITIONS,
	OPT_REPLICATION,
	OPT_ERRORS,
	OPT_STRICT,
	OPT_FLUSH_TIMEOUT,
	OPT_TIMEOUT,
	OPT_SOURCE_OFFSETS,
};

/* What a message carries back to its delivery report. */
struct copy {
	uint64_t where;			/* source index and line, as in opaque */
	long frontier;			/* --source-offsets: its source partition, or -1 */
	int64_t offset;			/* and its offset there */
	size_t len;
	char data[];			/* with --envelope: the input line, for -T and --errors */
};

/* An input line, and with --key-field what jscan found for the key. */
struct keyscan {
	struct line l;
	int rc;
	struct jspan v;
	struct jscan_error err;
};

struct state {
	const struct options *opt;
	rd_kafka_t *rk;
	rd_kafka_topic_t *rkt;		/* -t's topic; NULL in envelope mode without -t */
	struct lwriter out;		/* -T */
	struct lwriter dead;		/* --errors */
	char why[192];			/* a bad line's detail, when it names a value */
	bool have_dead;
	const char *const *sources;	/* names, by index */
	size_t message_max;		/* message.max.bytes */
	char *scratch;			/* decoded key and value of one line */
	size_t scratch_cap;
	uint64_t produced, delivered, failed, lost, bad, bad_unsaved;
	bool fatal;
	int events[2];			/* pipe: librdkafka has events to serve */
	struct keyscan *gathered;	/* lines of the reader's buffer, GATHER_MAX at most */
	struct forkjoin helper;		/* the second thread finding keys */
	struct pbatch batch;		/* messages gathered by partition (see pbatch.h) */
	bool batching;
	char partitioner[64];		/* the "partitioner" property, or empty */
	size_t batch_max;		/* messages: hand the batches over at this many, */
	size_t queue_max;		/* with librdkafka's queue this big */
	struct frontier *frontier;	/* --source-offsets */
	double next_save;
	rd_kafka_queue_t *main_queue;
	/* What kpub tells Prometheus; see METRICS in kpub(1). */
	struct metric *m_in, *m_bytes_in, *m_out, *m_delivery_errors, *m_in_flight, *m_latency;
};

static const char synopsis[] =
	"usage: kpub [-quvT] [-b brokers] [-t topic] [-p partition] [-k key | -K delim |\n"
	"            --key-field path [--missing-key=null]] [-D delim] [-c count]\n"
	"            [-z codec] [-X prop=val] [-F file] [--header name=value]\n"
	"            [--envelope] [--create-topic] [--partitions N] [--replication-factor N]\n"
	"            [--errors file] [--strict] [--flush-timeout time] [--timeout time]\n"
	"            [--source-offsets file]\n"
	"            [--log-format text|json] [--metrics-addr addr] [file ...]\n";

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
	    "Produce each input line as one message to a Kafka topic.\n"
	    "\n"
	    "  -b, --brokers LIST       bootstrap brokers host:port,... (else -F, $KAFKA_BROKERS)\n"
	    "  -t, --topic TOPIC        the topic (with --envelope: overrides each envelope's)\n"
	    "  -p, --partition N        always this partition (default: by key)\n"
	    "  -k, --key KEY            the same key on every message\n"
	    "  -K, --key-delimiter D    the key is the line up to the first D\n"
	    "      --key-field PATH     the key is this field of the JSON line (dotted path)\n"
	    "      --missing-key=null   with --key-field: a line without it gets no key\n"
	    "  -D, --delimiter D        input delimiter: a character, \\n \\t \\r \\0 or \\xNN\n"
	    "  -c, --count N            stop after N messages\n"
	    "  -z, --compression CODEC  none, gzip, snappy, lz4 or zstd\n"
	    "  -X, --property P=V       a librdkafka property\n"
	    "  -F, --config FILE        librdkafka properties, one P=V a line\n"
	    "  -T, --tee                write each delivered line to stdout\n"
	    "      --header NAME=VALUE  add this header to every message (repeatable)\n"
	    "      --envelope           lines are envelopes (topic, partition, key, headers, value)\n"
	    "      --create-topic       create the topic first if the cluster lacks it\n"
	    "      --partitions N       partitions for --create-topic (default 5)\n"
	    "      --replication-factor N  replicas for --create-topic (default 3)\n"
	    "      --errors FILE        append bad and undelivered lines to FILE\n"
	    "      --source-offsets FILE  input lines are envelopes: keep in FILE, for ksub -o @FILE,\n"
	    "                           the offsets below which every one was delivered\n"
	    "      --strict             stop at the first bad line (exit 65)\n"
	    "      --flush-timeout D    wait at most D for deliveries at the end (default 30s)\n"
	    "      --timeout D          wait at most D to reach a broker at start (default 10s)\n"
	    "  -u, --unbuffered         flush -T output after every line\n"
	    "  -q, --quiet              print errors only\n"
	    "  -v, --verbose            print more; twice for librdkafka's debug lines\n"
	    "      --log-format F       diagnostics as text (default) or json\n"
	    "      --metrics-addr ADDR  serve Prometheus metrics on http://ADDR/metrics\n"
	    "      --help               print this help and exit\n"
	    "      --version            print the version and exit\n", stdout);
}

static uint64_t
where(size_t source, unsigned long long line)
{
	return (uint64_t)source << LINE_BITS | (line & (((uint64_t)1 << LINE_BITS) - 1));
}

static const char *
where_source(const struct state *st, uint64_t w)
{
	const char *name = st->sources[w >> LINE_BITS];

	return strcmp(name, "-") == 0 ? "stdin" : name;
}

static unsigned long long
where_line(uint64_t w)
{
	return w & (((uint64_t)1 << LINE_BITS) - 1);
}

/* The input line of a message, rebuilt for -T and --errors. */
static int
write_line(const struct state *st, struct lwriter *w, const rd_kafka_message_t *m)
{
	const struct options *o = st->opt;
	char delim = (char)o->delim;

	if (o->envelope) {
		const struct copy *c = m->_private;

		return lw_write(w, c->data, c->len) < 0 || lw_write(w, &delim, 1) < 0 ? -1 : 0;
	}
	if (o->key_delim >= 0 && m->key) {
		char kd = (char)o->key_delim;

		if (lw_write(w, m->key, m->key_len) < 0 || lw_write(w, &kd, 1) < 0)
			return -1;
	}
	if (lw_write(w, m->payload, m->len) < 0 || lw_write(w, &delim, 1) < 0)
		return -1;
	return 0;
}

static void
on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	struct state *st = opaque;
	bool copied = st->opt->envelope || st->frontier;
	struct copy *c = copied ? m->_private : NULL;
	uint64_t w = c ? c->where : (uint64_t)(uintptr_t)m->_private;
	bool handled = true;
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
		if (!st->have_dead || write_line(st, &st->dead, m) < 0 || lw_end_record(&st->dead) < 0) {
			st->lost++;
			handled = false;	/* the frontier stays below it: a restart sends it again */
		}
	} else {
		st->delivered++;
		metric_inc(st->m_out);
		if (st->opt->tee && write_line(st, &st->out, m) == 0)
			lw_end_record(&st->out);
	}
	if (c && c->frontier >= 0 && handled)
		frontier_done(st->frontier, c->frontier, c->offset);
	free(c);
}

static void
on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	struct state *st = opaque;
	char fatal[512];

	if (err == RD_KAFKA_RESP_ERR__FATAL) {
		rd_kafka_fatal_error(rk, fatal, sizeof(fatal));
		diag_err("fatal producer error: %s", fatal);
		st->fatal = true;
		return;
	}
	/* librdkafka's log callback already reported it, unless all are down. */
	diag_log(err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN ? DIAG_WARN : DIAG_DEBUG, "%s", reason);
}

/* The reason label of bad lines in metrics, from what the report says. */
static const char *
bad_kind(const char *what)
{
	static const char *const kinds[][2] = {
		{ "not JSON", "not_json" }, { "no key field", "missing_key" },
		{ "key field is not a string or a number", "bad_key" }, { "not an envelope", "not_envelope" },
		{ "line too long", "too_long" }, { "cannot produce", "produce_error" }, { "cut short", "cut" },
	};

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(what, kinds[i][0]) == 0)
			return kinds[i][1];
	return "other";
}

static void
count_bad(const char *kind)
{
	metric_inc(metric_counter_label("txstream_kpub_bad_records_total", "Bad input lines, by reason.",
	    "reason", kind));
}

/* A bad input line: reported, counted, and dead-lettered when asked. */
static void
bad_line(struct state *st, const char *source, const struct line *l, const char *what, const char *detail)
{
	char delim = (char)st->opt->delim;

	st->bad++;
	count_bad(bad_kind(what));
	diag_badline(source, l->no, "%s: %s", what, detail);
	if (st->have_dead && l->data && lw_write(&st->dead, l->data, l->len) == 0 &&
	    lw_write(&st->dead, &delim, 1) == 0 && lw_end_record(&st->dead) == 0)
		return;
	st->bad_unsaved++;
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

/* The message one line becomes. */
struct msg {
	const char *topic;		/* NULL: st->rkt */
	int32_t partition;
	const void *key, *value;
	size_t key_len, value_len;
	rd_kafka_headers_t *headers;
	const char *why;		/* when the line is bad: what, */
	const char *why_arg;		/* and the detail */
};

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
bad_message(struct msg *m, const char *why, const char *detail)
{
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
		return bad_message(m, "not JSON", k->err.reason);
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
		return bad_message(m, "no key field", o->key_field);
	default:
		return bad_message(m, "key field is not a string or a number", o->key_field);
	}
}

enum env_field { E_TOPIC, E_PARTITION, E_KEY, E_KEY_B64, E_HEADERS, E_VALUE, E_VALUE_TEXT, E_VALUE_B64, E_N };

static const char *const env_names[E_N] = {
	"topic", "partition", "key", "key_base64", "headers", "value", "value_text", "value_base64",
};

/* Headers of an envelope: [{"key":"k","value":"v"}, ...]; value may be null. */
static int
envelope_headers(const struct jspan *h, struct msg *m)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *arr = tok ? json_tokener_parse_ex(tok, h->p, (int)h->len) : NULL;
	size_t n;
	int rc = 0;

	if (tok)
		json_tokener_free(tok);
	if (!arr || !json_object_is_type(arr, json_type_array)) {
		json_object_put(arr);
		return bad_message(m, "not an envelope", "headers is not an array");
	}
	n = json_object_array_length(arr);
	m->headers = rd_kafka_headers_new(n);
	for (size_t i = 0; i < n && rc == 0; i++) {
		struct json_object *e = json_object_array_get_idx(arr, i), *k, *v;

		if (!json_object_is_type(e, json_type_object) ||
		    !json_object_object_get_ex(e, "key", &k) || !json_object_is_type(k, json_type_string)) {
			rc = -1;
		} else if (!json_object_object_get_ex(e, "value", &v) || json_object_is_type(v, json_type_null)) {
			rd_kafka_header_add(m->headers, json_object_get_string(k), json_object_get_string_len(k), NULL, 0);
		} else if (json_object_is_type(v, json_type_string)) {
			rd_kafka_header_add(m->headers, json_object_get_string(k), json_object_get_string_len(k),
			    json_object_get_string(v), json_object_get_string_len(v));
		} else {
			rc = -1;
		}
	}
	json_object_put(arr);
	if (rc < 0)
		return bad_message(m, "not an envelope", "headers must be {\"key\": string, \"value\": string or null}");
	return 0;
}

/*
 * A string member decoded at scratch + at, then base64-decoded after it
 * when b64: at most 2 * v->len bytes. from_envelope() sized the scratch.
 */
static int
envelope_bytes(struct state *st, const struct jspan *v, bool b64, char **dst, size_t *len, size_t at)
{
	char *buf = st->scratch + at;
	size_t n = jscan_string(v, buf);

	if (b64) {
		char *out = buf + n;
		ssize_t d = base64_decode(out, buf, n);

		if (d < 0)
			return -1;
		buf = out;
		n = (size_t)d;
	}
	*dst = buf;
	*len = n;
	return 0;
}

static int
from_envelope(struct state *st, const struct line *l, struct msg *m)
{
	static struct jpath paths[E_N];
	static bool ready;
	struct jspan f[E_N];
	struct jscan_error err;
	size_t values, at, n;
	char *buf, why[96];

	if (!ready) {
		for (int i = 0; i < E_N; i++)
			jpath_parse(&paths[i], env_names[i]);
		ready = true;
	}
	if (jscan(l->data, l->len, paths, E_N, f, &err) < 0)
		return bad_message(m, "not JSON", err.reason);
	if (l->data[strspn(l->data, " \t")] != '{')
		return bad_message(m, "not an envelope", "not an object");
	/*
	 * One buffer for everything decoded: key and value need at most twice
	 * their span (text, then base64), the topic its span, after them.
	 */
	scratch(st, 3 * l->len + 16);
	if (!st->opt->topic) {
		if (f[E_TOPIC].type != JT_STRING)
			return bad_message(m, "not an envelope", "no topic (give -t)");
		m->topic = buf = st->scratch + 2 * l->len + 8;
		n = jscan_string(&f[E_TOPIC], buf);
		buf[n] = '\0';
		if (kconf_topic_check(buf, n, why, sizeof(why)) < 0) {
			snprintf(st->why, sizeof(st->why), "topic '%.40s%s' is not a Kafka topic name: it %s", buf,
			    n > 40 ? "..." : "", why);
			return bad_message(m, "not an envelope", st->why);
		}
	}
	if (f[E_PARTITION].type == JT_NUMBER) {
		uint64_t p;

		const struct jspan *v = &f[E_PARTITION];
		size_t neg = v->p[0] == '-';

		if (strspn(v->p + neg, "0123456789") != v->len - neg)
			return bad_message(m, "not an envelope", "partition is not a whole number");
		if (neg && strspn(v->p + 1, "0") == v->len - 1) {
			p = 0;		/* -0 */
		} else if (neg || v->len >= PARTITION_TEXT_MAX || jscan_uint(v, INT32_MAX, &p) < 0) {
			snprintf(st->why, sizeof(st->why), "partition %.*s%s is out of range (0 to %d)",
			    (int)(v->len < PARTITION_TEXT_MAX ? v->len : PARTITION_TEXT_MAX), v->p,
			    v->len > PARTITION_TEXT_MAX ? "..." : "", INT32_MAX);
			return bad_message(m, "not an envelope", st->why);
		}
		m->partition = (int32_t)p;
	} else if (f[E_PARTITION].type != JT_NONE && f[E_PARTITION].type != JT_NULL) {
		return bad_message(m, "not an envelope", "partition is not a number");
	}

	if (f[E_KEY].type == JT_STRING) {
		envelope_bytes(st, &f[E_KEY], false, (char **)&m->key, &m->key_len, 0);
	} else if (f[E_KEY_B64].type == JT_STRING) {
		if (envelope_bytes(st, &f[E_KEY_B64], true, (char **)&m->key, &m->key_len, 0) < 0)
			return bad_message(m, "not an envelope", "key_base64 is not base64");
	} else if (f[E_KEY].type != JT_NONE && f[E_KEY].type != JT_NULL) {
		return bad_message(m, "not an envelope", "key is not a string");
	}

	/* The value goes after the key in the scratch buffer. */
	at = m->key ? (size_t)((const char *)m->key - st->scratch) + m->key_len : 0;
	values = (f[E_VALUE].type != JT_NONE) + (f[E_VALUE_TEXT].type != JT_NONE) + (f[E_VALUE_B64].type != JT_NONE);
	if (values != 1)
		return bad_message(m, "not an envelope", values ? "more than one of value, value_text, value_base64" :
		    "no value, value_text or value_base64");
	if (f[E_VALUE].type == JT_NULL) {
		m->value = NULL;	/* a tombstone */
	} else if (f[E_VALUE].type != JT_NONE) {
		m->value = f[E_VALUE].p;	/* verbatim: byte for byte */
		m->value_len = f[E_VALUE].len;
	} else if (f[E_VALUE_TEXT].type == JT_STRING) {
		envelope_bytes(st, &f[E_VALUE_TEXT], false, (char **)&m->value, &m->value_len, at);
	} else if (f[E_VALUE_B64].type == JT_STRING) {
		if (envelope_bytes(st, &f[E_VALUE_B64], true, (char **)&m->value, &m->value_len, at) < 0)
			return bad_message(m, "not an envelope", "value_base64 is not base64");
	} else {
		return bad_message(m, "not an envelope", "value_text or value_base64 is not a string");
	}
	if (f[E_HEADERS].type != JT_NONE && f[E_HEADERS].type != JT_NULL)
		return envelope_headers(&f[E_HEADERS], m);
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
static rd_kafka_resp_err_t
produce(struct state *st, struct msg *m, void *opaque)
{
	for (;;) {
		rd_kafka_resp_err_t err;

		if (m->topic)
			err = rd_kafka_producev(st->rk, RD_KAFKA_V_TOPIC(m->topic),
			    RD_KAFKA_V_PARTITION(m->partition), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
			    RD_KAFKA_V_VALUE((void *)m->value, m->value_len),
			    RD_KAFKA_V_KEY(m->key, m->key_len), RD_KAFKA_V_HEADERS(m->headers),
			    RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END);
		else
			err = rd_kafka_producev(st->rk, RD_KAFKA_V_RKT(st->rkt),
			    RD_KAFKA_V_PARTITION(m->partition), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
			    RD_KAFKA_V_VALUE((void *)m->value, m->value_len),
			    RD_KAFKA_V_KEY(m->key, m->key_len), RD_KAFKA_V_HEADERS(m->headers),
			    RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END);
		if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
			return err;
		rd_kafka_poll(st->rk, QUEUE_FULL_POLL_MS);
	}
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
	bad_line(st, where_source(st, w), &l, "cannot produce", rd_kafka_err2str(err));
}

/*
 * Hand the batches to librdkafka, once its queue has room for all of
 * them: a full queue would refuse the rest of a batch, which would then go
 * one message at a time.
 */
static void
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

/*
 * --source-offsets: the line is an envelope (as ksub --envelope writes);
 * its topic, partition and offset go into the frontier, in flight until
 * the delivery report.
 */
static int
track_source(struct state *st, const struct line *l, struct copy *c)
{
	static struct jpath paths[3];
	static bool parsed;
	struct jspan v[3];
	struct jscan_error err;
	char topic[512];
	size_t tlen;
	uint64_t partition, offset;

	if (!parsed) {
		jpath_parse(&paths[0], "topic");
		jpath_parse(&paths[1], "partition");
		jpath_parse(&paths[2], "offset");
		parsed = true;
	}
	if (jscan(l->data, l->len, paths, 3, v, &err) < 0 || v[0].type != JT_STRING || v[0].len > sizeof(topic) ||
	    jscan_uint(&v[1], INT32_MAX, &partition) < 0 || jscan_uint(&v[2], SOURCE_OFFSET_MAX, &offset) < 0)
		return -1;
	tlen = jscan_string(&v[0], topic);
	if ((c->frontier = frontier_add(st->frontier, topic, tlen, (int32_t)partition, (int64_t)offset)) < 0)
		diag_exit(EX_OSERR, "out of memory");
	c->offset = (int64_t)offset;
	return 0;
}

static void
save_frontier(struct state *st)
{
	if (!st->frontier)
		return;
	if (frontier_save(st->frontier) < 0)
		diag_exit(EX_CANTCREAT, "--source-offsets %s: cannot write it: %s", st->opt->source_offsets,
		    strerror(errno));
	st->next_save = mono_now() + FRONTIER_SAVE_S;
}

/* One input line. Returns -1 when reading should stop (--strict). */
static int
publish_line(struct state *st, const char *source, size_t src_index, const struct keyscan *k)
{
	const struct line *l = &k->l;
	const struct options *o = st->opt;
	struct copy *c = NULL;
	void *opaque;
	struct msg m;
	rd_kafka_resp_err_t err;

	if (l->len > st->message_max) {
		char why[96];

		snprintf(why, sizeof(why), "%zu bytes, over message.max.bytes (%zu)", l->len, st->message_max);
		bad_line(st, source, l, "line too long", why);
		return o->strict ? -1 : 0;
	}
	if (make_message(st, k, &m) < 0) {
		if (m.headers)
			rd_kafka_headers_destroy(m.headers);
		bad_line(st, source, l, m.why, m.why_arg);
		return o->strict ? -1 : 0;
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
			bad_line(st, source, l, "not an envelope", "--source-offsets needs topic, partition and offset");
			return o->strict ? -1 : 0;
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
		bad_line(st, source, l, "cannot produce", rd_kafka_err2str(err));
		return o->strict ? -1 : 0;
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
			continue;	/* Contract 1: an empty line is skipped */
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
	while (!st->fatal) {
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
			bad_line(st, source, &l, "cut short", "the stop came before its delimiter");
			break;
		}
		if (s == LR_TOOLONG) {
			metric_inc(st->m_in);
			metric_add(st->m_bytes_in, l.len + 1);
			st->bad++;
			count_bad("too_long");
			st->bad_unsaved++;
			diag_badline(source, l.no, "line of %zu bytes is longer than kpub reads; skipped", l.len);
			if (o->strict)
				return -1;
		}
	}
	return 0;
}

static int
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
static void
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

/* --create-topic through the Admin API; a broker without it is not fatal. */
static void
create_topic(struct state *st)
{
	const struct options *o = st->opt;
	char err[256];
	rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(o->topic, (int)o->partitions,
	    (int)o->replication, err, sizeof(err));
	rd_kafka_queue_t *q = rd_kafka_queue_new(st->rk);
	rd_kafka_AdminOptions_t *ao = rd_kafka_AdminOptions_new(st->rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
	rd_kafka_event_t *ev;

	rd_kafka_AdminOptions_set_request_timeout(ao, ADMIN_TIMEOUT_MS, err, sizeof(err));
	rd_kafka_CreateTopics(st->rk, &nt, 1, ao, q);
	ev = rd_kafka_queue_poll(q, ADMIN_TIMEOUT_MS + 1000);
	if (!ev) {
		diag_warn("--create-topic: no answer from the cluster; going on");
	} else if (rd_kafka_event_error(ev)) {
		diag_warn("--create-topic: the cluster cannot create topics (%s); going on",
		    rd_kafka_event_error_string(ev));
	} else {
		size_t n;
		const rd_kafka_topic_result_t **res =
		    rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
		rd_kafka_resp_err_t e = n ? rd_kafka_topic_result_error(res[0]) : RD_KAFKA_RESP_ERR_NO_ERROR;

		if (e == RD_KAFKA_RESP_ERR_NO_ERROR)
			diag_info("created topic %s (%" PRIu64 " partitions, replication %" PRIu64 ")",
			    o->topic, o->partitions, o->replication);
		else if (e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
			diag_warn("--create-topic: %s: %s; going on", o->topic,
			    rd_kafka_topic_result_error_string(res[0]) ? rd_kafka_topic_result_error_string(res[0]) :
			    rd_kafka_err2str(e));
	}
	if (ev)
		rd_kafka_event_destroy(ev);
	rd_kafka_AdminOptions_destroy(ao);
	rd_kafka_queue_destroy(q);
	rd_kafka_NewTopic_destroy(nt);
}

static int
parse_options(int argc, char **argv, struct options *o, struct kconf *k)
{
	char why[96];
	static const struct option longopts[] = {
		{ "brokers", required_argument, NULL, 'b' },
		{ "topic", required_argument, NULL, 't' },
		{ "partition", required_argument, NULL, 'p' },
		{ "key", required_argument, NULL, 'k' },
		{ "key-delimiter", required_argument, NULL, 'K' },
		{ "delimiter", required_argument, NULL, 'D' },
		{ "count", required_argument, NULL, 'c' },
		{ "compression", required_argument, NULL, 'z' },
		{ "property", required_argument, NULL, 'X' },
		{ "config", required_argument, NULL, 'F' },
		{ "tee", no_argument, NULL, 'T' },
		{ "unbuffered", no_argument, NULL, 'u' },
		{ "key-field", required_argument, NULL, OPT_KEY_FIELD },
		{ "missing-key", required_argument, NULL, OPT_MISSING_KEY },
		{ "header", required_argument, NULL, OPT_HEADER },
		{ "envelope", no_argument, NULL, OPT_ENVELOPE },
		{ "create-topic", no_argument, NULL, OPT_CREATE_TOPIC },
		{ "partitions", required_argument, NULL, OPT_PARTITIONS },
		{ "replication-factor", required_argument, NULL, OPT_REPLICATION },
		{ "errors", required_argument, NULL, OPT_ERRORS },
		{ "strict", no_argument, NULL, OPT_STRICT },
		{ "flush-timeout", required_argument, NULL, OPT_FLUSH_TIMEOUT },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "source-offsets", required_argument, NULL, OPT_SOURCE_OFFSETS },
		OPTS_METRICS_LONG,
		OPTS_COMMON_LONG,
		{ NULL, 0, NULL, 0 },
	};
	uint64_t n;
	int c, r, keys = 0;

	while ((c = getopt_long(argc, argv, "b:t:p:k:K:D:c:z:X:F:Tu" OPTS_COMMON_SHORT, longopts, NULL)) != -1) {
		switch (c) {
		case 'b':
		case 'X':
		case 'F':
			if ((r = kconf_option(k, c, optarg)) != 0)
				return r;
			break;
		case 't':
			o->topic = optarg;
			break;
		case 'p':
			if (strcmp(optarg, "-1") == 0)
				o->partition = RD_KAFKA_PARTITION_UA;
			else if (opts_uint(optarg, 0, INT32_MAX, &n) < 0)
				return diag_err("-p: '%s' is not a partition number", optarg), EX_USAGE;
			else
				o->partition = (int32_t)n;
			break;
		case 'k':
			o->key = optarg;
			keys++;
			break;
		case 'K':
			if ((o->key_delim = opts_delim(optarg)) < 0)
				return diag_err("-K: '%s' is not one character (or \\n \\t \\r \\0 \\xNN)", optarg), EX_USAGE;
			keys++;
			break;
		case 'D':
			if ((o->delim = opts_delim(optarg)) < 0)
				return diag_err("-D: '%s' is not one character (or \\n \\t \\r \\0 \\xNN)", optarg), EX_USAGE;
			break;
		case 'c':
			if (opts_uint(optarg, 1, UINT64_MAX, &o->count) < 0)
				return diag_err("-c: '%s' is not a count of 1 or more", optarg), EX_USAGE;
			break;
		case 'z':
			if (kconf_set(k, "compression.codec", optarg) < 0)
				return diag_err("-z: %s", k->errstr), EX_USAGE;
			break;
		case 'T':
			o->tee = true;
			break;
		case 'u':
			o->unbuffered = true;
			break;
		case OPT_KEY_FIELD:
			o->key_field = optarg;
			if (jpath_parse(&o->key_path, optarg) < 0)
				return diag_err("--key-field: '%s' is not a dotted path", optarg), EX_USAGE;
			keys++;
			break;
		case OPT_MISSING_KEY:
			if (strcmp(optarg, "null") != 0)
				return diag_err("--missing-key: only 'null' is known, not '%s'", optarg), EX_USAGE;
			o->missing_key_null = true;
			break;
		case OPT_HEADER: {
			char *eq = strchr(optarg, '=');

			if (!eq || eq == optarg)
				return diag_err("--header: '%s' is not NAME=VALUE", optarg), EX_USAGE;
			if (o->nheaders == MAX_HEADERS)
				return diag_err("--header: at most %d", MAX_HEADERS), EX_USAGE;
			*eq = '\0';
			o->headers[o->nheaders].name = optarg;
			o->headers[o->nheaders++].value = eq + 1;
			break;
		}
		case OPT_ENVELOPE:
			o->envelope = true;
			break;
		case OPT_CREATE_TOPIC:
			o->create_topic = true;
			break;
		case OPT_PARTITIONS:
		case OPT_REPLICATION:
			if (opts_uint(optarg, 1, INT16_MAX, c == OPT_PARTITIONS ? &o->partitions : &o->replication) < 0)
				return diag_err("--%s: '%s' is not a number of 1 or more",
				    c == OPT_PARTITIONS ? "partitions" : "replication-factor", optarg), EX_USAGE;
			break;
		case OPT_ERRORS:
			o->errors_path = optarg;
			break;
		case OPT_STRICT:
			o->strict = true;
			break;
		case OPT_SOURCE_OFFSETS:
			o->source_offsets = optarg;
			break;
		case OPT_METRICS_ADDR:
			o->metrics_addr = optarg;
			break;
		case OPT_FLUSH_TIMEOUT:
		case OPT_TIMEOUT:
			if (opts_duration(optarg, c == OPT_TIMEOUT ? &o->connect_timeout : &o->flush_timeout) < 0)
				return diag_err("--%s: '%s' is not a duration (N, Nms, Ns, Nm, Nh)",
				    c == OPT_TIMEOUT ? "timeout" : "flush-timeout", optarg), EX_USAGE;
			break;
		default:
			if ((r = opts_default(c, optarg, help)) != OPTS_HANDLED)
				return r;
		}
	}
	if (keys > 1)
		return diag_err("-k, -K and --key-field exclude each other"), EX_USAGE;
	if (o->missing_key_null && !o->key_field)
		return diag_err("--missing-key goes with --key-field"), EX_USAGE;
	if (!o->topic && !o->envelope)
		return diag_err("no topic: give -t topic"), EX_USAGE;
	if (o->topic && kconf_topic_check(o->topic, strlen(o->topic), why, sizeof(why)) < 0)
		return diag_err("-t '%s': not a Kafka topic name: it %s", o->topic, why), EX_USAGE;
	if (o->create_topic && !o->topic)
		return diag_err("--create-topic needs -t topic"), EX_USAGE;
	if (o->envelope && (keys || o->partition != RD_KAFKA_PARTITION_UA))
		return diag_err("--envelope takes key and partition from each envelope: no -k, -K, --key-field or -p"), EX_USAGE;
	o->inputs = argv + optind;
	o->ninputs = argc - optind;
	return EX_OK;
}

/*
 * Messages go to librdkafka in batches by partition when kpub can tell
 * the partition itself: a key (or -p), no headers, plain lines.
 */
static void
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

/* The client, once the options are known; exits on failure. */
static void
open_producer(struct state *st, struct kconf *k)
{
	char buf[64], err[512];

	if (kconf_finish(k) < 0)
		diag_exit(EX_USAGE, "%s", k->errstr);
	rd_kafka_conf_set_opaque(k->conf, st);
	rd_kafka_conf_set_dr_msg_cb(k->conf, on_delivery);
	rd_kafka_conf_set_error_cb(k->conf, on_error);
	st->message_max = (size_t)strtoull(kconf_get(k, "message.max.bytes", buf, sizeof(buf)) ?
	    buf : "1000000", NULL, 10);
	st->queue_max = (size_t)strtoull(kconf_get(k, "queue.buffering.max.messages", buf, sizeof(buf)) ?
	    buf : "100000", NULL, 10);
	if (st->queue_max == 0)
		st->queue_max = SIZE_MAX / 2;	/* 0: no limit */
	st->batch_max = st->queue_max / 2 < BATCH_MAX ? st->queue_max / 2 + 1 : BATCH_MAX;
	if (kconf_get(k, "partitioner", st->partitioner, sizeof(st->partitioner)) == NULL)
		st->partitioner[0] = '\0';
	if (!(st->rk = rd_kafka_new(RD_KAFKA_PRODUCER, k->conf, err, sizeof(err))))
		diag_exit(EX_CONFIG, "%s", err);
	k->conf = NULL;	/* now owned by rk */

	/* Fail early and clearly when no broker answers (exit 69). */
	if (kconf_reach(st->rk, st->opt->connect_timeout) < 0)
		exit(EX_UNAVAILABLE);
	if (st->opt->topic)
		st->rkt = rd_kafka_topic_new(st->rk, st->opt->topic, NULL);
	/*
	 * librdkafka writes to this pipe when its main queue (delivery
	 * reports, errors) stops being empty, so the wait for input can end
	 * for them: reports are not held back until the next line.
	 */
	if (pipe2(st->events, O_NONBLOCK | O_CLOEXEC) < 0)
		diag_exit(EX_OSERR, "pipe: %s", strerror(errno));
	st->main_queue = rd_kafka_queue_get_main(st->rk);
	rd_kafka_queue_io_event_enable(st->main_queue, st->events[1], "!", 1);
}

/* Messages librdkafka holds, read when Prometheus asks (rd_kafka_outq_len is thread-safe). */
static void
in_flight(void *arg)
{
	struct state *st = arg;

	metric_set(st->m_in_flight, rd_kafka_outq_len(st->rk));
}

static void
register_metrics(struct state *st)
{
	st->m_in = metric_counter("txstream_kpub_records_in_total", "Input lines read (empty lines aside).");
	st->m_bytes_in = metric_counter("txstream_kpub_bytes_in_total", "Input bytes read, delimiters included.");
	st->m_out = metric_counter("txstream_kpub_records_out_total", "Messages delivered (acknowledged).");
	st->m_delivery_errors = metric_counter("txstream_kpub_delivery_errors_total",
	    "Messages that finally failed to be delivered.");
	st->m_in_flight = metric_gauge("txstream_kpub_messages_in_flight",
	    "Messages produced whose delivery report has not come yet.");
	st->m_latency = metric_new(METRIC_HISTOGRAM, "txstream_kpub_delivery_latency_seconds",
	    "Time from produce to delivery report.", NULL, metric_latency_buckets, metric_latency_nbuckets);
	metrics_on_scrape(in_flight, st);
}

static int
exit_status(const struct state *st)
{
	if (st->lost > 0) {
		diag_err("%" PRIu64 " message%s not delivered and not saved anywhere", st->lost,
		    st->lost == 1 ? "" : "s");
		return EX_TEMPFAIL;
	}
	if (st->fatal)
		return EX_TEMPFAIL;
	return diag_badlines_status(st->bad, st->bad_unsaved, st->opt->strict, "not sent", st->opt->errors_path);
}

int
main(int argc, char **argv)
{
	struct options opt = {
		.partition = RD_KAFKA_PARTITION_UA,
		.key_delim = -1,
		.delim = '\n',
		.partitions = 5,
		.replication = 3,
		.flush_timeout = DEFAULT_FLUSH_TIMEOUT,
		.connect_timeout = DEFAULT_CONNECT_TIMEOUT,
	};
	struct state st = { .opt = &opt };
	static const char *stdin_only[] = { "stdin" };
	const char **sources;
	struct kconf k;
	int status, fd, rc = 0;

	diag_init(argv[0]);
	if (kconf_init(&k) < 0)
		diag_exit(EX_OSERR, "%s", k.errstr);
	/* Lose nothing, double nothing: the defaults; -X may still change them. */
	if (kconf_set(&k, "acks", "all") < 0 || kconf_set(&k, "enable.idempotence", "true") < 0)
		diag_exit(EX_SOFTWARE, "%s", k.errstr);
	status = parse_options(argc, argv, &opt, &k);
	if (status != EX_OK) {
		kconf_destroy(&k);
		if (status == OPTS_DONE)
			return EX_OK;
		usage();
		return status;
	}
	if (diag_enabled(DIAG_DEBUG))
		kconf_set(&k, "debug", "broker,topic,msg");

	stop_init();
	if (lw_init(&st.out, STDOUT_FILENO, 0, opt.unbuffered) < 0)
		diag_exit(EX_OSERR, "out of memory");
	if (opt.errors_path) {
		if ((fd = afile_open_append(opt.errors_path)) < 0)
			diag_exit(EX_CANTCREAT, "--errors %s: %s", opt.errors_path, strerror(errno));
		/* Unbuffered: a dead letter is on disk before kpub goes on. */
		if (lw_init(&st.dead, fd, 0, true) < 0)
			diag_exit(EX_OSERR, "out of memory");
		st.have_dead = true;
	}
	sources = opt.ninputs ? (const char **)opt.inputs : stdin_only;
	st.sources = sources;
	open_producer(&st, &k);
	/* Unregistered series are NULL, and updating them costs nothing: only when served. */
	if (opt.metrics_addr)
		register_metrics(&st);
	if (opt.source_offsets) {
		char why[512];

		if (!(st.frontier = frontier_new(opt.source_offsets, why, sizeof(why))))
			diag_exit(EX_DATAERR, "--source-offsets %s: %s", opt.source_offsets, why);
		save_frontier(&st);	/* a file that cannot be written fails now */
	}
	if (metrics_serve_option(opt.metrics_addr) < 0)
		exit(EX_CONFIG);
	if (opt.create_topic)
		create_topic(&st);
	start_batching(&st);
	if (!(st.gathered = malloc(GATHER_MAX * sizeof(*st.gathered))))
		diag_exit(EX_OSERR, "out of memory");
	if (opt.key_field && !opt.envelope && fj_start(&st.helper) < 0)
		diag_debug("no second thread: kpub works in one");

	for (int i = 0; i < (opt.ninputs ? opt.ninputs : 1) && rc == 0; i++) {
		struct lreader r;
		const char *path = opt.ninputs ? opt.inputs[i] : "-";

		if (lr_open(&r, path, opt.delim, 0) < 0) {
			diag_err("%s: %s", path, strerror(errno));
			status = EX_NOINPUT;
			break;
		}
		r.initial_cap = READ_CAP;
		rc = publish_input(&st, &r, (size_t)i);
		lr_close(&r);
	}
	drain(&st);
	save_frontier(&st);
	diag_badline_flush();
	if (lw_flush(&st.out) < 0 && st.out.err != EPIPE)
		diag_err("write error on stdout: %s", strerror(st.out.err));
	if (st.have_dead && st.dead.err) {
		diag_err("--errors %s: %s", opt.errors_path, strerror(st.dead.err));
		status = EX_IOERR;
	}
	diag_info("%" PRIu64 " produced, %" PRIu64 " delivered, %" PRIu64 " failed, %" PRIu64 " bad",
	    st.produced, st.delivered, st.failed, st.bad);
	if (status == EX_OK)
		status = exit_status(&st);
	else if (st.lost)
		status = EX_TEMPFAIL;
	metrics_stop();
	rd_kafka_queue_io_event_enable(st.main_queue, -1, NULL, 0);
	rd_kafka_queue_destroy(st.main_queue);
	close(st.events[0]);
	close(st.events[1]);
	if (st.rkt)
		rd_kafka_topic_destroy(st.rkt);
	rd_kafka_destroy(st.rk);
	lw_free(&st.out);
	if (st.have_dead) {
		close(st.dead.fd);
		lw_free(&st.dead);
	}
	free(st.scratch);
	frontier_free(st.frontier);
	pbatch_free(&st.batch);
	fj_stop(&st.helper);
	free(st.gathered);
	kconf_destroy(&k);
	return status;
}

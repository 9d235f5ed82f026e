/*
 * kpub's parts, shared by src/kpub.c (options, the client, metrics, main)
 * and src/pub/ (publish.c: lines into messages, produced in order, and
 * their delivery reports; batch.c: messages handed to librdkafka a batch
 * per partition; source.c: --source-offsets; topic.c: --create-topic;
 * pbatch.c and frontier.c, the data structures of the two).
 *
 * One thread, the one that reads the input, except scan_keys(), which
 * --key-field runs on a second one (it only reads lines and writes their
 * own keyscan). librdkafka's delivery reports come on it too, from
 * rd_kafka_poll(). Functions that cannot go on exit through diag_exit().
 */
#ifndef TXS_PUB_H
#define TXS_PUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#include "lib/deadletter.h"
#include "lib/envelope.h"
#include "lib/forkjoin.h"
#include "lib/jscan.h"
#include "lib/lineio.h"
#include "lib/metrics.h"
#include "pub/frontier.h"
#include "pub/pbatch.h"

#define MAX_HEADERS 64			/* --header options */
#define QUEUE_FULL_POLL_MS 50		/* wait for room when librdkafka's queue is full */
#define LINE_BITS 40			/* opaque: line number bits; source index above */
#define GATHER_MAX 4096			/* lines taken from the reader's buffer at a time */

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
	bool no_timestamp;		/* --no-timestamp: envelopes get the time of producing */
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
	struct deadletter dl;		/* bad lines; --errors */
	char key_delim;			/* -K's delimiter, as the byte written back */
	char why[192];			/* a bad line's detail, when it names a value */
	struct env_parser env;		/* --envelope */
	const char *const *sources;	/* names, by index */
	size_t message_max;		/* message.max.bytes */
	char *scratch;			/* decoded key and value of one line */
	size_t scratch_cap;
	uint64_t produced, delivered, failed, lost;
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
	double start_deadline;		/* mono_now(): --timeout for reaching the cluster and --create-topic */
	rd_kafka_queue_t *main_queue;
	/* What kpub tells Prometheus; see METRICS in kpub(1). */
	struct metric *m_in, *m_bytes_in, *m_out, *m_delivery_errors, *m_in_flight, *m_latency;
};

/* The message one line becomes. */
struct msg {
	const char *topic;		/* NULL: st->rkt */
	int32_t partition;
	const void *key, *value;
	size_t key_len, value_len;
	rd_kafka_headers_t *headers;
	int64_t timestamp;		/* ms since the epoch; 0: now */
	const char *reason;		/* when the line is bad: its label in metrics, */
	const char *why;		/* what, */
	const char *why_arg;		/* and the detail */
};

/* Where a message's line came from, carried in its opaque: source index and line number. */
static inline uint64_t
where(size_t source, unsigned long long line)
{
	return (uint64_t)source << LINE_BITS | (line & (((uint64_t)1 << LINE_BITS) - 1));
}

static inline const char *
where_source(const struct state *st, uint64_t w)
{
	const char *name = st->sources[w >> LINE_BITS];

	return strcmp(name, "-") == 0 ? "stdin" : name;
}

static inline unsigned long long
where_line(uint64_t w)
{
	return w & (((uint64_t)1 << LINE_BITS) - 1);
}

/* publish.c */
void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque);
int bad_line(struct state *st, const char *source, const struct line *l, const char *reason, const char *what,
    const char *detail);
rd_kafka_resp_err_t produce(struct state *st, struct msg *m, void *opaque);
int publish_input(struct state *st, struct lreader *r, size_t src_index);
void drain(struct state *st);

/* batch.c */
void start_batching(struct state *st);
void flush_batches(struct state *st);

/* source.c */
int track_source(struct state *st, const struct line *l, struct copy *c);
void save_frontier(struct state *st);

/* topic.c */
void create_topic(struct state *st);

#endif

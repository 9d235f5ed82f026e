/*
 * ksub's parts, shared by src/ksub.c (options, the client, main) and
 * src/sub/ (parts.c: the partitions ksub reads and the offsets it stores
 * behind its output; consume.c: the poll loop, each message's line, gaps,
 * rebalances and SIGUSR1's drain; start.c: where each partition starts;
 * list.c: -L; stats.c: metrics).
 *
 * One thread: everything here runs on the thread that polls the consumer
 * (librdkafka calls the rebalance and statistics callbacks from the poll).
 * Functions that cannot go on exit through diag_exit() with a sysexits.h
 * status, as main() would: ksub has nothing to undo at such a point.
 */
#ifndef TXS_SUB_H
#define TXS_SUB_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "lib/envelope.h"
#include "lib/lineio.h"
#include "lib/metrics.h"

#define MAX_TOPICS 64
#define WATERMARK_TIMEOUT_MS 5000

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
	struct env_header *hdr;		/* --envelope: one message's headers */
	size_t hcap;
	struct part *parts;
	size_t nparts, cap;
	size_t last;			/* lookup cache */
	uint64_t written, skipped, gaps;
	bool done;
	int status;
	/* What ksub tells Prometheus; see METRICS in ksub(1). */
	struct metric *m_in, *m_out, *m_bytes_out, *m_rebalances, *m_gaps;
};

/* parts.c */
struct part *part_find(struct state *st, const char *topic, int32_t partition);
struct part *part_add(struct state *st, const char *topic, int32_t partition);
void parts_clear(struct state *st);
int flush_and_store(struct state *st);
void commit_sync(struct state *st);

/* consume.c */
void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *l, void *opaque);
void on_usr1(int sig);
void consume(struct state *st);

/* start.c */
void assign_partitions(struct state *st);
void subscribe(struct state *st);

/* list.c */
int list_metadata(struct state *st);

/* stats.c */
void register_metrics(struct state *st);
int on_stats(rd_kafka_t *rk, char *json, size_t len, void *opaque);
void lag_start(struct state *st);
void lag_stop(void);

#endif

/*
 * jagg's parts, shared by src/jagg.c (options, the record loop, main) and
 * src/agg/ (spec.c: what to compute; state.c: the groups and their
 * output; checkpoint.c: saving and loading them).
 *
 * The spec is fixed at start. The state is a table of groups, one per
 * (window, group key), each with one aggregate value per aggregate of the
 * spec; a record is absorbed into all its groups or into none, so a bad
 * record never leaves half its effect behind. Single-threaded.
 */
#ifndef TXS_AGG_H
#define TXS_AGG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "lib/dec.h"
#include "lib/forkjoin.h"
#include "lib/jscan.h"
#include "lib/lineio.h"
#include "lib/offsets.h"

#define JAGG_MAX_GROUP 16	/* -g fields */
#define JAGG_MAX_AGGS 32	/* aggregates */
#define JAGG_MAX_WINDOWS 1000	/* windows one record may fall in (size / slide) */

enum agg_func {
	AF_COUNT, AF_SUM, AF_MIN, AF_MAX, AF_AVG, AF_FIRST, AF_LAST, AF_COUNT_DISTINCT,
};

struct agg_spec {
	char *name;		/* output member */
	enum agg_func func;
	char *field;		/* dotted path; NULL for count */
	int slot;		/* index of the field among struct spec's fields */
};

/*
 * Everything that decides what the state means. Two runs whose specs
 * have the same text may share a checkpoint; the mode, triggers and
 * output options are not part of it.
 */
struct spec {
	size_t ngroup;
	char *group[JAGG_MAX_GROUP];	/* dotted paths */
	int group_slot[JAGG_MAX_GROUP];
	size_t nagg;
	struct agg_spec agg[JAGG_MAX_AGGS];

	bool windowed;
	long long size_ms, slide_ms, delay_ms;	/* milliseconds */
	char *time_field;
	int time_slot;
	int unit_ms;		/* 1000 for --time-unit s, 1 for ms */

	/* The distinct fields named, in first-mention order. */
	size_t nfields;
	char *field[JAGG_MAX_GROUP + JAGG_MAX_AGGS + 1];

	char *text;		/* canonical form, for checkpoints and messages */
};

const char *agg_func_name(enum agg_func f);
/* "NAME=FUNC:FIELD", "FUNC:FIELD" or "count"; -1 with *why set. */
int spec_add_agg(struct spec *s, const char *arg, const char **why);
/* "a,b.c" */
int spec_set_group(struct spec *s, const char *arg, const char **why);
/* After all options: numbers the fields and writes s->text. */
int spec_finish(struct spec *s, const char **why);
void spec_free(struct spec *s);

/* --- scanning: the per-line work that needs no state (scan.c) --- */

enum input_kind { INPUT_AUTO, INPUT_RECORDS, INPUT_ENVELOPES, INPUT_NESTED };

#define ENV_FIXED 6		/* envelope members looked for, before the fields */
#define NESTED_FIXED 10		/* and those of an envelope inside one */
#define SCAN_TOPIC_MAX 256	/* bytes of a topic name (Kafka allows 249) */
#define SCAN_WHY_MAX 320

/* What to look for in a line; read-only once set, so threads may share it. */
struct scanner {
	const struct spec *spec;
	enum input_kind input;
	struct jpath paths[JSCAN_MAX_PATHS];
	char *pathtext[JSCAN_MAX_PATHS];	/* "value.<field>", which the paths point into */
	size_t npaths;
	bool need_num[JSCAN_MAX_PATHS];		/* fields that feed sums or the clock */
};

enum scan_status { SCAN_OK, SCAN_BAD };

/* One line, scanned. */
struct scanned {
	struct line line;
	enum scan_status status;
	char whybuf[SCAN_WHY_MAX];	/* SCAN_BAD: the reason */
	const char *kind;		/* SCAN_BAD: the reason's label for metrics */
	enum input_kind looks_like;	/* INPUT_AUTO only */
	bool has_offset;		/* an envelope: topic, partition and offset are set */
	char topic[SCAN_TOPIC_MAX];
	size_t topic_len;
	long long partition, offset;
	bool has_source;		/* a nested envelope: the forwarded message's place */
	char src_topic[SCAN_TOPIC_MAX];
	size_t src_topic_len;
	long long src_partition, src_offset;
	long long event_ms;
	struct fieldval *vals;		/* spec->nfields of them, owned by the caller */
	char *heap;			/* canonical forms of escaped strings: free() after use */
};

int scanner_init(struct scanner *sc, const struct spec *spec, enum input_kind input);
void scanner_set_input(struct scanner *sc, enum input_kind input);
void scanner_free(struct scanner *sc);
/* Fill s from s->line. Thread-safe for distinct s. */
void scan_line(const struct scanner *sc, struct scanned *s);

/* The helper thread that scans half of each large batch. */
struct scanpool {
	const struct scanner *sc;
	struct scanned *batch;
	struct forkjoin fj;
};

int scanpool_start(struct scanpool *p, const struct scanner *sc);
/* Scan batch[0..n), in two threads when it is worth it. */
void scanpool_scan(struct scanpool *p, struct scanned *batch, size_t n);
void scanpool_stop(struct scanpool *p);

/* --- state --- */

struct strset;

struct aggv {
	struct dec d;		/* sum (also avg's), min, max */
	char *text;		/* first, last: the value's JSON text */
	size_t len, cap;
	struct strset *set;	/* count_distinct */
};

struct group {
	struct group *prev, *next;	/* all groups, in creation order */
	uint64_t hash;
	long long wstart;	/* window start, ms (0 without windows) */
	unsigned long long n;	/* records absorbed */
	bool dirty;		/* changed since the last trigger */
	size_t keylen;		/* key: the group values' JSON texts, each NUL-ended */
	char *key;
	struct aggv v[];
};

/* A field's value in one record: its JSON text, strings in canonical form. */
struct fieldval {
	enum jtype type;
	const char *p;
	size_t len;
	struct dec num;		/* parsed when the field feeds sum/min/max/avg/time */
};

struct state {
	const struct spec *spec;
	struct group **table;	/* open addressing, linear probing */
	size_t cap, count;
	struct group *first, *last;
	struct group **dirty;	/* groups changed since the last trigger, in order */
	size_t ndirty, dirtycap;

	bool emitted;		/* a trigger has run */
	bool have_event;	/* windows: any event time seen */
	long long max_event_ms;	/* the watermark is max_event_ms - delay_ms */

	struct offsets *offsets;	/* envelopes: next offset per topic/partition */
	/*
	 * Nested envelopes: the next source offset per forwarding partition
	 * and source partition, keyed "SOURCE_TOPIC@TOPIC/PARTITION". A
	 * forwarder that restarts sends messages again at new offsets; in
	 * one partition of its output a source partition's offsets only
	 * grow, so those below what was absorbed are the repeats.
	 */
	struct offsets *source_offsets;
	char *keybuf;		/* scratch for the key of the record at hand */
	size_t keycap;

	/* Counters, for logs and (later) metrics. */
	unsigned long long records, late, duplicates, windows_closed;
};

/* FNV-1a over n bytes, from seed (HASH_SEED to start): group keys and the spec's fingerprint. */
#define HASH_SEED 0xcbf29ce484222325ULL
uint64_t hash_bytes(const char *p, size_t n, uint64_t seed);

struct strset *strset_new(void);
int strset_add(struct strset *s, const char *p, size_t n);
size_t strset_count(const struct strset *s);
int strset_each(const struct strset *s, int (*fn)(const char *, size_t, void *), void *arg);

int state_init(struct state *st, const struct spec *spec);
/* The group of a window and key; created (last in order) when asked. NULL: none, or no memory. */
struct group *state_group(struct state *st, long long wstart, const char *key, size_t keylen, bool create);
int state_mark_dirty(struct state *st, struct group *g);
void state_free(struct state *st);
long long state_watermark(const struct state *st);	/* LLONG_MIN before any event */

/*
 * Absorb one record whose field values are vals[0..spec->nfields).
 * Returns 0, 1 when the record is late (not absorbed), or -1 when it
 * cannot be absorbed without overflow (*why set; the state is unchanged).
 */
int state_absorb(struct state *st, const struct fieldval *vals, long long event_ms, const char **why);

enum emit_mode { MODE_UPDATE, MODE_COMPLETE, MODE_FINAL };

/*
 * A trigger: write the groups the mode asks for to w, then, with windows,
 * emit the windows the watermark has passed one last time and drop them.
 * At end of input (final = true) every group still held is emitted as in
 * complete mode when the mode is final. Returns records written, or -1
 * when writing failed (w->err).
 */
long state_trigger(struct state *st, enum emit_mode mode, bool final, struct lwriter *w);

/* --- checkpoint --- */

/* Write atomically: temporary file, fsync, rename, fsync of the directory. */
int checkpoint_save(const struct state *st, const char *path);
/*
 * Load into a fresh state. Returns 1 when loaded, 0 when the file does
 * not exist, -1 with a message in why[] when it cannot be used (a
 * different spec: *mismatch is set).
 */
int checkpoint_load(struct state *st, const char *path, bool *mismatch, char *why, size_t whysize);

#endif

/*
 * Where each partition starts: -p's list, -o's offset made absolute, an
 * offsets file (-o @FILE), a time (-o s@MS); or a group's subscription.
 */
#include "config.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "lib/diag.h"
#include "lib/offsets.h"
#include "lib/stop.h"
#include "sub/sub.h"

#define TIME_LOOKUP_RETRY_MS 200	/* -o s@MS: a partition whose leader did not answer */

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

/* txstream(7), Offsets file: {"offsets":{"topic":{"0":1043}}}; a missing file is no offsets. */
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
void
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

void
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

/*
 * What ksub tells Prometheus (METRICS in ksub(1)): counters kept by the
 * poll loop, the rebalance count from librdkafka's statistics, and the
 * lag gauges, kept by a thread of their own.
 */
#include "config.h"

#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "lib/diag.h"

#include "lib/metrics.h"
#include "sub/sub.h"

#include <json-c/json.h>

void
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
int
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
	bool from_beginning;	/* -o beginning without -G: an unread partition's lag is all of it */
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
			int64_t low, high, at;

			/*
			 * No position yet (nothing read from it): from the
			 * beginning, all of it is yet to be read; from anywhere
			 * else, where that is is not known here until the first
			 * message, so no gauge until then.
			 */
			if ((tp->offset < 0 && !lag.from_beginning) ||
			    rd_kafka_query_watermark_offsets(rk, tp->topic, tp->partition, &low, &high,
			    LAG_QUERY_TIMEOUT_MS) != RD_KAFKA_RESP_ERR_NO_ERROR)
				continue;
			at = tp->offset >= 0 ? tp->offset : low;
			snprintf(partition, sizeof partition, "%" PRId32, tp->partition);
			metric_set(metric_new(METRIC_GAUGE, "txstream_ksub_consumer_lag_messages",
			    "Messages between the end of the partition and the last one ksub read.",
			    labels, NULL, 0), (double)(high > at ? high - at : 0));
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
void
lag_start(struct state *st)
{
	sigset_t all, old;
	int e;

	lag.rk = st->rk;
	lag.from_beginning = st->opt->off_kind == OFF_BEGINNING && !st->opt->group;
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
void
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

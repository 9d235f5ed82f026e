/*
 * What ksub tells Prometheus (METRICS in ksub(1)): counters kept by the
 * poll loop, and the lag gauges and rebalance count from librdkafka's
 * statistics.
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

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

/*
 * librdkafka's statistics (STATISTICS.md), per partition: hi_offset, the
 * end, and app_offset, one past the last message handed to ksub. Their
 * difference is what ksub has yet to write. (consumer_lag counts from the
 * committed offset, which ksub without -G never has.)
 */
int
on_stats(rd_kafka_t *rk, char *json, size_t len, void *opaque)
{
	struct json_object *root = json_tokener_parse(json), *topics, *parts, *hi, *app, *cgrp, *cnt;
	struct state *st = opaque;

	(void)rk, (void)len;
	/* cgrp.rebalance_cnt counts the group's rebalances; the counter follows it. */
	if (root && json_object_object_get_ex(root, "cgrp", &cgrp) &&
	    json_object_object_get_ex(cgrp, "rebalance_cnt", &cnt) && json_object_get_int64(cnt) >= 0) {
		uint64_t n = (uint64_t)json_object_get_int64(cnt), seen = metric_count(st->m_rebalances);

		if (n > seen)
			metric_add(st->m_rebalances, n - seen);
	}
	if (root && json_object_object_get_ex(root, "topics", &topics)) {
		json_object_object_foreach(topics, topic, t) {
			if (!json_object_object_get_ex(t, "partitions", &parts))
				continue;
			json_object_object_foreach(parts, partition, p) {
				const char *const labels[] = { "topic", topic, "partition", partition, NULL };
				int64_t h, a;

				if (strcmp(partition, "-1") == 0 || !json_object_object_get_ex(p, "hi_offset", &hi) ||
				    !json_object_object_get_ex(p, "app_offset", &app) ||
				    (h = json_object_get_int64(hi)) < 0 || (a = json_object_get_int64(app)) < 0)
					continue;
				metric_set(metric_new(METRIC_GAUGE, "txstream_ksub_consumer_lag_messages",
				    "Messages between the end of the partition and the last one ksub read.",
				    labels, NULL, 0), (double)(h > a ? h - a : 0));
			}
		}
	}
	json_object_put(root);
	return 0;	/* json is librdkafka's to free */
}

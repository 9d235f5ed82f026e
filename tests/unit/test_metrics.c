/*
 * metrics: the exposition text, checked line by line against the text
 * format 0.0.4 as written by hand here, and series registered twice.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "lib/metrics.h"
#include "tap.h"

static int hook_calls;

static void
hook(void *arg)
{
	hook_calls++;
	metric_set(arg, 42.5);
}

int
main(void)
{
	struct metric *c = metric_counter("txstream_test_records_in_total", "Lines read.");
	const char *const l1[] = { "reason", "not_json", NULL };
	const char *const l2[] = { "reason", "quote\" back\\ nl\n", NULL };
	struct metric *b1 = metric_new(METRIC_COUNTER, "txstream_test_bad_records_total", "Bad lines.", l1, NULL, 0);
	struct metric *b2 = metric_new(METRIC_COUNTER, "txstream_test_bad_records_total", "Bad lines.", l2, NULL, 0);
	struct metric *g = metric_gauge("txstream_test_groups", "Groups held.\nSecond line.");
	const double bounds[] = { 0.1, 1 };
	struct metric *h = metric_new(METRIC_HISTOGRAM, "txstream_test_latency_seconds", "Latency.", NULL, bounds, 2);
	struct metric *age = metric_gauge("txstream_test_age_seconds", "Age.");
	size_t len;
	char *text;

	metric_add(c, 5);
	metric_inc(c);
	metric_inc(b1);
	metric_add(b2, 2);
	ok(metric_new(METRIC_COUNTER, "txstream_test_bad_records_total", "Bad lines.", l1, NULL, 0) == b1,
	    "the same series registered twice is one series");
	metric_set(g, 3);
	metric_observe(h, 0.05);
	metric_observe(h, 0.1);
	metric_observe(h, 0.5);
	metric_observe(h, 7);
	metrics_on_scrape(hook, age);
	metric_inc(NULL);	/* a failed registration is harmless */
	text = metrics_render(&len);
	ok(text && strlen(text) == len, "rendered");
	ok(strcmp(text,
	    "# HELP txstream_test_records_in_total Lines read.\n"
	    "# TYPE txstream_test_records_in_total counter\n"
	    "txstream_test_records_in_total 6\n"
	    "# HELP txstream_test_bad_records_total Bad lines.\n"
	    "# TYPE txstream_test_bad_records_total counter\n"
	    "txstream_test_bad_records_total{reason=\"not_json\"} 1\n"
	    "txstream_test_bad_records_total{reason=\"quote\\\" back\\\\ nl\\n\"} 2\n"
	    "# HELP txstream_test_groups Groups held.\\nSecond line.\n"
	    "# TYPE txstream_test_groups gauge\n"
	    "txstream_test_groups 3\n"
	    "# HELP txstream_test_latency_seconds Latency.\n"
	    "# TYPE txstream_test_latency_seconds histogram\n"
	    "txstream_test_latency_seconds_bucket{le=\"0.1\"} 2\n"
	    "txstream_test_latency_seconds_bucket{le=\"1\"} 3\n"
	    "txstream_test_latency_seconds_bucket{le=\"+Inf\"} 4\n"
	    "txstream_test_latency_seconds_sum 7.6500000000000004\n"
	    "txstream_test_latency_seconds_count 4\n"
	    "# HELP txstream_test_age_seconds Age.\n"
	    "# TYPE txstream_test_age_seconds gauge\n"
	    "txstream_test_age_seconds 42.5\n") == 0,
	    "families in order, HELP and TYPE once each, labels escaped, buckets cumulative, le inclusive");
	if (text && !tap_failed)
		;
	else if (text)
		printf("# got:\n%s", text);
	ok(hook_calls == 1, "the scrape hook ran before the exposition");
	ok(metric_count(c) == 6, "a counter's value can be read back");
	free(text);
	return tap_done();
}

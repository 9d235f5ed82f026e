/*
 * --create-topic: the topic made through the Admin API before the first
 * line; a cluster that cannot is no reason to stop.
 */
#include "config.h"

#include <inttypes.h>
#include <stdint.h>

#include "lib/diag.h"
#include "pub/pub.h"

#define ADMIN_TIMEOUT_MS 10000

/* --create-topic through the Admin API; a broker without it is not fatal. */
void
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

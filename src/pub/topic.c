/*
 * --create-topic: the topic made through the Admin API before the first
 * line. A cluster slow to answer is asked again until --timeout: going on
 * without an answer would let the first produce auto-create the topic
 * with the broker's defaults, which is not what was asked. A cluster that
 * cannot create topics at all (kbroker) is no reason to stop.
 */
#include "config.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sysexits.h>
#include <time.h>

#include "lib/diag.h"
#include "lib/stop.h"
#include "pub/pub.h"

#define TRY_MAX_MS 5000			/* one request's timeout, at most */
#define BACKOFF_MIN_MS 250		/* between requests: doubled each time, */
#define BACKOFF_MAX_MS 2000		/* up to this */

enum outcome { CREATED, EXISTS, REFUSED, CANNOT, NO_ANSWER };

/* Errors after which asking again may succeed: the cluster is busy or electing, not saying no. */
static bool
retriable(rd_kafka_resp_err_t e)
{
	switch (e) {
	case RD_KAFKA_RESP_ERR__TIMED_OUT:
	case RD_KAFKA_RESP_ERR__TRANSPORT:
	case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
	case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
	case RD_KAFKA_RESP_ERR_NOT_CONTROLLER:
	case RD_KAFKA_RESP_ERR_BROKER_NOT_AVAILABLE:
	case RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE:
	case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS:
	case RD_KAFKA_RESP_ERR_THROTTLING_QUOTA_EXCEEDED:
		return true;
	default:
		return false;
	}
}

/*
 * Whether the brokers name a controller among themselves. librdkafka's
 * mock cluster (kbroker) names one that does not exist, and an Admin
 * request there only waits for it: that cluster has no CreateTopics.
 * 1 or 0; -1 when the metadata does not come within ms.
 */
static int
has_controller(rd_kafka_t *rk, int ms)
{
	const struct rd_kafka_metadata *md;
	int32_t id;
	bool found = false;

	if (rd_kafka_metadata(rk, 0, NULL, &md, ms) != RD_KAFKA_RESP_ERR_NO_ERROR)
		return -1;
	id = rd_kafka_controllerid(rk, 0);
	for (int i = 0; i < md->broker_cnt; i++)
		found |= md->brokers[i].id == id;
	rd_kafka_metadata_destroy(md);
	return found;
}

/* One CreateTopics request, waited for at most ms. why: the error, when there is one. */
static enum outcome
try_create(struct state *st, int ms, char *why, size_t whysize)
{
	const struct options *o = st->opt;
	char err[256];
	rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(o->topic, (int)o->partitions,
	    (int)o->replication, err, sizeof(err));
	rd_kafka_queue_t *q = rd_kafka_queue_new(st->rk);
	rd_kafka_AdminOptions_t *ao = rd_kafka_AdminOptions_new(st->rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
	rd_kafka_event_t *ev;
	rd_kafka_resp_err_t e;
	enum outcome r;

	if (!nt)
		diag_exit(EX_USAGE, "--create-topic: %s", err);
	rd_kafka_AdminOptions_set_request_timeout(ao, ms, err, sizeof(err));
	rd_kafka_CreateTopics(st->rk, &nt, 1, ao, q);
	/* The request's own timeout answers first; the margin is for librdkafka's scheduling. */
	ev = rd_kafka_queue_poll(q, ms + 1000);
	if (!ev) {
		snprintf(why, whysize, "%s", rd_kafka_err2str(RD_KAFKA_RESP_ERR__TIMED_OUT));
		r = NO_ANSWER;
	} else if ((e = rd_kafka_event_error(ev))) {
		snprintf(why, whysize, "%s", rd_kafka_event_error_string(ev));
		r = retriable(e) ? NO_ANSWER : e == RD_KAFKA_RESP_ERR__UNSUPPORTED_FEATURE ||
		    e == RD_KAFKA_RESP_ERR_UNSUPPORTED_VERSION ? CANNOT : REFUSED;
	} else {
		size_t n;
		const rd_kafka_topic_result_t **res =
		    rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
		const char *s;

		e = n ? rd_kafka_topic_result_error(res[0]) : RD_KAFKA_RESP_ERR_NO_ERROR;
		s = n ? rd_kafka_topic_result_error_string(res[0]) : NULL;
		snprintf(why, whysize, "%s", s ? s : rd_kafka_err2str(e));
		r = e == RD_KAFKA_RESP_ERR_NO_ERROR ? CREATED : e == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS ? EXISTS :
		    retriable(e) ? NO_ANSWER : REFUSED;
	}
	if (ev)
		rd_kafka_event_destroy(ev);
	rd_kafka_AdminOptions_destroy(ao);
	rd_kafka_queue_destroy(q);
	rd_kafka_NewTopic_destroy(nt);
	return r;
}

static void
pause_ms(int ms)
{
	struct timespec t = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&t, NULL);
}

/* -v: the topic was there already, with how many partitions. */
static void
say_exists(struct state *st)
{
	const char *name = st->opt->topic;
	rd_kafka_topic_t *rkt = rd_kafka_topic_new(st->rk, name, NULL);
	const struct rd_kafka_metadata *md;

	if (!rkt)
		return;
	if (rd_kafka_metadata(st->rk, 0, rkt, &md, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
		if (md->topic_cnt == 1 && !md->topics[0].err)
			diag_info("--create-topic: %s exists already, with %d partition%s", name,
			    md->topics[0].partition_cnt, md->topics[0].partition_cnt == 1 ? "" : "s");
		rd_kafka_metadata_destroy(md);
	}
	rd_kafka_topic_destroy(rkt);
}

/*
 * --create-topic, until kpub's start deadline (--timeout): created or
 * already there, kpub goes on; a cluster that cannot create topics or
 * refuses this one is reported, and kpub goes on (the topic may exist or
 * be auto-created); no answer by the deadline ends kpub with
 * EX_UNAVAILABLE before anything is produced.
 */
void
create_topic(struct state *st)
{
	const struct options *o = st->opt;
	char why[256] = "no answer", list[512];
	size_t n = sizeof(list);
	int backoff = BACKOFF_MIN_MS, tries = 0;
	long left;

	while ((left = (long)((st->start_deadline - mono_now()) * 1000)) > 0) {
		int ctl = has_controller(st->rk, (int)left);
		enum outcome r = ctl < 0 ? NO_ANSWER : ctl == 0 ? CANNOT :
		    try_create(st, left < TRY_MAX_MS ? (int)left : TRY_MAX_MS, why, sizeof(why));

		tries++;
		switch (r) {
		case CREATED:
			diag_info("created topic %s (%" PRIu64 " partitions, replication %" PRIu64 ")",
			    o->topic, o->partitions, o->replication);
			return;
		case EXISTS:
			say_exists(st);
			return;
		case CANNOT:
			diag_warn("--create-topic: the cluster cannot create topics (it names no controller); going on");
			return;
		case REFUSED:
			diag_warn("--create-topic: %s: %s; going on", o->topic, why);
			return;
		case NO_ANSWER:
			break;
		}
		diag_debug("--create-topic: %s (try %d); asking again", why, tries);
		if ((left = (long)((st->start_deadline - mono_now()) * 1000)) <= 0)
			break;
		pause_ms(backoff < left ? backoff : (int)left);
		backoff = backoff * 2 < BACKOFF_MAX_MS ? backoff * 2 : BACKOFF_MAX_MS;
	}
	if (rd_kafka_conf_get(rd_kafka_conf(st->rk), "bootstrap.servers", list, &n) != RD_KAFKA_CONF_OK)
		snprintf(list, sizeof(list), "?");
	diag_exit(EX_UNAVAILABLE, "--create-topic: the cluster at %s did not answer for topic %s within --timeout "
	    "(%d tr%s, the last: %s); nothing produced", list, o->topic, tries, tries == 1 ? "y" : "ies", why);
}

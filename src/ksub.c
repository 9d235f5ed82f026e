/*
 * ksub: messages on Kafka topics become lines on stdout, each handed to
 * the pipe once. Offsets move only behind the output: in a consumer group
 * an offset is stored for commit after its line has been written and
 * flushed, so a restart after a crash starts at or before the first line
 * that was not written. A partition whose next offset is gone from the
 * broker is an error (or, with --on-gap skip, a counted skip), never a
 * quiet jump ahead.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "lib/diag.h"
#include "lib/jsonw.h"
#include "lib/kconf.h"
#include "lib/lineio.h"
#include "lib/metrics.h"
#include "lib/opts.h"
#include "lib/stop.h"
#include "sub/sub.h"

#define DEFAULT_TIMEOUT 10.0		/* seconds to reach a broker */
#define STATS_INTERVAL_MS "1000"		/* statistics for the lag gauges, with --metrics-addr */

enum {
	OPT_ENVELOPE = OPT_PRIVATE,
	OPT_ON_GAP,
};

static const char synopsis[] =
	"usage: ksub [-quveL] [-b brokers] [-t topic]... [-p partitions] [-o offset]\n"
	"            [-G group] [-c count] [-D delim] [-K delim] [-X prop=val] [-F file]\n"
	"            [-m timeout] [--envelope] [--on-gap fail|skip]\n"
	"            [--log-format text|json] [--metrics-addr addr] [topic ...]\n";

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
	    "Write the messages of Kafka topics to stdout, each once.\n"
	    "\n"
	    "  -b, --brokers LIST       bootstrap brokers host:port,... (else -F, $KAFKA_BROKERS)\n"
	    "  -t, --topic TOPIC        a topic to read; repeatable (also as arguments)\n"
	    "  -p, --partition LIST     partitions, as 0,2-4 (default: all; not with -G)\n"
	    "  -o, --offset OFFSET      beginning (default), end, stored, N, -N (the last N),\n"
	    "                           s@MS (the first at or after that time), @FILE\n"
	    "                           (an offsets file, such as a jagg checkpoint)\n"
	    "  -G, --group GROUP        read as a member of a balanced consumer group\n"
	    "  -e, --exit               exit once every assigned partition is at its end\n"
	    "  -c, --count N            exit after N messages\n"
	    "  -u, --unbuffered         flush after every message\n"
	    "  -D, --delimiter C        after each message (default \\n)\n"
	    "  -K, --key-delimiter C    print the key, then C, before the value\n"
	    "      --envelope           one JSON envelope per message: topic, partition,\n"
	    "                           offset, timestamp, key, headers, value\n"
	    "      --on-gap fail|skip   when the next offset is gone: exit 65 (fail, the\n"
	    "                           default) or go on from the oldest one and count\n"
	    "  -L, --list               cluster metadata as JSON lines, then exit\n"
	    "  -X, --property NAME=VAL  a librdkafka property (repeatable)\n"
	    "  -F, --config FILE        librdkafka properties, one NAME=VALUE a line\n"
	    "  -m, --timeout TIME       give up reaching a broker after TIME (default 10s)\n"
	    "  -q, --quiet              only errors on stderr\n"
	    "  -v, --verbose            more on stderr (twice: librdkafka debug)\n"
	    "      --log-format FORMAT  text (default) or json\n"
	    "      --metrics-addr ADDR  serve Prometheus metrics on http://ADDR/metrics\n"
	    "      --help               this help\n"
	    "      --version            the version\n", stdout);
}

static void
on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	(void)rk;
	(void)opaque;
	if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN)
		diag_warn("%s", reason);
	else
		diag_debug("%s", reason);
}

static int
parse_offset(const char *s, struct options *o)
{
	uint64_t v;

	if (strcmp(s, "beginning") == 0)
		o->off_kind = OFF_BEGINNING;
	else if (strcmp(s, "end") == 0)
		o->off_kind = OFF_END;
	else if (strcmp(s, "stored") == 0)
		o->off_kind = OFF_STORED;
	else if (s[0] == '@' && s[1])
		o->off_kind = OFF_FILE, o->off_file = s + 1;
	else if (strncmp(s, JW_LIT("s@")) == 0 && opts_uint(s + 2, 0, INT64_MAX, &v) == 0)
		o->off_kind = OFF_TIME, o->off_value = (int64_t)v;
	else if (s[0] == '-' && opts_uint(s + 1, 1, INT64_MAX, &v) == 0)
		o->off_kind = OFF_TAIL, o->off_value = (int64_t)v;
	else if (opts_uint(s, 0, INT64_MAX, &v) == 0)
		o->off_kind = OFF_ABS, o->off_value = (int64_t)v;
	else
		return -1;
	return 0;
}

static int
parse_options(int argc, char **argv, struct options *o, struct kconf *k)
{
	char why[96];
	static const struct option longopts[] = {
		{ "brokers", required_argument, NULL, 'b' },
		{ "topic", required_argument, NULL, 't' },
		{ "partition", required_argument, NULL, 'p' },
		{ "offset", required_argument, NULL, 'o' },
		{ "group", required_argument, NULL, 'G' },
		{ "exit", no_argument, NULL, 'e' },
		{ "count", required_argument, NULL, 'c' },
		{ "unbuffered", no_argument, NULL, 'u' },
		{ "delimiter", required_argument, NULL, 'D' },
		{ "key-delimiter", required_argument, NULL, 'K' },
		{ "list", no_argument, NULL, 'L' },
		{ "property", required_argument, NULL, 'X' },
		{ "config", required_argument, NULL, 'F' },
		{ "timeout", required_argument, NULL, 'm' },
		{ "envelope", no_argument, NULL, OPT_ENVELOPE },
		{ "on-gap", required_argument, NULL, OPT_ON_GAP },
		OPTS_METRICS_LONG,
		OPTS_COMMON_LONG,
		{ NULL, 0, NULL, 0 },
	};
	int c, r;

	while ((c = getopt_long(argc, argv, "b:t:p:o:G:ec:uD:K:LX:F:m:" OPTS_COMMON_SHORT, longopts, NULL)) != -1) {
		switch (c) {
		case 'b':
		case 'X':
		case 'F':
			if ((r = kconf_option(k, c, optarg)) != 0)
				return r;
			break;
		case 't':
			if (o->ntopics == MAX_TOPICS)
				return diag_err("-t: at most %d topics", MAX_TOPICS), EX_USAGE;
			o->topics[o->ntopics++] = optarg;
			break;
		case 'p':
			o->partitions = optarg;
			break;
		case 'o':
			if (parse_offset(optarg, o) < 0)
				return diag_err("-o: '%s' is not beginning, end, stored, N, -N, s@MS or @FILE",
				    optarg), EX_USAGE;
			break;
		case 'G':
			o->group = optarg;
			break;
		case 'e':
			o->exit_at_end = true;
			break;
		case 'c':
			if (opts_uint(optarg, 1, UINT64_MAX, &o->count) < 0)
				return diag_err("-c: '%s' is not a count of 1 or more", optarg), EX_USAGE;
			break;
		case 'u':
			o->unbuffered = true;
			break;
		case 'D':
			if ((o->delim = opts_delim(optarg)) < 0)
				return diag_err("-D: '%s' is not one character (or \\n \\t \\r \\0 \\xNN)", optarg), EX_USAGE;
			break;
		case 'K':
			if ((o->key_delim = opts_delim(optarg)) < 0)
				return diag_err("-K: '%s' is not one character (or \\n \\t \\r \\0 \\xNN)", optarg), EX_USAGE;
			break;
		case 'L':
			o->list = true;
			break;
		case 'm':
			if (opts_duration(optarg, &o->timeout) < 0 || o->timeout <= 0)
				return diag_err("-m: '%s' is not a duration", optarg), EX_USAGE;
			break;
		case OPT_ENVELOPE:
			o->envelope = true;
			break;
		case OPT_METRICS_ADDR:
			o->metrics_addr = optarg;
			break;
		case OPT_ON_GAP:
			if (strcmp(optarg, "skip") == 0)
				o->skip_gaps = true;
			else if (strcmp(optarg, "fail") == 0)
				o->skip_gaps = false;
			else
				return diag_err("--on-gap: '%s' is not fail or skip", optarg), EX_USAGE;
			break;
		default:
			if ((r = opts_default(c, optarg, help)) != OPTS_HANDLED)
				return r;
		}
	}
	for (; optind < argc; optind++) {
		if (o->ntopics == MAX_TOPICS)
			return diag_err("at most %d topics", MAX_TOPICS), EX_USAGE;
		o->topics[o->ntopics++] = argv[optind];
	}
	if (o->list)
		return EX_OK;
	if (o->ntopics == 0)
		return diag_err("no topic: give -t TOPIC (or topics as arguments)"), EX_USAGE;
	for (int t = 0; t < o->ntopics; t++)
		if (kconf_topic_check(o->topics[t], strlen(o->topics[t]), why, sizeof(why)) < 0)
			return diag_err("topic '%s': not a Kafka topic name: it %s", o->topics[t], why), EX_USAGE;
	if (o->group && o->partitions)
		return diag_err("-p and -G: a group assigns the partitions itself"), EX_USAGE;
	if (o->group && (o->off_kind == OFF_FILE || o->off_kind == OFF_ABS || o->off_kind == OFF_TAIL ||
	    o->off_kind == OFF_TIME))
		return diag_err("-G reads from the group's committed offsets; -o may only be beginning or end "
		    "(where a new group starts)"), EX_USAGE;
	if (!o->group && o->off_kind == OFF_STORED)
		return diag_err("-o stored needs a group (-G)"), EX_USAGE;
	return EX_OK;
}

static void
open_consumer(struct state *st, struct kconf *k)
{
	const struct options *o = st->opt;
	char err[512];

	/*
	 * Offsets are stored by hand, after the output is flushed; commits
	 * of what is stored run in the background and once more at exit.
	 * An offset that is gone resets to the oldest (or with -o end the
	 * newest), and the jump is then checked (check_gap), never taken
	 * quietly.
	 */
	if (kconf_set(k, "enable.partition.eof", "true") < 0 ||
	    kconf_set(k, "auto.offset.reset", o->off_kind == OFF_END ? "latest" : "earliest") < 0 ||
	    kconf_set(k, "enable.auto.offset.store", "false") < 0)
		diag_exit(EX_SOFTWARE, "%s", k->errstr);
	/*
	 * With -e the last fetch of each partition finds nothing, and the
	 * broker holds an empty fetch for fetch.wait.max.ms (500 by default)
	 * before answering: a shorter wait ends the read sooner.
	 */
	if (o->exit_at_end && !kconf_given(k, "fetch.wait.max.ms") && kconf_set(k, "fetch.wait.max.ms", "100") < 0)
		diag_exit(EX_SOFTWARE, "%s", k->errstr);
	if (o->group) {
		if (kconf_set(k, "group.id", o->group) < 0 || kconf_set(k, "enable.auto.commit", "true") < 0)
			diag_exit(EX_USAGE, "%s", k->errstr);
		rd_kafka_conf_set_rebalance_cb(k->conf, on_rebalance);
	} else {
		/*
		 * librdkafka 2.0 will not assign() without a group.id; this one
		 * is never joined and nothing is committed to it.
		 */
		if ((!kconf_given(k, "group.id") && kconf_set(k, "group.id", "ksub") < 0) ||
		    kconf_set(k, "enable.auto.commit", "false") < 0)
			diag_exit(EX_SOFTWARE, "%s", k->errstr);
	}
	if (diag_enabled(DIAG_DEBUG))
		kconf_set(k, "debug", "consumer,cgrp,topic,fetch");
	/* Rebalances come from librdkafka's statistics, served from the poll loop. */
	if (o->metrics_addr) {
		if (!kconf_given(k, "statistics.interval.ms") &&
		    kconf_set(k, "statistics.interval.ms", STATS_INTERVAL_MS) < 0)
			diag_exit(EX_SOFTWARE, "%s", k->errstr);
		rd_kafka_conf_set_stats_cb(k->conf, on_stats);
	}
	if (kconf_finish(k) < 0)
		diag_exit(EX_USAGE, "%s", k->errstr);
	rd_kafka_conf_set_opaque(k->conf, st);
	rd_kafka_conf_set_error_cb(k->conf, on_error);
	if (!(st->rk = rd_kafka_new(RD_KAFKA_CONSUMER, k->conf, err, sizeof(err))))
		diag_exit(EX_CONFIG, "%s", err);
	k->conf = NULL;	/* now owned by rk */
	rd_kafka_poll_set_consumer(st->rk);
	if (kconf_reach(st->rk, o->timeout) < 0) {
		rd_kafka_destroy(st->rk);
		exit(EX_UNAVAILABLE);
	}
}

int
main(int argc, char **argv)
{
	struct options opt = { .delim = '\n', .key_delim = -1, .timeout = DEFAULT_TIMEOUT };
	struct state st = { .opt = &opt, .status = EX_OK };
	struct kconf k;
	int status;

	diag_init(argv[0]);
	{
		/* First of all: SIGUSR1's default would kill a ksub signalled early. */
		struct sigaction sa = { .sa_handler = on_usr1 };

		sigemptyset(&sa.sa_mask);
		sigaction(SIGUSR1, &sa, NULL);
	}
	if (kconf_init(&k) < 0)
		diag_exit(EX_OSERR, "%s", k.errstr);
	status = parse_options(argc, argv, &opt, &k);
	if (status != EX_OK) {
		kconf_destroy(&k);
		if (status == OPTS_DONE)
			return EX_OK;
		usage();
		return status;
	}
	stop_init();
	if (lw_init(&st.out, STDOUT_FILENO, 0, false) < 0)
		diag_exit(EX_OSERR, "out of memory");
	/* A reader that stopped reading does not keep ksub from stopping. */
	st.out.stop_abandons = true;
	register_metrics(&st);
	if (!opt.list && metrics_serve_option(opt.metrics_addr) < 0)
		exit(EX_CONFIG);
	open_consumer(&st, &k);
	if (opt.list) {
		status = list_metadata(&st);
		rd_kafka_destroy(st.rk);
		lw_free(&st.out);
		kconf_destroy(&k);
		return status;
	}
	if (opt.group)
		subscribe(&st);
	else
		assign_partitions(&st);
	if (opt.metrics_addr)
		lag_start(&st);

	consume(&st);

	/* Whatever was written reaches the pipe; then, in a group, its offsets are committed. */
	if (flush_and_store(&st) < 0 && st.out.err == EINTR) {
		diag_warn("stopped while stdout was not being read: what was not written is not committed, "
		    "and a group member reads it again");
	} else if (st.out.err && st.out.err != EPIPE) {
		diag_err("stdout: %s", strerror(st.out.err));
		if (st.status == EX_OK)
			st.status = EX_IOERR;
	}
	if (opt.group) {
		commit_sync(&st);
		rd_kafka_consumer_close(st.rk);
	}
	lag_stop();
	rd_kafka_destroy(st.rk);
	metrics_stop();
	if (st.skipped)
		diag_warn("skipped %" PRIu64 " message%s gone from the broker (%" PRIu64 " gap%s)", st.skipped,
		    st.skipped == 1 ? "" : "s", st.gaps, st.gaps == 1 ? "" : "s");
	diag_info("%" PRIu64 " message%s written", st.written, st.written == 1 ? "" : "s");
	parts_clear(&st);
	free(st.parts);
	free(st.hdr);
	lw_free(&st.out);
	kconf_destroy(&k);
	return st.status;
}

/*
 * kpub: lines on stdin (or files) become messages on a Kafka topic, one
 * message per line, and none is lost without a word: every delivery
 * report is checked, and a message that cannot be delivered goes to the
 * dead-letter file or makes the exit status 75.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
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
#include "lib/forkjoin.h"
#include "lib/kconf.h"
#include "lib/lineio.h"
#include "lib/metrics.h"
#include "lib/opts.h"
#include "lib/stop.h"
#include "pub/pub.h"

#define DEFAULT_FLUSH_TIMEOUT 30.0	/* seconds */
#define DEFAULT_CONNECT_TIMEOUT 10.0	/* seconds to reach a broker at start */
#define READ_CAP (256u << 10)		/* bytes read at a time: the lines of one read are one batch */
#define BATCH_MAX 10000			/* messages: batches are handed over at this many */

enum {
	OPT_KEY_FIELD = OPT_PRIVATE,
	OPT_MISSING_KEY,
	OPT_HEADER,
	OPT_ENVELOPE,
	OPT_NO_TIMESTAMP,
	OPT_CREATE_TOPIC,
	OPT_PARTITIONS,
	OPT_REPLICATION,
	OPT_ERRORS,
	OPT_STRICT,
	OPT_FLUSH_TIMEOUT,
	OPT_TIMEOUT,
	OPT_SOURCE_OFFSETS,
};

static const char synopsis[] =
	"usage: kpub [-quvT] [-b brokers] [-t topic] [-p partition] [-k key | -K delim |\n"
	"            --key-field path [--missing-key=null]] [-D delim] [-c count]\n"
	"            [-z codec] [-X prop=val] [-F file] [--header name=value]\n"
	"            [--envelope [--no-timestamp]] [--create-topic] [--partitions N]\n"
	"            [--replication-factor N] [--errors file] [--strict]\n"
	"            [--flush-timeout time] [--timeout time] [--source-offsets file]\n"
	"            [--log-format text|json] [--metrics-addr addr] [file ...]\n";

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
	    "Produce each input line as one message to a Kafka topic.\n"
	    "\n"
	    "  -b, --brokers LIST       bootstrap brokers host:port,... (else -F, $KAFKA_BROKERS)\n"
	    "  -t, --topic TOPIC        the topic (with --envelope: overrides each envelope's)\n"
	    "  -p, --partition N        always this partition (default: by key)\n"
	    "  -k, --key KEY            the same key on every message\n"
	    "  -K, --key-delimiter D    the key is the line up to the first D\n"
	    "      --key-field PATH     the key is this field of the JSON line (dotted path)\n"
	    "      --missing-key=null   with --key-field: a line without it gets no key\n"
	    "  -D, --delimiter D        input delimiter: a character, \\n \\t \\r \\0 or \\xNN\n"
	    "  -c, --count N            stop after N messages\n"
	    "  -z, --compression CODEC  none, gzip, snappy, lz4 or zstd\n"
	    "  -X, --property P=V       a librdkafka property\n"
	    "  -F, --config FILE        librdkafka properties, one P=V a line\n"
	    "  -T, --tee                write each delivered line to stdout\n"
	    "      --header NAME=VALUE  add this header to every message (repeatable)\n"
	    "      --envelope           lines are envelopes (topic, partition, timestamp, key,\n"
	    "                           headers, value), as ksub --envelope writes them\n"
	    "      --no-timestamp       with --envelope: the time of producing, not the envelope's\n"
	    "      --create-topic       create the topic first if the cluster lacks it\n"
	    "      --partitions N       partitions for --create-topic (default 5)\n"
	    "      --replication-factor N  replicas for --create-topic (default 3)\n"
	    "      --errors FILE        append bad and undelivered lines to FILE\n"
	    "      --source-offsets FILE  input lines are envelopes: keep in FILE, for ksub -o @FILE,\n"
	    "                           the offsets below which every one was delivered\n"
	    "      --strict             stop at the first bad line (exit 65)\n"
	    "      --flush-timeout D    wait at most D for deliveries at the end (default 30s)\n"
	    "      --timeout D          give up on the cluster after D at start (default 10s)\n"
	    "  -u, --unbuffered         flush -T output after every line\n"
	    "  -q, --quiet              print errors only\n"
	    "  -v, --verbose            print more; twice for librdkafka's debug lines\n"
	    "      --log-format F       diagnostics as text (default) or json\n"
	    "      --metrics-addr ADDR  serve Prometheus metrics on http://ADDR/metrics\n"
	    "      --help               print this help and exit\n"
	    "      --version            print the version and exit\n", stdout);
}

static void
on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	struct state *st = opaque;
	char fatal[512];

	if (err == RD_KAFKA_RESP_ERR__FATAL) {
		rd_kafka_fatal_error(rk, fatal, sizeof(fatal));
		diag_err("fatal producer error: %s", fatal);
		st->fatal = true;
		return;
	}
	/* librdkafka's log callback already reported it, unless all are down. */
	diag_log(err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN ? DIAG_WARN : DIAG_DEBUG, "%s", reason);
}

static int
parse_options(int argc, char **argv, struct options *o, struct kconf *k)
{
	char why[96];
	static const struct option longopts[] = {
		{ "brokers", required_argument, NULL, 'b' },
		{ "topic", required_argument, NULL, 't' },
		{ "partition", required_argument, NULL, 'p' },
		{ "key", required_argument, NULL, 'k' },
		{ "key-delimiter", required_argument, NULL, 'K' },
		{ "delimiter", required_argument, NULL, 'D' },
		{ "count", required_argument, NULL, 'c' },
		{ "compression", required_argument, NULL, 'z' },
		{ "property", required_argument, NULL, 'X' },
		{ "config", required_argument, NULL, 'F' },
		{ "tee", no_argument, NULL, 'T' },
		{ "unbuffered", no_argument, NULL, 'u' },
		{ "key-field", required_argument, NULL, OPT_KEY_FIELD },
		{ "missing-key", required_argument, NULL, OPT_MISSING_KEY },
		{ "header", required_argument, NULL, OPT_HEADER },
		{ "envelope", no_argument, NULL, OPT_ENVELOPE },
		{ "no-timestamp", no_argument, NULL, OPT_NO_TIMESTAMP },
		{ "create-topic", no_argument, NULL, OPT_CREATE_TOPIC },
		{ "partitions", required_argument, NULL, OPT_PARTITIONS },
		{ "replication-factor", required_argument, NULL, OPT_REPLICATION },
		{ "errors", required_argument, NULL, OPT_ERRORS },
		{ "strict", no_argument, NULL, OPT_STRICT },
		{ "flush-timeout", required_argument, NULL, OPT_FLUSH_TIMEOUT },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "source-offsets", required_argument, NULL, OPT_SOURCE_OFFSETS },
		OPTS_METRICS_LONG,
		OPTS_COMMON_LONG,
		{ NULL, 0, NULL, 0 },
	};
	uint64_t n;
	int c, r, keys = 0;

	while ((c = getopt_long(argc, argv, "b:t:p:k:K:D:c:z:X:F:Tu" OPTS_COMMON_SHORT, longopts, NULL)) != -1) {
		switch (c) {
		case 'b':
		case 'X':
		case 'F':
			if ((r = kconf_option(k, c, optarg)) != 0)
				return r;
			break;
		case 't':
			o->topic = optarg;
			break;
		case 'p':
			if (strcmp(optarg, "-1") == 0)
				o->partition = RD_KAFKA_PARTITION_UA;
			else if (opts_uint(optarg, 0, INT32_MAX, &n) < 0)
				return diag_err("-p: '%s' is not a partition number", optarg), EX_USAGE;
			else
				o->partition = (int32_t)n;
			break;
		case 'k':
			o->key = optarg;
			keys++;
			break;
		case 'K':
			if ((o->key_delim = opts_delim(optarg)) < 0)
				return diag_err("-K: '%s' is not one character (or \\n \\t \\r \\0 \\xNN)", optarg), EX_USAGE;
			keys++;
			break;
		case 'D':
			if ((o->delim = opts_delim(optarg)) < 0)
				return diag_err("-D: '%s' is not one character (or \\n \\t \\r \\0 \\xNN)", optarg), EX_USAGE;
			break;
		case 'c':
			if (opts_uint(optarg, 1, UINT64_MAX, &o->count) < 0)
				return diag_err("-c: '%s' is not a count of 1 or more", optarg), EX_USAGE;
			break;
		case 'z':
			if (kconf_set(k, "compression.codec", optarg) < 0)
				return diag_err("-z: %s", k->errstr), EX_USAGE;
			break;
		case 'T':
			o->tee = true;
			break;
		case 'u':
			o->unbuffered = true;
			break;
		case OPT_KEY_FIELD:
			o->key_field = optarg;
			if (jpath_parse(&o->key_path, optarg) < 0)
				return diag_err("--key-field: '%s' is not a dotted path", optarg), EX_USAGE;
			keys++;
			break;
		case OPT_MISSING_KEY:
			if (strcmp(optarg, "null") != 0)
				return diag_err("--missing-key: only 'null' is known, not '%s'", optarg), EX_USAGE;
			o->missing_key_null = true;
			break;
		case OPT_HEADER: {
			char *eq = strchr(optarg, '=');

			if (!eq || eq == optarg)
				return diag_err("--header: '%s' is not NAME=VALUE", optarg), EX_USAGE;
			if (o->nheaders == MAX_HEADERS)
				return diag_err("--header: at most %d", MAX_HEADERS), EX_USAGE;
			*eq = '\0';
			o->headers[o->nheaders].name = optarg;
			o->headers[o->nheaders++].value = eq + 1;
			break;
		}
		case OPT_ENVELOPE:
			o->envelope = true;
			break;
		case OPT_NO_TIMESTAMP:
			o->no_timestamp = true;
			break;
		case OPT_CREATE_TOPIC:
			o->create_topic = true;
			break;
		case OPT_PARTITIONS:
		case OPT_REPLICATION:
			if (opts_uint(optarg, 1, INT16_MAX, c == OPT_PARTITIONS ? &o->partitions : &o->replication) < 0)
				return diag_err("--%s: '%s' is not a number of 1 or more",
				    c == OPT_PARTITIONS ? "partitions" : "replication-factor", optarg), EX_USAGE;
			break;
		case OPT_ERRORS:
			o->errors_path = optarg;
			break;
		case OPT_STRICT:
			o->strict = true;
			break;
		case OPT_SOURCE_OFFSETS:
			o->source_offsets = optarg;
			break;
		case OPT_METRICS_ADDR:
			o->metrics_addr = optarg;
			break;
		case OPT_FLUSH_TIMEOUT:
		case OPT_TIMEOUT:
			if (opts_duration(optarg, c == OPT_TIMEOUT ? &o->connect_timeout : &o->flush_timeout) < 0)
				return diag_err("--%s: '%s' is not a duration (N, Nms, Ns, Nm, Nh)",
				    c == OPT_TIMEOUT ? "timeout" : "flush-timeout", optarg), EX_USAGE;
			break;
		default:
			if ((r = opts_default(c, optarg, help)) != OPTS_HANDLED)
				return r;
		}
	}
	if (keys > 1)
		return diag_err("-k, -K and --key-field exclude each other"), EX_USAGE;
	if (o->missing_key_null && !o->key_field)
		return diag_err("--missing-key goes with --key-field"), EX_USAGE;
	if (!o->topic && !o->envelope)
		return diag_err("no topic: give -t topic"), EX_USAGE;
	if (o->topic && kconf_topic_check(o->topic, strlen(o->topic), why, sizeof(why)) < 0)
		return diag_err("-t '%s': not a Kafka topic name: it %s", o->topic, why), EX_USAGE;
	if (o->create_topic && !o->topic)
		return diag_err("--create-topic needs -t topic"), EX_USAGE;
	if (o->no_timestamp && !o->envelope)
		return diag_err("--no-timestamp goes with --envelope"), EX_USAGE;
	if (o->envelope && (keys || o->partition != RD_KAFKA_PARTITION_UA))
		return diag_err("--envelope takes key and partition from each envelope: no -k, -K, --key-field or -p"), EX_USAGE;
	o->inputs = argv + optind;
	o->ninputs = argc - optind;
	return EX_OK;
}

/* The client, once the options are known; exits on failure. */
static void
open_producer(struct state *st, struct kconf *k)
{
	char buf[64], err[512];

	if (kconf_finish(k) < 0)
		diag_exit(EX_USAGE, "%s", k->errstr);
	rd_kafka_conf_set_opaque(k->conf, st);
	rd_kafka_conf_set_dr_msg_cb(k->conf, on_delivery);
	rd_kafka_conf_set_error_cb(k->conf, on_error);
	st->message_max = (size_t)strtoull(kconf_get(k, "message.max.bytes", buf, sizeof(buf)) ?
	    buf : "1000000", NULL, 10);
	st->queue_max = (size_t)strtoull(kconf_get(k, "queue.buffering.max.messages", buf, sizeof(buf)) ?
	    buf : "100000", NULL, 10);
	if (st->queue_max == 0)
		st->queue_max = SIZE_MAX / 2;	/* 0: no limit */
	st->batch_max = st->queue_max / 2 < BATCH_MAX ? st->queue_max / 2 + 1 : BATCH_MAX;
	if (kconf_get(k, "partitioner", st->partitioner, sizeof(st->partitioner)) == NULL)
		st->partitioner[0] = '\0';
	if (!(st->rk = rd_kafka_new(RD_KAFKA_PRODUCER, k->conf, err, sizeof(err))))
		diag_exit(EX_CONFIG, "%s", err);
	k->conf = NULL;	/* now owned by rk */

	/* Fail early and clearly when no broker answers (exit 69). */
	st->start_deadline = mono_now() + st->opt->connect_timeout;
	if (kconf_reach(st->rk, st->opt->connect_timeout) < 0)
		exit(EX_UNAVAILABLE);
	/*
	 * With --create-topic, the topic is known to the client only once
	 * created: a producer's metadata request for a topic it knows makes
	 * a broker with auto.create.topics.enable create it, with the
	 * cluster's default partitions, before the CreateTopics request.
	 */
	if (st->opt->topic && !st->opt->create_topic)
		st->rkt = rd_kafka_topic_new(st->rk, st->opt->topic, NULL);
	/*
	 * librdkafka writes to this pipe when its main queue (delivery
	 * reports, errors) stops being empty, so the wait for input can end
	 * for them: reports are not held back until the next line.
	 */
	if (pipe2(st->events, O_NONBLOCK | O_CLOEXEC) < 0)
		diag_exit(EX_OSERR, "pipe: %s", strerror(errno));
	st->main_queue = rd_kafka_queue_get_main(st->rk);
	rd_kafka_queue_io_event_enable(st->main_queue, st->events[1], "!", 1);
}

/* Messages librdkafka holds, read when Prometheus asks (rd_kafka_outq_len is thread-safe). */
static void
in_flight(void *arg)
{
	struct state *st = arg;

	metric_set(st->m_in_flight, rd_kafka_outq_len(st->rk));
}

static void
register_metrics(struct state *st)
{
	st->m_in = metric_counter("txstream_kpub_records_in_total", "Input lines read (empty lines aside).");
	st->m_bytes_in = metric_counter("txstream_kpub_bytes_in_total", "Input bytes read, delimiters included.");
	st->m_out = metric_counter("txstream_kpub_records_out_total", "Messages delivered (acknowledged).");
	st->m_delivery_errors = metric_counter("txstream_kpub_delivery_errors_total",
	    "Messages that finally failed to be delivered.");
	st->m_in_flight = metric_gauge("txstream_kpub_messages_in_flight",
	    "Messages produced whose delivery report has not come yet.");
	st->m_latency = metric_new(METRIC_HISTOGRAM, "txstream_kpub_delivery_latency_seconds",
	    "Time from produce to delivery report.", NULL, metric_latency_buckets, metric_latency_nbuckets);
	metrics_on_scrape(in_flight, st);
	/* Every reason kpub(1) lists, at 0 from the start: a rate has a series before the first. */
	static const char *const reasons[] = { "not_json", "missing_key", "bad_key", "not_envelope",
	    "too_long", "produce_error", "cut" };
	for (size_t i = 0; i < sizeof reasons / sizeof reasons[0]; i++)
		metric_counter_label("txstream_kpub_bad_records_total", "Bad input lines, by reason.",
		    "reason", reasons[i]);
}

static void
count_bad(const char *reason)
{
	metric_inc(metric_counter_label("txstream_kpub_bad_records_total", "Bad input lines, by reason.",
	    "reason", reason));
}

static int
exit_status(const struct state *st)
{
	if (st->lost > 0) {
		diag_err("%" PRIu64 " message%s not delivered and not saved anywhere", st->lost,
		    st->lost == 1 ? "" : "s");
		return EX_TEMPFAIL;
	}
	if (st->fatal)
		return EX_TEMPFAIL;
	return dl_status(&st->dl, "not sent");
}

int
main(int argc, char **argv)
{
	struct options opt = {
		.partition = RD_KAFKA_PARTITION_UA,
		.key_delim = -1,
		.delim = '\n',
		.partitions = 5,
		.replication = 3,
		.flush_timeout = DEFAULT_FLUSH_TIMEOUT,
		.connect_timeout = DEFAULT_CONNECT_TIMEOUT,
	};
	struct state st = { .opt = &opt };
	static const char *stdin_only[] = { "stdin" };
	const char **sources;
	struct kconf k;
	int status, rc = 0;

	diag_init(argv[0]);
	if (kconf_init(&k) < 0)
		diag_exit(EX_OSERR, "%s", k.errstr);
	/* Lose nothing, double nothing: the defaults; -X may still change them. */
	/*
	 * Keys where the Java client and kafka-python put them (Java's murmur2),
	 * not where librdkafka's own consistent_random would.
	 */
	if (kconf_set(&k, "acks", "all") < 0 || kconf_set(&k, "enable.idempotence", "true") < 0 ||
	    kconf_set(&k, "partitioner", "murmur2_random") < 0)
		diag_exit(EX_SOFTWARE, "%s", k.errstr);
	status = parse_options(argc, argv, &opt, &k);
	if (status != EX_OK) {
		kconf_destroy(&k);
		if (status == OPTS_DONE)
			return EX_OK;
		usage();
		return status;
	}
	if (diag_enabled(DIAG_DEBUG))
		kconf_set(&k, "debug", "broker,topic,msg");

	stop_init();
	if (lw_init(&st.out, STDOUT_FILENO, 0, opt.unbuffered) < 0)
		diag_exit(EX_OSERR, "out of memory");
	if (dl_open(&st.dl, opt.errors_path, (char)opt.delim, opt.strict, count_bad) < 0)
		diag_exit(EX_CANTCREAT, "--errors %s: %s", opt.errors_path, strerror(errno));
	st.key_delim = (char)opt.key_delim;
	sources = opt.ninputs ? (const char **)opt.inputs : stdin_only;
	st.sources = sources;
	open_producer(&st, &k);
	/* Unregistered series are NULL, and updating them costs nothing: only when served. */
	if (opt.metrics_addr)
		register_metrics(&st);
	if (opt.source_offsets) {
		char why[512];

		if (!(st.frontier = frontier_new(opt.source_offsets, why, sizeof(why))))
			diag_exit(EX_DATAERR, "--source-offsets %s: %s", opt.source_offsets, why);
		save_frontier(&st);	/* a file that cannot be written fails now */
	}
	if (metrics_serve_option(opt.metrics_addr) < 0)
		exit(EX_CONFIG);
	if (opt.create_topic) {
		create_topic(&st);
		st.rkt = rd_kafka_topic_new(st.rk, opt.topic, NULL);
	}
	start_batching(&st);
	if (!(st.gathered = malloc(GATHER_MAX * sizeof(*st.gathered))))
		diag_exit(EX_OSERR, "out of memory");
	if (opt.key_field && !opt.envelope && fj_start(&st.helper) < 0)
		diag_debug("no second thread: kpub works in one");

	for (int i = 0; i < (opt.ninputs ? opt.ninputs : 1) && rc == 0; i++) {
		struct lreader r;
		const char *path = opt.ninputs ? opt.inputs[i] : "-";

		if (lr_open(&r, path, opt.delim, 0) < 0) {
			diag_err("%s: %s", path, strerror(errno));
			status = EX_NOINPUT;
			break;
		}
		r.initial_cap = READ_CAP;
		rc = publish_input(&st, &r, (size_t)i);
		lr_close(&r);
	}
	drain(&st);
	save_frontier(&st);
	diag_badline_flush();
	if (lw_flush(&st.out) < 0 && st.out.err != EPIPE)
		diag_err("write error on stdout: %s", strerror(st.out.err));
	dl_close(&st.dl);
	diag_info("%" PRIu64 " produced, %" PRIu64 " delivered, %" PRIu64 " failed, %llu bad",
	    st.produced, st.delivered, st.failed, st.dl.bad);
	if (status == EX_OK)
		status = exit_status(&st);
	else if (st.lost)
		status = EX_TEMPFAIL;
	metrics_stop();
	rd_kafka_queue_io_event_enable(st.main_queue, -1, NULL, 0);
	rd_kafka_queue_destroy(st.main_queue);
	close(st.events[0]);
	close(st.events[1]);
	if (st.rkt)
		rd_kafka_topic_destroy(st.rkt);
	rd_kafka_destroy(st.rk);
	lw_free(&st.out);
	free(st.scratch);
	env_parser_free(&st.env);
	frontier_free(st.frontier);
	pbatch_free(&st.batch);
	fj_stop(&st.helper);
	free(st.gathered);
	kconf_destroy(&k);
	return status;
}

/*
 * kbroker: an embedded Kafka-protocol cluster for a laptop, a demo and the
 * tests. It is librdkafka's mock cluster run as a program: real brokers
 * speaking the Kafka protocol on 127.0.0.1, in memory, with faults that
 * can be injected through a control file while clients run.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "lib/atomicfile.h"
#include "lib/diag.h"
#include "lib/jsonw.h"
#include "lib/metrics.h"
#include "lib/kconf.h"
#include "lib/lineio.h"
#include "lib/opts.h"
#include "lib/stop.h"

#define DEFAULT_BROKERS 3
#define MAX_BROKERS 32
#define MAX_TOPICS 64
#define LISTEN_WAIT_S 5.0	/* for the mock listeners to accept */
#define WATCH_PERIOD_S 1.0	/* between looks at the low watermarks */
#define WATERMARK_TIMEOUT_MS 500	/* per query: a stop waits at most this */
#define RELAY_MAX 64		/* connections through -P at once */
#define RELAY_BUF 65536		/* bytes read per poll in the relay */
#define RELAY_POLL_MS 200
#define CONTROL_LINE_MAX 4096
#define WATCHER_JOIN_S 3	/* seconds a stop waits for the watcher */

struct topic {
	char *name;
	int partitions, replicas;
};

struct options {
	int brokers;
	struct topic topics[MAX_TOPICS];
	int ntopics;
	int port;		/* -P; 0: none */
	const char *control;
	const char *bootstrap_file;
	const char *metrics_addr;
};

enum {
	OPT_CONTROL = OPT_PRIVATE,
	OPT_BOOTSTRAP_FILE,
};

struct cluster {
	const struct options *opt;
	rd_kafka_t *rk;			/* owns the mock cluster */
	rd_kafka_mock_cluster_t *mc;
	char bootstraps[1024];		/* the mock brokers' own addresses */
	atomic_bool quit;		/* tells the threads to end */
	atomic_uint_least64_t down;	/* bit i: broker i taken down by "down" */
	int listen_fd;			/* -P */
	pthread_t relay, watcher;
	bool relay_started, watcher_started;
};

static const char synopsis[] =
	"usage: kbroker [-quv] [-n brokers] [-T topic:partitions[:replicas]] ...\n"
	"               [-P port] [--control file] [--bootstrap-file file]\n"
	"               [--log-format text|json] [--metrics-addr addr]\n";

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
	    "Run an embedded Kafka-protocol cluster (librdkafka's mock) on 127.0.0.1\n"
	    "until SIGINT or SIGTERM. The first line on stdout is the bootstrap list.\n"
	    "\n"
	    "  -n, --brokers N          brokers, with ids 1 to N (default 3)\n"
	    "  -T, --topic T:P[:R]      create topic T with P partitions and R replicas\n"
	    "                           (repeatable; default: the seed's topics)\n"
	    "  -P, --port PORT          also accept clients on 127.0.0.1:PORT\n"
	    "      --control FILE       read fault-injection commands from FILE (a FIFO,\n"
	    "                           or - for stdin); answers go to stdout\n"
	    "      --bootstrap-file F   also write the bootstrap list to F\n"
	    "  -q, --quiet              print errors only\n"
	    "  -v, --verbose            print more; twice for librdkafka's debug lines\n"
	    "      --log-format F       diagnostics as text (default) or json\n"
	    "      --metrics-addr ADDR  serve Prometheus metrics on http://ADDR/metrics\n"
	    "      --help               print this help and exit\n"
	    "      --version            print the version and exit\n"
	    "\n"
	    "Control commands: down ID, up ID, rtt ID MS, leader TOPIC PARTITION ID,\n"
	    "error REQUEST COUNT CODE.\n", stdout);
}

/* Kafka request types by name, for the "error" command. */
static const struct {
	const char *name;
	int16_t key;
} api_keys[] = {
	{ "Produce", 0 }, { "Fetch", 1 }, { "ListOffsets", 2 }, { "Metadata", 3 },
	{ "OffsetCommit", 8 }, { "OffsetFetch", 9 }, { "FindCoordinator", 10 },
	{ "JoinGroup", 11 }, { "Heartbeat", 12 }, { "LeaveGroup", 13 }, { "SyncGroup", 14 },
	{ "DescribeGroups", 15 }, { "ListGroups", 16 }, { "SaslHandshake", 17 },
	{ "ApiVersions", 18 }, { "CreateTopics", 19 }, { "DeleteTopics", 20 },
	{ "InitProducerId", 22 }, { "AddPartitionsToTxn", 24 }, { "AddOffsetsToTxn", 25 },
	{ "EndTxn", 26 }, { "TxnOffsetCommit", 28 }, { "OffsetForLeaderEpoch", 23 },
};

/* "tcp:127.0.0.1:PORT" or "127.0.0.1:PORT" into a socket address. */
static int
parse_addr(const char *s, size_t len, struct sockaddr_in *sa)
{
	char buf[64];
	const char *colon;
	uint64_t port;

	if (len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (!(colon = strrchr(buf, ':')) || opts_uint(colon + 1, 1, 65535, &port) < 0)
		return -1;
	buf[colon - buf] = '\0';
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	return inet_pton(AF_INET, strchr(buf, ':') ? strrchr(buf, ':') + 1 : buf, &sa->sin_addr) == 1 ? 0 : -1;
}

/* The address of the n-th (0-based) broker in the bootstrap list. */
static int
broker_addr(const struct cluster *c, int n, struct sockaddr_in *sa)
{
	const char *p = c->bootstraps;

	for (int i = 0; i < n && p; i++)
		if ((p = strchr(p, ',')))
			p++;
	if (!p)
		return -1;
	return parse_addr(p, strcspn(p, ","), sa);
}

/* Send at once, as a Kafka broker does: no Nagle delay on small writes. */
static void
nodelay(int fd)
{
	int one = 1, on = 0;
	socklen_t len = sizeof(on);

	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0 ||
	    getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, &len) < 0)
		diag_warn("TCP_NODELAY on socket %d: %s", fd, strerror(errno));
	else
		diag_debug("socket %d: TCP_NODELAY %s", fd, on ? "on" : "off");
}

/*
 * librdkafka's mock cluster accepts its clients itself, with accept(2),
 * and leaves Nagle's algorithm on. A response written while an earlier
 * one is unacknowledged then waits for the client's delayed ACK, up to
 * 40 ms: with five requests in flight (an idempotent producer's default)
 * most of them did (measured: 45 ms of a 180 ms run producing 100,000
 * messages). Kafka's brokers set TCP_NODELAY, and so does kbroker: this
 * definition in the executable comes before libc's for librdkafka's call.
 */
int
accept(int fd, struct sockaddr *addr, socklen_t *len)
{
	int s = accept4(fd, addr, len, 0);

	if (s >= 0)
		nodelay(s);
	return s;
}

static int
connect_to(const struct sockaddr_in *sa)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Wait until every mock broker accepts a TCP connection. */
static int
wait_listening(const struct cluster *c)
{
	double deadline = mono_now() + LISTEN_WAIT_S;

	for (int i = 0; i < c->opt->brokers; i++) {
		struct sockaddr_in sa;
		int fd;

		if (broker_addr(c, i, &sa) < 0)
			return -1;
		while ((fd = connect_to(&sa)) < 0) {
			if (mono_now() > deadline || !stop_sleep(0.02))
				return -1;
		}
		close(fd);
	}
	return 0;
}

/*
 * The -P relay: one thread, poll() over the listener and every pair of
 * sockets, copying bytes each way. A client only bootstraps through it:
 * the metadata it gets names the mock brokers' own addresses.
 */
struct pair {
	int a, b;
};

static void
close_pair(struct pair *p)
{
	close(p->a);
	close(p->b);
	p->a = p->b = -1;
}

/* Copy what is readable on from to to; -1 when either side is done. */
static int
relay_once(int from, int to, char *buf)
{
	ssize_t n = read(from, buf, RELAY_BUF);

	if (n <= 0)
		return -1;
	for (ssize_t off = 0; off < n;) {
		ssize_t w = write(to, buf + off, (size_t)(n - off));

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		off += w;
	}
	return 0;
}

static void *
relay_main(void *arg)
{
	struct cluster *c = arg;
	struct pair pairs[RELAY_MAX];
	struct pollfd pfd[1 + 2 * RELAY_MAX];
	char *buf = malloc(RELAY_BUF);

	for (int i = 0; i < RELAY_MAX; i++)
		pairs[i].a = pairs[i].b = -1;
	while (buf && !atomic_load(&c->quit)) {
		int n = 0;

		pfd[n++] = (struct pollfd){ .fd = c->listen_fd, .events = POLLIN };
		for (int i = 0; i < RELAY_MAX; i++) {
			pfd[n++] = (struct pollfd){ .fd = pairs[i].a, .events = POLLIN };
			pfd[n++] = (struct pollfd){ .fd = pairs[i].b, .events = POLLIN };
		}
		if (poll(pfd, (nfds_t)n, RELAY_POLL_MS) <= 0)
			continue;
		for (int i = 0; i < RELAY_MAX; i++) {
			short ra = pfd[1 + 2 * i].revents, rb = pfd[2 + 2 * i].revents;

			if (pairs[i].a < 0)
				continue;
			if (((ra & (POLLIN | POLLHUP | POLLERR)) && relay_once(pairs[i].a, pairs[i].b, buf) < 0) ||
			    ((rb & (POLLIN | POLLHUP | POLLERR)) && relay_once(pairs[i].b, pairs[i].a, buf) < 0))
				close_pair(&pairs[i]);
		}
		if (pfd[0].revents & POLLIN) {
			int client = accept4(c->listen_fd, NULL, NULL, SOCK_CLOEXEC), slot = -1, up = -1;

			for (int i = 0; i < RELAY_MAX && slot < 0; i++)
				if (pairs[i].a < 0)
					slot = i;
			/* The first broker that is up takes the bootstrap connection. */
			for (int i = 0; i < c->opt->brokers && client >= 0 && slot >= 0 && up < 0; i++) {
				struct sockaddr_in sa;

				if (broker_addr(c, i, &sa) == 0)
					up = connect_to(&sa);
			}
			if (client >= 0 && slot >= 0 && up >= 0) {
				nodelay(client);
				nodelay(up);
				pairs[slot].a = client;
				pairs[slot].b = up;
			} else {
				diag_warn("-P: cannot relay a connection: %s", slot < 0 ? "too many at once" :
				    client < 0 ? strerror(errno) : "no broker is up");
				if (client >= 0)
					close(client);
			}
		}
	}
	for (int i = 0; i < RELAY_MAX; i++)
		if (pairs[i].a >= 0)
			close_pair(&pairs[i]);
	free(buf);
	return NULL;
}

static int
start_relay(struct cluster *c)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)c->opt->port) };
	int one = 1;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((c->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    setsockopt(c->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(c->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(c->listen_fd, SOMAXCONN) < 0) {
		diag_err("-P %d: %s", c->opt->port, strerror(errno));
		return -1;
	}
	if (pthread_create(&c->relay, NULL, relay_main, c) != 0)
		return -1;
	c->relay_started = true;
	return 0;
}

/*
 * The retention watcher. The mock keeps only about the last 5 MB of a
 * partition and moves its low watermark up as it deletes; a client of our
 * own looks at every low watermark once a second and warns, once per
 * partition, when one leaves 0.
 */
static void
watch_once(struct cluster *c, rd_kafka_t *rk, int64_t *warned, size_t nwarned)
{
	const struct rd_kafka_metadata *md;
	size_t slot = 0;

	if (rd_kafka_metadata(rk, 1, NULL, &md, WATERMARK_TIMEOUT_MS) != RD_KAFKA_RESP_ERR_NO_ERROR)
		return;
	for (int t = 0; t < md->topic_cnt; t++) {
		const rd_kafka_metadata_topic_t *mt = &md->topics[t];

		/* A query to a broker that is down waits its timeout: look at quit often. */
		for (int p = 0; p < mt->partition_cnt && slot < nwarned && !atomic_load(&c->quit); p++, slot++) {
			int32_t leader = mt->partitions[p].leader;
			int64_t lo, hi;

			/*
			 * librdkafka 2.0.2 waits past its timeout, for ever, when the
			 * leader is down: ask only partitions whose leader is up.
			 */
			if (leader < 1 || leader > 63 || (atomic_load(&c->down) >> leader & 1))
				continue;
			if (rd_kafka_query_watermark_offsets(rk, mt->topic, mt->partitions[p].id, &lo, &hi,
			    WATERMARK_TIMEOUT_MS) != RD_KAFKA_RESP_ERR_NO_ERROR || lo <= 0 || warned[slot])
				continue;
			warned[slot] = lo;
			diag_warn("%s [%d]: the oldest %lld messages were deleted: kbroker keeps only about "
			    "the last 5 MB of a partition", mt->topic, mt->partitions[p].id, (long long)lo);
		}
	}
	rd_kafka_metadata_destroy(md);
}

static void *
watcher_main(void *arg)
{
	struct cluster *c = arg;
	enum { SLOTS = MAX_TOPICS * 1024 };
	int64_t *warned = calloc(SLOTS, sizeof(*warned));
	char err[256];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_t *rk;

	/* Quiet: its connection errors while a broker is down are expected. */
	rd_kafka_conf_set(conf, "bootstrap.servers", c->bootstraps, err, sizeof(err));
	rd_kafka_conf_set(conf, "log_level", "0", err, sizeof(err));
	if (!warned || !(rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err)))) {
		diag_warn("the retention watcher cannot start: %s", warned ? err : "out of memory");
		free(warned);
		return NULL;
	}
	while (!atomic_load(&c->quit)) {
		watch_once(c, rk, warned, SLOTS);
		for (double t = 0; t < WATCH_PERIOD_S && !atomic_load(&c->quit); t += 0.1)
			usleep(100000);
	}
	rd_kafka_destroy(rk);
	free(warned);
	return NULL;
}

static rd_kafka_resp_err_t
err_by_name(const char *s, bool *ok)
{
	const struct rd_kafka_err_desc *descs;
	size_t n;
	char *end;
	long v;

	if (strncmp(s, JW_LIT("RD_KAFKA_RESP_ERR_")) == 0)
		s += 18;
	rd_kafka_get_err_descs(&descs, &n);
	for (size_t i = 0; i < n; i++)
		if (descs[i].name && strcasecmp(descs[i].name, s) == 0) {
			*ok = true;
			return descs[i].code;
		}
	v = strtol(s, &end, 10);
	*ok = *end == '\0' && end != s;
	return (rd_kafka_resp_err_t)v;
}

static int
api_key(const char *s, int16_t *key)
{
	uint64_t v;

	for (size_t i = 0; i < sizeof(api_keys) / sizeof(api_keys[0]); i++)
		if (strcasecmp(api_keys[i].name, s) == 0 ||
		    (strncasecmp(api_keys[i].name, s, strlen(api_keys[i].name)) == 0 &&
		    strcasecmp(s + strlen(api_keys[i].name), "Request") == 0)) {
			*key = api_keys[i].key;
			return 0;
		}
	if (opts_uint(s, 0, INT16_MAX, &v) < 0)
		return -1;
	*key = (int16_t)v;
	return 0;
}

/* One control command; the answer goes into reply. */
static void
control(struct cluster *c, char *line, char *reply, size_t size)
{
	char *argv[5], *save = NULL;
	int argc = 0;
	uint64_t id, n, part;
	rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;

	for (char *t = strtok_r(line, " \t", &save); t && argc < 5; t = strtok_r(NULL, " \t", &save))
		argv[argc++] = t;
#define BAD(...) do { snprintf(reply, size, "error: " __VA_ARGS__); return; } while (0)
	if (argc == 0)
		BAD("empty command");
	if ((strcmp(argv[0], "down") == 0 || strcmp(argv[0], "up") == 0) && argc == 2) {
		if (opts_uint(argv[1], 1, (uint64_t)c->opt->brokers, &id) < 0)
			BAD("no broker %s (ids are 1 to %d)", argv[1], c->opt->brokers);
		if (argv[0][0] == 'd') {
			atomic_fetch_or(&c->down, (uint64_t)1 << id);
			err = rd_kafka_mock_broker_set_down(c->mc, (int32_t)id);
		} else {
			err = rd_kafka_mock_broker_set_up(c->mc, (int32_t)id);
			atomic_fetch_and(&c->down, ~((uint64_t)1 << id));
		}
	} else if (strcmp(argv[0], "rtt") == 0 && argc == 3) {
		if (opts_uint(argv[1], 1, (uint64_t)c->opt->brokers, &id) < 0)
			BAD("no broker %s (ids are 1 to %d)", argv[1], c->opt->brokers);
		if (opts_uint(argv[2], 0, INT32_MAX, &n) < 0)
			BAD("'%s' is not milliseconds", argv[2]);
		err = rd_kafka_mock_broker_set_rtt(c->mc, (int32_t)id, (int)n);
	} else if (strcmp(argv[0], "leader") == 0 && argc == 4) {
		if (opts_uint(argv[2], 0, INT32_MAX, &part) < 0)
			BAD("'%s' is not a partition", argv[2]);
		if (opts_uint(argv[3], 1, (uint64_t)c->opt->brokers, &id) < 0)
			BAD("no broker %s (ids are 1 to %d)", argv[3], c->opt->brokers);
		err = rd_kafka_mock_partition_set_leader(c->mc, argv[1], (int32_t)part, (int32_t)id);
	} else if (strcmp(argv[0], "error") == 0 && argc == 4) {
		rd_kafka_resp_err_t code, *codes;
		int16_t key;
		bool known;

		if (api_key(argv[1], &key) < 0)
			BAD("unknown request type '%s'", argv[1]);
		if (opts_uint(argv[2], 1, 100000, &n) < 0)
			BAD("'%s' is not a count from 1 to 100000", argv[2]);
		code = err_by_name(argv[3], &known);
		if (!known)
			BAD("unknown error code '%s'", argv[3]);
		if (!(codes = malloc(n * sizeof(*codes))))
			BAD("out of memory");
		for (uint64_t i = 0; i < n; i++)
			codes[i] = code;
		rd_kafka_mock_push_request_errors_array(c->mc, key, n, codes);
		free(codes);
	} else {
		BAD("unknown command (down ID, up ID, rtt ID MS, leader TOPIC PARTITION ID, "
		    "error REQUEST COUNT CODE)");
	}
	if (err)
		BAD("%s", rd_kafka_err2str(err));
#undef BAD
	snprintf(reply, size, "ok");
}

/*
 * Serve control commands until a stop request. A FIFO is opened for
 * reading and writing, so a writer that closes it is no end of input;
 * standard input can end, and then kbroker just serves on.
 */
static void
serve_control(struct cluster *c, const char *path)
{
	struct lreader r;
	struct line l;
	int fd = STDIN_FILENO;
	enum lr_status s;

	if (strcmp(path, "-") != 0 && (fd = open(path, O_RDWR | O_CLOEXEC)) < 0) {
		diag_err("--control %s: %s", path, strerror(errno));
		return;
	}
	lr_init_fd(&r, fd, path, '\n', CONTROL_LINE_MAX);
	while ((s = lr_next(&r, &l)) != LR_EOF && s != LR_ERROR && s != LR_CUT) {
		char reply[512];

		if (s == LR_TOOLONG) {
			snprintf(reply, sizeof(reply), "error: line too long");
		} else {
			if (l.len == 0 || l.data[0] == '#')
				continue;
			diag_info("control: %s", l.data);
			control(c, l.data, reply, sizeof(reply));
		}
		printf("%s\n", reply);
		fflush(stdout);
	}
	lr_close(&r);
}

/* Write the bootstrap list to path atomically: a reader sees all or none. */
static int
write_bootstrap_file(const char *path, const char *list)
{
	struct afile a;

	if (afile_open(&a, path) < 0)
		return -1;
	if (fprintf(a.f, "%s\n", list) < 0) {
		afile_abort(&a);
		return -1;
	}
	return afile_commit(&a);
}

static void
free_topics(struct options *o)
{
	for (int i = 0; i < o->ntopics; i++)
		free(o->topics[i].name);
	o->ntopics = 0;
}

/* "name:partitions[:replicas]", parsed in a copy: argv stays as ps shows it. */
static int
parse_topic(const char *arg, int brokers_max, struct topic *t)
{
	char *s = strdup(arg), *c1 = s ? strchr(s, ':') : NULL, *c2;
	uint64_t p, r = 0;

	if (!c1 || c1 == s) {
		free(s);
		return -1;
	}
	*c1++ = '\0';
	if ((c2 = strchr(c1, ':')))
		*c2++ = '\0';
	if (opts_uint(c1, 1, 100000, &p) < 0 || (c2 && opts_uint(c2, 1, (uint64_t)brokers_max, &r) < 0)) {
		free(s);
		return -1;
	}
	t->name = s;
	t->partitions = (int)p;
	t->replicas = (int)r;	/* 0: as many as brokers, at most 3 */
	return 0;
}

/* --- metrics: which brokers "down" has taken down, read when Prometheus asks --- */

static struct metric *m_up[MAX_BROKERS + 1];

static void
brokers_up(void *arg)
{
	const struct cluster *c = arg;
	uint64_t down = atomic_load(&((struct cluster *)c)->down);

	for (int i = 1; i <= c->opt->brokers; i++)
		metric_set(m_up[i], (down >> i) & 1 ? 0 : 1);
}

static void
register_metrics(struct cluster *c)
{
	metric_set(metric_gauge("txstream_kbroker_brokers", "Brokers in the embedded cluster."), c->opt->brokers);
	for (int i = 1; i <= c->opt->brokers; i++) {
		char id[16];
		const char *const labels[] = { "broker", id, NULL };

		snprintf(id, sizeof(id), "%d", i);
		m_up[i] = metric_new(METRIC_GAUGE, "txstream_kbroker_broker_up",
		    "1 when the broker is up, 0 when the control command down took it down.", labels, NULL, 0);
	}
	metrics_on_scrape(brokers_up, c);
}

static int
parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "brokers", required_argument, NULL, 'n' },
		{ "topic", required_argument, NULL, 'T' },
		{ "port", required_argument, NULL, 'P' },
		{ "control", required_argument, NULL, OPT_CONTROL },
		{ "bootstrap-file", required_argument, NULL, OPT_BOOTSTRAP_FILE },
		OPTS_METRICS_LONG,
		OPTS_COMMON_LONG,
		{ NULL, 0, NULL, 0 },
	};
	uint64_t v;
	int c, r;

	while ((c = getopt_long(argc, argv, "n:T:P:" OPTS_COMMON_SHORT, longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			if (opts_uint(optarg, 1, MAX_BROKERS, &v) < 0)
				return diag_err("-n: '%s' is not a number of brokers from 1 to %d", optarg, MAX_BROKERS), EX_USAGE;
			o->brokers = (int)v;
			break;
		case 'T':
			if (o->ntopics == MAX_TOPICS)
				return diag_err("-T: at most %d topics", MAX_TOPICS), EX_USAGE;
			if (parse_topic(optarg, MAX_BROKERS, &o->topics[o->ntopics]) < 0)
				return diag_err("-T: '%s' is not topic:partitions[:replicas]", optarg), EX_USAGE;
			o->ntopics++;
			break;
		case 'P':
			if (opts_uint(optarg, 1, 65535, &v) < 0)
				return diag_err("-P: '%s' is not a port", optarg), EX_USAGE;
			o->port = (int)v;
			break;
		case OPT_CONTROL:
			o->control = optarg;
			break;
		case OPT_METRICS_ADDR:
			o->metrics_addr = optarg;
			break;
		case OPT_BOOTSTRAP_FILE:
			o->bootstrap_file = optarg;
			break;
		default:
			if ((r = opts_default(c, optarg, help)) != OPTS_HANDLED)
				return r;
		}
	}
	if (optind < argc)
		return diag_err("unexpected argument '%s'", argv[optind]), EX_USAGE;
	for (int i = 0; i < o->ntopics; i++) {
		if (o->topics[i].replicas > o->brokers)
			return diag_err("-T %s: %d replicas, but only %d brokers", o->topics[i].name,
			    o->topics[i].replicas, o->brokers), EX_USAGE;
		if (o->topics[i].replicas == 0)
			o->topics[i].replicas = o->brokers < 3 ? o->brokers : 3;
	}
	if (o->ntopics == 0) {
		/* The seed's topics. */
		int replicas = o->brokers < 3 ? o->brokers : 3;

		o->topics[o->ntopics++] = (struct topic){ strdup("financial_transactions"), 5, replicas };
		o->topics[o->ntopics++] = (struct topic){ strdup("transaction_aggregates"), 3, replicas };
	}
	return EX_OK;
}

static int
start_cluster(struct cluster *c)
{
	const struct options *o = c->opt;
	struct kconf k;
	char err[512];
	const char *bs;

	if (kconf_init(&k) < 0)
		return diag_err("%s", k.errstr), EX_OSERR;
	if (diag_enabled(DIAG_DEBUG))
		kconf_set(&k, "debug", "mock,broker");
	if (!(c->rk = rd_kafka_new(RD_KAFKA_PRODUCER, k.conf, err, sizeof(err)))) {
		kconf_destroy(&k);
		return diag_err("%s", err), EX_SOFTWARE;
	}
	if (!(c->mc = rd_kafka_mock_cluster_new(c->rk, o->brokers)))
		return diag_err("cannot start the mock cluster"), EX_SOFTWARE;
	bs = rd_kafka_mock_cluster_bootstraps(c->mc);
	snprintf(c->bootstraps, sizeof(c->bootstraps), "%s", bs);
	for (int i = 0; i < o->ntopics; i++) {
		rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(c->mc, o->topics[i].name,
		    o->topics[i].partitions, o->topics[i].replicas);

		if (e)
			return diag_err("-T %s: %s", o->topics[i].name, rd_kafka_err2str(e)), EX_SOFTWARE;
	}
	if (wait_listening(c) < 0)
		return diag_err("the mock brokers %s do not accept connections", c->bootstraps), EX_UNAVAILABLE;
	return EX_OK;
}

int
main(int argc, char **argv)
{
	struct options opt = { .brokers = DEFAULT_BROKERS };
	struct cluster c = { .opt = &opt, .listen_fd = -1 };
	char bootstrap[1024];
	int status;

	diag_init(argv[0]);
	status = parse_options(argc, argv, &opt);
	if (status != EX_OK) {
		free_topics(&opt);
		if (status == OPTS_DONE)
			return EX_OK;
		usage();
		return status;
	}
	stop_init();
	atomic_init(&c.quit, false);
	atomic_init(&c.down, 0);
	if ((status = start_cluster(&c)) != EX_OK)
		goto out;
	register_metrics(&c);
	if (metrics_serve_option(opt.metrics_addr) < 0) {
		status = EX_CONFIG;
		goto out;
	}
	if (opt.port && start_relay(&c) < 0) {
		status = EX_UNAVAILABLE;
		goto out;
	}
	if (opt.port)
		snprintf(bootstrap, sizeof(bootstrap), "127.0.0.1:%d", opt.port);
	else
		snprintf(bootstrap, sizeof(bootstrap), "%s", c.bootstraps);
	if (opt.bootstrap_file && write_bootstrap_file(opt.bootstrap_file, bootstrap) < 0) {
		diag_err("--bootstrap-file %s: %s", opt.bootstrap_file, strerror(errno));
		status = EX_CANTCREAT;
		goto out;
	}
	printf("%s\n", bootstrap);
	fflush(stdout);
	diag_info("%d brokers at %s", opt.brokers, c.bootstraps);
	if (pthread_create(&c.watcher, NULL, watcher_main, &c) == 0)
		c.watcher_started = true;

	if (opt.control)
		serve_control(&c, opt.control);
	while (!stop_requested())
		stop_sleep(3600);
	diag_info("stopping on signal %d", stop_signal());
out:
	metrics_stop();
	atomic_store(&c.quit, true);
	if (c.watcher_started) {
		struct timespec until;

		/* A watcher stuck in librdkafka must not hold the exit: leave it. */
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += WATCHER_JOIN_S;
		if (pthread_timedjoin_np(c.watcher, NULL, &until) != 0)
			diag_warn("the retention watcher did not stop; exiting without it");
	}
	if (c.relay_started)
		pthread_join(c.relay, NULL);
	if (c.listen_fd >= 0)
		close(c.listen_fd);
	if (c.mc)
		rd_kafka_mock_cluster_destroy(c.mc);
	if (c.rk)
		rd_kafka_destroy(c.rk);
	free_topics(&opt);
	return status;
}

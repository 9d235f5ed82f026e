#include "config.h"

#include <math.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <microhttpd.h>

#include "diag.h"
#include "metrics.h"

#define CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/*
 * The server must never take the descriptors the data path needs
 * (checkpoints, --errors, offsets files, Kafka sockets), whoever connects:
 * Prometheus needs one connection, a person a few more. So connections
 * are capped at METRICS_MAX_CONNECTIONS, and at most 1/METRICS_FD_SHARE
 * of the descriptor limit (raised to the hard limit first); the ones
 * beyond wait in the kernel's listen queue, which costs no descriptor.
 * A connection quiet for METRICS_TIMEOUT_S is closed, so idle clients
 * and requests that are not HTTP free their slot; a request's headers may
 * take METRICS_REQUEST_BYTES at most, which bounds how long a client
 * sending a byte at a time holds one.
 */
#define METRICS_MAX_CONNECTIONS 32
#define METRICS_FD_SHARE 8
#define METRICS_TIMEOUT_S 3
#define METRICS_REQUEST_BYTES 8192
/* Lowers the cap (never raises it): for tests, or a host short of descriptors. */
#define METRICS_CONNECTIONS_ENV "TXSTREAM_METRICS_CONNECTIONS"

const double metric_latency_buckets[] = {
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
};
const size_t metric_latency_nbuckets = sizeof(metric_latency_buckets) / sizeof(metric_latency_buckets[0]);

struct family {
	char *name, *help;
	enum metric_type type;
	struct metric *first, *last;
	struct family *next;
};

struct metric {
	struct family *fam;
	char *labels;			/* k="v",k2="v2" (escaped), or "" */
	_Atomic uint64_t value;		/* a counter's count, or a gauge's double bits */
	size_t nbounds;
	double *bounds;
	_Atomic uint64_t *buckets;	/* per bound, not cumulative, plus +Inf */
	_Atomic uint64_t sum_bits, count;
	struct metric *next;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct family *families, *families_last;
static struct {
	void (*fn)(void *);
	void *arg;
} hooks[METRICS_MAX_HOOKS];
static size_t nhooks;
static struct MHD_Daemon *daemon_;

static uint64_t
dbits(double v)
{
	uint64_t b;

	memcpy(&b, &v, sizeof(b));
	return b;
}

static double
bitsd(uint64_t b)
{
	double v;

	memcpy(&v, &b, sizeof(v));
	return v;
}

/* k="v" pairs, values escaped as the text format asks: \\ \" \n. */
static char *
render_labels(const char *const *labels)
{
	size_t n = 1;
	char *s, *p;

	for (const char *const *l = labels; l && l[0] && l[1]; l += 2)
		n += strlen(l[0]) + 2 * strlen(l[1]) + 5;
	if (!(s = p = malloc(n)))
		return NULL;
	for (const char *const *l = labels; l && l[0] && l[1]; l += 2) {
		if (p != s)
			*p++ = ',';
		p += sprintf(p, "%s=\"", l[0]);
		for (const char *v = l[1]; *v; v++) {
			if (*v == '\\' || *v == '"')
				*p++ = '\\', *p++ = *v;
			else if (*v == '\n')
				*p++ = '\\', *p++ = 'n';
			else
				*p++ = *v;
		}
		*p++ = '"';
	}
	*p = '\0';
	return s;
}

static struct family *
family_get(enum metric_type type, const char *name, const char *help)
{
	struct family *f;

	for (f = families; f; f = f->next)
		if (strcmp(f->name, name) == 0)
			return f;
	if (!(f = calloc(1, sizeof(*f))) || !(f->name = strdup(name)) || !(f->help = strdup(help))) {
		if (f)
			free(f->name);
		free(f);
		return NULL;
	}
	f->type = type;
	if (families_last)
		families_last->next = f;
	else
		families = f;
	families_last = f;
	return f;
}

struct metric *
metric_new(enum metric_type type, const char *name, const char *help, const char *const *labels,
    const double *bounds, size_t nbounds)
{
	struct family *f;
	struct metric *m = NULL;
	char *lt = render_labels(labels);

	if (!lt)
		return NULL;
	pthread_mutex_lock(&mu);
	if (!(f = family_get(type, name, help)))
		goto out;
	for (m = f->first; m; m = m->next)
		if (strcmp(m->labels, lt) == 0)
			goto out;
	if (!(m = calloc(1, sizeof(*m))))
		goto out;
	m->fam = f;
	m->labels = lt;
	lt = NULL;
	if (type == METRIC_HISTOGRAM) {
		m->nbounds = nbounds;
		m->bounds = malloc((nbounds ? nbounds : 1) * sizeof(*m->bounds));
		m->buckets = calloc(nbounds + 1, sizeof(*m->buckets));
		if (!m->bounds || !m->buckets) {
			free(m->bounds);
			free((void *)m->buckets);
			free(m->labels);
			free(m);
			m = NULL;
			goto out;
		}
		memcpy(m->bounds, bounds, nbounds * sizeof(*bounds));
	}
	if (f->last)
		f->last->next = m;
	else
		f->first = m;
	f->last = m;
out:
	pthread_mutex_unlock(&mu);
	free(lt);
	return m;
}

struct metric *
metric_counter_label(const char *name, const char *help, const char *key, const char *value)
{
	const char *const labels[] = { key, value, NULL };

	return metric_new(METRIC_COUNTER, name, help, labels, NULL, 0);
}

void
metric_add(struct metric *m, uint64_t n)
{
	if (m)
		atomic_fetch_add_explicit(&m->value, n, memory_order_relaxed);
}

uint64_t
metric_count(const struct metric *m)
{
	return m ? atomic_load_explicit(&((struct metric *)m)->value, memory_order_relaxed) : 0;
}

void
metric_set(struct metric *m, double v)
{
	if (m)
		atomic_store_explicit(&m->value, dbits(v), memory_order_relaxed);
}

void
metric_observe(struct metric *m, double v)
{
	size_t i = 0;
	uint64_t old, new;

	if (!m || !m->buckets)
		return;
	while (i < m->nbounds && v > m->bounds[i])
		i++;
	atomic_fetch_add_explicit(&m->buckets[i], 1, memory_order_relaxed);
	old = atomic_load_explicit(&m->sum_bits, memory_order_relaxed);
	do
		new = dbits(bitsd(old) + v);
	while (!atomic_compare_exchange_weak_explicit(&m->sum_bits, &old, new, memory_order_relaxed,
	    memory_order_relaxed));
	atomic_fetch_add_explicit(&m->count, 1, memory_order_relaxed);
}

void
metrics_on_scrape(void (*fn)(void *), void *arg)
{
	pthread_mutex_lock(&mu);
	if (nhooks < METRICS_MAX_HOOKS) {
		hooks[nhooks].fn = fn;
		hooks[nhooks++].arg = arg;
	}
	pthread_mutex_unlock(&mu);
}

/* --- exposition --- */

struct buf {
	char *p;
	size_t len, cap;
	int failed;
};

static void
put(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
put(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->failed)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->failed = 1;
			return;
		}
		if ((size_t)n < b->cap - b->len)
			break;
		size_t cap = 2 * b->cap + (size_t)n;
		char *np = realloc(b->p, cap);

		if (!np) {
			b->failed = 1;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
	b->len += (size_t)n;
}

/* A sample value as the text format writes floats. */
static const char *
fmt_value(double v, char *dst, size_t n)
{
	if (isnan(v))
		return "NaN";
	if (isinf(v))
		return v > 0 ? "+Inf" : "-Inf";
	snprintf(dst, n, "%.17g", v);
	return dst;
}

/* HELP text escapes only \\ and \n. */
static void
put_help(struct buf *b, const struct family *f)
{
	put(b, "# HELP %s ", f->name);
	for (const char *h = f->help; *h; h++) {
		if (*h == '\\')
			put(b, "\\\\");
		else if (*h == '\n')
			put(b, "\\n");
		else
			put(b, "%c", *h);
	}
	put(b, "\n# TYPE %s %s\n", f->name,
	    f->type == METRIC_COUNTER ? "counter" : f->type == METRIC_GAUGE ? "gauge" : "histogram");
}

static void
put_histogram(struct buf *b, const struct family *f, const struct metric *m)
{
	const char *sep = m->labels[0] ? "," : "";
	uint64_t cum = 0;
	char v[32];

	for (size_t i = 0; i <= m->nbounds; i++) {
		cum += atomic_load_explicit(&((struct metric *)m)->buckets[i], memory_order_relaxed);
		if (i < m->nbounds)
			put(b, "%s_bucket{%s%sle=\"%g\"} %llu\n", f->name, m->labels, sep, m->bounds[i],
			    (unsigned long long)cum);
		else
			put(b, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", f->name, m->labels, sep, (unsigned long long)cum);
	}
	put(b, "%s_sum%s%s%s %s\n", f->name, m->labels[0] ? "{" : "", m->labels, m->labels[0] ? "}" : "",
	    fmt_value(bitsd(atomic_load_explicit(&((struct metric *)m)->sum_bits, memory_order_relaxed)), v,
	    sizeof(v)));
	put(b, "%s_count%s%s%s %llu\n", f->name, m->labels[0] ? "{" : "", m->labels, m->labels[0] ? "}" : "",
	    (unsigned long long)cum);
}

char *
metrics_render(size_t *len)
{
	struct buf b = { malloc(4096), 0, 4096, 0 };
	void (*fns[METRICS_MAX_HOOKS])(void *);
	void *args[METRICS_MAX_HOOKS];
	size_t nh;
	char v[32];

	if (!b.p)
		return NULL;
	pthread_mutex_lock(&mu);
	nh = nhooks;
	for (size_t i = 0; i < nh; i++)
		fns[i] = hooks[i].fn, args[i] = hooks[i].arg;
	pthread_mutex_unlock(&mu);
	for (size_t i = 0; i < nh; i++)
		fns[i](args[i]);

	pthread_mutex_lock(&mu);
	for (const struct family *f = families; f; f = f->next) {
		put_help(&b, f);
		for (const struct metric *m = f->first; m; m = m->next) {
			uint64_t raw = atomic_load_explicit(&((struct metric *)m)->value, memory_order_relaxed);
			const char *open = m->labels[0] ? "{" : "", *close = m->labels[0] ? "}" : "";

			if (f->type == METRIC_HISTOGRAM)
				put_histogram(&b, f, m);
			else if (f->type == METRIC_COUNTER)
				put(&b, "%s%s%s%s %llu\n", f->name, open, m->labels, close, (unsigned long long)raw);
			else
				put(&b, "%s%s%s%s %s\n", f->name, open, m->labels, close,
				    fmt_value(bitsd(raw), v, sizeof(v)));
		}
	}
	pthread_mutex_unlock(&mu);
	if (b.failed) {
		free(b.p);
		return NULL;
	}
	*len = b.len;
	return b.p;
}

/* --- the server --- */

static enum MHD_Result
answer(void *cls, struct MHD_Connection *c, const char *url, const char *method, const char *version,
    const char *upload, size_t *upload_size, void **con_cls)
{
	static const char not_found[] = "txstream: only /metrics is served here\n";
	struct MHD_Response *r;
	enum MHD_Result rc;
	unsigned status = MHD_HTTP_OK;
	char *text;
	size_t len;

	(void)cls, (void)version, (void)upload, (void)upload_size, (void)con_cls;
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
		/* Answered, then closed: a client that sent anything else learns why at once. */
		static const char not_allowed[] = "txstream: only GET and HEAD are served here\n";

		if (!(r = MHD_create_response_from_buffer(sizeof(not_allowed) - 1, (void *)not_allowed,
		    MHD_RESPMEM_PERSISTENT)))
			return MHD_NO;
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
		rc = MHD_queue_response(c, MHD_HTTP_METHOD_NOT_ALLOWED, r);
		MHD_destroy_response(r);
		return rc;
	}
	if (strcmp(url, "/metrics") == 0 && (text = metrics_render(&len))) {
		r = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, CONTENT_TYPE);
	} else {
		status = MHD_HTTP_NOT_FOUND;
		r = MHD_create_response_from_buffer(sizeof(not_found) - 1, (void *)not_found,
		    MHD_RESPMEM_PERSISTENT);
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
	}
	if (!r)
		return MHD_NO;
	rc = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return rc;
}

/*
 * The soft descriptor limit, raised to the hard one (the usual soft limit,
 * 1024, is what a flood of connections or a busy broker list runs into).
 * Nothing in txstream uses select(2), so descriptors past FD_SETSIZE are fine.
 */
static rlim_t
raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 0;
	if (rl.rlim_cur != rl.rlim_max) {
		struct rlimit want = { rl.rlim_max, rl.rlim_max };

		if (setrlimit(RLIMIT_NOFILE, &want) == 0)
			rl.rlim_cur = rl.rlim_max;
	}
	return rl.rlim_cur;
}

unsigned
metrics_connection_cap(void)
{
	rlim_t limit = raise_nofile();
	unsigned cap = METRICS_MAX_CONNECTIONS;
	const char *env = getenv(METRICS_CONNECTIONS_ENV);
	char *end;

	if (limit != RLIM_INFINITY && limit / METRICS_FD_SHARE < cap)
		cap = (unsigned)(limit / METRICS_FD_SHARE);
	if (env && *env) {
		unsigned long n = strtoul(env, &end, 10);

		if (*end == '\0' && n > 0 && n < cap)
			cap = (unsigned)n;
	}
	return cap > 0 ? cap : 1;
}

int
metrics_serve(const char *addr, char *why, size_t whysize)
{
	const char *colon = strrchr(addr, ':');
	char host[256];
	struct addrinfo hints = { .ai_flags = AI_PASSIVE | AI_NUMERICSERV, .ai_socktype = SOCK_STREAM }, *ai;
	size_t hlen;
	int e;
	/*
	 * poll, not select: a descriptor past 1023 must not stop the server. Not
	 * epoll either: with a connection limit, libmicrohttpd 0.9.75 stops
	 * answering for good once a flood at the limit has gone.
	 */
	unsigned flags = MHD_USE_POLL_INTERNAL_THREAD, cap = metrics_connection_cap();
	sigset_t all, old;

	if (!colon || !colon[1] || (size_t)(colon - addr) >= sizeof(host)) {
		snprintf(why, whysize, "'%s' is not HOST:PORT", addr);
		return -1;
	}
	hlen = (size_t)(colon - addr);
	memcpy(host, addr, hlen);
	host[hlen] = '\0';
	if (hlen >= 2 && host[0] == '[' && host[hlen - 1] == ']') {
		memmove(host, host + 1, hlen - 2);
		host[hlen - 2] = '\0';
	}
	if ((e = getaddrinfo(host[0] && strcmp(host, "*") != 0 ? host : NULL, colon + 1, &hints, &ai))) {
		snprintf(why, whysize, "%s: %s", addr, gai_strerror(e));
		return -1;
	}
	if (ai->ai_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	/* The server's thread must not take the program's SIGINT, SIGTERM or SIGUSR1. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	daemon_ = MHD_start_daemon(flags, 0, NULL, NULL, answer, NULL,
	    MHD_OPTION_SOCK_ADDR, ai->ai_addr,
	    MHD_OPTION_CONNECTION_LIMIT, cap,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)METRICS_TIMEOUT_S,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)METRICS_REQUEST_BYTES,
	    MHD_OPTION_END);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	freeaddrinfo(ai);
	if (!daemon_) {
		snprintf(why, whysize, "%s: cannot listen there (in use, or not an address of this host)", addr);
		return -1;
	}
	diag_info("metrics on http://%s/metrics (at most %u connections)", addr, cap);
	return 0;
}

int
metrics_serve_option(const char *addr)
{
	char why[512];

	if (!addr)
		return 0;
	if (metrics_serve(addr, why, sizeof(why)) == 0)
		return 0;
	diag_err("--metrics-addr %s", why);
	return -1;
}

void
metrics_stop(void)
{
	if (daemon_)
		MHD_stop_daemon(daemon_);
	daemon_ = NULL;
}

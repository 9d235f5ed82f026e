/*
 * metrics: counters, gauges and histograms, served on /metrics in the
 * Prometheus text format 0.0.4 through libmicrohttpd (txstream(7),
 * Logs and metrics): --metrics-addr HOST:PORT in every long-running program.
 *
 * A series is a family name (txstream_<prog>_<what>_<unit>, _total on
 * counters) and, optionally, label pairs. Registering the same series
 * twice gives the same one, so a label value met at run time (a reason,
 * a partition) needs no bookkeeping in the caller. Series live until
 * exit. Updates are lock-free C11 atomics: hot loops and librdkafka's
 * threads may update; registering and serving take one mutex.
 *
 * Without metrics_serve() nothing is served and updates cost an atomic
 * add: programs update unconditionally. (kpub, with updates for every
 * message, registers its series only when they are served: an update of
 * a NULL series costs a branch.)
 */
#ifndef TXS_METRICS_H
#define TXS_METRICS_H

#include <stddef.h>
#include <stdint.h>

enum metric_type { METRIC_COUNTER, METRIC_GAUGE, METRIC_HISTOGRAM };

struct metric;

/*
 * A series. labels is NULL or "k1", "v1", "k2", "v2", ..., NULL; values
 * are escaped here. Histograms take their upper bounds (ascending; +Inf
 * is implied) from bounds[0..nbounds). Returns NULL only when memory
 * runs out, and every update function accepts NULL and does nothing.
 */
struct metric *metric_new(enum metric_type type, const char *name, const char *help,
    const char *const *labels, const double *bounds, size_t nbounds);

static inline struct metric *
metric_counter(const char *name, const char *help)
{
	return metric_new(METRIC_COUNTER, name, help, NULL, NULL, 0);
}

static inline struct metric *
metric_gauge(const char *name, const char *help)
{
	return metric_new(METRIC_GAUGE, name, help, NULL, NULL, 0);
}

/* The counter of one label value, e.g. ("reason", "not_json"), registered on first use. */
struct metric *metric_counter_label(const char *name, const char *help, const char *key, const char *value);

void metric_add(struct metric *m, uint64_t n);		/* counters */
static inline void metric_inc(struct metric *m) { metric_add(m, 1); }
void metric_set(struct metric *m, double v);		/* gauges */
void metric_observe(struct metric *m, double v);	/* histograms */
uint64_t metric_count(const struct metric *m);		/* a counter's value */

/* Latency buckets in seconds, 1 ms to 30 s, for delivery and triggers. */
extern const double metric_latency_buckets[];
extern const size_t metric_latency_nbuckets;

/*
 * Called (with the registry unlocked) before each exposition, from the
 * server's thread: for values cheaper to read at scrape time, such as a
 * checkpoint's age. At most METRICS_MAX_HOOKS.
 */
#define METRICS_MAX_HOOKS 4
void metrics_on_scrape(void (*fn)(void *), void *arg);

/*
 * How many connections the server holds at once: METRICS_MAX_CONNECTIONS,
 * less on a host with few descriptors, less again when
 * $TXSTREAM_METRICS_CONNECTIONS says so. Raises the soft RLIMIT_NOFILE to
 * the hard limit as a side effect (metrics_serve() calls it).
 */
unsigned metrics_connection_cap(void);

/*
 * Serve /metrics on addr, "HOST:PORT" ("[::1]:9100", ":9100" for every
 * address). Idle connections are closed after a few seconds, requests
 * that are not HTTP are answered or closed, and connections are capped
 * (metrics_connection_cap()), so a client can never take the descriptors
 * the data path needs. No authentication: bind to loopback, or put a
 * reverse proxy with TLS and authentication in front. Returns 0, or -1
 * with a reason in why.
 */
int metrics_serve(const char *addr, char *why, size_t whysize);
/* --metrics-addr as every program takes it: nothing when addr is NULL; -1 once the reason is reported. */
int metrics_serve_option(const char *addr);
void metrics_stop(void);

/* The exposition text, malloc'ed (for tests and the server). */
char *metrics_render(size_t *len);

#endif

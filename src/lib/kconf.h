/*
 * kconf: librdkafka configuration from the command line, files and the
 * environment (txstream(7), Command line).
 *
 *   -X name=value   one property (applied in command-line order)
 *   -F file         "name=value" lines; '#' comments and blank lines skipped
 *   -b brokers      bootstrap.servers; wins over -F and -X
 *   $KAFKA_BROKERS  used only when none of the above named the brokers
 *
 * librdkafka's own log lines are routed through diag ("prog: rdkafka:
 * ..."). Values of secret properties (kconf_is_secret) never reach a
 * message: errors about them name the property only.
 *
 * Functions return 0, or -1 with a reason in k->errstr. Not thread-safe;
 * use from main() before the client starts.
 */
#ifndef TXS_KCONF_H
#define TXS_KCONF_H

#include <stdbool.h>
#include <librdkafka/rdkafka.h>

struct kconf {
	rd_kafka_conf_t *conf;
	const char *brokers;	/* -b, applied by kconf_finish() */
	char **given;		/* names set by -X or -F */
	size_t ngiven;
	char errstr[512];
};

int kconf_init(struct kconf *k);
int kconf_set(struct kconf *k, const char *name, const char *value);
int kconf_set_arg(struct kconf *k, const char *name_eq_value);	/* -X */
int kconf_file(struct kconf *k, const char *path);		/* -F */
/*
 * The options every Kafka client here shares (txstream(7), Command line): -b, -X, -F.
 * Returns 0 when taken, or an exit status after reporting why not: 78
 * for a property librdkafka refuses or a malformed -F file, 66 for a -F
 * file that does not exist.
 */
int kconf_option(struct kconf *k, int c, const char *arg);
/* Did -X or -F set this property? A program's own default yields to it. */
bool kconf_given(const struct kconf *k, const char *name);
/* Resolve the brokers; the conf is then ready for rd_kafka_new(). */
int kconf_finish(struct kconf *k);
/* A property value as librdkafka holds it, or NULL. */
const char *kconf_get(struct kconf *k, const char *name, char *buf, size_t size);
bool kconf_is_secret(const char *name);
/* Frees what kconf holds (the conf too, unless rd_kafka_new() took it). */
void kconf_destroy(struct kconf *k);

/*
 * Wait up to timeout seconds for any broker of rk's bootstrap list to
 * answer a metadata request. Returns 0, or -1 after reporting
 * "cannot reach the brokers LIST: reason" (callers exit 69).
 */
int kconf_reach(rd_kafka_t *rk, double timeout);

/*
 * Is name a topic name Kafka accepts: 1 to KCONF_TOPIC_MAX characters of
 * [A-Za-z0-9._-], not "." or ".."? A broker refuses any other (the mock
 * cluster would create it, and nothing could read it back). Returns 0,
 * or -1 with a reason ("is empty", ...) in why.
 */
#define KCONF_TOPIC_MAX 249
int kconf_topic_check(const char *name, size_t len, char *why, size_t whysize);

#endif

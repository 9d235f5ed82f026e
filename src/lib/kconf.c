#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <sysexits.h>

#include "diag.h"
#include "kconf.h"

#define KCONF_LINE_MAX 4096	/* bytes of one -F line */

static void
log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	enum diag_level l = level <= LOG_ERR ? DIAG_ERROR : level == LOG_WARNING ? DIAG_WARN :
	    level <= LOG_INFO ? DIAG_INFO : DIAG_DEBUG;

	(void)rk;
	diag_log(l, "rdkafka: %s: %s", fac, buf);
}

bool
kconf_is_secret(const char *name)
{
	/* Passwords, secrets and inline key material, now and in future versions. */
	return strstr(name, "password") || strstr(name, "secret") ||
	    strcmp(name, "ssl.key.pem") == 0 || strcmp(name, "sasl.oauthbearer.config") == 0;
}

int
kconf_init(struct kconf *k)
{
	memset(k, 0, sizeof(*k));
	if (!(k->conf = rd_kafka_conf_new())) {
		snprintf(k->errstr, sizeof(k->errstr), "out of memory");
		return -1;
	}
	rd_kafka_conf_set_log_cb(k->conf, log_cb);
	return 0;
}

int
kconf_set(struct kconf *k, const char *name, const char *value)
{
	char err[256];

	if (rd_kafka_conf_set(k->conf, name, value, err, sizeof(err)) != RD_KAFKA_CONF_OK) {
		if (kconf_is_secret(name))
			snprintf(k->errstr, sizeof(k->errstr), "property %s: invalid value", name);
		else
			snprintf(k->errstr, sizeof(k->errstr), "%s", err);
		return -1;
	}
	return 0;
}

/* kconf_set() for -X and -F: the name is remembered as the user's. */
static int
set_given(struct kconf *k, const char *name, const char *value)
{
	char **g;

	if (kconf_set(k, name, value) < 0)
		return -1;
	if (kconf_given(k, name))
		return 0;
	if (!(g = realloc(k->given, (k->ngiven + 1) * sizeof(*g))) || !(g[k->ngiven] = strdup(name))) {
		if (g)
			k->given = g;
		snprintf(k->errstr, sizeof(k->errstr), "out of memory");
		return -1;
	}
	k->given = g;
	k->ngiven++;
	return 0;
}

bool
kconf_given(const struct kconf *k, const char *name)
{
	for (size_t i = 0; i < k->ngiven; i++)
		if (strcmp(k->given[i], name) == 0)
			return true;
	return false;
}

int
kconf_set_arg(struct kconf *k, const char *arg)
{
	const char *eq = strchr(arg, '=');
	char name[256];

	if (!eq || eq == arg || (size_t)(eq - arg) >= sizeof(name)) {
		snprintf(k->errstr, sizeof(k->errstr), "'%.100s' is not name=value", arg);
		return -1;
	}
	memcpy(name, arg, (size_t)(eq - arg));
	name[eq - arg] = '\0';
	return set_given(k, name, eq + 1);
}

static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

int
kconf_file(struct kconf *k, const char *path)
{
	char line[KCONF_LINE_MAX];
	unsigned lineno = 0;
	FILE *f = fopen(path, "r");

	if (!f) {
		snprintf(k->errstr, sizeof(k->errstr), "%s: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		char *s = trim(line), *eq;

		lineno++;
		if (*s == '\0' || *s == '#')
			continue;
		if (!(eq = strchr(s, '='))) {
			snprintf(k->errstr, sizeof(k->errstr), "%s:%u: not name=value", path, lineno);
			fclose(f);
			errno = EINVAL;
			return -1;
		}
		*eq = '\0';
		if (set_given(k, trim(s), trim(eq + 1)) < 0) {
			char why[sizeof(k->errstr)];

			memcpy(why, k->errstr, sizeof(why));
			snprintf(k->errstr, sizeof(k->errstr), "%s:%u: %.400s", path, lineno, why);
			fclose(f);
			errno = EINVAL;
			return -1;
		}
	}
	fclose(f);
	return 0;
}

int
kconf_option(struct kconf *k, int c, const char *arg)
{
	switch (c) {
	case 'b':
		k->brokers = arg;
		return 0;
	case 'X':
		if (kconf_set_arg(k, arg) < 0)
			return diag_err("-X: %s", k->errstr), EX_CONFIG;
		return 0;
	case 'F':
		if (kconf_file(k, arg) < 0)
			return diag_err("-F: %s", k->errstr), errno == ENOENT ? EX_NOINPUT : EX_CONFIG;
		return 0;
	default:
		return EX_SOFTWARE;
	}
}

int
kconf_finish(struct kconf *k)
{
	const char *env = getenv("KAFKA_BROKERS");

	if (k->brokers)
		return kconf_set(k, "bootstrap.servers", k->brokers);
	if (kconf_given(k, "bootstrap.servers") || kconf_given(k, "metadata.broker.list"))
		return 0;
	if (env && *env)
		return kconf_set(k, "bootstrap.servers", env);
	snprintf(k->errstr, sizeof(k->errstr),
	    "no brokers: give -b host:port, bootstrap.servers in a -F file, or set KAFKA_BROKERS");
	return -1;
}

const char *
kconf_get(struct kconf *k, const char *name, char *buf, size_t size)
{
	return rd_kafka_conf_get(k->conf, name, buf, &size) == RD_KAFKA_CONF_OK ? buf : NULL;
}

void
kconf_destroy(struct kconf *k)
{
	if (k->conf)
		rd_kafka_conf_destroy(k->conf);
	k->conf = NULL;
	for (size_t i = 0; i < k->ngiven; i++)
		free(k->given[i]);
	free(k->given);
	k->given = NULL;
	k->ngiven = 0;
}

int
kconf_reach(rd_kafka_t *rk, double timeout)
{
	const struct rd_kafka_metadata *md;
	rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, NULL, &md, (int)(timeout * 1000));
	char list[512];
	size_t n = sizeof(list);

	if (!e) {
		rd_kafka_metadata_destroy(md);
		return 0;
	}
	if (rd_kafka_conf_get(rd_kafka_conf(rk), "bootstrap.servers", list, &n) != RD_KAFKA_CONF_OK)
		snprintf(list, sizeof(list), "?");
	diag_err("cannot reach the brokers %s: %s", list, rd_kafka_err2str(e));
	return -1;
}

int
kconf_topic_check(const char *name, size_t len, char *why, size_t whysize)
{
	static const char legal[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-";
	size_t i;

	if (len == 0)
		snprintf(why, whysize, "is empty");
	else if (len > KCONF_TOPIC_MAX)
		snprintf(why, whysize, "is %zu characters long, more than %d", len, KCONF_TOPIC_MAX);
	else if ((len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.'))
		snprintf(why, whysize, "is '.' or '..'");
	else if ((i = strspn(name, legal)) < len)
		snprintf(why, whysize, "has a character other than A-Z a-z 0-9 . _ - at byte %zu", i + 1);
	else
		return 0;
	return -1;
}

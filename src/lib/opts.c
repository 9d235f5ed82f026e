#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <sysexits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "opts.h"

enum opts_result
opts_common(int c, const char *arg)
{
	switch (c) {
	case 'q':
		diag_quieter();
		return OPTS_HANDLED;
	case 'v':
		diag_louder();
		return OPTS_HANDLED;
	case OPT_LOG_FORMAT:
		if (diag_set_format(arg) < 0) {
			diag_err("--log-format: '%s' is not text or json", arg);
			return OPTS_BAD;
		}
		return OPTS_HANDLED;
	case OPT_HELP:
		return OPTS_HELP;
	case OPT_VERSION:
		return OPTS_VERSION;
	default:
		return OPTS_NOT_COMMON;
	}
}

void
opts_version(void)
{
	printf("%s (%s) %s\n", diag_prog(), PACKAGE_NAME, PACKAGE_VERSION);
}

/*
 * A plain decimal number: digits with at most one '.', nothing else that
 * strtod would take (sign, hex, exponent, inf, nan, leading space).
 */
static int
plain_number(const char *s, double *out, const char **end)
{
	const char *p = s;
	int digits = 0, dots = 0;

	for (; isdigit((unsigned char)*p) || *p == '.'; p++) {
		if (*p == '.')
			dots++;
		else
			digits++;
	}
	if (digits == 0 || dots > 1)
		return -1;
	*out = strtod(s, NULL);
	*end = p;
	return isfinite(*out) ? 0 : -1;
}

int
opts_default(int c, const char *arg, void (*help)(void))
{
	switch (opts_common(c, arg)) {
	case OPTS_HANDLED:
		return OPTS_HANDLED;
	case OPTS_HELP:
		help();
		return OPTS_DONE;
	case OPTS_VERSION:
		opts_version();
		return OPTS_DONE;
	default:
		return EX_USAGE;
	}
}

int
opts_duration(const char *s, double *seconds)
{
	static const struct { const char *suffix; double scale; } units[] = {
		{ "", 1 }, { "ms", 1e-3 }, { "s", 1 }, { "m", 60 }, { "h", 3600 },
	};
	const char *end;
	double v;

	if (plain_number(s, &v, &end) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcmp(end, units[i].suffix) == 0) {
			*seconds = v * units[i].scale;
			return 0;
		}
	return -1;
}

int
opts_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *e;

	if (!isdigit((unsigned char)s[0]))
		return -1;
	errno = 0;
	v = strtoull(s, &e, 10);
	if (errno || *e != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int
opts_rate(const char *s, double *out)
{
	const char *end;
	double v;

	if (plain_number(s, &v, &end) < 0 || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

int
opts_delim(const char *s)
{
	if (s[0] && !s[1])
		return (unsigned char)s[0];
	if (s[0] == '\\' && s[1] && !s[2])
		switch (s[1]) {
		case 'n': return '\n';
		case 't': return '\t';
		case 'r': return '\r';
		case '0': return '\0';
		case '\\': return '\\';
		}
	if (s[0] == '\\' && s[1] == 'x' && strlen(s) == 4 && isxdigit((unsigned char)s[2]) &&
	    isxdigit((unsigned char)s[3]))
		return (int)strtol(s + 2, NULL, 16);
	return -1;
}

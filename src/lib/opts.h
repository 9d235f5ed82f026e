/*
 * opts: the parts of a command line every txstream program shares
 * (txstream(7), Command line): -q, -v, --log-format, --help, --version, and
 * the parsers for numbers and durations, so that "1.5s" or "-n 12x" means
 * the same, or fails the same way, in every program.
 *
 * Parsers return 0 and store the value, or -1 and leave it untouched;
 * they never print. Callers name the option in their message.
 */
#ifndef TXS_OPTS_H
#define TXS_OPTS_H

#include <getopt.h>
#include <stdint.h>

/* Long-only options every program accepts; private ones start above. */
enum {
	OPT_HELP = 0x100,
	OPT_VERSION,
	OPT_LOG_FORMAT,
	OPT_METRICS_ADDR,	/* not common: the long-running programs list it */
	OPT_PRIVATE,
};

/* --metrics-addr, for the programs that serve metrics (metrics.h). */
#define OPTS_METRICS_LONG { "metrics-addr", required_argument, NULL, OPT_METRICS_ADDR }

#define OPTS_COMMON_SHORT "qv"
#define OPTS_COMMON_LONG \
	{ "help", no_argument, NULL, OPT_HELP }, \
	{ "version", no_argument, NULL, OPT_VERSION }, \
	{ "log-format", required_argument, NULL, OPT_LOG_FORMAT }, \
	{ "quiet", no_argument, NULL, 'q' }, \
	{ "verbose", no_argument, NULL, 'v' }

enum opts_result {
	OPTS_NOT_COMMON,	/* not one of the shared options */
	OPTS_HANDLED,
	OPTS_HELP,		/* print the full help on stdout, exit 0 */
	OPTS_VERSION,		/* opts_version(), exit 0 */
	OPTS_BAD,		/* bad value, already reported; exit 64 */
};

enum opts_result opts_common(int c, const char *arg);

#define OPTS_DONE (-1)	/* --help or --version was served: exit 0 */

/*
 * The default: branch of a program's getopt_long loop. Returns
 * OPTS_HANDLED for a shared option, OPTS_DONE once --help (through the
 * program's help()) or --version has been printed, and EX_USAGE for an
 * unknown option or a bad value (already reported).
 */
int opts_default(int c, const char *arg, void (*help)(void));
void opts_version(void);

/*
 * A duration: "N" (seconds), "Nms", "Ns", "Nm", "Nh"; N may have a
 * fraction ("0.5s"). Negative, empty, or trailing garbage is an error.
 */
int opts_duration(const char *s, double *seconds);

/* A whole number in [min, max], decimal, no sign, no trailing garbage. */
int opts_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* A finite, non-negative decimal number such as a rate ("30", "0.5"). */
int opts_rate(const char *s, double *out);

/*
 * A delimiter (-D, -K): one character, or \n \t \r \0 \\ \xNN.
 * Returns the byte value, or -1 when s is none of these.
 */
int opts_delim(const char *s);

#endif

#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>


#include "diag.h"
#include "jsonw.h"

#define DIAG_LINE_MAX 4096		/* bytes of one message; longer is cut */
#define DIAG_BADLINE_BURST 10		/* reports printed before limiting */
#define DIAG_BADLINE_PERIOD 1.0		/* seconds between reports after that */

static const char *prog = "txstream";
static int threshold = DIAG_WARN;
static int json_format;

static const char *const level_names[] = { "error", "warn", "info", "debug" };

/* Rate limit of diag_badline(): a token bucket of DIAG_BADLINE_BURST. */
static double bad_tokens = DIAG_BADLINE_BURST;
static struct timespec bad_last;
static unsigned long long bad_held;

void
diag_init(const char *name)
{
	const char *slash = strrchr(name, '/');

	prog = slash ? slash + 1 : name;
}

const char *
diag_prog(void)
{
	return prog;
}

void
diag_quieter(void)
{
	if (threshold > DIAG_ERROR)
		threshold--;
}

void
diag_louder(void)
{
	if (threshold < DIAG_DEBUG)
		threshold++;
}

int
diag_enabled(enum diag_level level)
{
	return (int)level <= threshold;
}

int
diag_set_format(const char *name)
{
	if (strcmp(name, "text") == 0)
		json_format = 0;
	else if (strcmp(name, "json") == 0)
		json_format = 1;
	else
		return -1;
	return 0;
}

/* Append at most what fits; returns the new length. */
static size_t
append(char *buf, size_t len, size_t cap, const char *s, size_t n)
{
	if (len + n > cap)
		n = cap - len;
	memcpy(buf + len, s, n);
	return len + n;
}

static size_t
append_json_string(char *buf, size_t len, size_t cap, const char *s, size_t n)
{
	char tmp[jw_string_max(DIAG_LINE_MAX)];

	if (n > DIAG_LINE_MAX)
		n = DIAG_LINE_MAX;
	return append(buf, len, cap, tmp, jw_string(tmp, s, n));
}

static size_t
timestamp(char *dst, size_t cap)
{
	struct timespec ts;
	struct tm tm;
	size_t n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(dst, cap, "%Y-%m-%dT%H:%M:%S", &tm);
	n += (size_t)snprintf(dst + n, cap - n, ".%03ldZ", ts.tv_nsec / 1000000);
	return n < cap ? n : cap - 1;
}

/*
 * Format one message and write it with a single write(2). source may be
 * NULL; then line is ignored.
 */
static void
emit(enum diag_level level, const char *source, unsigned long long line,
     const char *fmt, va_list ap)
{
	char msg[DIAG_LINE_MAX], out[3 * DIAG_LINE_MAX + 256], num[JW_U64_MAX];
	size_t n = 0, cap = sizeof(out) - 1, mlen;
	int saved = errno, r;

	r = vsnprintf(msg, sizeof(msg), fmt, ap);
	mlen = r < 0 ? 0 : (size_t)r >= sizeof(msg) ? sizeof(msg) - 1 : (size_t)r;

	if (json_format) {
		char ts[64];

		n = append(out, n, cap, JW_LIT("{\"ts\":\""));
		n = append(out, n, cap, ts, timestamp(ts, sizeof(ts)));
		n = append(out, n, cap, JW_LIT("\",\"level\":\""));
		n = append(out, n, cap, level_names[level], strlen(level_names[level]));
		n = append(out, n, cap, JW_LIT("\",\"prog\":"));
		n = append_json_string(out, n, cap, prog, strlen(prog));
		n = append(out, n, cap, JW_LIT(",\"msg\":"));
		n = append_json_string(out, n, cap, msg, mlen);
		if (source) {
			n = append(out, n, cap, JW_LIT(",\"source\":"));
			n = append_json_string(out, n, cap, source, strlen(source));
			n = append(out, n, cap, JW_LIT(",\"line\":"));
			n = append(out, n, cap, num, jw_u64(num, line));
		}
		n = append(out, n, cap, "}", 1);
	} else {
		n = append(out, n, cap, prog, strlen(prog));
		n = append(out, n, cap, JW_LIT(": "));
		if (source) {
			n = append(out, n, cap, source, strlen(source));
			n = append(out, n, cap, ":", 1);
			n = append(out, n, cap, num, jw_u64(num, line));
			n = append(out, n, cap, JW_LIT(": "));
		}
		n = append(out, n, cap, msg, mlen);
	}
	out[n++] = '\n';
	/* Best effort: a failing stderr has nobody left to tell. */
	if (write(STDERR_FILENO, out, n) < 0)
		(void)0;
	errno = saved;
}

void
diag_vlog(enum diag_level level, const char *fmt, va_list ap)
{
	if (diag_enabled(level))
		emit(level, NULL, 0, fmt, ap);
}

void
diag_log(enum diag_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_vlog(level, fmt, ap);
	va_end(ap);
}

static void
report_held(void)
{
	if (bad_held > 0) {
		diag_warn("%llu more bad line%s not reported (rate limit)",
		    bad_held, bad_held == 1 ? "" : "s");
		bad_held = 0;
	}
}

void
diag_badline(const char *source, unsigned long long line, const char *fmt, ...)
{
	struct timespec now;
	va_list ap;

	if (!diag_enabled(DIAG_WARN))
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (bad_last.tv_sec != 0 || bad_last.tv_nsec != 0) {
		double dt = (double)(now.tv_sec - bad_last.tv_sec) +
		    (double)(now.tv_nsec - bad_last.tv_nsec) / 1e9;

		bad_tokens += dt / DIAG_BADLINE_PERIOD;
		if (bad_tokens > DIAG_BADLINE_BURST)
			bad_tokens = DIAG_BADLINE_BURST;
	}
	bad_last = now;
	if (bad_tokens < 1.0) {
		bad_held++;
		return;
	}
	bad_tokens -= 1.0;
	report_held();
	va_start(ap, fmt);
	emit(DIAG_WARN, source, line, fmt, ap);
	va_end(ap);
}

void
diag_badline_flush(void)
{
	report_held();
}

void
diag_exit(int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit(DIAG_ERROR, NULL, 0, fmt, ap);
	va_end(ap);
	exit(status);
}

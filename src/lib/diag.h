/*
 * diag: every message a txstream program writes on stderr.
 *
 * One voice for all programs: "prog: message" by default, or with
 * --log-format json one object per line,
 *   {"ts":"2026-11-24T20:00:00.123Z","level":"warn","prog":"jagg","msg":"..."}
 * for Filebeat and journald (txstream(7), Logs and metrics).
 *
 * Verbosity: -q shows errors only, the default adds warnings, -v adds
 * information, -vv debugging. Reports of bad input lines go through
 * diag_badline(), which names SOURCE:LINE and is rate-limited so that a
 * file of a million bad lines cannot flood a terminal or a log shipper.
 *
 * Thread safety: each message is formatted in a local buffer and written
 * with one write(2), so librdkafka's threads may log too. The settings
 * (diag_init, diag_set_*) are made once in main() before any thread runs.
 * diag_badline() keeps rate-limit state: call it from one thread only.
 */
#ifndef TXS_DIAG_H
#define TXS_DIAG_H

#include <stdarg.h>
#include <stdnoreturn.h>

enum diag_level { DIAG_ERROR, DIAG_WARN, DIAG_INFO, DIAG_DEBUG };

void diag_init(const char *prog);
const char *diag_prog(void);

/* -q lowers, each -v raises: DIAG_WARN is the default threshold. */
void diag_quieter(void);
void diag_louder(void);
int diag_enabled(enum diag_level level);

/* "text" or "json"; returns -1 for any other name. */
int diag_set_format(const char *name);

void diag_log(enum diag_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void diag_vlog(enum diag_level level, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

#define diag_err(...)   diag_log(DIAG_ERROR, __VA_ARGS__)
#define diag_warn(...)  diag_log(DIAG_WARN, __VA_ARGS__)
#define diag_info(...)  diag_log(DIAG_INFO, __VA_ARGS__)
#define diag_debug(...) diag_log(DIAG_DEBUG, __VA_ARGS__)

/*
 * A bad input line: "prog: SOURCE:LINE: reason" at warning level, with
 * "source" and "line" members in JSON. After DIAG_BADLINE_BURST reports,
 * at most one a second is printed; the next one printed says how many
 * were held back. diag_badline_flush() prints that count at exit.
 */
void diag_badline(const char *source, unsigned long long line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void diag_badline_flush(void);

/* Print an error and exit with a sysexits.h status. For main() only. */
noreturn void diag_exit(int status, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif

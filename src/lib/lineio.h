/*
 * lineio: buffered line input and output for record streams (txstream(7),
 * Record streams).
 *
 * struct lreader reads delimiter-separated records from a file descriptor
 * with one read(2) per buffer, not per line. A line handed out points into
 * the reader's buffer, is NUL-terminated in place (the delimiter, and a
 * '\r' before a '\n' delimiter, are removed) and stays valid until the
 * next lr_next() call. Lines may be as long as the reader's maximum; a
 * longer one is skipped whole and reported as LR_TOOLONG, so one huge line
 * cannot exhaust memory. Lines are numbered from 1.
 *
 * Once a stop is requested (stop.h), the reader reads nothing more but
 * still hands out the complete lines already in its buffer, then a
 * trailing fragment as LR_CUT: what left the pipe is never dropped
 * unseen.
 *
 * struct lwriter collects output in one buffer and writes it with
 * write(2) when full, on lw_flush() or, when unbuffered, at each
 * lw_end_record(). lw_write() of more than the buffer holds passes
 * through it in pieces, so the buffer keeps its size; only lw_reserve()
 * grows it, to the room asked for. The first write error sticks: every later call fails
 * with the same errno, so a caller may check once per record. EPIPE is an
 * ordinary error here; SIGPIPE must be ignored (see stop.h).
 *
 * Neither is thread-safe; use one per thread.
 */
#ifndef TXS_LINEIO_H
#define TXS_LINEIO_H

#include <stdbool.h>
#include <stddef.h>

#define LR_DEFAULT_MAX (256u << 20)	/* bytes: a line longer is LR_TOOLONG */

enum lr_status {
	LR_ERROR = -1,		/* read error, errno set */
	LR_EOF = 0,
	LR_LINE = 1,
	LR_TOOLONG = 2,		/* line skipped; line->len is its length */
	LR_CUT = 3,		/* a stop cut this line short: data is what came */
	LR_TIMEOUT = 4,		/* lr_next_wait(): no complete line in time */
};

struct line {
	char *data;		/* NUL-terminated, delimiter removed */
	size_t len;
	unsigned long long no;	/* 1-based */
};

struct lreader {
	int fd;
	const char *name;	/* for diagnostics: "-" is shown as "stdin" */
	int delim;
	size_t max;
	char *buf;
	size_t cap, start, end;	/* unread bytes are buf[start..end) */
	unsigned long long lineno;
	bool eof;
	bool stopped;		/* eof came from a stop request */
	size_t initial_cap;	/* first buffer size; 0 for the default */
	int wake_fd;		/* -1, or a non-blocking fd whose input ends a wait early */
};

/* Open path ("-" is stdin). Returns 0, or -1 with errno set. */
int lr_open(struct lreader *r, const char *path, int delim, size_t max);
void lr_init_fd(struct lreader *r, int fd, const char *name, int delim, size_t max);
enum lr_status lr_next(struct lreader *r, struct line *line);
/*
 * lr_next(), but when no complete line is buffered, wait at most
 * timeout_ms (0: not at all) for more input before each read, and return
 * LR_TIMEOUT if none came; a partial line stays buffered for the next
 * call. A negative timeout waits forever, like lr_next(). When wake_fd is
 * set, input on it also ends the wait (it is drained) with LR_TIMEOUT,
 * so a program can serve other events, such as librdkafka's, while it
 * waits for its input.
 */
enum lr_status lr_next_wait(struct lreader *r, struct line *line, int timeout_ms);
/*
 * With LR_NO_READ as the timeout: only a line already buffered, or
 * LR_TIMEOUT. Lines handed out by such calls in a row, after one of any
 * kind, all stay valid together until the next call that may read: a
 * batch of lines for other threads to work on.
 */
#define LR_NO_READ (-2)
void lr_close(struct lreader *r);
const char *lr_name(const struct lreader *r);

struct lwriter {
	int fd;
	char *buf;
	size_t cap, len;
	bool unbuffered;
	/*
	 * After a stop request (stop.h), writes go on only while the reader
	 * takes something every LW_STOP_WAIT_MS; then what is unwritten is
	 * dropped and err is EINTR. Otherwise a write goes on after a signal,
	 * for data already accepted must go out. (A stop that comes between
	 * the check and a write that then blocks needs a second signal.)
	 */
	bool stop_abandons;
	int err;		/* errno of the first failed write, or 0 */
	unsigned long long bytes;	/* handed to the writer so far, for metrics */
};

#define LW_DEFAULT_CAP (64u << 10)
#define LW_STOP_WAIT_MS 1000

int lw_init(struct lwriter *w, int fd, size_t cap, bool unbuffered);
/* Room for at least n bytes at the returned pointer, or NULL on error. */
char *lw_reserve(struct lwriter *w, size_t n);
static inline void lw_commit(struct lwriter *w, size_t n) { w->len += n; w->bytes += n; }
int lw_write(struct lwriter *w, const void *p, size_t n);
/* Ends a record: flushes when unbuffered. Returns -1 once writing failed. */
int lw_end_record(struct lwriter *w);
int lw_flush(struct lwriter *w);
void lw_free(struct lwriter *w);

#endif

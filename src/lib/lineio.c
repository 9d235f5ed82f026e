#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lineio.h"
#include "stop.h"

/*
 * Bytes; grows by half to max. Reads fill the buffer with what follows
 * the line too, so its size, not the line's, is what stays resident:
 * growing by half keeps it within 1.5 times the longest line, where
 * doubling came near twice.
 */
#define LR_INITIAL_CAP (64u << 10)

int
lr_open(struct lreader *r, const char *path, int delim, size_t max)
{
	int fd = STDIN_FILENO;

	if (strcmp(path, "-") != 0 && (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	lr_init_fd(r, fd, path, delim, max);
	return 0;
}

void
lr_init_fd(struct lreader *r, int fd, const char *name, int delim, size_t max)
{
	memset(r, 0, sizeof(*r));
	r->fd = fd;
	r->wake_fd = -1;
	r->name = name;
	r->delim = delim;
	r->max = max ? max : LR_DEFAULT_MAX;
}

const char *
lr_name(const struct lreader *r)
{
	return strcmp(r->name, "-") == 0 ? "stdin" : r->name;
}

void
lr_close(struct lreader *r)
{
	if (r->fd > STDIN_FILENO)
		close(r->fd);
	free(r->buf);
	r->buf = NULL;
	r->fd = -1;
}

/*
 * Make room to read: move unread bytes to the front, then grow. Keeps one
 * spare byte past end so a last line without a delimiter can be
 * NUL-terminated. Returns -1 (errno ENOMEM) when memory runs out.
 */
static int
make_room(struct lreader *r)
{
	size_t want;
	char *nbuf;

	if (r->start > 0) {
		memmove(r->buf, r->buf + r->start, r->end - r->start);
		r->end -= r->start;
		r->start = 0;
	}
	if (r->buf && r->cap - r->end > 1)
		return 0;
	want = r->cap ? r->cap + r->cap / 2 : r->initial_cap ? r->initial_cap : LR_INITIAL_CAP;
	if (want > r->max + 2)
		want = r->max + 2;
	if (want <= r->cap)
		want = r->cap + LR_INITIAL_CAP;	/* the caller checks max first */
	if (!(nbuf = realloc(r->buf, want)))
		return -1;
	r->buf = nbuf;
	r->cap = want;
	return 0;
}

/* One read(2). Returns bytes read, 0 at EOF, -1 on error. */
static ssize_t
fill(struct lreader *r)
{
	ssize_t n;

	for (;;) {
		if (stop_requested()) {
			r->eof = r->stopped = true;
			return 0;
		}
		n = read(r->fd, r->buf + r->end, r->cap - r->end - 1);
		if (n >= 0)
			break;
		/* A stop request interrupts a blocking read: the loop ends it. */
		if (errno != EINTR)
			return -1;
	}
	if (n == 0)
		r->eof = true;
	r->end += (size_t)n;
	return n;
}

/* Hand out the len bytes at start; consumed counts the delimiter, if any. */
static enum lr_status
hand_out(struct lreader *r, struct line *line, size_t len, size_t consumed)
{
	char *s = r->buf + r->start;

	r->start += consumed;
	s[len] = '\0';
	if (r->delim == '\n' && len > 0 && s[len - 1] == '\r')
		s[--len] = '\0';
	line->data = s;
	line->len = len;
	line->no = ++r->lineno;
	return LR_LINE;
}

/* Skip the rest of a line that is too long; its length so far is seen. */
static enum lr_status
skip_long(struct lreader *r, struct line *line, size_t seen)
{
	for (;;) {
		char *p = memchr(r->buf + r->start, r->delim, r->end - r->start);

		if (p) {
			seen += (size_t)(p - (r->buf + r->start));
			r->start = (size_t)(p - r->buf) + 1;
			break;
		}
		seen += r->end - r->start;
		r->start = r->end = 0;
		if (r->eof)
			break;
		if (fill(r) < 0)
			return LR_ERROR;
	}
	line->data = NULL;
	line->len = seen;
	line->no = ++r->lineno;
	return LR_TOOLONG;
}

/*
 * Wait up to timeout_ms for the descriptor to become readable: 1 when it
 * is, 0 when the time ran out, -1 on error. A signal ends the wait early
 * (0), so that a stop request is seen at once.
 */
static int
wait_readable(struct lreader *r, int timeout_ms)
{
	struct pollfd pfd[2] = { { .fd = r->fd, .events = POLLIN }, { .fd = r->wake_fd, .events = POLLIN } };
	int n = poll(pfd, r->wake_fd >= 0 ? 2 : 1, timeout_ms);

	if (n < 0)
		return errno == EINTR ? 0 : -1;
	if (r->wake_fd >= 0 && (pfd[1].revents & POLLIN)) {
		char drain[64];

		/*
		 * Non-blocking: empty it, and always hand the wake to the caller,
		 * even with input ready too. The waker (librdkafka) writes only
		 * when its queue turns non-empty; a wake swallowed here, with the
		 * input then a half line, would leave that queue unserved and
		 * unannounced until more input came.
		 */
		while (read(r->wake_fd, drain, sizeof(drain)) > 0)
			;
		return 0;
	}
	return n > 0;
}

enum lr_status
lr_next(struct lreader *r, struct line *line)
{
	return lr_next_wait(r, line, -1);
}

enum lr_status
lr_next_wait(struct lreader *r, struct line *line, int timeout_ms)
{
	size_t scanned = 0;	/* bytes already searched for the delimiter */

	for (;;) {
		size_t avail = r->end - r->start;
		char *p = avail > scanned ?
		    memchr(r->buf + r->start + scanned, r->delim, avail - scanned) : NULL;

		if (p) {
			size_t len = (size_t)(p - (r->buf + r->start));

			if (len > r->max) {
				r->start += len + 1;
				line->data = NULL;
				line->len = len;
				line->no = ++r->lineno;
				return LR_TOOLONG;
			}
			return hand_out(r, line, len, len + 1);
		}
		if (avail > r->max)
			return skip_long(r, line, 0);
		if (r->eof) {
			if (avail == 0)
				return LR_EOF;
			/* A last line without a delimiter is still a line, unless cut. */
			hand_out(r, line, avail, avail);
			return r->stopped ? LR_CUT : LR_LINE;
		}
		scanned = avail;
		if (timeout_ms == LR_NO_READ)
			return LR_TIMEOUT;
		if ((timeout_ms >= 0 || r->wake_fd >= 0) && !stop_requested()) {
			int ready = wait_readable(r, timeout_ms);

			if (ready < 0)
				return LR_ERROR;
			if (ready == 0 && !stop_requested())
				return LR_TIMEOUT;
		}
		if (make_room(r) < 0 || fill(r) < 0)
			return LR_ERROR;
	}
}

int
lw_init(struct lwriter *w, int fd, size_t cap, bool unbuffered)
{
	memset(w, 0, sizeof(*w));
	w->fd = fd;
	w->unbuffered = unbuffered;
	w->cap = cap ? cap : LW_DEFAULT_CAP;
	if (!(w->buf = malloc(w->cap)))
		return -1;
	return 0;
}

int
lw_flush(struct lwriter *w)
{
	size_t off = 0;

	if (w->err) {
		errno = w->err;
		return -1;
	}
	while (off < w->len) {
		size_t want = w->len - off;
		ssize_t n;

		/*
		 * After a stop request, a writer that may give up writes only as
		 * room comes (a pipe with room takes PIPE_BUF bytes without
		 * blocking), and nothing more once LW_STOP_WAIT_MS pass without.
		 */
		if (w->stop_abandons && stop_requested()) {
			struct pollfd pfd = { .fd = w->fd, .events = POLLOUT };
			int ready = poll(&pfd, 1, LW_STOP_WAIT_MS);

			if (ready < 0 && errno == EINTR)
				continue;
			if (ready <= 0) {
				w->err = ready == 0 ? EINTR : errno;
				return -1;
			}
			if (want > PIPE_BUF)
				want = PIPE_BUF;
		}
		if ((n = write(w->fd, w->buf + off, want)) < 0) {
			/* Data already accepted must go out: retry on a signal (a stop is seen above). */
			if (errno == EINTR)
				continue;
			w->err = errno;
			return -1;
		}
		off += (size_t)n;
	}
	w->len = 0;
	return 0;
}

char *
lw_reserve(struct lwriter *w, size_t n)
{
	if (w->err) {
		errno = w->err;
		return NULL;
	}
	if (w->cap - w->len >= n)
		return w->buf + w->len;
	if (lw_flush(w) < 0)
		return NULL;
	if (w->cap < n) {
		char *nbuf = realloc(w->buf, n);

		if (!nbuf) {
			w->err = errno;
			return NULL;
		}
		w->buf = nbuf;
		w->cap = n;
	}
	return w->buf;
}

int
lw_write(struct lwriter *w, const void *p, size_t n)
{
	const char *s = p;

	if (w->err) {
		errno = w->err;
		return -1;
	}
	/*
	 * More than the buffer has room for goes out through it a bufferful
	 * at a time: one long token (a 100 MB string) must not grow the
	 * buffer to its own size, a second copy of the line.
	 */
	while (n > w->cap - w->len) {
		size_t k = w->cap - w->len;

		memcpy(w->buf + w->len, s, k);
		lw_commit(w, k);
		s += k;
		n -= k;
		if (lw_flush(w) < 0)
			return -1;
	}
	memcpy(w->buf + w->len, s, n);
	lw_commit(w, n);
	return 0;
}

int
lw_end_record(struct lwriter *w)
{
	if (w->err) {
		errno = w->err;
		return -1;
	}
	return w->unbuffered ? lw_flush(w) : 0;
}

void
lw_free(struct lwriter *w)
{
	free(w->buf);
	w->buf = NULL;
}

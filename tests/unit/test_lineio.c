/* lineio: the line reader on awkward input, through a real pipe or file. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/lineio.h"
#include "lib/stop.h"
#include "tap.h"

/* A reader over the given bytes, from a temporary file. */
static void
reader_over(struct lreader *r, const char *data, size_t len, int delim, size_t max)
{
	char path[] = "/tmp/txs-lineio-XXXXXX";
	int fd = mkstemp(path);

	if (fd < 0 || write(fd, data, len) != (ssize_t)len || lseek(fd, 0, SEEK_SET) < 0) {
		perror("temporary file");
		exit(99);
	}
	unlink(path);
	lr_init_fd(r, fd, "test", delim, max);
}

static int
line_is(struct lreader *r, const char *want, unsigned long long no)
{
	struct line l;
	enum lr_status st = lr_next(r, &l);

	if (st != LR_LINE) {
		printf("# status %d, wanted a line\n", st);
		return 0;
	}
	if (l.len != strlen(want) || memcmp(l.data, want, l.len) != 0 || l.data[l.len] != '\0' || l.no != no) {
		printf("# got line %llu '%.*s', wanted %llu '%s'\n", l.no, (int)l.len, l.data, no, want);
		return 0;
	}
	return 1;
}

static int
at_eof(struct lreader *r)
{
	struct line l;

	return lr_next(r, &l) == LR_EOF && lr_next(r, &l) == LR_EOF;
}

int
main(void)
{
	struct lreader r;
	struct line l;
	char *big;
	size_t bigsz = 3u << 20;	/* longer than the initial buffer, many reads */

	stop_init();	/* SIGPIPE ignored, as in every program */

	reader_over(&r, "a\nbb\n\nccc\n", 10, '\n', 0);
	ok(line_is(&r, "a", 1) && line_is(&r, "bb", 2) && line_is(&r, "", 3) &&
	    line_is(&r, "ccc", 4) && at_eof(&r), "lines, an empty one included, numbered from 1");
	lr_close(&r);

	reader_over(&r, "x\r\ny\r\n", 6, '\n', 0);
	ok(line_is(&r, "x", 1) && line_is(&r, "y", 2) && at_eof(&r), "a trailing CR is removed");
	lr_close(&r);

	reader_over(&r, "x\ry\n", 4, '\n', 0);
	ok(line_is(&r, "x\ry", 1), "a CR inside a line stays");
	lr_close(&r);

	reader_over(&r, "last", 4, '\n', 0);
	ok(line_is(&r, "last", 1) && at_eof(&r), "a last line without newline");
	lr_close(&r);

	reader_over(&r, "", 0, '\n', 0);
	ok(at_eof(&r), "empty input is EOF at once");
	lr_close(&r);

	reader_over(&r, "a\0b\nc\0", 6, '\0', 0);
	ok(line_is(&r, "a", 1) && line_is(&r, "b\nc", 2) && at_eof(&r), "NUL as delimiter keeps newlines");
	lr_close(&r);

	big = malloc(bigsz + 16);
	memset(big, 'x', bigsz);
	memcpy(big + bigsz, "\nend\n", 5);
	reader_over(&r, big, bigsz + 5, '\n', 0);
	ok(lr_next(&r, &l) == LR_LINE && l.len == bigsz && l.data[0] == 'x' && l.data[bigsz - 1] == 'x',
	    "a 3 MiB line arrives whole");
	ok(line_is(&r, "end", 2) && at_eof(&r), "and the next line after it");
	lr_close(&r);

	reader_over(&r, big, bigsz + 5, '\n', 1000);
	ok(lr_next(&r, &l) == LR_TOOLONG && l.len == bigsz && l.no == 1,
	    "a line over the maximum is skipped with its length");
	ok(line_is(&r, "end", 2) && at_eof(&r), "and reading goes on at the next line");
	lr_close(&r);

	memcpy(big + 1000, "\n", 1);
	memcpy(big + 2001, "\n", 1);
	reader_over(&r, big, 2002, '\n', 1000);
	ok(lr_next(&r, &l) == LR_LINE && l.len == 1000, "a line of exactly the maximum is kept");
	ok(lr_next(&r, &l) == LR_LINE && l.len == 1000 && l.no == 2, "and the next one of the same length");
	lr_close(&r);

	memset(big, 'x', 1001);
	memcpy(big + 1001, "\nok\n", 4);
	reader_over(&r, big, 1005, '\n', 1000);
	ok(lr_next(&r, &l) == LR_TOOLONG && l.len == 1001 && l.no == 1, "a line of the maximum + 1 is too long");
	ok(line_is(&r, "ok", 2) && at_eof(&r), "and the next line is read");
	lr_close(&r);

	memset(big, 'x', 2002);
	reader_over(&r, big, 1500, '\n', 1000);	/* no delimiter at all before EOF */
	ok(lr_next(&r, &l) == LR_TOOLONG && l.len == 1500 && l.no == 1 && at_eof(&r),
	    "an overlong last line without newline is skipped too");
	lr_close(&r);
	free(big);

	{
		struct lwriter w;
		int fds[2];
		char buf[64];
		ssize_t n;

		if (pipe(fds) < 0)
			return 99;
		lw_init(&w, fds[1], 8, false);
		ok(lw_write(&w, "hello", 5) == 0 && w.len == 5, "writer buffers");
		ok(lw_write(&w, " world", 6) == 0, "writer flushes when full");
		ok(lw_flush(&w) == 0, "flush");
		n = read(fds[0], buf, sizeof(buf));
		ok(n == 11 && memcmp(buf, "hello world", 11) == 0, "bytes arrive in order");
		ok(lw_write(&w, "abc", 3) == 0 && lw_write(&w, "0123456789abcdefghij", 20) == 0 &&
		    lw_flush(&w) == 0 && w.cap == 8, "a write longer than the buffer passes through it, not growing it");
		n = read(fds[0], buf, sizeof(buf));
		ok(n == 23 && memcmp(buf, "abc0123456789abcdefghij", 23) == 0, "and its bytes arrive in order");
		close(fds[0]);
		ok(lw_write(&w, "x", 1) == 0 && lw_flush(&w) == -1 && errno == EPIPE, "closed pipe is EPIPE");
		ok(lw_write(&w, "y", 1) == -1 && errno == EPIPE, "and the error sticks");
		lw_free(&w);
		close(fds[1]);
	}
	{
		/* Waiting with a timeout: a half line stays buffered. */
		int fds[2];

		if (pipe(fds) < 0 || write(fds[1], "one\ntw", 6) != 6)
			return 99;
		lr_init_fd(&r, fds[0], "pipe", '\n', 0);
		ok(lr_next_wait(&r, &l, 0) == LR_LINE && l.len == 3 && l.no == 1, "a waiting reader gets a ready line");
		ok(lr_next_wait(&r, &l, 20) == LR_TIMEOUT, "and times out on a half line");
		ok(lr_next_wait(&r, &l, 0) == LR_TIMEOUT, "again with no wait at all");
		if (write(fds[1], "o\n", 2) != 2)
			return 99;
		ok(lr_next_wait(&r, &l, 20) == LR_LINE && l.len == 3 && memcmp(l.data, "two", 3) == 0 && l.no == 2,
		    "the rest of the line joins the half already read");
		close(fds[1]);
		ok(lr_next_wait(&r, &l, 20) == LR_EOF, "a closed pipe is the end, not a timeout");
		lr_close(&r);
	}
	{
		/* A wake on wake_fd is never swallowed, even with input ready too. */
		int in[2], wake[2];
		char byte;

		if (pipe(in) < 0 || pipe2(wake, O_NONBLOCK) < 0 || write(in[1], "x\n", 2) != 2 ||
		    write(wake[1], "!", 1) != 1)
			return 99;
		lr_init_fd(&r, in[0], "pipe", '\n', 0);
		r.wake_fd = wake[0];
		ok(lr_next_wait(&r, &l, -1) == LR_TIMEOUT, "a wake with input waiting still ends the wait");
		ok(read(wake[0], &byte, 1) < 0 && errno == EAGAIN, "and the wake pipe is emptied");
		ok(lr_next_wait(&r, &l, 1000) == LR_LINE && l.len == 1 && l.data[0] == 'x', "then the input comes");
		lr_close(&r);
		close(in[1]);
		close(wake[0]);
		close(wake[1]);
	}
	{
		/* A batch: lines handed out without reading stay valid together. */
		struct line b[3];

		reader_over(&r, "b1\nb2\nb3\nb4", 11, '\n', 0);
		ok(lr_next_wait(&r, &b[0], -1) == LR_LINE && lr_next_wait(&r, &b[1], LR_NO_READ) == LR_LINE &&
		    lr_next_wait(&r, &b[2], LR_NO_READ) == LR_LINE, "a batch of three buffered lines");
		ok(strcmp(b[0].data, "b1") == 0 && strcmp(b[1].data, "b2") == 0 && strcmp(b[2].data, "b3") == 0 &&
		    b[2].no == 3, "all three still intact");
		ok(lr_next_wait(&r, &l, LR_NO_READ) == LR_TIMEOUT, "a half line is not handed out without reading");
		ok(lr_next_wait(&r, &l, -1) == LR_LINE && strcmp(l.data, "b4") == 0, "but is, once the end is read");
		lr_close(&r);
	}
	{
		/* Last: a stop request cannot be taken back. */
		int fds[2];

		if (pipe(fds) < 0 || write(fds[1], "a\nb\npar", 7) != 7)
			return 99;
		lr_init_fd(&r, fds[0], "pipe", '\n', 0);
		ok(line_is(&r, "a", 1), "before the stop: a line");
		raise(SIGTERM);
		ok(stop_requested(), "SIGTERM is a stop request, not death");
		ok(line_is(&r, "b", 2), "after it: the complete lines already read");
		ok(lr_next(&r, &l) == LR_CUT && l.len == 3 && memcmp(l.data, "par", 3) == 0 && l.no == 3,
		    "then the fragment, as cut");
		ok(at_eof(&r), "then the end, though the pipe is still open");
		lr_close(&r);
		close(fds[1]);
	}
	return tap_done();
}

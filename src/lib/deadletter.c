/* deadletter: bad lines counted, reported and kept (see deadletter.h). */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "lib/atomicfile.h"
#include "lib/deadletter.h"
#include "lib/diag.h"

#define REASON_MAX 512			/* bytes of a report; longer ones are cut */

int
dl_open(struct deadletter *d, const char *path, char delim, bool strict, void (*count)(const char *reason))
{
	int fd;

	memset(d, 0, sizeof(*d));
	d->path = path;
	d->count = count;
	d->delim = delim;
	d->strict = strict;
	if (!path)
		return 0;
	if ((fd = afile_open_append(path)) < 0)
		return -1;
	/* Unbuffered: each line is written before the program goes on. */
	if (lw_init(&d->w, fd, 0, true) < 0) {
		close(fd);
		errno = ENOMEM;
		return -1;
	}
	d->open = true;
	return 0;
}

static void
failed(struct deadletter *d, int err)
{
	d->err = err ? err : EIO;
	diag_err("--errors %s: %s; stopping", d->path, strerror(d->err));
}

int
dl_keep(struct deadletter *d, const struct iovec *piece, int n)
{
	if (!d->open || d->err)
		return -1;
	for (int i = 0; i < n; i++)
		if (lw_write(&d->w, piece[i].iov_base, piece[i].iov_len) < 0)
			return failed(d, d->w.err), -1;
	if (lw_write(&d->w, &d->delim, 1) < 0 || lw_end_record(&d->w) < 0)
		return failed(d, d->w.err), -1;
	return 0;
}

int
dl_bad(struct deadletter *d, const char *source, const struct line *l, const char *reason, const char *fmt, ...)
{
	char msg[REASON_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	d->bad++;
	if (d->count)
		d->count(reason);
	diag_badline(source, l->no, "%s", msg);
	if (!l->data || dl_keep(d, &(struct iovec){ (void *)l->data, l->len }, 1) < 0)
		d->unsaved++;
	return d->strict || d->err ? -1 : 0;
}

int
dl_status(const struct deadletter *d, const char *verb)
{
	unsigned long long n = d->unsaved;

	if (d->err)
		return EX_IOERR;	/* said when it happened */
	if (n > 0 && d->path) {
		/* --errors was given and works: what it could not keep was too long to hold. */
		diag_err("%llu bad line%s %s, too long to copy to --errors %s", n, n == 1 ? "" : "s", verb, d->path);
		return EX_DATAERR;
	}
	if (n > 0) {
		diag_err("%llu bad line%s %s (--errors FILE keeps them)", n, n == 1 ? "" : "s", verb);
		return EX_DATAERR;
	}
	return d->bad > 0 && d->strict ? EX_DATAERR : EX_OK;
}

int
dl_close(struct deadletter *d)
{
	int rc = 0;

	if (!d->open)
		return 0;
	if (close(d->w.fd) < 0 && !d->err) {
		d->err = errno;
		diag_err("--errors %s: %s", d->path, strerror(d->err));
		rc = -1;
	}
	lw_free(&d->w);
	d->open = false;
	return rc;
}

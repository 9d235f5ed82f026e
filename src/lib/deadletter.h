/*
 * deadletter: what a program does with a bad input line, the one way
 * txstream(7) (Record streams) says it: count it under a reason label,
 * report it as "prog: SOURCE:LINE: message" (diag_badline: rate-limited),
 * append it verbatim to the --errors file when there is one, and say
 * whether to go on; at the end, the exit status the bad lines make.
 *
 * The file is opened with afile_open_append(): mode 0600 whatever the
 * umask, never through a symbolic link. Each line is written (write(2),
 * not fsync) before dl_bad() or dl_keep() returns, so a program that dies
 * afterwards has not lost it.
 *
 * The first write that fails is reported at once; from then on nothing
 * more is written, every later line counts as not saved, and dl_bad()
 * and dl_keep() return -1 so that the caller stops reading, as under
 * --strict; dl_status() is then EX_IOERR.
 *
 * The reason label is the caller's word, a constant string such as
 * "not_json": it names the line in the caller's metric (METRICS in each
 * man page), never parsed from the message. The metric is the caller's
 * count() so that a program without metrics (jfmt) links no HTTP server.
 * One thread only (the counters, and diag_badline's rate limit).
 */
#ifndef TXS_DEADLETTER_H
#define TXS_DEADLETTER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/uio.h>

#include "lib/lineio.h"

struct deadletter {
	const char *path;		/* --errors FILE; NULL: none */
	void (*count)(const char *reason);	/* the metric of bad lines; NULL: none */
	char delim;			/* ends each line in the file */
	bool strict;			/* --strict: the first bad line stops the run */
	bool open;
	int err;			/* errno of the failed write; 0: none */
	struct lwriter w;
	unsigned long long bad;		/* bad lines met */
	unsigned long long unsaved;	/* of them, not in the file */
};

/*
 * Set d up; with a path, open the file (0, or -1 with errno set: the
 * caller exits EX_CANTCREAT). count, when not NULL, is called with the
 * reason of each bad line.
 */
int dl_open(struct deadletter *d, const char *path, char delim, bool strict, void (*count)(const char *reason));

/*
 * A bad line: counted under reason, reported with fmt, appended to the
 * file when there is one and l->data is not NULL (NULL: a line too long
 * to have been kept). Returns 0 to go on, -1 when the run must stop
 * (--strict, or the file cannot be written).
 */
int dl_bad(struct deadletter *d, const char *source, const struct line *l, const char *reason,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/*
 * A line kept in the file that is not a bad line (kpub's undelivered
 * messages, jagg's late records), given as n pieces and ended with the
 * delimiter. Returns 0 once it is written, -1 when it is not: no file,
 * or the file failed (then the caller stops, as after dl_bad()).
 */
int dl_keep(struct deadletter *d, const struct iovec *piece, int n);

/* Whether the file failed: the caller stops reading. */
static inline bool dl_failed(const struct deadletter *d) { return d->err != 0; }

/*
 * The exit status of the bad lines: EX_IOERR when the file failed;
 * EX_DATAERR when some went nowhere (said on stderr: "N bad lines VERB
 * (--errors FILE keeps them)", or that they were too long to copy to the
 * file) or when --strict met one; else EX_OK.
 */
int dl_status(const struct deadletter *d, const char *verb);

/* Close the file. Returns -1 when closing it failed (dl_status() says so). */
int dl_close(struct deadletter *d);

#endif

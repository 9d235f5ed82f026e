/*
 * atomicfile: replace a file so that a reader, or a crash at any moment,
 * sees the old contents or the new, never a mix or nothing.
 *
 * afile_open() creates a temporary file beside the target (same
 * directory, so rename(2) is atomic); afile_commit() flushes it, fsyncs
 * it, renames it over the target and fsyncs the directory, so the new
 * name survives a power cut too. afile_abort() removes the temporary.
 * The new file is private to its owner (mode 0600, from mkstemp).
 * Functions return 0, or -1 with errno set.
 *
 * afile_open_append() is for the files written a line at a time instead
 * (the --errors dead-letter file): as private as a checkpoint, since
 * both hold transactions verbatim.
 */
#ifndef TXS_ATOMICFILE_H
#define TXS_ATOMICFILE_H

#include <stdio.h>

struct afile {
	FILE *f;		/* write the new contents here */
	char *path;
	char *tmp;
};

int afile_open(struct afile *a, const char *path);
int afile_commit(struct afile *a);
void afile_abort(struct afile *a);

/*
 * A descriptor appending to path: created with mode 0600 whatever the
 * umask, never opened through a symbolic link (O_NOFOLLOW: ELOOP), close
 * on exec. An existing file keeps its mode. Returns -1 with errno set.
 */
int afile_open_append(const char *path);

#endif

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "atomicfile.h"

int
afile_open(struct afile *a, const char *path)
{
	size_t n = strlen(path);
	int fd;

	memset(a, 0, sizeof(*a));
	if (!(a->path = strdup(path)) || !(a->tmp = malloc(n + sizeof(".XXXXXX"))))
		goto fail;
	memcpy(a->tmp, path, n);
	memcpy(a->tmp + n, ".XXXXXX", sizeof(".XXXXXX"));
	if ((fd = mkstemp(a->tmp)) < 0)
		goto fail;
	if (!(a->f = fdopen(fd, "w"))) {
		int e = errno;

		close(fd);
		unlink(a->tmp);
		errno = e;
		goto fail;
	}
	return 0;
fail:
	free(a->path);
	free(a->tmp);
	a->path = a->tmp = NULL;
	return -1;
}

int
afile_open_append(const char *path)
{
	/* 0600 is below any umask, so the umask cannot widen it. */
	return open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
}

/* fsync the directory holding path, so a rename into it is durable. */
static int
sync_dir(const char *path)
{
	char *copy = strdup(path);
	int fd, rc = -1;

	if (!copy)
		return -1;
	if ((fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		rc = fsync(fd);
		close(fd);
	}
	free(copy);
	return rc;
}

int
afile_commit(struct afile *a)
{
	int rc = -1, e;

	if (fflush(a->f) == 0 && fsync(fileno(a->f)) == 0) {
		FILE *f = a->f;

		a->f = NULL;
		if (fclose(f) == 0 && rename(a->tmp, a->path) == 0)
			rc = sync_dir(a->path);
	}
	e = errno;
	if (rc < 0)
		afile_abort(a);
	free(a->path);
	free(a->tmp);
	a->path = a->tmp = NULL;
	errno = e;
	return rc;
}

void
afile_abort(struct afile *a)
{
	if (a->f)
		fclose(a->f);
	a->f = NULL;
	if (a->tmp)
		unlink(a->tmp);
	free(a->path);
	free(a->tmp);
	a->path = a->tmp = NULL;
}

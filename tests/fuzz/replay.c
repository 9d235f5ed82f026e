/*
 * Runs a fuzz target over its kept corpus, tests/fuzz/corpus/FUZZ_TARGET/
 * (FUZZ_TARGET is set when compiling), as one TAP test point: the corpus
 * replayed in make check, no libFuzzer needed. A failing input aborts,
 * which the TAP driver reports; the log names the input.
 */
#include "config.h"

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
main(int argc, char **argv)
{
	const char *dir = getenv("TXS_SRCDIR");
	char path[4096], **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *d;

	(void)argv;
	if (argc != 1 || !dir) {
		fprintf(stderr, "usage: TXS_SRCDIR=dir replay_%s\n", FUZZ_TARGET);
		return 2;
	}
	snprintf(path, sizeof(path), "%s/tests/fuzz/corpus/%s", dir, FUZZ_TARGET);
	if (!(d = opendir(path))) {
		printf("1..0 # SKIP no corpus at %s\n", path);
		return 0;
	}
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (n == cap && !(names = realloc(names, (cap = cap ? 2 * cap : 64) * sizeof(*names))))
			return 2;
		names[n++] = strdup(de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmp);
	printf("1..1\n");
	for (size_t i = 0; i < n; i++) {
		char file[8192];
		FILE *f;
		uint8_t *buf = NULL;
		size_t len = 0, got;
		uint8_t chunk[65536];

		snprintf(file, sizeof(file), "%s/%s", path, names[i]);
		if (!(f = fopen(file, "rb"))) {
			printf("not ok 1 - %s: cannot open\n", names[i]);
			return 1;
		}
		while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0) {
			if (!(buf = realloc(buf, len + got)))
				return 2;
			memcpy(buf + len, chunk, got);
			len += got;
		}
		fclose(f);
		fprintf(stderr, "# %s\n", names[i]);	/* who aborted, if one does */
		LLVMFuzzerTestOneInput(buf ? buf : (const uint8_t *)"", len);
		free(buf);
		free(names[i]);
	}
	free(names);
	printf("ok 1 - %s: %zu corpus inputs\n", FUZZ_TARGET, n);
	return 0;
}

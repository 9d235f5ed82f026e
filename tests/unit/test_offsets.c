/* offsets: the offsets table, written and read back, and bad files refused. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/offsets.h"
#include "tap.h"

static char *
written(const struct offsets *o)
{
	static char buf[512];
	FILE *f = fmemopen(buf, sizeof(buf), "w");

	if (!f || offsets_write(o, f) < 0)
		return NULL;
	fclose(f);
	return buf;
}

static int
reads(const char *text, struct offsets *o, char *why, size_t n)
{
	char path[] = "/tmp/test_offsets.XXXXXX";
	int fd = mkstemp(path), rc;

	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		return -2;
	close(fd);
	rc = offsets_read_file(o, path, why, n);
	unlink(path);
	return rc;
}

int
main(void)
{
	struct offsets *o = offsets_new(), *back = offsets_new();
	char why[256];

	ok(o && strcmp(written(o), "{}") == 0, "an empty table is {}");
	*offsets_slot(o, "tx", 2, 1) = 877;
	*offsets_slot(o, "tx", 2, 0) = 1043;
	*offsets_slot(o, "a\"b", 3, 10) = 5;
	offsets_slot(o, "seen", 4, 0);	/* listed, nothing absorbed yet */
	*offsets_slot(o, "tx", 2, 2) = 0;
	ok(strcmp(written(o), "{\"a\\\"b\":{\"10\":5},\"tx\":{\"0\":1043,\"1\":877,\"2\":0}}") == 0,
	    "written sorted by topic and partition, names escaped, unset slots left out: %s", written(o));
	ok(offsets_get(o, "tx", 1) == 877 && offsets_get(o, "tx", 3) == -1 && offsets_get(o, "t", 1) == -1,
	    "lookups: listed, unlisted partition, unlisted topic");
	ok(offsets_slot(o, "tx", 2, 0) == offsets_slot(o, "tx", 2, 0) && *offsets_slot(o, "tx", 2, 0) == 1043,
	    "a slot is found again, not made twice");

	ok(reads("{\"offsets\":{\"tx\":{\"0\":1043,\"1\":877}},\"jagg\":{}}", back, why, sizeof(why)) == 1 &&
	    offsets_get(back, "tx", 0) == 1043 && offsets_get(back, "tx", 1) == 877 && offsets_count(back) == 2,
	    "an offsets file reads back, other members ignored");
	ok(offsets_read_file(back, "/nonexistent/offsets.json", why, sizeof(why)) == 0,
	    "a missing file is no offsets yet, not an error");
	ok(reads("{\"offsets\":{\"tx\":{\"x\":1}}}", back, why, sizeof(why)) == -1 && strstr(why, "partition"),
	    "a partition that is not a number is refused: %s", why);
	ok(reads("{\"offsets\":{\"tx\":{\"0\":-1}}}", back, why, sizeof(why)) == -1, "a negative offset is refused");
	ok(reads("{\"offsets\":{\"tx\":{\"0\":1.5}}}", back, why, sizeof(why)) == -1, "a fraction is refused");
	ok(reads("{\"offsets\":[]}", back, why, sizeof(why)) == -1, "offsets that are not an object are refused");
	ok(reads("{\"state\":{}}", back, why, sizeof(why)) == -1 && strstr(why, "no \"offsets\""),
	    "a file without offsets is refused: %s", why);
	ok(reads("{\"offsets\":", back, why, sizeof(why)) == -1 && strstr(why, "not a JSON") &&
	    !strchr(why, '\n'), "a torn file is refused, on one line: %s", why);
	offsets_free(o);
	offsets_free(back);
	return tap_done();
}

/*
 * --source-offsets: each input line is an envelope, and its topic,
 * partition and offset are in flight in the frontier until the delivery
 * report, which the file keeps for ksub -o @FILE.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sysexits.h>

#include "lib/diag.h"
#include "lib/envelope.h"
#include "lib/jscan.h"
#include "lib/stop.h"
#include "pub/pub.h"

#define FRONTIER_SAVE_S 1.0		/* --source-offsets: seconds between saves */
#define SOURCE_OFFSET_MAX 999999999999999999ULL	/* 18 digits: a source offset --source-offsets takes */

/*
 * --source-offsets: the line is an envelope (as ksub --envelope writes);
 * its topic, partition and offset go into the frontier, in flight until
 * the delivery report.
 */
int
track_source(struct state *st, const struct line *l, struct copy *c)
{
	static struct jpath paths[3];
	static bool parsed;
	struct jspan v[3];
	struct jscan_error err;
	char topic[512];
	size_t tlen;
	uint64_t partition, offset;

	if (!parsed) {
		jpath_parse(&paths[0], ENV_TOPIC);
		jpath_parse(&paths[1], ENV_PARTITION);
		jpath_parse(&paths[2], ENV_OFFSET);
		parsed = true;
	}
	if (jscan(l->data, l->len, paths, 3, v, &err) < 0 || v[0].type != JT_STRING || v[0].len > sizeof(topic) ||
	    jscan_uint(&v[1], INT32_MAX, &partition) < 0 || jscan_uint(&v[2], SOURCE_OFFSET_MAX, &offset) < 0)
		return -1;
	tlen = jscan_string(&v[0], topic);
	if ((c->frontier = frontier_add(st->frontier, topic, tlen, (int32_t)partition, (int64_t)offset)) < 0)
		diag_exit(EX_OSERR, "out of memory");
	c->offset = (int64_t)offset;
	return 0;
}

void
save_frontier(struct state *st)
{
	if (!st->frontier)
		return;
	if (frontier_save(st->frontier) < 0)
		diag_exit(EX_CANTCREAT, "--source-offsets %s: cannot write it: %s", st->opt->source_offsets,
		    strerror(errno));
	st->next_save = mono_now() + FRONTIER_SAVE_S;
}

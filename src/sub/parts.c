/*
 * ksub's partitions, and the offsets it stores for the group only behind
 * its flushed output.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "lib/diag.h"
#include "lib/grow.h"
#include "sub/sub.h"

struct part *
part_find(struct state *st, const char *topic, int32_t partition)
{
	if (st->last < st->nparts && st->parts[st->last].partition == partition &&
	    strcmp(st->parts[st->last].topic, topic) == 0)
		return &st->parts[st->last];
	for (size_t i = 0; i < st->nparts; i++)
		if (st->parts[i].partition == partition && strcmp(st->parts[i].topic, topic) == 0)
			return &st->parts[st->last = i];
	return NULL;
}

struct part *
part_add(struct state *st, const char *topic, int32_t partition)
{
	struct part *p;

	if ((p = part_find(st, topic, partition)))
		return p;
	if (grow(&st->parts, &st->cap, st->nparts + 1, sizeof(*st->parts), 16) < 0)
		diag_exit(EX_OSERR, "out of memory");
	p = &st->parts[st->nparts++];
	*p = (struct part){ .topic = strdup(topic), .partition = partition, .next = -1, .start = -1, .assigned = true };
	if (!p->topic)
		diag_exit(EX_OSERR, "out of memory");
	return p;
}

void
parts_clear(struct state *st)
{
	for (size_t i = 0; i < st->nparts; i++)
		free(st->parts[i].topic);
	st->nparts = 0;
	st->last = 0;
}

/*
 * Flush stdout, and only then store the next offsets of what it carried,
 * for the group's commits. Returns -1 once stdout is gone.
 */
int
flush_and_store(struct state *st)
{
	rd_kafka_topic_partition_list_t *l;

	if (lw_flush(&st->out) < 0)
		return -1;
	if (!st->opt->group)
		return 0;
	l = rd_kafka_topic_partition_list_new(8);
	for (size_t i = 0; i < st->nparts; i++) {
		struct part *p = &st->parts[i];

		if (p->pending && p->assigned) {
			rd_kafka_topic_partition_list_add(l, p->topic, p->partition)->offset = p->next;
			p->pending = false;
		}
	}
	if (l->cnt > 0) {
		rd_kafka_resp_err_t e = rd_kafka_offsets_store(st->rk, l);

		if (e)
			diag_warn("cannot store offsets: %s", rd_kafka_err2str(e));
	}
	rd_kafka_topic_partition_list_destroy(l);
	return 0;
}

void
commit_sync(struct state *st)
{
	rd_kafka_resp_err_t e = rd_kafka_commit(st->rk, NULL, 0);

	if (e && e != RD_KAFKA_RESP_ERR__NO_OFFSET)
		diag_warn("cannot commit offsets: %s", rd_kafka_err2str(e));
}

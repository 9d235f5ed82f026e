/*
 * ksub -L: the cluster's brokers, then each topic's partitions with their
 * leaders, replicas and watermarks, as JSON lines.
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sysexits.h>

#include "lib/diag.h"
#include "lib/jsonw.h"
#include "sub/sub.h"

/*
 * A JSON string at w. Like lw_write(), nothing once the writer has failed
 * (a reader that closed the pipe: ksub -L | head): a failed reserve is
 * not written through.
 */
static void
put_string(struct lwriter *w, const char *s)
{
	size_t n = strlen(s);
	char *d = lw_reserve(w, jw_string_max(n));

	if (d)
		lw_commit(w, jw_string(d, s, n));
}

static void
put_int_array(struct lwriter *w, const int32_t *v, int n)
{
	char num[JW_I64_MAX];

	lw_write(w, "[", 1);
	for (int i = 0; i < n; i++) {
		if (i)
			lw_write(w, ",", 1);
		lw_write(w, num, jw_i64(num, v[i]));
	}
	lw_write(w, "]", 1);
}

int
list_metadata(struct state *st)
{
	const struct options *o = st->opt;
	const struct rd_kafka_metadata *md;
	struct lwriter *w = &st->out;
	rd_kafka_resp_err_t e;
	char num[JW_I64_MAX];
	int status = EX_OK;

	if ((e = rd_kafka_metadata(st->rk, 1, NULL, &md, (int)(o->timeout * 1000))))
		diag_exit(EX_UNAVAILABLE, "cannot read the cluster's metadata: %s", rd_kafka_err2str(e));
	lw_write(w, JW_LIT("{\"brokers\":["));
	for (int i = 0; i < md->broker_cnt; i++) {
		if (i)
			lw_write(w, ",", 1);
		lw_write(w, JW_LIT("{\"id\":"));
		lw_write(w, num, jw_i64(num, md->brokers[i].id));
		lw_write(w, JW_LIT(",\"host\":"));
		put_string(w, md->brokers[i].host);
		lw_write(w, JW_LIT(",\"port\":"));
		lw_write(w, num, jw_i64(num, md->brokers[i].port));
		lw_write(w, "}", 1);
	}
	lw_write(w, JW_LIT("]}\n"));
	for (int t = 0; t < md->topic_cnt; t++) {
		const struct rd_kafka_metadata_topic *mt = &md->topics[t];
		int64_t total = 0;
		bool wanted = o->ntopics == 0;

		if (w->err)
			break;	/* stdout is gone: no more watermarks to ask for */
		for (int i = 0; i < o->ntopics; i++)
			wanted |= strcmp(o->topics[i], mt->topic) == 0;
		if (!wanted)
			continue;
		lw_write(w, JW_LIT("{\"topic\":"));
		put_string(w, mt->topic);
		if (mt->err) {
			lw_write(w, JW_LIT(",\"error\":"));
			put_string(w, rd_kafka_err2str(mt->err));
			status = EX_NOINPUT;
		}
		lw_write(w, JW_LIT(",\"partition_count\":"));
		lw_write(w, num, jw_i64(num, mt->partition_cnt));
		lw_write(w, JW_LIT(",\"partitions\":["));
		for (int i = 0; i < mt->partition_cnt; i++) {
			const struct rd_kafka_metadata_partition *p = &mt->partitions[i];
			int64_t low = -1, high = -1;

			if (w->err)
				break;
			if (rd_kafka_query_watermark_offsets(st->rk, mt->topic, p->id, &low, &high,
			    WATERMARK_TIMEOUT_MS) == RD_KAFKA_RESP_ERR_NO_ERROR)
				total += high - low;
			if (i)
				lw_write(w, ",", 1);
			lw_write(w, JW_LIT("{\"partition\":"));
			lw_write(w, num, jw_i64(num, p->id));
			lw_write(w, JW_LIT(",\"leader\":"));
			lw_write(w, num, jw_i64(num, p->leader));
			lw_write(w, JW_LIT(",\"replicas\":"));
			put_int_array(w, p->replicas, p->replica_cnt);
			lw_write(w, JW_LIT(",\"isrs\":"));
			put_int_array(w, p->isrs, p->isr_cnt);
			lw_write(w, JW_LIT(",\"low\":"));
			lw_write(w, num, jw_i64(num, low));
			lw_write(w, JW_LIT(",\"high\":"));
			lw_write(w, num, jw_i64(num, high));
			lw_write(w, "}", 1);
		}
		lw_write(w, JW_LIT("],\"messages\":"));
		lw_write(w, num, jw_i64(num, total));
		lw_write(w, JW_LIT("}\n"));
	}
	for (int i = 0; i < o->ntopics; i++) {
		bool seen = false;

		for (int t = 0; t < md->topic_cnt; t++)
			seen |= strcmp(o->topics[i], md->topics[t].topic) == 0;
		if (!seen) {
			diag_err("%s: no such topic", o->topics[i]);
			status = EX_NOINPUT;
		}
	}
	rd_kafka_metadata_destroy(md);
	if (lw_flush(w) < 0 && w->err != EPIPE)
		diag_exit(EX_IOERR, "stdout: %s", strerror(w->err));
	return status;
}

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
	char num[JW_I64_MAX], *d;
	int status = EX_OK;

	if ((e = rd_kafka_metadata(st->rk, 1, NULL, &md, (int)(o->timeout * 1000))))
		diag_exit(EX_UNAVAILABLE, "cannot read the cluster's metadata: %s", rd_kafka_err2str(e));
	lw_write(w, "{\"brokers\":[", 12);
	for (int i = 0; i < md->broker_cnt; i++) {
		if (i)
			lw_write(w, ",", 1);
		lw_write(w, "{\"id\":", 6);
		lw_write(w, num, jw_i64(num, md->brokers[i].id));
		lw_write(w, ",\"host\":", 8);
		d = lw_reserve(w, jw_string_max(strlen(md->brokers[i].host)));
		lw_commit(w, jw_string(d, md->brokers[i].host, strlen(md->brokers[i].host)));
		lw_write(w, ",\"port\":", 8);
		lw_write(w, num, jw_i64(num, md->brokers[i].port));
		lw_write(w, "}", 1);
	}
	lw_write(w, "]}\n", 3);
	for (int t = 0; t < md->topic_cnt; t++) {
		const struct rd_kafka_metadata_topic *mt = &md->topics[t];
		int64_t total = 0;
		bool wanted = o->ntopics == 0;

		for (int i = 0; i < o->ntopics; i++)
			wanted |= strcmp(o->topics[i], mt->topic) == 0;
		if (!wanted)
			continue;
		lw_write(w, "{\"topic\":", 9);
		d = lw_reserve(w, jw_string_max(strlen(mt->topic)));
		lw_commit(w, jw_string(d, mt->topic, strlen(mt->topic)));
		if (mt->err) {
			lw_write(w, ",\"error\":", 9);
			d = lw_reserve(w, jw_string_max(256));
			lw_commit(w, jw_string(d, rd_kafka_err2str(mt->err), strlen(rd_kafka_err2str(mt->err))));
			status = EX_NOINPUT;
		}
		lw_write(w, ",\"partition_count\":", 19);
		lw_write(w, num, jw_i64(num, mt->partition_cnt));
		lw_write(w, ",\"partitions\":[", 15);
		for (int i = 0; i < mt->partition_cnt; i++) {
			const struct rd_kafka_metadata_partition *p = &mt->partitions[i];
			int64_t low = -1, high = -1;

			if (rd_kafka_query_watermark_offsets(st->rk, mt->topic, p->id, &low, &high,
			    WATERMARK_TIMEOUT_MS) == RD_KAFKA_RESP_ERR_NO_ERROR)
				total += high - low;
			if (i)
				lw_write(w, ",", 1);
			lw_write(w, "{\"partition\":", 13);
			lw_write(w, num, jw_i64(num, p->id));
			lw_write(w, ",\"leader\":", 10);
			lw_write(w, num, jw_i64(num, p->leader));
			lw_write(w, ",\"replicas\":", 12);
			put_int_array(w, p->replicas, p->replica_cnt);
			lw_write(w, ",\"isrs\":", 8);
			put_int_array(w, p->isrs, p->isr_cnt);
			lw_write(w, ",\"low\":", 7);
			lw_write(w, num, jw_i64(num, low));
			lw_write(w, ",\"high\":", 8);
			lw_write(w, num, jw_i64(num, high));
			lw_write(w, "}", 1);
		}
		lw_write(w, "],\"messages\":", 13);
		lw_write(w, num, jw_i64(num, total));
		lw_write(w, "}\n", 2);
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

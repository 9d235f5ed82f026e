/*
 * jagg's checkpoint: the state and the offsets it has absorbed, in one
 * file written atomically, so that after a crash at any moment the file
 * holds a state and exactly the offsets behind it (txstream(7), Offsets file):
 *
 *   {"offsets":{"t":{"0":1043}},
 *    "jagg":{"version":1,"fingerprint":"…","spec":"-g merchantId …",
 *            "max_event":1795654222000,
 *            "source_offsets":{"financial_transactions@by_merchant/0":{"3":17}},
 *            "groups":[{"window":S,"key":["\"merchant_1\""],"n":3,"dirty":true,
 *                       "v":[null,"123.45",…]}]}}
 *
 * Values that must stay exact travel as strings: a decimal's text, a
 * first/last value's JSON text, count_distinct's members. json-c reads it
 * back (off the hot path); nothing is taken from its number conversion
 * but whole counts.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <json-c/json.h>

#include "agg/agg.h"
#include "lib/atomicfile.h"
#include "lib/jsonw.h"

#define CHECKPOINT_VERSION 1

static uint64_t
fingerprint(const char *text)
{
	return hash_bytes(text, strlen(text), HASH_SEED);
}

/* A JSON string of n bytes. */
static int
put_str(FILE *f, const char *p, size_t n)
{
	char small[256], *buf = jw_string_max(n) <= sizeof(small) ? small : malloc(jw_string_max(n));
	size_t len;

	if (!buf)
		return -1;
	len = jw_string(buf, p, n);
	fwrite(buf, 1, len, f);
	if (buf != small)
		free(buf);
	return 0;
}

static int
put_dec(FILE *f, const struct dec *d)
{
	char buf[DEC_STR_MAX];

	fprintf(f, "\"%.*s\"", (int)dec_format(d, buf), buf);
	return 0;
}

struct member_ctx {
	FILE *f;
	bool first;
};

static int
put_member(const char *p, size_t n, void *arg)
{
	struct member_ctx *c = arg;

	if (!c->first)
		putc(',', c->f);
	c->first = false;
	return put_str(c->f, p, n);
}

static int
put_group(FILE *f, const struct spec *sp, const struct group *g)
{
	const char *k = g->key;

	putc('{', f);
	if (sp->windowed)
		fprintf(f, "\"window\":%lld,", g->wstart);
	fputs("\"key\":[", f);
	for (size_t i = 0; i < sp->ngroup; i++) {
		size_t len = strlen(k);

		if (i)
			putc(',', f);
		if (put_str(f, k, len) < 0)
			return -1;
		k += len + 1;
	}
	fprintf(f, "],\"n\":%llu,\"dirty\":%s,\"v\":[", g->n, g->dirty ? "true" : "false");
	for (size_t i = 0; i < sp->nagg; i++) {
		const struct aggv *v = &g->v[i];
		struct member_ctx c = { f, true };

		if (i)
			putc(',', f);
		switch (sp->agg[i].func) {
		case AF_COUNT:
			fputs("null", f);
			break;
		case AF_SUM:
		case AF_AVG:
		case AF_MIN:
		case AF_MAX:
			put_dec(f, &v->d);
			break;
		case AF_FIRST:
		case AF_LAST:
			if (put_str(f, v->text, v->len) < 0)
				return -1;
			break;
		case AF_COUNT_DISTINCT:
			putc('[', f);
			if (strset_each(v->set, put_member, &c) < 0)
				return -1;
			putc(']', f);
			break;
		}
	}
	fputs("]}", f);
	return 0;
}

int
checkpoint_save(const struct state *st, const char *path)
{
	const struct spec *sp = st->spec;
	struct afile a;
	FILE *f;
	int e;

	if (afile_open(&a, path) < 0)
		return -1;
	f = a.f;
	fputs("{\"offsets\":", f);
	if (offsets_write(st->offsets, f) < 0)
		goto fail;
	fprintf(f, ",\n\"jagg\":{\"version\":%d,\"fingerprint\":\"%016" PRIx64 "\",\"spec\":", CHECKPOINT_VERSION,
	    fingerprint(sp->text));
	put_str(f, sp->text, strlen(sp->text));
	if (sp->windowed && st->have_event)
		fprintf(f, ",\"max_event\":%lld", st->max_event_ms);
	if (offsets_count(st->source_offsets) > 0) {
		fputs(",\"source_offsets\":", f);
		if (offsets_write(st->source_offsets, f) < 0)
			goto fail;
	}
	fprintf(f, ",\"records\":%llu,\"groups\":[", st->records);
	for (const struct group *g = st->first; g; g = g->next) {
		fputs(g == st->first ? "\n" : ",\n", f);
		if (put_group(f, sp, g) < 0)
			goto fail;
	}
	fputs("]}}\n", f);
	if (ferror(f))
		goto fail;
	return afile_commit(&a);
fail:
	e = errno;
	afile_abort(&a);
	errno = e ? e : EIO;
	return -1;
}

/* --- loading --- */

static struct json_object *
member(struct json_object *o, const char *name, enum json_type type)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, name, &v) || !json_object_is_type(v, type))
		return NULL;
	return v;
}

static int
get_dec(struct json_object *s, struct dec *d)
{
	return json_object_is_type(s, json_type_string) &&
	    dec_parse(d, json_object_get_string(s), (size_t)json_object_get_string_len(s)) == DEC_OK ? 0 : -1;
}

static int
set_text(struct aggv *v, struct json_object *s)
{
	size_t n;

	if (!json_object_is_type(s, json_type_string))
		return -1;
	n = (size_t)json_object_get_string_len(s);
	if (!(v->text = malloc(n ? n : 1)))
		return -1;
	memcpy(v->text, json_object_get_string(s), n);
	v->len = v->cap = n;
	return 0;
}

/* One saved group back into the table; -1 when it is malformed. */
static int
load_group(struct state *st, struct json_object *jg)
{
	const struct spec *sp = st->spec;
	struct json_object *key = member(jg, "key", json_type_array), *vals = member(jg, "v", json_type_array);
	struct json_object *n = member(jg, "n", json_type_int), *win = NULL, *dirty;
	long long wstart = 0;
	struct group *g;
	char *kb = NULL;
	size_t klen = 0;

	if (!key || !vals || !n || json_object_array_length(key) != sp->ngroup ||
	    json_object_array_length(vals) != sp->nagg || json_object_get_int64(n) < 1)
		return -1;
	if (sp->windowed) {
		if (!(win = member(jg, "window", json_type_int)))
			return -1;
		wstart = json_object_get_int64(win);
	}
	for (size_t i = 0; i < sp->ngroup; i++) {
		struct json_object *s = json_object_array_get_idx(key, i);
		size_t len;
		char *nk;

		if (!json_object_is_type(s, json_type_string)) {
			free(kb);
			return -1;
		}
		len = (size_t)json_object_get_string_len(s);
		if (!(nk = realloc(kb, klen + len + 1))) {
			free(kb);
			return -1;
		}
		kb = nk;
		memcpy(kb + klen, json_object_get_string(s), len);
		klen += len;
		kb[klen++] = '\0';
	}
	g = state_group(st, wstart, kb ? kb : "", klen, true);
	free(kb);
	if (!g || g->n != 0)	/* no memory, or a group saved twice */
		return -1;
	g->n = (unsigned long long)json_object_get_int64(n);
	for (size_t i = 0; i < sp->nagg; i++) {
		struct json_object *jv = json_object_array_get_idx(vals, i);
		struct aggv *v = &g->v[i];

		switch (sp->agg[i].func) {
		case AF_COUNT:
			break;
		case AF_SUM:
		case AF_AVG:
		case AF_MIN:
		case AF_MAX:
			if (get_dec(jv, &v->d) < 0)
				return -1;
			break;
		case AF_FIRST:
		case AF_LAST:
			if (set_text(v, jv) < 0)
				return -1;
			break;
		case AF_COUNT_DISTINCT:
			if (!json_object_is_type(jv, json_type_array) || !(v->set = strset_new()))
				return -1;
			for (size_t j = 0; j < json_object_array_length(jv); j++) {
				struct json_object *m = json_object_array_get_idx(jv, j);

				if (!json_object_is_type(m, json_type_string) ||
				    strset_add(v->set, json_object_get_string(m),
				    (size_t)json_object_get_string_len(m)) < 0)
					return -1;
			}
			break;
		}
	}
	if ((dirty = member(jg, "dirty", json_type_boolean)) && json_object_get_boolean(dirty))
		return state_mark_dirty(st, g);
	return 0;
}

int
checkpoint_load(struct state *st, const char *path, bool *mismatch, char *why, size_t whysize)
{
	const struct spec *sp = st->spec;
	struct json_object *root, *j, *v, *groups, *offsets;
	char fp[17];
	int rc = -1;

	*mismatch = false;
	if (access(path, F_OK) != 0 && errno == ENOENT)
		return 0;
	if (!(root = json_object_from_file(path))) {
		const char *e = json_util_get_last_err();

		snprintf(why, whysize, "not a JSON checkpoint: %.*s", e ? (int)strcspn(e, "\n") : 1, e ? e : "?");
		return -1;
	}
	snprintf(fp, sizeof(fp), "%016" PRIx64, fingerprint(sp->text));
	if (!(j = member(root, "jagg", json_type_object)) || !(v = member(j, "version", json_type_int))) {
		snprintf(why, whysize, "not a jagg checkpoint (no \"jagg\" member with a version)");
	} else if (json_object_get_int(v) != CHECKPOINT_VERSION) {
		snprintf(why, whysize, "checkpoint version %d; this jagg reads version %d", json_object_get_int(v),
		    CHECKPOINT_VERSION);
	} else if (!(v = member(j, "fingerprint", json_type_string)) || strcmp(json_object_get_string(v), fp) != 0) {
		struct json_object *old = member(j, "spec", json_type_string);

		*mismatch = true;
		snprintf(why, whysize, "it holds the state of a different computation: it was made by \"%s\", "
		    "this run asks for \"%s\"; use another checkpoint file, or remove this one to start over",
		    old ? json_object_get_string(old) : "?", sp->text);
	} else if (!(groups = member(j, "groups", json_type_array)) ||
	    !(offsets = member(root, "offsets", json_type_object))) {
		snprintf(why, whysize, "no \"groups\" or \"offsets\"");
	} else if (offsets_from_json(st->offsets, offsets, why, whysize) == 0) {
		rc = 1;
		if ((v = member(j, "max_event", json_type_int))) {
			st->max_event_ms = json_object_get_int64(v);
			st->have_event = true;
		}
		if ((v = member(j, "source_offsets", json_type_object)) &&
		    offsets_from_json(st->source_offsets, v, why, whysize) < 0)
			rc = -1;
		if ((v = member(j, "records", json_type_int)))
			st->records = (unsigned long long)json_object_get_int64(v);
		for (size_t i = 0; rc == 1 && i < json_object_array_length(groups); i++)
			if (load_group(st, json_object_array_get_idx(groups, i)) < 0) {
				snprintf(why, whysize, "group %zu is malformed", i + 1);
				rc = -1;
			}
	}
	json_object_put(root);
	return rc;
}

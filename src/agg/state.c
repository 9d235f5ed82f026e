/*
 * jagg's state: the groups, what absorbing a record does to them, and
 * the aggregate records (txstream(7), Aggregate record) a trigger writes.
 */
#include "config.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "agg/agg.h"
#include "lib/grow.h"
#include "lib/jsonw.h"

#define TABLE_MIN 64		/* slots; the table doubles at half full */
#define WINDOW_JSON_MAX 64	/* "\"window\":{\"start\":S,\"end\":E}," */

/* --- the set behind count_distinct --- */

struct strent {
	uint64_t hash;
	char *s;		/* NULL: empty slot */
	size_t len;
};

struct strset {
	struct strent *e;
	size_t cap, count;
};

uint64_t
hash_bytes(const char *p, size_t n, uint64_t h)
{
	/* FNV-1a: keys are a few short JSON texts; simple and good enough. */
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)p[i]) * 0x100000001b3ULL;
	return h;
}


static int
strset_grow(struct strset *s)
{
	size_t cap = s->cap ? 2 * s->cap : 16;
	struct strent *e = calloc(cap, sizeof(*e));

	if (!e)
		return -1;
	for (size_t i = 0; i < s->cap; i++) {
		if (!s->e[i].s)
			continue;
		size_t j = s->e[i].hash & (cap - 1);

		while (e[j].s)
			j = (j + 1) & (cap - 1);
		e[j] = s->e[i];
	}
	free(s->e);
	s->e = e;
	s->cap = cap;
	return 0;
}

struct strset *
strset_new(void)
{
	return calloc(1, sizeof(struct strset));
}

/* Add p (n bytes) unless present. Returns 0, or -1 when memory runs out. */
int
strset_add(struct strset *s, const char *p, size_t n)
{
	uint64_t h = hash_bytes(p, n, HASH_SEED);
	size_t i;

	if (2 * (s->count + 1) > s->cap && strset_grow(s) < 0)
		return -1;
	for (i = h & (s->cap - 1); s->e[i].s; i = (i + 1) & (s->cap - 1))
		if (s->e[i].hash == h && s->e[i].len == n && memcmp(s->e[i].s, p, n) == 0)
			return 0;
	if (!(s->e[i].s = malloc(n ? n : 1)))
		return -1;
	memcpy(s->e[i].s, p, n);
	s->e[i].len = n;
	s->e[i].hash = h;
	s->count++;
	return 0;
}

size_t
strset_count(const struct strset *s)
{
	return s ? s->count : 0;
}

/* Calls fn for each member; for checkpoints. */
int
strset_each(const struct strset *s, int (*fn)(const char *, size_t, void *), void *arg)
{
	for (size_t i = 0; s && i < s->cap; i++)
		if (s->e[i].s && fn(s->e[i].s, s->e[i].len, arg) < 0)
			return -1;
	return 0;
}

static void
strset_free(struct strset *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->cap; i++)
		free(s->e[i].s);
	free(s->e);
	free(s);
}

/* --- the group table --- */

int
state_init(struct state *st, const struct spec *spec)
{
	memset(st, 0, sizeof(*st));
	st->spec = spec;
	st->cap = TABLE_MIN;
	if (!(st->table = calloc(st->cap, sizeof(*st->table))) || !(st->offsets = offsets_new()) ||
	    !(st->source_offsets = offsets_new())) {
		free(st->table);
		offsets_free(st->offsets);
	offsets_free(st->source_offsets);
		return -1;
	}
	return 0;
}

static void
group_free(const struct spec *spec, struct group *g)
{
	for (size_t i = 0; i < spec->nagg; i++) {
		free(g->v[i].text);
		strset_free(g->v[i].set);
	}
	free(g->key);
	free(g);
}

void
state_free(struct state *st)
{
	struct group *g = st->first, *next;

	for (; g; g = next) {
		next = g->next;
		group_free(st->spec, g);
	}
	free(st->table);
	free(st->dirty);
	free(st->keybuf);
	offsets_free(st->offsets);
	offsets_free(st->source_offsets);
	memset(st, 0, sizeof(*st));
}

long long
state_watermark(const struct state *st)
{
	if (!st->spec->windowed || !st->have_event)
		return LLONG_MIN;
	return st->max_event_ms - st->spec->delay_ms;
}

static uint64_t
group_hash(long long wstart, const char *key, size_t keylen)
{
	return hash_bytes(key, keylen, HASH_SEED ^ ((uint64_t)wstart * 0x9e3779b97f4a7c15ULL));
}

static size_t
slot_of(const struct state *st, uint64_t h, long long wstart, const char *key, size_t keylen)
{
	size_t i = h & (st->cap - 1);

	for (; st->table[i]; i = (i + 1) & (st->cap - 1)) {
		const struct group *g = st->table[i];

		if (g->hash == h && g->wstart == wstart && g->keylen == keylen && memcmp(g->key, key, keylen) == 0)
			break;
	}
	return i;
}

static int
table_grow(struct state *st)
{
	size_t cap = st->cap * 2;
	struct group **t = calloc(cap, sizeof(*t));

	if (!t)
		return -1;
	for (struct group *g = st->first; g; g = g->next) {
		size_t i = g->hash & (cap - 1);

		while (t[i])
			i = (i + 1) & (cap - 1);
		t[i] = g;
	}
	free(st->table);
	st->table = t;
	st->cap = cap;
	return 0;
}

struct group *
state_group(struct state *st, long long wstart, const char *key, size_t keylen, bool create)
{
	uint64_t h = group_hash(wstart, key, keylen);
	size_t i = slot_of(st, h, wstart, key, keylen);
	struct group *g;

	if (st->table[i] || !create)
		return st->table[i];
	if (2 * (st->count + 1) > st->cap) {
		if (table_grow(st) < 0)
			return NULL;
		i = slot_of(st, h, wstart, key, keylen);
	}
	if (!(g = calloc(1, sizeof(*g) + st->spec->nagg * sizeof(g->v[0]))) ||
	    !(g->key = malloc(keylen ? keylen : 1))) {
		free(g);
		return NULL;
	}
	memcpy(g->key, key, keylen);
	g->keylen = keylen;
	g->hash = h;
	g->wstart = wstart;
	g->prev = st->last;
	if (st->last)
		st->last->next = g;
	else
		st->first = g;
	st->last = g;
	st->table[i] = g;
	st->count++;
	return g;
}

/* Remove g: backward-shift deletion keeps every probe chain whole. */
static void
group_remove(struct state *st, struct group *g)
{
	size_t i = slot_of(st, g->hash, g->wstart, g->key, g->keylen), j = i;

	for (;;) {
		j = (j + 1) & (st->cap - 1);
		if (!st->table[j])
			break;
		size_t home = st->table[j]->hash & (st->cap - 1);

		/* Move table[j] into the hole at i unless its home lies in (i, j]. */
		if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
			st->table[i] = st->table[j];
			i = j;
		}
	}
	st->table[i] = NULL;
	if (g->prev)
		g->prev->next = g->next;
	else
		st->first = g->next;
	if (g->next)
		g->next->prev = g->prev;
	else
		st->last = g->prev;
	st->count--;
	group_free(st->spec, g);
}

int
state_mark_dirty(struct state *st, struct group *g)
{
	if (g->dirty)
		return 0;
	if (grow(&st->dirty, &st->dirtycap, st->ndirty + 1, sizeof(*st->dirty), 64) < 0)
		return -1;
	st->dirty[st->ndirty++] = g;
	g->dirty = true;
	return 0;
}

/* --- absorbing a record --- */

static int
set_text(struct aggv *v, const char *p, size_t n)
{
	if (n > v->cap) {
		char *t = realloc(v->text, n);

		if (!t)
			return -1;
		v->text = t;
		v->cap = n;
	}
	memcpy(v->text, p, n);
	v->len = n;
	return 0;
}

/* The group key: each group value's JSON text, NUL-ended, in st->keybuf. */
static int
make_key(struct state *st, const struct fieldval *vals, size_t *keylen)
{
	const struct spec *sp = st->spec;
	size_t n = 0;

	for (size_t i = 0; i < sp->ngroup; i++)
		n += vals[sp->group_slot[i]].len + 1;
	if (n > st->keycap || !st->keybuf) {	/* never NULL: memcpy's source, even for no key */
		char *k = realloc(st->keybuf, n ? n : 1);

		if (!k)
			return -1;
		st->keybuf = k;
		st->keycap = n;
	}
	n = 0;
	for (size_t i = 0; i < sp->ngroup; i++) {
		const struct fieldval *v = &vals[sp->group_slot[i]];

		memcpy(st->keybuf + n, v->p, v->len);
		n += v->len;
		st->keybuf[n++] = '\0';
	}
	*keylen = n;
	return 0;
}

static long long
floor_div(long long a, long long b)
{
	long long q = a / b;

	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

int
state_absorb(struct state *st, const struct fieldval *vals, long long event_ms, const char **why)
{
	const struct spec *sp = st->spec;
	long long starts[JAGG_MAX_WINDOWS];
	struct group *found[JAGG_MAX_WINDOWS];
	size_t nwin = 0, keylen;

	if (sp->windowed) {
		long long wm = state_watermark(st);

		if (event_ms < wm)
			return 1;
		/* Windows [s, s + size) with s a multiple of slide and s <= t < s + size. */
		for (long long s = floor_div(event_ms, sp->slide_ms) * sp->slide_ms;
		    s > event_ms - sp->size_ms && nwin < JAGG_MAX_WINDOWS; s -= sp->slide_ms)
			starts[nwin++] = s;
		/* Oldest first, so groups are created (and listed) in time order. */
		for (size_t i = 0; i < nwin / 2; i++) {
			long long t = starts[i];

			starts[i] = starts[nwin - 1 - i];
			starts[nwin - 1 - i] = t;
		}
	} else {
		starts[nwin++] = 0;
	}
	if (make_key(st, vals, &keylen) < 0)
		return *why = "out of memory", -1;

	/* First check that every sum fits, so the record counts everywhere or nowhere. */
	for (size_t w = 0; w < nwin; w++) {
		struct group *g = state_group(st, starts[w], st->keybuf, keylen, false);

		found[w] = g;
		for (size_t i = 0; i < sp->nagg; i++) {
			const struct agg_spec *a = &sp->agg[i];
			struct dec sum = g ? g->v[i].d : (struct dec){ 0, 0 };

			if ((a->func == AF_SUM || a->func == AF_AVG) && dec_add(&sum, &vals[a->slot].num) != DEC_OK)
				return *why = "a sum would pass 38 significant digits; the record is left out", -1;
		}
	}
	for (size_t w = 0; w < nwin; w++) {
		struct group *g = found[w] ? found[w] : state_group(st, starts[w], st->keybuf, keylen, true);

		if (!g || state_mark_dirty(st, g) < 0)
			return *why = "out of memory", -1;
		g->n++;
		for (size_t i = 0; i < sp->nagg; i++) {
			const struct agg_spec *a = &sp->agg[i];
			const struct fieldval *fv = a->slot >= 0 ? &vals[a->slot] : NULL;
			struct aggv *v = &g->v[i];
			int rc = 0;

			switch (a->func) {
			case AF_COUNT:
				break;
			case AF_SUM:
			case AF_AVG:
				dec_add(&v->d, &fv->num);	/* checked above */
				break;
			case AF_MIN:
				if (g->n == 1 || dec_cmp(&fv->num, &v->d) < 0)
					v->d = fv->num;
				break;
			case AF_MAX:
				if (g->n == 1 || dec_cmp(&fv->num, &v->d) > 0)
					v->d = fv->num;
				break;
			case AF_FIRST:
				if (g->n == 1)
					rc = set_text(v, fv->p, fv->len);
				break;
			case AF_LAST:
				rc = set_text(v, fv->p, fv->len);
				break;
			case AF_COUNT_DISTINCT:
				if (!v->set && !(v->set = strset_new()))
					rc = -1;
				else
					rc = strset_add(v->set, fv->p, fv->len);
				break;
			}
			if (rc < 0)
				return *why = "out of memory", -1;
		}
	}
	if (sp->windowed && (!st->have_event || event_ms > st->max_event_ms)) {
		st->max_event_ms = event_ms;
		st->have_event = true;
	}
	return 0;
}

/* --- output --- */

static size_t
value_max(const struct spec *sp, const struct group *g, size_t i)
{
	switch (sp->agg[i].func) {
	case AF_FIRST:
	case AF_LAST:
		return g->v[i].len;
	default:
		return DEC_STR_MAX + JW_U64_MAX;
	}
}

/* One aggregate record: {"window":{...},"g1":v1,...,"agg1":x1,...}\n */
static int
emit(const struct state *st, const struct group *g, struct lwriter *w)
{
	const struct spec *sp = st->spec;
	size_t need = 3 + WINDOW_JSON_MAX + g->keylen + 4 * sp->ngroup, n = 0;
	const char *k = g->key;
	char *dst;

	for (size_t i = 0; i < sp->ngroup; i++)
		need += jw_string_max(strlen(sp->group[i]));
	for (size_t i = 0; i < sp->nagg; i++)
		need += jw_string_max(strlen(sp->agg[i].name)) + 2 + value_max(sp, g, i);
	if (!(dst = lw_reserve(w, need)))
		return -1;
	dst[n++] = '{';
	if (sp->windowed) {
		/* In the time field's unit; sizes are whole units, so this is exact. */
		memcpy(dst + n, JW_LIT("\"window\":{\"start\":"));
		n += 18;
		n += jw_i64(dst + n, g->wstart / sp->unit_ms);
		memcpy(dst + n, JW_LIT(",\"end\":"));
		n += 7;
		n += jw_i64(dst + n, (g->wstart + sp->size_ms) / sp->unit_ms);
		memcpy(dst + n, JW_LIT("},"));
		n += 2;
	}
	for (size_t i = 0; i < sp->ngroup; i++) {
		size_t len = strlen(k);

		n += jw_string(dst + n, sp->group[i], strlen(sp->group[i]));
		dst[n++] = ':';
		memcpy(dst + n, k, len);
		n += len;
		dst[n++] = ',';
		k += len + 1;
	}
	for (size_t i = 0; i < sp->nagg; i++) {
		const struct aggv *v = &g->v[i];
		struct dec avg;

		n += jw_string(dst + n, sp->agg[i].name, strlen(sp->agg[i].name));
		dst[n++] = ':';
		switch (sp->agg[i].func) {
		case AF_COUNT:
			n += jw_u64(dst + n, g->n);
			break;
		case AF_SUM:
		case AF_MIN:
		case AF_MAX:
			n += dec_format(&v->d, dst + n);
			break;
		case AF_AVG:
			/* Four more places than the sum, as Spark's avg of a decimal column. */
			if (dec_div_u64(&avg, &v->d, g->n, v->d.scale + 4 > DEC_MAX_SCALE ?
			    DEC_MAX_SCALE : v->d.scale + 4) != DEC_OK)
				avg = v->d;	/* n >= 1: the quotient always fits */
			n += dec_format(&avg, dst + n);
			break;
		case AF_FIRST:
		case AF_LAST:
			memcpy(dst + n, v->text, v->len);
			n += v->len;
			break;
		case AF_COUNT_DISTINCT:
			n += jw_u64(dst + n, strset_count(v->set));
			break;
		}
		dst[n++] = ',';
	}
	dst[n - 1] = '}';
	dst[n++] = '\n';
	lw_commit(w, n);
	return lw_end_record(w);
}

static bool
closed(const struct state *st, const struct group *g, long long wm)
{
	return st->spec->windowed && st->have_event && g->wstart + st->spec->size_ms <= wm;
}

long
state_trigger(struct state *st, enum emit_mode mode, bool final, struct lwriter *w)
{
	long long wm = state_watermark(st);
	long written = 0;
	struct group *g, *next;
	bool windowed = st->spec->windowed;

	/* Windows the watermark has passed first, oldest first: their last word. */
	for (g = st->first; windowed && g; g = g->next)
		if (closed(st, g, wm)) {
			if (emit(st, g, w) < 0)
				return -1;
			written++;
		}
	if (mode == MODE_UPDATE) {
		for (size_t i = 0; i < st->ndirty; i++)
			if (!closed(st, st->dirty[i], wm)) {
				if (emit(st, st->dirty[i], w) < 0)
					return -1;
				written++;
			}
	} else if ((mode == MODE_COMPLETE && (!final || st->ndirty > 0 || !st->emitted)) ||
	    (mode == MODE_FINAL && final)) {
		/* Complete mode's last trigger repeats the table only if it changed. */
		for (g = st->first; g; g = g->next)
			if (!closed(st, g, wm)) {
				if (emit(st, g, w) < 0)
					return -1;
				written++;
			}
	}
	for (size_t i = 0; i < st->ndirty; i++)
		st->dirty[i]->dirty = false;
	st->ndirty = 0;
	st->emitted = true;
	/* Then out of memory. */
	for (g = st->first; windowed && g; g = next) {
		next = g->next;
		if (closed(st, g, wm)) {
			st->windows_closed++;
			group_remove(st, g);
		}
	}
	return written;
}

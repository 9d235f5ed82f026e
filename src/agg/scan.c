/*
 * jagg's scanning: from a line to the field values the spec names, with
 * every check that needs no state (valid JSON, an object, an envelope,
 * the fields present and numbers that fit). It is most of jagg's work
 * and each line's is independent of the others', so a batch of lines is
 * split between the main thread and one helper thread; what needs state
 * (offsets, groups) stays in the main thread, in input order.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "agg/agg.h"
#include "lib/envelope.h"
#include "lib/jsonw.h"

#define PARALLEL_MIN 64		/* lines: below this a batch is not worth sharing */

/* The envelope's members jagg reads (src/lib/envelope.h), then those of one inside its value. */
static const char *const env_members[NESTED_FIXED] = {
	ENV_TOPIC, ENV_PARTITION, ENV_OFFSET, ENV_VALUE, ENV_VALUE_TEXT, ENV_VALUE_BASE64,
	ENV_VALUE "." ENV_TOPIC, ENV_VALUE "." ENV_PARTITION, ENV_VALUE "." ENV_OFFSET, ENV_VALUE "." ENV_VALUE,
};

#define PREFIX_NESTED ENV_VALUE "." ENV_VALUE "."	/* fields inside an envelope inside an envelope */

int
scanner_init(struct scanner *sc, const struct spec *spec, enum input_kind input)
{
	memset(sc, 0, sizeof(*sc));
	sc->spec = spec;
	for (size_t i = 0; i < NESTED_FIXED; i++)
		jpath_parse(&sc->paths[i], env_members[i]);
	/* One string per field; records, envelopes and nested envelopes point at its tail. */
	for (size_t i = 0; i < spec->nfields; i++) {
		size_t n = strlen(spec->field[i]) + sizeof(PREFIX_NESTED);

		if (!(sc->pathtext[i] = malloc(n)))
			return -1;
		snprintf(sc->pathtext[i], n, PREFIX_NESTED "%s", spec->field[i]);
	}
	for (size_t i = 0; i < spec->nagg; i++)
		if (spec->agg[i].func == AF_SUM || spec->agg[i].func == AF_AVG || spec->agg[i].func == AF_MIN ||
		    spec->agg[i].func == AF_MAX)
			sc->need_num[spec->agg[i].slot] = true;
	if (spec->windowed)
		sc->need_num[spec->time_slot] = true;
	scanner_set_input(sc, input);
	return 0;
}

/*
 * The paths for each kind of input: records, the fields; envelopes, the
 * envelope's members, then value.<field>; nested envelopes (a topic
 * repartitioned by kpub from ksub --envelope lines), the outer members,
 * the inner ones, then value.value.<field>. Undecided input looks for
 * the members only.
 */
void
scanner_set_input(struct scanner *sc, enum input_kind input)
{
	size_t base = 0, skip = sizeof(PREFIX_NESTED) - 1;

	sc->input = input;
	if (input == INPUT_AUTO) {
		sc->npaths = NESTED_FIXED;
		return;
	}
	if (input == INPUT_ENVELOPES)
		base = ENV_FIXED, skip = sizeof(ENV_VALUE ".") - 1;
	else if (input == INPUT_NESTED)
		base = NESTED_FIXED, skip = 0;
	for (size_t i = 0; i < sc->spec->nfields; i++)
		jpath_parse(&sc->paths[base + i], sc->pathtext[i] + skip);
	sc->npaths = base + sc->spec->nfields;
}

void
scanner_free(struct scanner *sc)
{
	for (size_t i = 0; i < sc->spec->nfields; i++)
		free(sc->pathtext[i]);
}

static int
bad(struct scanned *s, const char *kind, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int
bad(struct scanned *s, const char *kind, const char *fmt, ...)
{
	va_list ap;

	s->kind = kind;
	va_start(ap, fmt);
	vsnprintf(s->whybuf, sizeof(s->whybuf), fmt, ap);
	va_end(ap);
	s->status = SCAN_BAD;
	return -1;
}

/* A whole number >= 0 that fits in max, from a number span, as a long long. */
static int
span_uint(const struct jspan *v, long long max, long long *out)
{
	uint64_t n;

	if (jscan_uint(v, (uint64_t)max, &n) < 0)
		return -1;
	*out = (long long)n;
	return 0;
}

static bool
root_is_object(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
			return s[i] == '{';
	return false;
}

/*
 * The field values from their spans. Strings with escapes are rewritten
 * in one canonical form ("\u0041" and "A" are one group), in s->heap.
 */
static int
take_fields(const struct scanner *sc, struct scanned *s, const struct jspan *sp)
{
	static const char *const what[] = {
		[JT_NULL] = "null", [JT_FALSE] = "false", [JT_TRUE] = "true",
		[JT_STRING] = "a string", [JT_ARRAY] = "an array", [JT_OBJECT] = "an object",
	};
	const struct spec *spec = sc->spec;
	size_t need = 0, used = 0;

	for (size_t i = 0; i < spec->nfields; i++)
		if (sp[i].type == JT_STRING && !sc->need_num[i] && memchr(sp[i].p, '\\', sp[i].len))
			need += sp[i].len + jw_string_max(sp[i].len);
	if (need && !(s->heap = malloc(need)))
		return bad(s, "out_of_memory", "out of memory");
	for (size_t i = 0; i < spec->nfields; i++) {
		struct fieldval *v = &s->vals[i];
		enum dec_status ds;

		v->type = sp[i].type;
		v->p = sp[i].p;
		v->len = sp[i].len;
		if (v->type == JT_NONE)
			return bad(s, "missing_field", "no field %s", spec->field[i]);
		if (sc->need_num[i]) {
			if (v->type != JT_NUMBER)
				return bad(s, "not_a_number", "%s is %s, not a number", spec->field[i], what[v->type]);
			if ((ds = dec_parse(&v->num, v->p, v->len)) != DEC_OK)
				return bad(s, "out_of_range", "%s: %s", spec->field[i], dec_strerror(ds));
		} else if (v->type == JT_STRING && memchr(v->p, '\\', v->len)) {
			char *raw = s->heap + used;
			size_t n = jscan_string(&sp[i], raw);

			v->p = raw + n;
			v->len = jw_string(raw + n, raw, n);
			used += n + v->len;
		}
	}
	if (spec->windowed &&
	    dec_to_i64(&s->vals[spec->time_slot].num, spec->unit_ms == 1 ? 0 : 3, &s->event_ms) != DEC_OK)
		return bad(s, "out_of_range", "%s: not a time jagg can hold", spec->time_field);
	return 0;
}

void
scan_line(const struct scanner *sc, struct scanned *s)
{
	struct jspan sp[JSCAN_MAX_PATHS];
	struct jscan_error err;
	const struct line *l = &s->line;

	s->status = SCAN_OK;
	s->has_offset = s->has_source = false;
	s->heap = NULL;
	s->event_ms = 0;
	if (jscan(l->data, l->len, sc->paths, sc->npaths, sp, &err) < 0) {
		bad(s, "not_json", "not JSON: %s at byte %zu", err.reason, err.offset + 1);
		return;
	}
	if (!root_is_object(l->data, l->len)) {
		bad(s, "not_object", "not a JSON object");
		return;
	}
	if (sc->input == INPUT_AUTO) {
		/* Undecided: the caller settles it from this and scans again. */
		s->looks_like = sp[0].type == JT_STRING && sp[1].type == JT_NUMBER && sp[2].type == JT_NUMBER &&
		    (sp[3].type || sp[4].type || sp[5].type) ? INPUT_ENVELOPES : INPUT_RECORDS;
		if (s->looks_like == INPUT_ENVELOPES && sp[6].type == JT_STRING && sp[7].type == JT_NUMBER &&
		    sp[8].type == JT_NUMBER && sp[9].type)
			s->looks_like = INPUT_NESTED;
		return;
	}
	if (sc->input == INPUT_ENVELOPES || sc->input == INPUT_NESTED) {
		if (sp[0].type != JT_STRING || sp[0].len > SCAN_TOPIC_MAX ||
		    span_uint(&sp[1], INT32_MAX, &s->partition) < 0 || span_uint(&sp[2], INT64_MAX, &s->offset) < 0) {
			bad(s, "not_envelope", "not an envelope: no topic, partition or offset");
			return;
		}
		s->topic_len = jscan_string(&sp[0], s->topic);
		s->has_offset = true;
		if (sp[3].type != JT_OBJECT) {
			bad(s, "value_not_object", "%.*s [%lld] offset %lld: the value is %s, not a JSON object", (int)s->topic_len,
			    s->topic, s->partition, s->offset,
			    sp[3].type == JT_NONE ? (sp[4].type ? "text" : "binary") : jtype_name(sp[3].type));
			return;
		}
		if (sc->input == INPUT_ENVELOPES) {
			take_fields(sc, s, sp + ENV_FIXED);
			return;
		}
		/* The source message, as the forwarding ksub --envelope wrote it. */
		if (sp[6].type != JT_STRING || sp[6].len > SCAN_TOPIC_MAX ||
		    span_uint(&sp[7], INT32_MAX, &s->src_partition) < 0 ||
		    span_uint(&sp[8], INT64_MAX, &s->src_offset) < 0) {
			bad(s, "not_envelope", "%.*s [%lld] offset %lld: the value is not an envelope with a topic, "
			    "partition and offset", (int)s->topic_len, s->topic, s->partition, s->offset);
			return;
		}
		s->src_topic_len = jscan_string(&sp[6], s->src_topic);
		s->has_source = true;
		if (sp[9].type != JT_OBJECT) {
			bad(s, "value_not_object", "%.*s [%lld] offset %lld: the forwarded %.*s [%lld] offset %lld "
			    "has a value that is not a JSON object", (int)s->topic_len, s->topic, s->partition,
			    s->offset, (int)s->src_topic_len, s->src_topic, s->src_partition, s->src_offset);
			return;
		}
		take_fields(sc, s, sp + NESTED_FIXED);
		return;
	}
	take_fields(sc, s, sp);
}

/* --- two threads on a batch --- */

static void
scan_range(void *arg, size_t from, size_t to)
{
	struct scanpool *p = arg;

	for (size_t i = from; i < to; i++)
		scan_line(p->sc, &p->batch[i]);
}

int
scanpool_start(struct scanpool *p, const struct scanner *sc)
{
	memset(p, 0, sizeof(*p));
	p->sc = sc;
	return fj_start(&p->fj);
}

void
scanpool_scan(struct scanpool *p, struct scanned *batch, size_t n)
{
	p->batch = batch;
	fj_run(&p->fj, scan_range, p, n, PARALLEL_MIN);
}

void
scanpool_stop(struct scanpool *p)
{
	fj_stop(&p->fj);
}

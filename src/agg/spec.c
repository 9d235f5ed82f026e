/* jagg's spec: the group-by fields, the aggregates and the windows, from the command line. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "agg/agg.h"

static const char *const func_names[] = {
	[AF_COUNT] = "count", [AF_SUM] = "sum", [AF_MIN] = "min", [AF_MAX] = "max",
	[AF_AVG] = "avg", [AF_FIRST] = "first", [AF_LAST] = "last",
	[AF_COUNT_DISTINCT] = "count_distinct",
};

const char *
agg_func_name(enum agg_func f)
{
	return func_names[f];
}

/* A dotted path jscan can follow inside an envelope's value too: non-empty parts, not too many. */
static int
valid_path(const char *s)
{
	struct jpath p;

	return jpath_parse(&p, s) == 0 && p.n < JPATH_MAX_PARTS;
}

int
spec_add_agg(struct spec *s, const char *arg, const char **why)
{
	const char *eq = strchr(arg, '='), *fn = eq ? eq + 1 : arg, *colon = strchr(fn, ':');
	size_t fnlen = colon ? (size_t)(colon - fn) : strlen(fn);
	struct agg_spec *a;
	int f = -1;

	if (s->nagg == JAGG_MAX_AGGS)
		return *why = "too many aggregates", -1;
	for (size_t i = 0; i < sizeof(func_names) / sizeof(func_names[0]); i++)
		if (strlen(func_names[i]) == fnlen && strncmp(fn, func_names[i], fnlen) == 0)
			f = (int)i;
	if (f < 0)
		return *why = "not an aggregate: FUNC is count, sum, min, max, avg, first, last or count_distinct",
		    -1;
	if (eq == arg)
		return *why = "an empty NAME", -1;
	if (f == AF_COUNT && colon)
		return *why = "count takes no field", -1;
	if (f != AF_COUNT && (!colon || !valid_path(colon + 1)))
		return *why = "needs a field: FUNC:FIELD, the field a dotted path like amount or a.b", -1;
	a = &s->agg[s->nagg];
	memset(a, 0, sizeof(*a));
	a->func = (enum agg_func)f;
	if (colon && !(a->field = strdup(colon + 1)))
		return *why = "out of memory", -1;
	if (eq) {
		a->name = strndup(arg, (size_t)(eq - arg));
	} else if (f == AF_COUNT) {
		a->name = strdup("count");
	} else {
		size_t n = fnlen + 1 + strlen(a->field) + 1;

		if ((a->name = malloc(n)))
			snprintf(a->name, n, "%s_%s", func_names[f], a->field);
	}
	if (!a->name) {
		free(a->field);
		return *why = "out of memory", -1;
	}
	for (size_t i = 0; i < s->nagg; i++)
		if (strcmp(s->agg[i].name, a->name) == 0) {
			free(a->name);
			free(a->field);
			return *why = "two aggregates with the same name", -1;
		}
	s->nagg++;
	return 0;
}

int
spec_set_group(struct spec *s, const char *arg, const char **why)
{
	char *copy = strdup(arg), *tok, *save = NULL;

	if (!copy)
		return *why = "out of memory", -1;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (!valid_path(tok)) {
			free(copy);
			return *why = "a field is a dotted path like merchantId or a.b", -1;
		}
		if (s->ngroup == JAGG_MAX_GROUP) {
			free(copy);
			return *why = "too many group fields", -1;
		}
		for (size_t i = 0; i < s->ngroup; i++)
			if (strcmp(s->group[i], tok) == 0) {
				free(copy);
				return *why = "a field named twice", -1;
			}
		if (!(s->group[s->ngroup++] = strdup(tok))) {
			free(copy);
			return *why = "out of memory", -1;
		}
	}
	free(copy);
	if (s->ngroup == 0)
		return *why = "no field", -1;
	return 0;
}

/* The slot of a field, added when new. */
static int
field_slot(struct spec *s, const char *name)
{
	for (size_t i = 0; i < s->nfields; i++)
		if (strcmp(s->field[i], name) == 0)
			return (int)i;
	s->field[s->nfields] = (char *)name;	/* borrowed from group/agg/time_field */
	return (int)s->nfields++;
}

/* Append to a growing string; on failure the string is freed and NULL. */
static char *
append(char *s, size_t *len, const char *add)
{
	size_t n = strlen(add);
	char *ns = realloc(s, *len + n + 1);

	if (!ns) {
		free(s);
		return NULL;
	}
	memcpy(ns + *len, add, n + 1);
	*len += n;
	return ns;
}

int
spec_finish(struct spec *s, const char **why)
{
	char buf[128];
	size_t len = 0;
	char *t = NULL;

	if (s->nagg == 0)
		return *why = "no aggregate: name at least one, e.g. count or total=sum:amount", -1;
	if (s->ngroup + s->nagg + 1 > JSCAN_MAX_PATHS - 8)
		return *why = "too many fields", -1;
	/* Output members must not collide (window, group fields, aggregates: txstream(7), Aggregate record). */
	for (size_t i = 0; i < s->nagg; i++) {
		if (s->windowed && strcmp(s->agg[i].name, "window") == 0)
			return *why = "an aggregate named window: with --window that member is taken", -1;
		for (size_t j = 0; j < s->ngroup; j++)
			if (strcmp(s->agg[i].name, s->group[j]) == 0)
				return *why = "an aggregate named like a group field", -1;
	}
	for (size_t i = 0; i < s->ngroup; i++)
		s->group_slot[i] = field_slot(s, s->group[i]);
	for (size_t i = 0; i < s->nagg; i++)
		s->agg[i].slot = s->agg[i].field ? field_slot(s, s->agg[i].field) : -1;
	s->time_slot = s->windowed ? field_slot(s, s->time_field) : -1;

	/* What the state means, in one line: the fingerprint a checkpoint keeps. */
	t = append(t, &len, s->ngroup ? "-g " : "");
	for (size_t i = 0; t && i < s->ngroup; i++) {
		t = append(t, &len, i ? "," : "");
		t = t ? append(t, &len, s->group[i]) : NULL;
	}
	for (size_t i = 0; t && i < s->nagg; i++) {
		const struct agg_spec *a = &s->agg[i];

		t = append(t, &len, i || s->ngroup ? " " : "");
		t = t ? append(t, &len, a->name) : NULL;
		t = t ? append(t, &len, "=") : NULL;
		t = t ? append(t, &len, func_names[a->func]) : NULL;
		if (t && a->field) {
			t = append(t, &len, ":");
			t = t ? append(t, &len, a->field) : NULL;
		}
	}
	if (t && s->windowed) {
		snprintf(buf, sizeof(buf), " --window %lldms,%lldms --watermark %lldms --time-unit %s --time-field ",
		    s->size_ms, s->slide_ms, s->delay_ms, s->unit_ms == 1 ? "ms" : "s");
		t = append(t, &len, buf);
		t = t ? append(t, &len, s->time_field) : NULL;
	}
	if (!t)
		return *why = "out of memory", -1;
	s->text = t;
	return 0;
}

void
spec_free(struct spec *s)
{
	for (size_t i = 0; i < s->ngroup; i++)
		free(s->group[i]);
	for (size_t i = 0; i < s->nagg; i++) {
		free(s->agg[i].name);
		free(s->agg[i].field);
	}
	free(s->time_field);
	free(s->text);
	memset(s, 0, sizeof(*s));
}

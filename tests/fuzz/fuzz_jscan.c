/*
 * Fuzz target for jscan (libFuzzer's entry point; tests/fuzz/replay.c
 * runs the kept corpus in make check without libFuzzer).
 *
 * Checks, for any input: no crash and no out-of-bounds access (under the
 * sanitizers); every span found lies inside the input and scans again as
 * the same type on its own; a decoded string is no longer than its span;
 * and against json-c, an independent parser: whatever jscan accepts,
 * json-c's strict tokenizer accepts too, and a string found at a path is
 * the string json-c finds there. A number found is one dec (jagg's exact
 * decimals) parses, unless it has too many digits, and its text parses
 * back to the same value.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "lib/dec.h"
#include "lib/jscan.h"

#define NPATHS 3
static const char *const dotted[NPATHS] = { "userId", "value.amount", "a.b.c" };

static void
check(int cond)
{
	if (!cond)
		abort();
}

static struct json_object *
jc_path(struct json_object *o, const char *dotted_path)
{
	char buf[64], *save, *part;

	snprintf(buf, sizeof(buf), "%s", dotted_path);
	for (part = strtok_r(buf, ".", &save); part && o; part = strtok_r(NULL, ".", &save)) {
		if (!json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, part, &o))
			return NULL;
	}
	return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jpath paths[NPATHS];
	struct jspan out[NPATHS];
	struct jscan_error err;
	const char *s = (const char *)data;
	int r;

	for (int i = 0; i < NPATHS; i++)
		check(jpath_parse(&paths[i], dotted[i]) == 0);
	r = jscan(s, size, paths, NPATHS, out, &err);
	if (r < 0) {
		check(err.reason != NULL && err.offset <= size);
		return 0;
	}

	/* Accepted: json-c must accept it as well. */
	struct json_tokener *tok = json_tokener_new_ex(JSCAN_MAX_DEPTH + 1);
	struct json_object *o;

	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	o = json_tokener_parse_ex(tok, s, (int)size);
	if (!o && json_tokener_get_error(tok) == json_tokener_continue)
		o = json_tokener_parse_ex(tok, "", 1);	/* a bare number ends at the end */
	check(o != NULL || (size >= 4 && memcmp(s + strspn(s, " \t\r\n"), "null", 4) == 0));

	for (int i = 0; i < NPATHS; i++) {
		struct jspan again;
		struct jscan_error e2;

		if (out[i].type == JT_NONE)
			continue;
		check(out[i].p >= s && out[i].p + out[i].len <= s + size && out[i].len > 0);
		check(jscan(out[i].p, out[i].len, NULL, 0, &again, &e2) == 0);
		if (out[i].type == JT_NUMBER) {
			struct dec d, back;
			char text[DEC_STR_MAX];
			enum dec_status ds = dec_parse(&d, out[i].p, out[i].len);

			check(ds == DEC_OK || ds == DEC_RANGE);
			if (ds == DEC_OK) {
				size_t n = dec_format(&d, text);

				check(dec_parse(&back, text, n) == DEC_OK && dec_cmp(&d, &back) == 0 &&
				    back.scale == d.scale);
			}
		}
		if (out[i].type == JT_STRING) {
			char *dec = malloc(out[i].len);
			size_t n;
			struct json_object *jv = jc_path(o, dotted[i]);

			check(dec != NULL);
			n = jscan_string(&out[i], dec);
			check(n <= out[i].len);
			/* json-c keeps lone surrogates differently; compare the rest. */
			if (jv && json_object_is_type(jv, json_type_string) && !memmem(dec, n, "\xef\xbf\xbd", 3))
				check((size_t)json_object_get_string_len(jv) == n &&
				    memcmp(json_object_get_string(jv), dec, n) == 0);
			free(dec);
		}
	}
	json_object_put(o);
	json_tokener_free(tok);
	return 0;
}

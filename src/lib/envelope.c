#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base64.h"
#include "lib/envelope.h"
#include "lib/grow.h"
#include "lib/jscan.h"
#include "lib/jsonw.h"

#define ENV_FIXED_MAX 160	/* bytes of member names and punctuation of one envelope */
#define HEADER_FIXED_MAX 48	/* and of one header */
#define PARTITION_TEXT_MAX 16	/* partitions written this long are out of range */
#define NAME_SHOWN_MAX 40	/* bytes of a header's name in a reason */

/* --- writing --- */

/* Room for "name": or "name_base64": and the bytes, either way. */
static size_t
bytes_max(size_t len)
{
	size_t text = jw_string_max(len), b64 = BASE64_ENCODED_LEN(len) + 2;

	return (text > b64 ? text : b64) + sizeof("\"_base64\":") + sizeof(ENV_VALUE_BASE64);
}

size_t
env_write_max(const struct envelope *e)
{
	size_t n = ENV_FIXED_MAX + jw_string_max(e->topic_len) + 3 * JW_I64_MAX + bytes_max(e->key_len) +
	    bytes_max(e->value_len);

	for (size_t i = 0; i < e->nheaders; i++)
		n += HEADER_FIXED_MAX + bytes_max(e->headers[i].name_len) + bytes_max(e->headers[i].value_len);
	return n;
}

#define PUT(d, s) (memcpy((d), (s), sizeof(s) - 1), (d) += sizeof(s) - 1)

/* "name": and a string, or "name_base64": when the bytes are not UTF-8. */
static char *
put_bytes(char *d, const char *name, size_t name_len, const void *p, size_t len)
{
	*d++ = '"';
	memcpy(d, name, name_len);
	d += name_len;
	if (utf8_valid(p, len)) {
		PUT(d, "\":");
		return d + jw_string(d, p, len);
	}
	PUT(d, "_base64\":\"");
	d += base64_encode(d, p, len);
	*d++ = '"';
	return d;
}

static char *
put_i64_or_null(char *d, int64_t v)
{
	if (v < 0) {
		PUT(d, "null");
		return d;
	}
	return d + jw_i64(d, v);
}

/*
 * The deepest nesting of a JSON text that jscan() accepted: the envelope
 * puts it one level deeper, which must still scan.
 */
static size_t
depth(const char *p, size_t len)
{
	size_t d = 0, max = 0;
	bool in_string = false;

	for (size_t i = 0; i < len; i++) {
		char c = p[i];

		if (in_string) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_string = false;
		} else if (c == '"') {
			in_string = true;
		} else if (c == '{' || c == '[') {
			if (++d > max)
				max = d;
		} else if (c == '}' || c == ']') {
			d--;
		}
	}
	return max;
}

static bool
is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

int
env_value_verbatim(const void *payload, size_t len)
{
	const char *p = payload;
	struct jspan none;
	struct jscan_error err;

	/*
	 * Read back, the member is the text between the colon and what
	 * follows, without white space around it; null would be a tombstone.
	 */
	if (len == 0 || is_ws(p[0]) || is_ws(p[len - 1]) || memchr(p, '\n', len) || memchr(p, '\r', len) ||
	    (len == 4 && memcmp(p, JW_LIT("null")) == 0) || jscan(p, len, NULL, 0, &none, &err) < 0)
		return 0;
	return len < 2 * JSCAN_MAX_DEPTH || depth(p, len) < JSCAN_MAX_DEPTH;
}

size_t
env_write(char *dst, const struct envelope *e)
{
	char *d = dst;

	PUT(d, "{\"" ENV_TOPIC "\":");
	d += jw_string(d, e->topic ? e->topic : "", e->topic_len);
	PUT(d, ",\"" ENV_PARTITION "\":");
	d = put_i64_or_null(d, e->partition);
	PUT(d, ",\"" ENV_OFFSET "\":");
	d = put_i64_or_null(d, e->offset);
	PUT(d, ",\"" ENV_TIMESTAMP "\":");
	d = put_i64_or_null(d, e->timestamp);
	*d++ = ',';
	if (e->key)
		d = put_bytes(d, ENV_KEY, sizeof(ENV_KEY) - 1, e->key, e->key_len);
	else
		PUT(d, "\"" ENV_KEY "\":null");
	if (e->nheaders > 0) {
		PUT(d, ",\"" ENV_HEADERS "\":[");
		for (size_t i = 0; i < e->nheaders; i++) {
			const struct env_header *h = &e->headers[i];

			if (i)
				*d++ = ',';
			*d++ = '{';
			d = put_bytes(d, ENV_KEY, sizeof(ENV_KEY) - 1, h->name, h->name_len);
			*d++ = ',';
			if (h->value)
				d = put_bytes(d, ENV_VALUE, sizeof(ENV_VALUE) - 1, h->value, h->value_len);
			else
				PUT(d, "\"" ENV_VALUE "\":null");
			*d++ = '}';
		}
		*d++ = ']';
	}
	*d++ = ',';
	if (!e->value) {
		PUT(d, "\"" ENV_VALUE "\":null");
	} else if (env_value_verbatim(e->value, e->value_len)) {
		PUT(d, "\"" ENV_VALUE "\":");
		memcpy(d, e->value, e->value_len);
		d += e->value_len;
	} else if (utf8_valid(e->value, e->value_len)) {
		PUT(d, "\"" ENV_VALUE_TEXT "\":");
		d += jw_string(d, e->value, e->value_len);
	} else {
		PUT(d, "\"" ENV_VALUE_BASE64 "\":\"");
		d += base64_encode(d, e->value, e->value_len);
		*d++ = '"';
	}
	*d++ = '}';
	return (size_t)(d - dst);
}

/* --- parsing --- */

enum member {
	M_TOPIC, M_PARTITION, M_OFFSET, M_TIMESTAMP, M_KEY, M_KEY_B64, M_HEADERS, M_VALUE, M_VALUE_TEXT,
	M_VALUE_B64, M_N
};

static const char *const member_names[M_N] = {
	ENV_TOPIC, ENV_PARTITION, ENV_OFFSET, ENV_TIMESTAMP, ENV_KEY, ENV_KEY_BASE64, ENV_HEADERS, ENV_VALUE,
	ENV_VALUE_TEXT, ENV_VALUE_BASE64,
};

/* Fills in the reason; always -1. */
static int
bad(struct env_parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int
bad(struct env_parser *p, const char *fmt, ...)
{
	va_list ap;

	p->kind = "not_envelope";
	va_start(ap, fmt);
	vsnprintf(p->why, sizeof(p->why), fmt, ap);
	va_end(ap);
	return -1;
}

/*
 * A string member decoded at p->buf + *at, then base64-decoded in place
 * when b64 (the output is never longer than its text). Decoded bytes are
 * never longer than their span, so the buffer sized by env_parse() holds
 * them all. Returns -1 for base64 that is not.
 */
static int
take_bytes(struct env_parser *p, const struct jspan *v, bool b64, const void **dst, size_t *len, size_t *at)
{
	char *buf = p->buf + *at;
	size_t n = jscan_string(v, buf);

	if (b64) {
		ssize_t d = base64_decode(buf, buf, n);

		if (d < 0)
			return -1;
		n = (size_t)d;
	}
	*dst = buf;
	*len = n;
	*at += n;
	return 0;
}

/* A whole number from 0 to max, or absent/null (-1); -1 returned when it is neither. */
static int
take_count(const struct jspan *v, uint64_t max, int64_t *out)
{
	uint64_t n;

	if (v->type == JT_NONE || v->type == JT_NULL) {
		*out = -1;
		return 0;
	}
	if (jscan_uint(v, max, &n) < 0)
		return -1;
	*out = (int64_t)n;
	return 0;
}

static int
take_partition(struct env_parser *p, const struct jspan *v, struct envelope *e)
{
	uint64_t n;
	size_t neg;

	e->partition = -1;
	if (v->type == JT_NONE || v->type == JT_NULL)
		return 0;
	if (v->type != JT_NUMBER)
		return bad(p, "partition is not a number");
	neg = v->p[0] == '-';
	if (strspn(v->p + neg, "0123456789") != v->len - neg)
		return bad(p, "partition is not a whole number");
	if (neg && strspn(v->p + 1, "0") == v->len - 1) {
		n = 0;		/* -0 */
	} else if (neg || v->len >= PARTITION_TEXT_MAX || jscan_uint(v, INT32_MAX, &n) < 0) {
		return bad(p, "partition %.*s%s is out of range (0 to %d)",
		    (int)(v->len < PARTITION_TEXT_MAX ? v->len : PARTITION_TEXT_MAX), v->p,
		    v->len > PARTITION_TEXT_MAX ? "..." : "", INT32_MAX);
	}
	e->partition = (int32_t)n;
	return 0;
}

/*
 * One of name and name_base64 (or null, when nullable) into *dst. Returns
 * 0; 1 when both are given; 2 when the base64 one is wrong and 3 when the
 * text one is, with *what saying how; 4 when neither is given and one must be.
 */
static int
take_either(struct env_parser *p, const struct jspan *text, const struct jspan *b64, bool nullable,
    const void **dst, size_t *len, size_t *at, const char **what)
{
	*dst = NULL;
	*len = 0;
	*what = NULL;
	if (text->type != JT_NONE && b64->type != JT_NONE)
		return 1;	/* both */
	if (text->type == JT_STRING) {
		take_bytes(p, text, false, dst, len, at);
		return 0;
	}
	if (b64->type == JT_STRING) {
		if (take_bytes(p, b64, true, dst, len, at) < 0)
			return *what = "is not base64", 2;
		return 0;
	}
	if (text->type == JT_NONE && b64->type == JT_NONE)
		return nullable ? 0 : 4;
	if (text->type == JT_NULL && nullable)
		return 0;
	*what = nullable ? "is not a string or null" : "is not a string";
	return text->type != JT_NONE ? 3 : 2;
}

/* "header 2 (\"name\")" into buf, for reasons. */
static const char *
header_label(char *buf, size_t size, size_t i, const struct env_header *h)
{
	if (h->name && utf8_valid(h->name, h->name_len < NAME_SHOWN_MAX ? h->name_len : NAME_SHOWN_MAX))
		snprintf(buf, size, "header %zu (\"%.*s%s\")", i + 1,
		    (int)(h->name_len < NAME_SHOWN_MAX ? h->name_len : NAME_SHOWN_MAX), h->name,
		    h->name_len > NAME_SHOWN_MAX ? "..." : "");
	else
		snprintf(buf, size, "header %zu", i + 1);
	return buf;
}

/* headers: [{"key": name, "value": bytes or null}, ...], either member also as *_base64. */
static int
take_headers(struct env_parser *p, const struct jspan *arr, struct envelope *e, size_t *at)
{
	struct jmembers it;
	struct jspan el;
	size_t n = 0;

	if (arr->type == JT_NONE || arr->type == JT_NULL)
		return 0;
	if (arr->type != JT_ARRAY)
		return bad(p, "headers is not an array");
	jmembers_init(&it, arr);
	while (jelems_next(&it, &el)) {
		struct env_header *h;
		struct jspan f[4] = { { 0 } }, k, v;
		struct jmembers mi;
		const char *what;
		char label[NAME_SHOWN_MAX + 32];
		int rc;

		if (grow(&p->hdr, &p->hcap, n + 1, sizeof(*p->hdr), 8) < 0)
			return errno = ENOMEM, -1;
		h = &p->hdr[n];
		*h = (struct env_header){ 0 };
		if (el.type != JT_OBJECT)
			return bad(p, "%s is not an object", header_label(label, sizeof(label), n, h));
		/* Its members: key, key_base64, value, value_base64; a repeated one is refused. */
		jmembers_init(&mi, &el);
		while (jmembers_next(&mi, &k, &v)) {
			static const char *const names[4] = { ENV_KEY, ENV_KEY_BASE64, ENV_VALUE, ENV_VALUE_BASE64 };

			for (int j = 0; j < 4; j++) {
				size_t nl = strlen(names[j]);

				if (k.len == nl + 2 && memcmp(k.p + 1, names[j], nl) == 0) {
					if (f[j].type != JT_NONE)
						return bad(p, "%s has %s twice", header_label(label, sizeof(label), n, h),
						    names[j]);
					f[j] = v;
				}
			}
		}
		rc = take_either(p, &f[0], &f[1], false, (const void **)&h->name, &h->name_len, at, &what);
		if (rc == 1)
			return bad(p, "%s has both key and key_base64", header_label(label, sizeof(label), n, h));
		if (rc == 4)
			return bad(p, "%s has no key", header_label(label, sizeof(label), n, h));
		if (rc)
			return bad(p, "%s: key%s %s", header_label(label, sizeof(label), n, h), rc == 2 ? "_base64" : "",
			    what);
		if (memchr(h->name, '\0', h->name_len))
			return bad(p, "%s: a header name cannot hold a NUL byte", header_label(label, sizeof(label), n, h));
		rc = take_either(p, &f[2], &f[3], true, &h->value, &h->value_len, at, &what);
		if (rc == 1)
			return bad(p, "%s has both value and value_base64", header_label(label, sizeof(label), n, h));
		if (rc)
			return bad(p, "%s: value%s %s", header_label(label, sizeof(label), n, h),
			    rc == 2 ? "_base64" : "", what);
		n++;
	}
	e->headers = p->hdr;
	e->nheaders = n;
	return 0;
}

int
env_parse(struct env_parser *p, const char *line, size_t len, struct envelope *e)
{
	static struct jpath paths[M_N];
	static bool ready;
	struct jspan f[M_N];
	struct jscan_error err;
	size_t at = 0, values;
	const char *what;
	int rc;

	/* Filled on first use with constant text only: the same whichever thread wins. */
	if (!ready) {
		for (int i = 0; i < M_N; i++)
			jpath_parse(&paths[i], member_names[i]);
		ready = true;
	}
	memset(e, 0, sizeof(*e));
	e->partition = -1;
	e->offset = e->timestamp = -1;
	if (jscan(line, len, paths, M_N, f, &err) < 0) {
		p->kind = "not_json";
		snprintf(p->why, sizeof(p->why), "%s", err.reason);
		return -1;
	}
	if (line[strspn(line, " \t")] != '{')
		return bad(p, "not an object");
	/* Everything decoded is no longer than the line. */
	if (len + 16 > p->cap) {
		char *b = realloc(p->buf, len + 16);

		if (!b)
			return errno = ENOMEM, -1;
		p->buf = b;
		p->cap = len + 16;
	}
	if (f[M_TOPIC].type == JT_STRING) {
		take_bytes(p, &f[M_TOPIC], false, (const void **)&e->topic, &e->topic_len, &at);
		p->buf[at++] = '\0';	/* librdkafka takes topic names as C strings */
	} else if (f[M_TOPIC].type != JT_NONE && f[M_TOPIC].type != JT_NULL) {
		return bad(p, "topic is not a string");
	}
	if (take_partition(p, &f[M_PARTITION], e) < 0)
		return -1;
	if (take_count(&f[M_OFFSET], INT64_MAX, &e->offset) < 0)
		return bad(p, "offset is not a whole number");
	if (take_count(&f[M_TIMESTAMP], INT64_MAX, &e->timestamp) < 0)
		return bad(p, "timestamp is not a whole number of milliseconds");
	rc = take_either(p, &f[M_KEY], &f[M_KEY_B64], true, &e->key, &e->key_len, &at, &what);
	if (rc == 1)
		return bad(p, "more than one of key, key_base64");
	if (rc)
		return bad(p, "%s %s", rc == 2 ? "key_base64" : "key", what);
	values = (f[M_VALUE].type != JT_NONE) + (f[M_VALUE_TEXT].type != JT_NONE) + (f[M_VALUE_B64].type != JT_NONE);
	if (values != 1)
		return bad(p, values ? "more than one of value, value_text, value_base64" :
		    "no value, value_text or value_base64");
	if (f[M_VALUE].type == JT_NULL) {
		e->value = NULL;	/* a tombstone */
	} else if (f[M_VALUE].type != JT_NONE) {
		e->value = f[M_VALUE].p;	/* verbatim: byte for byte */
		e->value_len = f[M_VALUE].len;
	} else if (f[M_VALUE_TEXT].type == JT_STRING) {
		take_bytes(p, &f[M_VALUE_TEXT], false, &e->value, &e->value_len, &at);
	} else if (f[M_VALUE_B64].type == JT_STRING) {
		if (take_bytes(p, &f[M_VALUE_B64], true, &e->value, &e->value_len, &at) < 0)
			return bad(p, "value_base64 is not base64");
	} else {
		return bad(p, "value_text or value_base64 is not a string");
	}
	return take_headers(p, &f[M_HEADERS], e, &at);
}

void
env_parser_free(struct env_parser *p)
{
	free(p->buf);
	free(p->hdr);
	p->buf = NULL;
	p->hdr = NULL;
	p->cap = p->hcap = 0;
}

/*
 * envelope: one Kafka message as one JSON line, as ksub --envelope writes
 * it and kpub --envelope and jagg read it (txstream(7), ENVELOPE). This
 * module is the one place that knows its members and their rules:
 *
 *   {"topic":"t","partition":3,"offset":1042,"timestamp":1795550000123,
 *    "key":"k","headers":[{"key":"h","value":"v"}],"value":{"a":1}}
 *
 * - value holds the payload as it is only when reading that member back
 *   gives the same bytes: one JSON text, on one line, with nothing around
 *   it, and not the four bytes null, which is how a tombstone (no payload)
 *   is written. Any other UTF-8 payload is value_text (a JSON string); any
 *   other payload value_base64. Exactly one of the three is present.
 * - key is a JSON string, key_base64 when the bytes are not UTF-8, null
 *   when there is no key. A header is {"key":name,"value":bytes} with the
 *   same two forms for each (key_base64, value_base64) and null for a
 *   header without a value; headers keep their order and repeats.
 *
 * env_write() writes into the caller's buffer, env_write_max() bytes at
 * most, and allocates nothing. env_parse() decodes into a buffer the
 * struct env_parser owns: what the envelope points at is valid until the
 * next env_parse() on that parser. One parser per thread; no globals.
 */
#ifndef TXS_ENVELOPE_H
#define TXS_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

/* The member names, as literals, so callers can build paths ("value." ENV_TOPIC). */
#define ENV_TOPIC "topic"
#define ENV_PARTITION "partition"
#define ENV_OFFSET "offset"
#define ENV_TIMESTAMP "timestamp"
#define ENV_KEY "key"
#define ENV_KEY_BASE64 "key_base64"
#define ENV_HEADERS "headers"
#define ENV_VALUE "value"
#define ENV_VALUE_TEXT "value_text"
#define ENV_VALUE_BASE64 "value_base64"

#define ENV_WHY_MAX 192		/* bytes of a bad envelope's reason */

struct env_header {
	const char *name;
	size_t name_len;
	const void *value;	/* NULL: a header without a value */
	size_t value_len;
};

struct envelope {
	const char *topic;	/* NULL: none given */
	size_t topic_len;
	int32_t partition;	/* -1: none given */
	int64_t offset;		/* -1: none given */
	int64_t timestamp;	/* milliseconds since the epoch; -1: none */
	const void *key;	/* NULL: no key */
	size_t key_len;
	const struct env_header *headers;
	size_t nheaders;
	const void *value;	/* NULL: a tombstone */
	size_t value_len;
};

/* The most bytes env_write() writes for e. */
size_t env_write_max(const struct envelope *e);
/* e as one JSON object (no delimiter) at dst; returns its length. */
size_t env_write(char *dst, const struct envelope *e);
/* Would a payload go into value as it is (the rule above)? */
int env_value_verbatim(const void *p, size_t len);

struct env_parser {
	char *buf;		/* decoded topic, key, value and headers */
	size_t cap;
	struct env_header *hdr;
	size_t hcap;
	const char *kind;	/* after a failure: "not_json" or "not_envelope" */
	char why[ENV_WHY_MAX];	/* and the reason, "not an envelope: ..." */
};

/*
 * One envelope line (len bytes, without its delimiter) into *e. Returns
 * 0, or -1 with p->kind and p->why set (also -1 with errno ENOMEM).
 */
int env_parse(struct env_parser *p, const char *line, size_t len, struct envelope *e);
void env_parser_free(struct env_parser *p);

#endif

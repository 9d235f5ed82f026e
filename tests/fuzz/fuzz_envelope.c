/*
 * Round-trip fuzz target for the envelope (libFuzzer's entry point;
 * tests/fuzz/replay.c runs the kept corpus in make check without it).
 *
 * The input is cut into a message: its first bytes choose which parts
 * are absent (no key, a tombstone, headers without values) and how many
 * headers there are; the rest, split at 0xff 0xfe pairs, gives the topic,
 * the key, the value and each header's name and value, any bytes at all.
 * Checks, for any input:
 *
 * - the envelope env_write() makes is within env_write_max(), one line
 *   (no newline), UTF-8, and exactly one JSON text (jscan accepts it);
 * - env_parse() of it gives the same message back: every byte of topic,
 *   key, value, header names and values, which of them were absent, the
 *   header order, partition, offset and timestamp;
 * - the value is written verbatim ("value") only when it is the bytes
 *   between the colon and the brace, so the line's value member is them.
 *
 * Header names are C strings in librdkafka: a NUL in one is cut there,
 * as a consumer would see it. Topics are Kafka names: the topic part is
 * mapped to letters.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/envelope.h"
#include "lib/jscan.h"

#define MAX_PARTS 16
#define MAX_HEADERS 6

static void
check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_envelope: %s\n", what);
		abort();
	}
}

static int
same(const void *a, size_t alen, const void *b, size_t blen)
{
	if (!a || !b)
		return a == b;
	return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct env_parser parser;
	const char *part[MAX_PARTS];
	size_t plen[MAX_PARTS], nparts = 0, start = 2;
	struct env_header h[MAX_HEADERS];
	struct envelope e = { .partition = -1, .offset = -1, .timestamp = -1 }, back;
	uint8_t flags, nh;
	char *line, topic[250];
	size_t n, max;

	if (size < 2)
		return 0;
	flags = data[0];
	nh = (uint8_t)(data[1] % (MAX_HEADERS + 1));
	for (size_t i = start; i <= size && nparts < MAX_PARTS; i++) {
		if (i == size || (i + 1 < size && data[i] == 0xff && data[i + 1] == 0xfe)) {
			part[nparts] = (const char *)data + start;
			plen[nparts++] = i - start;
			start = i + 2;
			i++;
		}
	}
	while (nparts < MAX_PARTS) {
		part[nparts] = "";
		plen[nparts++] = 0;
	}
	/* A topic is a Kafka name: letters only here, as many as the part's bytes. */
	for (size_t i = 0; i < plen[0] && i < sizeof(topic) - 1; i++)
		topic[i] = (char)('a' + (unsigned char)part[0][i] % 26);
	e.topic = topic;
	e.topic_len = plen[0] < sizeof(topic) - 1 ? plen[0] : sizeof(topic) - 1;
	if (!(flags & 1)) {
		e.key = part[1];
		e.key_len = plen[1];
	}
	if (!(flags & 2)) {
		e.value = part[2];
		e.value_len = plen[2];
	}
	if (flags & 4) {
		e.partition = (int32_t)(flags >> 3);
		e.offset = (int64_t)flags * 1000003;
		e.timestamp = (int64_t)flags * 1700000000003LL;
	}
	for (size_t i = 0; i < nh; i++) {
		h[i].name = part[3 + 2 * i];
		h[i].name_len = strnlen(h[i].name, plen[3 + 2 * i]);
		h[i].value = (flags >> 4) & (1u << (i % 4)) ? NULL : part[4 + 2 * i];
		h[i].value_len = h[i].value ? plen[4 + 2 * i] : 0;
	}
	e.headers = h;
	e.nheaders = nh;

	max = env_write_max(&e);
	check((line = malloc(max)) != NULL, "out of memory");
	n = env_write(line, &e);
	check(n <= max, "wrote more than env_write_max");
	check(!memchr(line, '\n', n), "a newline in the envelope");
	check(utf8_valid(line, n), "the envelope is not UTF-8");
	{
		struct jspan none;
		struct jscan_error err;

		check(jscan(line, n, NULL, 0, &none, &err) == 0, "the envelope is not one JSON text");
	}
	check(env_parse(&parser, line, n, &back) == 0, "the envelope does not parse");
	check(same(back.topic, back.topic_len, e.topic, e.topic_len), "topic");
	check(back.partition == e.partition && back.offset == e.offset && back.timestamp == e.timestamp,
	    "partition, offset or timestamp");
	check(same(back.key, back.key_len, e.key, e.key_len), "key");
	check(same(back.value, back.value_len, e.value, e.value_len), "value");
	check(back.nheaders == e.nheaders, "number of headers");
	for (size_t i = 0; i < nh; i++) {
		check(same(back.headers[i].name, back.headers[i].name_len, h[i].name, h[i].name_len), "header name");
		check(same(back.headers[i].value, back.headers[i].value_len, h[i].value, h[i].value_len),
		    "header value");
	}
	if (e.value && env_value_verbatim(e.value, e.value_len))
		check(n > e.value_len + 1 && memcmp(line + n - 1 - e.value_len, e.value, e.value_len) == 0,
		    "a verbatim value is not the line's last member");
	free(line);
	return 0;
}

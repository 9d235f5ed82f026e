/*
 * offsets: the next offset to read, per topic and partition: the offsets
 * file of txstream(7), Offsets file,
 *   {"offsets":{"financial_transactions":{"0":1043,"1":877}}}
 * which `ksub -o @FILE` reads and a `jagg --checkpoint` file carries.
 *
 * A table owns copies of its topic names. Lookups are linear with a
 * one-entry cache: consumers see few partitions, in long runs of the
 * same one. Not thread-safe.
 */
#ifndef TXS_OFFSETS_H
#define TXS_OFFSETS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct json_object;

struct offsets;

struct offsets *offsets_new(void);
void offsets_free(struct offsets *o);
size_t offsets_count(const struct offsets *o);

/*
 * The next offset of topic (len bytes) / partition, created as -1 (none
 * yet) when it was not listed. NULL when memory runs out.
 */
long long *offsets_slot(struct offsets *o, const char *topic, size_t len, int32_t partition);
/* The next offset, or -1 when the partition is not listed. */
long long offsets_get(const struct offsets *o, const char *topic, int32_t partition);

/* Write the "offsets" member's value, {"topic":{"0":n},...}, sorted. */
int offsets_write(const struct offsets *o, FILE *f);
/* Add the entries of an "offsets" member's value; -1 with why on a bad one. */
int offsets_from_json(struct offsets *o, struct json_object *value, char *why, size_t whysize);
/*
 * Read an offsets file (any JSON object with an "offsets" member).
 * Returns 1 when read, 0 when the file does not exist, -1 with why.
 */
int offsets_read_file(struct offsets *o, const char *path, char *why, size_t whysize);

#endif

/*
 * frontier: for messages that finish out of order, the offset below
 * which every one of them is done, per source topic and partition, kept
 * as an offsets file (txstream(7), Offsets file) that `ksub -o @FILE` resumes
 * from.
 *
 * A forwarder (ksub --envelope | kpub) delivers a source partition's
 * messages to several destination partitions, whose acknowledgements
 * come back in any order. Committing the highest delivered offset could
 * skip one still in flight and lose it in a crash; the frontier is the
 * lowest offset not yet done, so a restart from it repeats some
 * messages (which jagg recognises) and loses none.
 *
 * Offsets of a partition are added in increasing order. Not thread-safe.
 */
#ifndef TXS_FRONTIER_H
#define TXS_FRONTIER_H

#include <stddef.h>
#include <stdint.h>

struct frontier;

/* Starts from path's offsets, when it exists: partitions not seen again keep them. */
struct frontier *frontier_new(const char *path, char *why, size_t whysize);
void frontier_free(struct frontier *f);

/* A message in flight; returns a handle for frontier_done(), or -1 when memory runs out. */
long frontier_add(struct frontier *f, const char *topic, size_t len, int32_t partition, int64_t offset);
/* The message at offset, handled by frontier_add's handle, is done. */
void frontier_done(struct frontier *f, long handle, int64_t offset);

/* Write {"offsets":{...}} to the path given to frontier_new, atomically. */
int frontier_save(struct frontier *f);

#endif

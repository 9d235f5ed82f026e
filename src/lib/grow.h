/*
 * grow: room in a malloc'ed array for need elements, doubling the
 * capacity from initial. For the arrays that grow one entry (or a few
 * bytes) at a time: changelog entries, offsets, frontier sources and
 * queues, pbatch's messages and keys.
 */
#ifndef TXS_GROW_H
#define TXS_GROW_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/*
 * pp is the address of the array's pointer (T **), the array holding
 * *cap elements of elem bytes. Returns 0 when need elements fit, growing
 * it if need be (the pointer and *cap updated), or -1 (errno ENOMEM)
 * with both as they were.
 */
static inline int
grow(void *pp, size_t *cap, size_t need, size_t elem, size_t initial)
{
	size_t n = *cap ? *cap : initial;
	void *p, *np;

	if (need <= *cap)
		return 0;
	while (n < need) {
		if (n > SIZE_MAX / 2)
			return errno = ENOMEM, -1;
		n *= 2;
	}
	memcpy(&p, pp, sizeof(p));
	if (n > SIZE_MAX / elem || !(np = realloc(p, n * elem)))
		return errno = ENOMEM, -1;
	memcpy(pp, &np, sizeof(np));
	*cap = n;
	return 0;
}

#endif

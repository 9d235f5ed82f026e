/*
 * forkjoin: one helper thread that takes half of a batch of independent
 * items while the calling thread does the other half, then both meet.
 *
 * For work that is mostly per item and needs no state (parsing lines), on
 * batches of what one read brought: the caller keeps its input order and
 * its state to itself, and only the parsing is shared. The helper starts
 * with every signal blocked, so signals stay the main thread's.
 */
#ifndef TXS_FORKJOIN_H
#define TXS_FORKJOIN_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

typedef void fj_work(void *arg, size_t from, size_t to);

struct forkjoin {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	fj_work *fn;
	void *arg;
	size_t from, to;
	bool job, quit, running;
};

/* Start the helper; -1 when it cannot be had (fj_run then works alone). */
int fj_start(struct forkjoin *fj);

/*
 * fn(arg, from, to) over [0, n): the helper takes the second half, this
 * thread the first; both are done on return. Below min items, this
 * thread does all of it.
 */
void fj_run(struct forkjoin *fj, fj_work *fn, void *arg, size_t n, size_t min);

void fj_stop(struct forkjoin *fj);

#endif

/*
 * forkjoin: half a batch in a helper thread. See forkjoin.h.
 */
#include "config.h"

#include <signal.h>
#include <string.h>

#include "lib/forkjoin.h"

static void *
helper_main(void *arg)
{
	struct forkjoin *fj = arg;

	for (;;) {
		pthread_mutex_lock(&fj->mu);
		while (!fj->job && !fj->quit)
			pthread_cond_wait(&fj->cv, &fj->mu);
		if (fj->quit) {
			pthread_mutex_unlock(&fj->mu);
			return NULL;
		}
		pthread_mutex_unlock(&fj->mu);
		fj->fn(fj->arg, fj->from, fj->to);
		pthread_mutex_lock(&fj->mu);
		fj->job = false;
		pthread_cond_signal(&fj->cv);
		pthread_mutex_unlock(&fj->mu);
	}
}

int
fj_start(struct forkjoin *fj)
{
	sigset_t all, old;
	int rc;

	memset(fj, 0, sizeof(*fj));
	if (pthread_mutex_init(&fj->mu, NULL) || pthread_cond_init(&fj->cv, NULL))
		return -1;
	/* Signals are the main thread's: the helper starts with them blocked. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&fj->thread, NULL, helper_main, fj);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		pthread_mutex_destroy(&fj->mu);
		pthread_cond_destroy(&fj->cv);
		return -1;
	}
	fj->running = true;
	return 0;
}

static void
submit(struct forkjoin *fj, fj_work *fn, void *arg, size_t from, size_t to)
{
	pthread_mutex_lock(&fj->mu);
	fj->fn = fn;
	fj->arg = arg;
	fj->from = from;
	fj->to = to;
	fj->job = true;
	pthread_cond_signal(&fj->cv);
	pthread_mutex_unlock(&fj->mu);
}

static void
join(struct forkjoin *fj)
{
	pthread_mutex_lock(&fj->mu);
	while (fj->job)
		pthread_cond_wait(&fj->cv, &fj->mu);
	pthread_mutex_unlock(&fj->mu);
}

void
fj_run(struct forkjoin *fj, fj_work *fn, void *arg, size_t n, size_t min)
{
	size_t half = n / 2;

	if (!fj->running || n < min || n < 2) {
		fn(arg, 0, n);
		return;
	}
	submit(fj, fn, arg, half, n);
	fn(arg, 0, half);
	join(fj);
}

void
fj_stop(struct forkjoin *fj)
{
	if (!fj->running)
		return;
	pthread_mutex_lock(&fj->mu);
	fj->quit = true;
	pthread_cond_signal(&fj->cv);
	pthread_mutex_unlock(&fj->mu);
	pthread_join(fj->thread, NULL);
	pthread_mutex_destroy(&fj->mu);
	pthread_cond_destroy(&fj->cv);
	fj->running = false;
}

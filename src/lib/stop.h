/*
 * stop: the graceful end of a program (txstream(7), Command line).
 *
 * stop_init() makes SIGINT and SIGTERM set a flag instead of killing the
 * process, without SA_RESTART, so a blocking read or sleep returns early
 * (EINTR) and the main loop can deliver, flush and checkpoint before it
 * exits. It ignores SIGPIPE, so writing to a closed pipe fails with EPIPE,
 * which programs treat as a quiet end with status 0, like `yes | head`.
 *
 * stop_requested() is async-signal-safe to read from any thread.
 */
#ifndef TXS_STOP_H
#define TXS_STOP_H

#include <stdbool.h>

void stop_init(void);
bool stop_requested(void);
int stop_signal(void);		/* the signal that asked, or 0 */

/* Sleep up to seconds; returns early (false) when a stop is requested. */
bool stop_sleep(double seconds);

/* Seconds on the monotonic clock, for deadlines and rates. */
double mono_now(void);

#endif

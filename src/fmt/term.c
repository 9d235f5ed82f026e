#include "config.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "fmt/term.h"

#define DEFAULT_ROWS 24
#define DEFAULT_COLS 80
#define ENTER "\033[?1049h\033[?25l"	/* alternate screen, cursor hidden */
#define LEAVE "\033[?25h\033[?1049l"

static int term_fd = -1;
static volatile sig_atomic_t resized;

static void
on_winch(int sig)
{
	(void)sig;
	resized = 1;
}

bool
term_capable(int fd)
{
	const char *t = getenv("TERM");

	return isatty(fd) && !(t && strcmp(t, "dumb") == 0);
}

int
term_enter(int fd)
{
	static bool registered;
	struct sigaction sa;

	if (write(fd, ENTER, sizeof(ENTER) - 1) < 0)
		return -1;
	term_fd = fd;
	if (!registered) {
		atexit(term_leave);
		registered = true;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_winch;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGWINCH, &sa, NULL);
	return 0;
}

void
term_leave(void)
{
	if (term_fd < 0)
		return;
	/* Best effort: a terminal that is gone has nothing left to restore. */
	if (write(term_fd, LEAVE, sizeof(LEAVE) - 1) < 0)
		(void)0;
	signal(SIGWINCH, SIG_DFL);
	term_fd = -1;
}

static int
env_int(const char *name, int dflt)
{
	const char *s = getenv(name);
	char *end;
	long v;

	if (!s || !*s)
		return dflt;
	v = strtol(s, &end, 10);
	return *end == '\0' && v > 0 && v < 10000 ? (int)v : dflt;
}

void
term_size(int fd, int *rows, int *cols)
{
	struct winsize ws;

	if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0) {
		*rows = ws.ws_row;
		*cols = ws.ws_col;
		return;
	}
	*rows = env_int("LINES", DEFAULT_ROWS);
	*cols = env_int("COLUMNS", DEFAULT_COLS);
}

bool
term_resized(void)
{
	bool r = resized != 0;

	resized = 0;
	return r;
}

/*
 * term: the terminal a full-screen view draws on, and how to leave it as
 * it was found.
 *
 * term_enter() switches the terminal on fd to its alternate screen and
 * hides the cursor; term_leave() shows the cursor and returns to the
 * normal screen, and also runs at exit (atexit), so that an error exit
 * restores the terminal too. SIGINT and SIGTERM are the caller's, through
 * stop.h: its loop ends and calls term_leave(). Terminal modes (termios)
 * are not changed, so there is nothing else to restore.
 *
 * term_size() asks the terminal (TIOCGWINSZ), then $LINES and $COLUMNS,
 * then assumes 24 × 80. After term_enter(), SIGWINCH sets a flag that
 * term_resized() reads and clears; the handler is installed without
 * SA_RESTART, so a poll(2) waiting for input returns at once.
 *
 * Sequences are ANSI (ECMA-48) and xterm's, which every terminal emulator
 * in use understands. Not thread-safe: one screen per process.
 */
#ifndef TXS_TERM_H
#define TXS_TERM_H

#include <stdbool.h>

#define TERM_HOME "\033[H"
#define TERM_CLEAR_EOL "\033[K"		/* to the end of the line */
#define TERM_CLEAR_EOS "\033[J"		/* to the end of the screen */
#define TERM_REVERSE "\033[7m"
#define TERM_BOLD "\033[1m"
#define TERM_RESET "\033[m"

/* A terminal that takes those sequences: a tty, and $TERM is not "dumb". */
bool term_capable(int fd);

/* Returns 0, or -1 with errno set when the sequences cannot be written. */
int term_enter(int fd);
void term_leave(void);

void term_size(int fd, int *rows, int *cols);
bool term_resized(void);

#endif

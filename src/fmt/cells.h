/*
 * cells: one JSON value as the text of a cell in a CSV file, a TSV file or
 * an aligned table, and how many columns that text takes on a terminal.
 *
 * cell_text() gives the value as a person reads it: a string decoded, a
 * number, true or false as written (2.50 stays 2.50), null as nothing,
 * an array or object as its compact JSON text. The escaping functions
 * then make that text fit one format; each writes into a caller's buffer
 * of at least the size its *_MAX macro gives and returns the bytes
 * written. Nothing is NUL-terminated.
 *
 * Widths come from wcwidth(3), which needs a UTF-8 LC_CTYPE: call
 * cell_locale() once at start. No allocation but cell_write()'s writer's;
 * the functions keep no state, but the locale is the process's.
 */
#ifndef TXS_CELLS_H
#define TXS_CELLS_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/jscan.h"

/* The value's text into dst (v->len bytes suffice); JT_NONE and null give nothing. */
size_t cell_text(const struct jspan *v, char *dst);

/*
 * cell_text() a piece at a time, for a value too long to hold decoded
 * whole: each cell_piece() writes the next piece, at most room bytes
 * (room at least CELL_PIECE_MIN), and returns its length, 0 after the
 * last. The pieces put together are cell_text()'s text; a piece may end
 * inside a UTF-8 character, never inside an escape. The value's text
 * must stay in place until the last piece.
 */
#define CELL_PIECE_MIN 16
struct cell_pieces {
	enum jtype type;
	const char *p, *end;	/* what is left of the raw text */
	bool in_string, escaped;	/* within an array or object */
};

void cell_pieces_init(struct cell_pieces *it, const struct jspan *v);
size_t cell_piece(struct cell_pieces *it, char *dst, size_t room);
static inline bool cell_pieces_done(const struct cell_pieces *it) { return it->p >= it->end; }

/*
 * RFC 4180: in double quotes, with quotes doubled, when the text holds a
 * comma, a quote, CR or LF; as it is otherwise. An empty text alone on its
 * row (alone) is written "" so that the row is not an empty line.
 */
#define CELL_CSV_MAX(n) (2 * (n) + 2)
size_t cell_csv(char *dst, const char *s, size_t n, bool alone);
/* The parts of cell_csv() for a text in pieces: must it be quoted, and a piece with its quotes doubled. */
bool cell_csv_quoted(const char *s, size_t n);
size_t cell_csv_doubled(char *dst, const char *s, size_t n);

struct lwriter;

/*
 * The value's text as a CSV cell (csv) or a TSV cell, written to w: as
 * cell_csv() or cell_tsv() would write cell_text(), but decoded into
 * piece, room bytes (at least CELL_PIECE_MIN) at a time, so that a value
 * as long as its line is never copied whole. Returns 0, or -1 once w
 * failed; w's buffer grows to CELL_CSV_MAX(room) at most.
 */
int cell_write(struct lwriter *w, const struct jspan *v, bool csv, bool alone, char *piece, size_t room);

/* TSV as Miller and PostgreSQL's text format write it: tab, LF, CR and backslash as \t \n \r \\. */
#define CELL_TSV_MAX(n) (2 * (n))
size_t cell_tsv(char *dst, const char *s, size_t n);

/*
 * For a terminal: control characters (C0, DEL, C1) and the characters
 * that reorder or break lines (U+2028, U+2029, bidirectional overrides
 * and isolates) as JSON escapes, \n \t or \uXXXX, so that no text can
 * move the cursor, change colors or hide what follows.
 */
#define CELL_VISIBLE_MAX(n) (6 * (n))
size_t cell_visible(char *dst, const char *s, size_t n);

/* Make LC_CTYPE UTF-8: the environment's if it is, C.UTF-8 if not. -1 if neither. */
int cell_locale(void);

/* Terminal columns of the UTF-8 text s (wide characters take two). */
size_t cell_width(const char *s, size_t n);

/* Bytes of the longest whole-character prefix of s at most width columns wide; *used gets its width. */
size_t cell_fit(const char *s, size_t n, size_t width, size_t *used);

/* Order for people: as strcmp, but runs of digits compare as numbers (user_2 < user_10). */
int cell_natcmp(const char *a, size_t alen, const char *b, size_t blen);

#endif

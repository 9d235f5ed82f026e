/*
 * jfmt: NDJSON records for people: indented or compact JSON, an aligned
 * table, CSV or TSV, or a live table of the latest record per key that
 * redraws in place.
 *
 *   ksub -t transaction_aggregates | jfmt --live merchantId
 *
 * Every line is checked whole by jscan before anything of it is written,
 * and values are never converted to numbers: the text of a number goes
 * out as it came (2.50 stays 2.50), and JSON is re-indented token by
 * token (src/fmt/jprint.h), not parsed into a tree. Tables stream: column
 * widths are fixed from the first records (or --widths), so a row is
 * written as soon as it is read.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdnoreturn.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "fmt/cells.h"
#include "fmt/changelog.h"
#include "fmt/jprint.h"
#include "fmt/liveview.h"
#include "fmt/table.h"
#include "fmt/term.h"
#include "lib/deadletter.h"
#include "lib/diag.h"
#include "lib/jscan.h"
#include "lib/jsonw.h"
#include "lib/lineio.h"
#include "lib/opts.h"
#include "lib/stop.h"

#define DEFAULT_SAMPLE 100		/* records that fix a table's column widths */
#define SAMPLE_PAUSE_MS 200		/* an input pause this long ends the sample early */
/* The sample held back to size --table's columns ends at this many bytes of records. */
#define SAMPLE_MAX_BYTES (64u << 20)
#define DEFAULT_REFRESH 0.5		/* seconds between redraws of --live */
#define IDLE_WAIT_MS 60000		/* --live waits for input at most this long at a time */
#define DEFAULT_INDENT 2
#define MAX_FIELDS (JSCAN_MAX_PATHS - 2)	/* -f paths; the root and the --live key are paths too */
#define WIDTH_MAX 10000			/* --widths entries */
/* Bytes of a CSV or TSV cell's text decoded at a time: a longer value goes out in pieces. */
#define CELL_PIECE (64u << 10)

enum format { FMT_PRETTY, FMT_COMPACT, FMT_TABLE, FMT_CSV, FMT_TSV, FMT_LIVE };
enum color { COLOR_AUTO, COLOR_ALWAYS, COLOR_NEVER };

struct options {
	enum format format;
	const char *live_key;		/* --live */
	char *fields_arg[MAX_FIELDS];	/* copies of the -f lists, cut at the commas */
	size_t nfields_args;
	const char *field[MAX_FIELDS];
	size_t nfields;
	size_t width[MAX_FIELDS];	/* --widths */
	size_t nwidths;
	uint64_t sample;
	double refresh;
	enum color color;
	int indent;
	bool header;
	const char *errors_path;
	bool strict;
	bool unbuffered;
	char **inputs;
	int ninputs;
};

static const char usage_text[] =
	"usage: jfmt [--pretty | --compact | --table | --csv | --tsv | --live key]\n"
	"            [-f field[,field...]] [--no-header] [--widths n[,n...]] [--sample N]\n"
	"            [--refresh time] [--color auto|always|never] [--indent N]\n"
	"            [--errors file] [--strict] [-u] [-qv] [--log-format text|json]\n"
	"            [file ...]\n";

static void
help(void)
{
	fputs(usage_text, stdout);
	fputs("\nWrite NDJSON records (from the files, or stdin) for people. Numbers keep their\n"
	    "text; every line is checked, and bad lines are reported and left out.\n\n"
	    "      --pretty                 indented JSON, in color on a terminal (default)\n"
	    "      --compact                one record per line, no spaces\n"
	    "      --table                  aligned columns; widths from the first records\n"
	    "      --csv                    CSV (RFC 4180) with a header row\n"
	    "      --tsv                    TSV with a header row; \\t \\n \\r \\\\ escaped\n"
	    "      --live KEY               the latest record per KEY, redrawn in place on a\n"
	    "                               terminal; elsewhere, table rows as they come\n"
	    "  -f, --fields LIST            these dotted paths, in this order (default: the\n"
	    "                               first record's keys)\n"
	    "      --no-header              no header row\n"
	    "      --widths LIST            column widths for --table and --live\n"
	    "      --sample N               records that size the columns (default 100,\n"
	    "                               and at most 64 MB of them)\n"
	    "      --refresh TIME           --live redraws at most once per TIME (default 0.5s)\n"
	    "      --color WHEN             auto (default: a terminal, and NO_COLOR unset),\n"
	    "                               always or never\n"
	    "      --indent N               spaces per level with --pretty (1-8, default 2)\n"
	    "      --errors FILE            append bad lines to FILE\n"
	    "      --strict                 stop at the first bad line (exit 65)\n"
	    "  -u, --unbuffered             flush output after every record\n"
	    "  -q, --quiet                  print errors only\n"
	    "  -v, --verbose                more messages\n"
	    "      --log-format FORMAT      text (default) or json\n"
	    "      --help                   this help\n"
	    "      --version                the version\n", stdout);
}

static int
usage(void)
{
	fputs(usage_text, stderr);
	return EX_USAGE;
}

/* A growable byte buffer, reused from record to record. */
struct buf {
	char *p;
	size_t len, cap;
};

struct run {
	const struct options *o;
	struct lwriter out;
	struct deadletter dl;		/* bad lines; --errors */
	struct jprint_style style;
	bool live_screen;		/* --live drawing on a terminal */
	/* Paths scanned in every line: [0] the whole text, then -f, then the --live key. */
	struct jpath path[JSCAN_MAX_PATHS];
	size_t npaths, key_index;
	struct jspan found[JSCAN_MAX_PATHS];
	struct table t;			/* the columns: -f, or the first record's keys */
	bool have_cols;
	bool warned_extra;
	bool header_done;
	struct buf text;
	char *field_key[MAX_FIELDS];	/* the -f paths as JSON strings, the members' keys */
	size_t field_key_len[MAX_FIELDS];
	/* --table: the first records, back to back, kept until they fix the widths */
	struct buf sample;
	size_t *sample_len, nsample;
	/* --live on a terminal */
	struct changelog latest;
	bool dirty;
	double next_draw;
	time_t last_at;
	uint64_t records;
};

static noreturn void
out_of_memory(void)
{
	diag_exit(EX_OSERR, "out of memory");
}

static void *
xrealloc(void *p, size_t n)
{
	if (!(p = realloc(p, n ? n : 1)))
		out_of_memory();
	return p;
}

static char *
buf_room(struct buf *b, size_t n)
{
	if (b->cap - b->len < n) {
		b->cap = (b->len + n) * 2;
		b->p = xrealloc(b->p, b->cap);
	}
	return b->p + b->len;
}

static void
buf_add(struct buf *b, const char *s, size_t n)
{
	memcpy(buf_room(b, n), s, n);
	b->len += n;
}

/* --- the record at hand --- */

/*
 * The cells of the line just scanned, in R->t.cells: the -f paths'
 * values, or the values of the columns' keys; the first record's keys
 * make the columns when -f did not. Keys no column names are left out,
 * with a warning the first time (src is NULL for a line seen before).
 */
static void
gather_cells(struct run *R, const char *src, unsigned long long no)
{
	struct jspan unknown;

	if (R->o->nfields > 0) {
		memcpy(R->t.cells, R->found + 1, R->t.ncols * sizeof(*R->t.cells));
		return;
	}
	if (table_by_keys(&R->t, &R->found[0], !R->have_cols, &unknown) < 0)
		out_of_memory();
	R->have_cols = R->t.ncols > 0;	/* {} names no columns: the next record may */
	if (unknown.type != JT_NONE && src && !R->warned_extra) {
		R->warned_extra = true;
		diag_warn("%s:%llu: %.*s is not a column (the columns are the first record's keys); "
		    "it and any other new key are left out: name them with -f", src, no, (int)unknown.len,
		    unknown.p);
	}
}

/* Scan a line kept from before (it is valid) and gather its cells. */
static const struct jspan *
rescan(struct run *R, const char *s, size_t len)
{
	struct jscan_error err;

	jscan(s, len, R->path, R->npaths, R->found, &err);
	gather_cells(R, NULL, 0);
	return R->t.cells;
}

/* --- JSON --- */

static void
write_json(struct run *R)
{
	struct jprint_member m[MAX_FIELDS];
	size_t n = 0;

	if (R->o->nfields == 0) {
		jprint(&R->out, &R->style, R->found[0].p, R->found[0].len);
		lw_write(&R->out, "\n", 1);
		return;
	}
	/*
	 * The named fields alone, as members named by their paths:
	 * {"a":1,"b.c":2}, written from the line where they are rather than
	 * copied into an object's text first.
	 */
	for (size_t i = 0; i < R->o->nfields; i++) {
		const struct jspan *f = &R->found[1 + i];

		if (f->type == JT_NONE)
			continue;
		m[n++] = (struct jprint_member){ R->field_key[i], f->p, R->field_key_len[i], f->len };
	}
	jprint_members(&R->out, &R->style, m, n);
	lw_write(&R->out, "\n", 1);
}

/* --- CSV and TSV --- */

static void
write_delimited(struct run *R, const struct jspan *cells)
{
	bool csv = R->o->format == FMT_CSV;

	for (size_t i = 0; i < R->t.ncols; i++) {
		if (i > 0)
			lw_write(&R->out, csv ? "," : "\t", 1);
		if (cells) {
			if (cell_write(&R->out, &cells[i], csv, R->t.ncols == 1, buf_room(&R->text, CELL_PIECE),
			    CELL_PIECE) < 0)
				return;
		} else {
			const char *s = R->t.col[i].name;
			size_t n = R->t.col[i].len;
			char *dst = lw_reserve(&R->out, CELL_CSV_MAX(n));

			if (!dst)
				return;
			lw_commit(&R->out, csv ? cell_csv(dst, s, n, R->t.ncols == 1) : cell_tsv(dst, s, n));
		}
	}
	lw_write(&R->out, "\n", 1);
}

/* --- tables --- */

static void
write_table_row(struct run *R, const struct jspan *cells)
{
	if (table_row(&R->t, cells) < 0)
		out_of_memory();
	lw_write(&R->out, R->t.row, R->t.len);
	lw_write(&R->out, "\n", 1);
}

/* --widths over what was measured. */
static void
fix_widths(struct run *R)
{
	for (size_t i = 0; i < R->t.ncols && i < R->o->nwidths; i++)
		R->t.col[i].width = R->o->width[i];
}

/* The sample is complete: fix the widths, write the header and the rows held back. */
static void
end_sample(struct run *R)
{
	const char *s;

	if (R->header_done || R->nsample == 0)
		return;
	s = R->sample.p;
	for (size_t k = 0; k < R->nsample; s += R->sample_len[k++]) {
		rescan(R, s, R->sample_len[k]);
		if (table_measure(&R->t, R->t.cells, k == 0) < 0)
			out_of_memory();
	}
	fix_widths(R);
	if (R->o->header)
		write_table_row(R, NULL);
	R->header_done = true;
	s = R->sample.p;
	for (size_t k = 0; k < R->nsample; s += R->sample_len[k++])
		write_table_row(R, rescan(R, s, R->sample_len[k]));
	R->nsample = R->sample.len = 0;
	lw_end_record(&R->out);
}

static void
table_record(struct run *R, const struct line *l)
{
	if (R->header_done) {
		write_table_row(R, R->t.cells);
		return;
	}
	R->sample_len = xrealloc(R->sample_len, (R->nsample + 1) * sizeof(*R->sample_len));
	R->sample_len[R->nsample++] = l->len;
	buf_add(&R->sample, l->data, l->len);
	/* Widths all given: nothing to measure, so nothing to wait for. */
	if (R->nsample >= R->o->sample || R->o->nwidths >= R->t.ncols || R->sample.len >= SAMPLE_MAX_BYTES)
		end_sample(R);
}

/* --- the live table --- */

static void
live_record(struct run *R, const struct line *l)
{
	const struct jspan *k = &R->found[R->key_index];
	char *key = buf_room(&R->text, k->len);
	size_t n = k->type == JT_STRING ? jscan_string(k, key) : jprint_compact(key, k->p, k->len);

	if (changelog_put(&R->latest, key, n, (int)k->type, l->data, l->len) < 0)
		out_of_memory();
	R->dirty = true;
	R->last_at = time(NULL);
}

static const struct jspan *
entry_cells(void *arg, const struct changelog_entry *e)
{
	return rescan(arg, e->line, e->len);
}

/* The view on the terminal's screen, or (screen false) as plain lines, to leave it there at exit. */
static void
live_draw(struct run *R, bool screen)
{
	const struct options *o = R->o;
	struct liveview v = { &R->latest, &R->t, entry_cells, R, o->width, o->nwidths };
	char status[256], when[16] = "", bad[32] = "";
	int rows, cols;
	struct tm tm;

	if (R->last_at && localtime_r(&R->last_at, &tm))
		strftime(when, sizeof(when), ", %H:%M:%S", &tm);
	if (R->dl.bad)
		snprintf(bad, sizeof(bad), ", %llu bad", R->dl.bad);
	snprintf(status, sizeof(status), "%s: %zu key%s, %" PRIu64 " record%s%s%s", o->live_key, R->latest.n,
	    R->latest.n == 1 ? "" : "s", R->records, R->records == 1 ? "" : "s", bad, when);
	term_size(STDOUT_FILENO, &rows, &cols);
	if (liveview_draw(&v, &R->out, status, rows, cols, screen) < 0 && errno == ENOMEM)
		out_of_memory();
	R->dirty = false;
	R->next_draw = mono_now() + o->refresh;
}

/* --- reading --- */

/* A record in columns, in its format. */
static void
write_cells(struct run *R, const char *src, const struct line *l)
{
	const struct options *o = R->o;

	gather_cells(R, src, l->no);
	if (R->live_screen) {
		live_record(R, l);
	} else if (R->t.ncols == 0) {
		return;		/* {} before any record with keys: nothing to show yet */
	} else if (o->format == FMT_TABLE || o->format == FMT_LIVE) {
		table_record(R, l);
	} else {
		if (!R->header_done && o->header)
			write_delimited(R, NULL);
		R->header_done = true;
		write_delimited(R, R->t.cells);
	}
}

/*
 * One line: checked whole, then written in the chosen format. Returns 0,
 * or -1 when the run must stop (--strict).
 */
static int
take_line(struct run *R, const char *src, const struct line *l)
{
	const struct options *o = R->o;
	bool json = o->format == FMT_PRETTY || o->format == FMT_COMPACT;
	enum jtype t;
	struct jscan_error err;

	if (l->len == 0)
		return 0;	/* txstream(7), Record streams: an empty line is skipped */
	if (jscan(l->data, l->len, R->path, R->npaths, R->found, &err) < 0)
		return dl_bad(&R->dl, src, l, "not_json", "not JSON: %s at byte %zu", err.reason, err.offset + 1);
	/* Columns and -f need an object; JSON as it is takes any text. */
	if ((t = R->found[0].type) != JT_OBJECT && !(json && o->nfields == 0))
		return dl_bad(&R->dl, src, l, "not_object", "not a JSON object but %s", t == JT_ARRAY ? "an array" :
		    t == JT_STRING ? "a string" : t == JT_NUMBER ? "a number" : jtype_name(t));
	if (o->format == FMT_LIVE && R->found[R->key_index].type == JT_NONE)
		return dl_bad(&R->dl, src, l, "missing_field", "no %s field", o->live_key);
	R->records++;
	if (json)
		write_json(R);
	else
		write_cells(R, src, l);
	lw_end_record(&R->out);
	return 0;
}

/* How long to wait for input when none is at hand, in ms (-1: as long as it takes). */
static int
idle_wait(const struct run *R)
{
	if (R->live_screen) {
		double ms = (R->next_draw - mono_now()) * 1000;

		if (!R->dirty || ms >= IDLE_WAIT_MS)
			return IDLE_WAIT_MS;
		return ms <= 0 ? 0 : (int)ms + 1;
	}
	if (R->nsample > 0 && !R->header_done)
		return SAMPLE_PAUSE_MS;
	return -1;
}

/* The time that passed while waiting: a draw that is due, a sample that is long enough. */
static void
on_wait(struct run *R)
{
	if (R->live_screen) {
		if (term_resized())
			R->dirty = true;
		if (R->dirty && mono_now() >= R->next_draw)
			live_draw(R, true);
	} else if (R->nsample > 0) {
		end_sample(R);	/* the input paused: show what came */
	}
}

/* Returns 0 at the end of the input, -1 when the run must stop. */
static int
read_input(struct run *R, struct lreader *r)
{
	const char *src = lr_name(r);
	struct line l;

	for (;;) {
		/* Whatever is at hand first; when the input pauses, flush, then wait. */
		enum lr_status s = lr_next_wait(r, &l, 0);

		if (s == LR_TIMEOUT) {
			if (lw_flush(&R->out) < 0)
				return -1;
			if (R->live_screen)
				on_wait(R);
			s = lr_next_wait(r, &l, idle_wait(R));
		}
		switch (s) {
		case LR_LINE:
			if (take_line(R, src, &l) < 0)
				return -1;
			if (R->live_screen && R->dirty && mono_now() >= R->next_draw)
				live_draw(R, true);
			break;
		case LR_TIMEOUT:
			on_wait(R);
			break;
		case LR_EOF:
			return stop_requested() ? -1 : 0;
		case LR_ERROR:
			diag_exit(EX_IOERR, "%s: %s", src, strerror(errno));
		case LR_TOOLONG:
			if (dl_bad(&R->dl, src, &(struct line){ NULL, 0, l.no }, "too_long",
			    "a line of %zu bytes is longer than jfmt reads (%u MB); skipped", l.len,
			    LR_DEFAULT_MAX >> 20) < 0)
				return -1;
			break;
		case LR_CUT:
			dl_bad(&R->dl, src, &l, "cut", "cut short: the stop came before its end of line");
			return -1;
		}
		if (R->out.err)
			return -1;
	}
}

/* --- setting up --- */

/* Comma-separated -f paths, added to o's. */
static int
parse_fields(struct options *o, const char *arg)
{
	char *s;
	struct jpath jp;

	if (o->nfields_args == MAX_FIELDS || !(s = strdup(arg)))
		return -1;
	o->fields_arg[o->nfields_args++] = s;
	for (;;) {
		char *comma = strchr(s, ',');

		if (comma)
			*comma = '\0';
		if (o->nfields == MAX_FIELDS || jpath_parse(&jp, s) < 0)
			return -1;
		o->field[o->nfields++] = s;
		if (!comma)
			return 0;
		s = comma + 1;
	}
}

static int
parse_widths(struct options *o, const char *arg)
{
	const char *p = arg;

	o->nwidths = 0;
	for (;;) {
		char num[16];
		size_t n = strcspn(p, ",");
		uint64_t w;

		if (n == 0 || n >= sizeof(num) || o->nwidths == MAX_FIELDS)
			return -1;
		memcpy(num, p, n);
		num[n] = '\0';
		if (opts_uint(num, 1, WIDTH_MAX, &w) < 0)
			return -1;
		o->width[o->nwidths++] = (size_t)w;
		if (p[n] == '\0')
			return 0;
		p += n + 1;
	}
}

enum {
	OPT_PRETTY = OPT_PRIVATE, OPT_COMPACT, OPT_TABLE, OPT_CSV, OPT_TSV, OPT_LIVE, OPT_NO_HEADER,
	OPT_WIDTHS, OPT_SAMPLE, OPT_REFRESH, OPT_COLOR, OPT_INDENT, OPT_ERRORS, OPT_STRICT,
};

static int
parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "pretty", no_argument, NULL, OPT_PRETTY },
		{ "compact", no_argument, NULL, OPT_COMPACT },
		{ "table", no_argument, NULL, OPT_TABLE },
		{ "csv", no_argument, NULL, OPT_CSV },
		{ "tsv", no_argument, NULL, OPT_TSV },
		{ "live", required_argument, NULL, OPT_LIVE },
		{ "fields", required_argument, NULL, 'f' },
		{ "no-header", no_argument, NULL, OPT_NO_HEADER },
		{ "widths", required_argument, NULL, OPT_WIDTHS },
		{ "sample", required_argument, NULL, OPT_SAMPLE },
		{ "refresh", required_argument, NULL, OPT_REFRESH },
		{ "color", required_argument, NULL, OPT_COLOR },
		{ "indent", required_argument, NULL, OPT_INDENT },
		{ "errors", required_argument, NULL, OPT_ERRORS },
		{ "strict", no_argument, NULL, OPT_STRICT },
		{ "unbuffered", no_argument, NULL, 'u' },
		OPTS_COMMON_LONG,
		{ NULL, 0, NULL, 0 },
	};
	struct jpath jp;
	uint64_t n;
	int c, r;

	o->sample = DEFAULT_SAMPLE;
	o->refresh = DEFAULT_REFRESH;
	o->indent = DEFAULT_INDENT;
	o->header = true;
	while ((c = getopt_long(argc, argv, "f:u" OPTS_COMMON_SHORT, longopts, NULL)) != -1) {
		switch (c) {
		case OPT_PRETTY: o->format = FMT_PRETTY; break;
		case OPT_COMPACT: o->format = FMT_COMPACT; break;
		case OPT_TABLE: o->format = FMT_TABLE; break;
		case OPT_CSV: o->format = FMT_CSV; break;
		case OPT_TSV: o->format = FMT_TSV; break;
		case OPT_LIVE:
			if (jpath_parse(&jp, optarg) < 0)
				return diag_err("--live: '%s' is not a dotted path of at most %d parts", optarg,
				    JPATH_MAX_PARTS), usage();
			o->format = FMT_LIVE;
			o->live_key = optarg;
			break;
		case 'f':
			if (parse_fields(o, optarg) < 0)
				return diag_err("-f: '%s' is not a list of dotted paths (at most %d, of at most %d "
				    "parts each)", optarg, MAX_FIELDS, JPATH_MAX_PARTS), usage();
			break;
		case OPT_NO_HEADER:
			o->header = false;
			break;
		case OPT_WIDTHS:
			if (parse_widths(o, optarg) < 0)
				return diag_err("--widths: '%s' is not a list of widths from 1 to %d", optarg,
				    WIDTH_MAX), usage();
			break;
		case OPT_SAMPLE:
			if (opts_uint(optarg, 1, UINT32_MAX, &o->sample) < 0)
				return diag_err("--sample: '%s' is not a number of records", optarg), usage();
			break;
		case OPT_REFRESH:
			if (opts_duration(optarg, &o->refresh) < 0 || o->refresh <= 0)
				return diag_err("--refresh: '%s' is not a duration", optarg), usage();
			break;
		case OPT_COLOR:
			if (strcmp(optarg, "auto") == 0)
				o->color = COLOR_AUTO;
			else if (strcmp(optarg, "always") == 0)
				o->color = COLOR_ALWAYS;
			else if (strcmp(optarg, "never") == 0)
				o->color = COLOR_NEVER;
			else
				return diag_err("--color: '%s' is not auto, always or never", optarg), usage();
			break;
		case OPT_INDENT:
			if (opts_uint(optarg, 1, JPRINT_MAX_INDENT, &n) < 0)
				return diag_err("--indent: '%s' is not from 1 to %d", optarg, JPRINT_MAX_INDENT),
				    usage();
			o->indent = (int)n;
			break;
		case OPT_ERRORS:
			o->errors_path = optarg;
			break;
		case OPT_STRICT:
			o->strict = true;
			break;
		case 'u':
			o->unbuffered = true;
			break;
		default:
			if ((r = opts_default(c, optarg, help)) != OPTS_HANDLED)
				return r == EX_USAGE ? usage() : r;
		}
	}
	o->inputs = argv + optind;
	o->ninputs = argc - optind;
	return EX_OK;
}

/* The paths every line is scanned for, and the columns -f names. */
static void
setup_run(struct run *R, const struct options *o)
{
	const char *no_color = getenv("NO_COLOR");
	bool tty = isatty(STDOUT_FILENO);

	R->o = o;
	R->npaths = 1;	/* path[0], no parts: the whole text */
	for (size_t i = 0; i < o->nfields; i++) {
		size_t n = strlen(o->field[i]);

		jpath_parse(&R->path[R->npaths++], o->field[i]);
		if (table_add_column(&R->t, o->field[i], n) < 0)
			out_of_memory();
		R->field_key[i] = xrealloc(NULL, jw_string_max(n));
		R->field_key_len[i] = jw_string(R->field_key[i], o->field[i], n);
	}
	R->have_cols = o->nfields > 0;
	if (o->format == FMT_LIVE) {
		R->key_index = R->npaths;
		jpath_parse(&R->path[R->npaths++], o->live_key);
		R->live_screen = term_capable(STDOUT_FILENO);
	}
	R->style.indent = o->format == FMT_PRETTY ? o->indent : 0;
	R->style.color = o->color == COLOR_ALWAYS ||
	    (o->color == COLOR_AUTO && tty && !(no_color && *no_color));
	/* Someone is watching, or --live promised it: every record goes out at once. */
	if (lw_init(&R->out, STDOUT_FILENO, 0, o->unbuffered || tty || o->format == FMT_LIVE) < 0)
		diag_exit(EX_OSERR, "out of memory");
}

static int
exit_status(const struct run *R, int status)
{
	int bad = dl_status(&R->dl, "left out");

	return bad != EX_OK ? bad : status;
}

int
main(int argc, char **argv)
{
	static struct options opt;
	static struct run R;
	int rc, status = EX_OK;

	diag_init("jfmt");
	if ((rc = parse_options(argc, argv, &opt)) != EX_OK)
		return rc == OPTS_DONE ? EX_OK : rc;
	stop_init();
	cell_locale();
	setup_run(&R, &opt);
	if (dl_open(&R.dl, opt.errors_path, '\n', opt.strict, NULL) < 0)
		diag_exit(EX_CANTCREAT, "--errors %s: %s", opt.errors_path, strerror(errno));
	if (R.live_screen && term_enter(STDOUT_FILENO) < 0)
		diag_exit(EX_IOERR, "stdout: %s", strerror(errno));
	R.dirty = R.live_screen;	/* an empty view at once: jfmt is waiting, not stuck */

	for (int i = 0; i < (opt.ninputs ? opt.ninputs : 1); i++) {
		const char *path = opt.ninputs ? opt.inputs[i] : "-";
		struct lreader r;

		if (lr_open(&r, path, '\n', 0) < 0) {
			diag_err("%s: %s", path, strerror(errno));
			status = EX_NOINPUT;
			continue;
		}
		rc = read_input(&R, &r);
		lr_close(&r);
		if (rc < 0)
			break;
	}
	/* The end of the input, a stop, --strict or a closed stdout: what is held back goes out. */
	if (!R.out.err && !R.live_screen)
		end_sample(&R);
	if (R.live_screen) {
		if (R.dirty && !R.out.err)
			live_draw(&R, true);
		lw_flush(&R.out);
		term_leave();
		/* The last view stays on the normal screen. */
		if (R.latest.n > 0 && !R.out.err)
			live_draw(&R, false);
	}
	if (lw_flush(&R.out) < 0 && R.out.err != EPIPE)
		diag_exit(EX_IOERR, "stdout: %s", strerror(R.out.err));
	diag_info("%" PRIu64 " records, %llu bad", R.records, R.dl.bad);
	diag_badline_flush();
	dl_close(&R.dl);
	status = exit_status(&R, status);
	changelog_free(&R.latest);
	table_free(&R.t);
	free(R.sample.p);
	free(R.sample_len);
	free(R.text.p);
	for (size_t i = 0; i < opt.nfields; i++)
		free(R.field_key[i]);
	for (size_t i = 0; i < opt.nfields_args; i++)
		free(opt.fields_arg[i]);
	lw_free(&R.out);
	return status;
}

/*
 * jagg: streaming group-by aggregation of NDJSON records, exact and
 * restartable: the seed's Spark Structured Streaming job as a filter.
 *
 *   ksub -t financial_transactions -o @state.json --envelope \
 *     | jagg -g merchantId totalAmount=sum:amount transactionCount=count --checkpoint state.json
 *
 * Each line is checked whole by jscan, which also picks out the fields
 * the spec names; nothing else is decoded. Sums are exact decimals
 * (src/lib/dec.h). With envelopes (DESIGN.md, Contract 3) jagg keeps the
 * next offset of every partition beside its state and skips what it has
 * already absorbed; the checkpoint holds both, so `ksub -o @FILE` and a
 * restarted jagg agree on where the state ends.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "agg/agg.h"
#include "lib/diag.h"
#include "lib/jsonw.h"
#include "lib/opts.h"
#include "lib/stop.h"

#define CHECKPOINT_INTERVAL_S 10.0	/* like the seed's Spark checkpoint */
#define CLOCK_EVERY 256			/* records between looks at the clock */
#define ENV_FIXED 6			/* envelope members looked for, before the fields */

enum input_kind { INPUT_AUTO, INPUT_RECORDS, INPUT_ENVELOPES };

struct options {
	struct spec spec;
	enum emit_mode mode;
	uint64_t every;			/* --every N records; 0: off */
	double interval;		/* --interval, seconds; 0: off */
	const char *checkpoint;
	double checkpoint_interval;
	enum input_kind input;
	const char *errors_path;
	bool strict;
	bool unbuffered;
};

/* The run: options, state, and the per-line scratch of the hot path. */
struct run {
	const struct options *o;
	struct state st;
	enum input_kind input;		/* decided by the first line when auto */
	struct jpath paths[JSCAN_MAX_PATHS];
	char *pathtext[JSCAN_MAX_PATHS];	/* "value.x" strings the envelope paths point into */
	size_t npaths;
	bool need_num[JSCAN_MAX_PATHS];	/* fields that feed sums or the clock */
	struct fieldval vals[JSCAN_MAX_PATHS];
	char *arena;			/* canonical forms of escaped strings */
	size_t arenacap;
	struct lwriter out, dead;
	bool have_dead;
	uint64_t since_trigger;		/* records absorbed since the last trigger */
	uint64_t bad_unsaved;		/* bad lines that went nowhere */
	double next_trigger, next_checkpoint;
};

static const char usage_text[] =
	"usage: jagg [-g field[,field...]] [--mode update|complete|final] [--every N]\n"
	"            [--interval time] [--window size[,slide] --time-field field\n"
	"            [--time-unit s|ms] [--watermark time]] [--checkpoint file]\n"
	"            [--checkpoint-interval time] [--envelope | --no-envelope]\n"
	"            [--errors file] [--strict] [-u] [-qv] [--log-format text|json]\n"
	"            aggregate ...\n";

static void
help(void)
{
	fputs(usage_text, stdout);
	fputs("\nRead NDJSON records (or ksub --envelope lines) on stdin; write one aggregate\n"
	    "record per group and trigger on stdout. An aggregate is NAME=FUNC:FIELD,\n"
	    "FUNC:FIELD (named FUNC_FIELD) or count; FUNC is count, sum, min, max, avg,\n"
	    "first, last or count_distinct. Sums are exact decimals.\n\n"
	    "  -g, --group-by FIELDS        group by these dotted paths (default: one group)\n"
	    "      --mode MODE              update (default): the groups changed since the\n"
	    "                               last trigger; complete: every group; final: once,\n"
	    "                               at the end of input\n"
	    "      --every N                trigger every N records\n"
	    "      --interval TIME          trigger every TIME (e.g. 1s, 500ms)\n"
	    "                               (neither: trigger whenever the input goes idle)\n"
	    "      --window SIZE[,SLIDE]    event-time windows, tumbling or sliding\n"
	    "      --time-field FIELD       the event time (needed with --window)\n"
	    "      --time-unit s|ms         its unit (default s)\n"
	    "      --watermark TIME         how late a record may come (default 0)\n"
	    "      --checkpoint FILE        load state from FILE, save it there\n"
	    "      --checkpoint-interval TIME  how often (default 10s); also at exit\n"
	    "      --envelope               input lines are envelopes (default: as the first\n"
	    "                               line looks); --no-envelope: they are records\n"
	    "      --errors FILE            append bad and late lines to FILE\n"
	    "      --strict                 stop at the first bad line (exit 65)\n"
	    "  -u                           flush output after every record\n"
	    "  -q, --quiet                  print errors only\n"
	    "  -v, --verbose                more messages (-vv: debugging)\n"
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

static void settle_paths(struct run *R);

/* --- the record at hand --- */

/* A bad line: counted, reported, dead-lettered; fatal under --strict. */
static int
bad_line(struct run *R, const struct line *l, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int
bad_line(struct run *R, const struct line *l, const char *fmt, ...)
{
	char reason[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	R->st.bad++;
	diag_badline("stdin", l->no, "%s", reason);
	if (R->have_dead && l->data) {
		if (lw_write(&R->dead, l->data, l->len) < 0 || lw_write(&R->dead, "\n", 1) < 0 ||
		    lw_flush(&R->dead) < 0)
			diag_exit(EX_IOERR, "--errors %s: %s", R->o->errors_path, strerror(R->dead.err));
	} else {
		R->bad_unsaved++;
	}
	return R->o->strict ? -1 : 0;
}

/* Room in the arena for n more bytes of canonical strings. */
static int
arena_reserve(struct run *R, size_t n)
{
	if (n <= R->arenacap)
		return 0;
	free(R->arena);
	if (!(R->arena = malloc(n)))
		return R->arenacap = 0, -1;
	R->arenacap = n;
	return 0;
}

/*
 * The field values of a record from its spans. Strings with escapes are
 * rewritten in one canonical form ("\u0041" and "A" are one group).
 * Returns 0, or -1 with *why (a static or R-owned message).
 */
static int
take_fields(struct run *R, const struct jspan *sp, const char **why, char *whybuf, size_t whysize)
{
	const struct spec *s = &R->o->spec;
	size_t need = 0, used = 0;

	for (size_t i = 0; i < s->nfields; i++)
		if (sp[i].type == JT_STRING && memchr(sp[i].p, '\\', sp[i].len))
			need += sp[i].len + jw_string_max(sp[i].len);
	if (need && arena_reserve(R, need) < 0)
		return *why = "out of memory", -1;
	for (size_t i = 0; i < s->nfields; i++) {
		struct fieldval *v = &R->vals[i];
		enum dec_status ds;

		v->type = sp[i].type;
		v->p = sp[i].p;
		v->len = sp[i].len;
		if (v->type == JT_NONE) {
			snprintf(whybuf, whysize, "no field %s", s->field[i]);
			return *why = whybuf, -1;
		}
		if (R->need_num[i]) {
			if (v->type != JT_NUMBER) {
				static const char *const what[] = {
					[JT_NULL] = "null", [JT_FALSE] = "false", [JT_TRUE] = "true",
					[JT_STRING] = "a string", [JT_ARRAY] = "an array", [JT_OBJECT] = "an object",
				};

				snprintf(whybuf, whysize, "%s is %s, not a number", s->field[i], what[v->type]);
				return *why = whybuf, -1;
			}
			if ((ds = dec_parse(&v->num, v->p, v->len)) != DEC_OK) {
				snprintf(whybuf, whysize, "%s: %s", s->field[i], dec_strerror(ds));
				return *why = whybuf, -1;
			}
		} else if (v->type == JT_STRING && memchr(v->p, '\\', v->len)) {
			char *raw = R->arena + used;
			size_t n = jscan_string(&sp[i], raw);

			v->p = raw + n;
			v->len = jw_string((char *)v->p, raw, n);
			used += n + v->len;
		}
	}
	return 0;
}

static long long
event_time(const struct run *R, const char **why, char *whybuf, size_t whysize)
{
	const struct spec *s = &R->o->spec;
	long long ms;

	if (dec_to_i64(&R->vals[s->time_slot].num, s->unit_ms == 1 ? 0 : 3, &ms) != DEC_OK) {
		snprintf(whybuf, whysize, "%s: not a time jagg can hold", s->time_field);
		*why = whybuf;
		return LLONG_MIN;
	}
	return ms;
}

/* A whole number >= 0 that fits in max, from a number span. */
static int
span_uint(const struct jspan *v, long long max, long long *out)
{
	long long n = 0;

	if (v->type != JT_NUMBER || v->len == 0 || v->len > 19)
		return -1;
	for (size_t i = 0; i < v->len; i++) {
		if (v->p[i] < '0' || v->p[i] > '9')
			return -1;
		n = n * 10 + (v->p[i] - '0');
	}
	if (n > max)
		return -1;
	*out = n;
	return 0;
}

static bool
root_is_object(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
			return s[i] == '{';
	return false;
}

/* Would this (valid JSON) line be an envelope? Decides --envelope's default. */
static bool
looks_like_envelope(const struct jspan *sp)
{
	return sp[0].type == JT_STRING && sp[1].type == JT_NUMBER && sp[2].type == JT_NUMBER &&
	    (sp[3].type != JT_NONE || sp[4].type != JT_NONE || sp[5].type != JT_NONE);
}

/*
 * One input line. Returns 0, or -1 when the run must stop (--strict).
 * Envelope paths: topic, partition, offset, value, value_text,
 * value_base64, then value.<field>; record paths: the fields.
 */
static int
process(struct run *R, const struct line *l)
{
	const struct spec *s = &R->o->spec;
	struct jspan sp[JSCAN_MAX_PATHS];
	struct jscan_error err;
	const char *why;
	char whybuf[320];
	long long event_ms = 0, offset = 0, partition, *next = NULL;
	const struct jspan *fields = sp;
	int rc;

	if (jscan(l->data, l->len, R->paths, R->npaths, sp, &err) < 0)
		return bad_line(R, l, "not JSON: %s at byte %zu", err.reason, err.offset + 1);
	if (!root_is_object(l->data, l->len))
		return bad_line(R, l, "not a JSON object");
	if (R->input == INPUT_AUTO) {
		/* The first object settles it; records need their fields at the top. */
		R->input = looks_like_envelope(sp) ? INPUT_ENVELOPES : INPUT_RECORDS;
		diag_info("stdin: reading %s", R->input == INPUT_ENVELOPES ? "envelopes" : "records");
		if (R->input == INPUT_RECORDS) {
			settle_paths(R);
			jscan(l->data, l->len, R->paths, R->npaths, sp, &err);
		}
	}
	if (R->input == INPUT_ENVELOPES) {
		char topic[1024];
		size_t tlen;

		if (sp[0].type != JT_STRING || sp[0].len > sizeof(topic) ||
		    span_uint(&sp[1], INT32_MAX, &partition) < 0 || span_uint(&sp[2], INT64_MAX, &offset) < 0)
			return bad_line(R, l, "not an envelope: no topic, partition or offset");
		tlen = jscan_string(&sp[0], topic);
		if (!(next = offsets_slot(R->st.offsets, topic, tlen, (int32_t)partition)))
			diag_exit(EX_OSERR, "out of memory");
		if (*next >= 0 && offset < *next) {
			/* Absorbed before (a restart re-read it): once is enough. */
			R->st.duplicates++;
			return 0;
		}
		/* From here on the line is absorbed or dead-lettered: either way, done with. */
		*next = offset + 1;
		if (sp[3].type != JT_OBJECT)
			return bad_line(R, l, "%.*s [%lld] offset %lld: the value is %s, not a JSON object",
			    (int)tlen, topic, partition, offset, sp[3].type == JT_NONE ?
			    (sp[4].type ? "text" : "binary") : jtype_name(sp[3].type));
		fields = sp + ENV_FIXED;
	}
	if (take_fields(R, fields, &why, whybuf, sizeof(whybuf)) < 0)
		return bad_line(R, l, "%s", why);
	if (s->windowed && (event_ms = event_time(R, &why, whybuf, sizeof(whybuf))) == LLONG_MIN)
		return bad_line(R, l, "%s", why);
	if ((rc = state_absorb(&R->st, R->vals, event_ms, &why)) < 0) {
		if (strcmp(why, "out of memory") == 0)
			diag_exit(EX_OSERR, "out of memory");
		return bad_line(R, l, "%s", why);
	}
	if (rc == 1) {
		/* Late: its windows are gone. Reported and kept, not a bad line. */
		R->st.late++;
		diag_badline("stdin", l->no, "late: %s %lld is behind the watermark %lld", s->time_field,
		    event_ms / s->unit_ms, state_watermark(&R->st) / s->unit_ms);
		if (R->have_dead && (lw_write(&R->dead, l->data, l->len) < 0 ||
		    lw_write(&R->dead, "\n", 1) < 0 || lw_flush(&R->dead) < 0))
			diag_exit(EX_IOERR, "--errors %s: %s", R->o->errors_path, strerror(R->dead.err));
		return 0;
	}
	R->st.records++;
	R->since_trigger++;
	return 0;
}

/* --- triggers and checkpoints --- */

static void
trigger(struct run *R, bool final)
{
	double t0 = mono_now();
	long n = state_trigger(&R->st, R->o->mode, final, &R->out);

	if (n < 0 || lw_flush(&R->out) < 0) {
		if (R->out.err == EPIPE)
			return;	/* the reader left; main() ends quietly */
		diag_exit(EX_IOERR, "stdout: %s", strerror(R->out.err));
	}
	diag_debug("trigger: %ld records in %.3f s", n, mono_now() - t0);
	R->since_trigger = 0;
	if (R->o->interval > 0)
		R->next_trigger = mono_now() + R->o->interval;
}

static void
checkpoint(struct run *R)
{
	double t0 = mono_now();

	if (!R->o->checkpoint)
		return;
	if (checkpoint_save(&R->st, R->o->checkpoint) < 0)
		diag_exit(EX_CANTCREAT, "--checkpoint %s: cannot write it: %s", R->o->checkpoint, strerror(errno));
	diag_debug("checkpoint: %zu groups in %.3f s", R->st.count, mono_now() - t0);
	R->next_checkpoint = mono_now() + R->o->checkpoint_interval;
}

/* Milliseconds until the next timed event, or -1 for none. */
static int
wait_ms(const struct run *R)
{
	double next = 0, now = mono_now(), ms;

	if (R->o->interval > 0)
		next = R->next_trigger;
	if (R->o->checkpoint && (next == 0 || R->next_checkpoint < next))
		next = R->next_checkpoint;
	if (next == 0)
		return -1;
	ms = (next - now) * 1000;
	return ms <= 0 ? 0 : ms > INT_MAX ? INT_MAX : (int)ms + 1;
}

static void
timed_events(struct run *R)
{
	double now = mono_now();

	if (R->o->interval > 0 && now >= R->next_trigger)
		trigger(R, false);
	if (R->o->checkpoint && now >= R->next_checkpoint)
		checkpoint(R);
}

/* The main loop: returns when the input ends or a stop (or --strict) ends it. */
static void
run_loop(struct run *R, struct lreader *r)
{
	const struct options *o = R->o;
	bool on_idle = o->every == 0 && o->interval == 0 && o->mode != MODE_FINAL;
	unsigned tick = 0;
	struct line l;

	for (;;) {
		/* Idle triggers ask "is there more right now?" only when there is something to say. */
		int timeout = on_idle && R->st.ndirty > 0 ? 0 : wait_ms(R);
		enum lr_status s = lr_next_wait(r, &l, timeout);

		if (s == LR_TIMEOUT) {
			if (on_idle && R->st.ndirty > 0)
				trigger(R, false);
			timed_events(R);
			continue;
		}
		if (s == LR_EOF)
			return;
		if (s == LR_ERROR)
			diag_exit(EX_IOERR, "stdin: %s", strerror(errno));
		if (s == LR_TOOLONG) {
			struct line none = { NULL, 0, l.no };

			if (bad_line(R, &none, "a line of %zu bytes is longer than jagg reads (%u MB); skipped",
			    l.len, LR_DEFAULT_MAX >> 20) < 0)
				return;
			continue;
		}
		if (s == LR_CUT) {
			bad_line(R, &l, "cut short: the stop came before its end of line");
			return;
		}
		if (l.len == 0)
			continue;	/* Contract 1: an empty line is skipped */
		if (process(R, &l) < 0)
			return;
		if (o->every && R->since_trigger >= o->every)
			trigger(R, false);
		if (++tick % CLOCK_EVERY == 0)
			timed_events(R);
		if (R->out.err == EPIPE)
			return;
	}
}

/* --- setting up --- */

/* Paths for the scanner: the fields, inside "value" for envelopes. */
static void
make_paths(struct run *R)
{
	const struct spec *s = &R->o->spec;
	static const char *const fixed[ENV_FIXED] = {
		"topic", "partition", "offset", "value", "value_text", "value_base64",
	};
	size_t base = R->input == INPUT_RECORDS ? 0 : ENV_FIXED;

	for (size_t i = 0; i < ENV_FIXED && base; i++)
		jpath_parse(&R->paths[i], fixed[i]);
	for (size_t i = 0; i < s->nfields; i++) {
		size_t n = strlen(s->field[i]) + sizeof("value.");
		char *t = malloc(n);

		if (!t)
			diag_exit(EX_OSERR, "out of memory");
		snprintf(t, n, "%s%s", base ? "value." : "", s->field[i]);
		R->pathtext[i] = t;
		jpath_parse(&R->paths[base + i], t);	/* checked in spec_add_agg */
		R->need_num[i] = false;
	}
	for (size_t i = 0; i < s->nagg; i++)
		if (s->agg[i].func == AF_SUM || s->agg[i].func == AF_AVG || s->agg[i].func == AF_MIN ||
		    s->agg[i].func == AF_MAX)
			R->need_num[s->agg[i].slot] = true;
	if (s->windowed)
		R->need_num[s->time_slot] = true;
	R->npaths = base + s->nfields;
}

/*
 * Auto-detection reads the envelope members too; once the first line has
 * decided, records mode needs only the fields (paths shift down).
 */
static void
settle_paths(struct run *R)
{
	if (R->input != INPUT_RECORDS || R->npaths == R->o->spec.nfields)
		return;
	for (size_t i = 0; i < R->o->spec.nfields; i++)
		jpath_parse(&R->paths[i], R->pathtext[i] + sizeof("value.") - 1);
	R->npaths = R->o->spec.nfields;
}

/* "SIZE[,SLIDE]" in whole units of the time field. */
static int
parse_window(struct spec *s, const char *arg)
{
	char *copy = strdup(arg), *comma = copy ? strchr(copy, ',') : NULL;
	double size, slide;
	int rc = -1;

	if (comma)
		*comma = '\0';
	if (copy && opts_duration(copy, &size) == 0 && size > 0 &&
	    (!comma || (opts_duration(comma + 1, &slide) == 0 && slide > 0))) {
		s->size_ms = (long long)(size * 1000 + 0.5);
		s->slide_ms = comma ? (long long)(slide * 1000 + 0.5) : s->size_ms;
		rc = 0;
	}
	free(copy);
	return rc;
}

enum {
	OPT_MODE = OPT_PRIVATE, OPT_EVERY, OPT_INTERVAL, OPT_WINDOW, OPT_TIME_FIELD, OPT_TIME_UNIT,
	OPT_WATERMARK, OPT_CHECKPOINT, OPT_CHECKPOINT_INTERVAL, OPT_ENVELOPE, OPT_NO_ENVELOPE,
	OPT_ERRORS, OPT_STRICT,
};

static int
parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "group-by", required_argument, NULL, 'g' },
		{ "mode", required_argument, NULL, OPT_MODE },
		{ "every", required_argument, NULL, OPT_EVERY },
		{ "interval", required_argument, NULL, OPT_INTERVAL },
		{ "window", required_argument, NULL, OPT_WINDOW },
		{ "time-field", required_argument, NULL, OPT_TIME_FIELD },
		{ "time-unit", required_argument, NULL, OPT_TIME_UNIT },
		{ "watermark", required_argument, NULL, OPT_WATERMARK },
		{ "checkpoint", required_argument, NULL, OPT_CHECKPOINT },
		{ "checkpoint-interval", required_argument, NULL, OPT_CHECKPOINT_INTERVAL },
		{ "envelope", no_argument, NULL, OPT_ENVELOPE },
		{ "no-envelope", no_argument, NULL, OPT_NO_ENVELOPE },
		{ "errors", required_argument, NULL, OPT_ERRORS },
		{ "strict", no_argument, NULL, OPT_STRICT },
		OPTS_COMMON_LONG,
		{ NULL, 0, NULL, 0 },
	};
	struct spec *s = &o->spec;
	const char *window = NULL, *unit = "s", *why;
	double watermark = 0;
	int c, r;

	o->checkpoint_interval = CHECKPOINT_INTERVAL_S;
	while ((c = getopt_long(argc, argv, "g:u" OPTS_COMMON_SHORT, longopts, NULL)) != -1) {
		switch (c) {
		case 'g':
			if (spec_set_group(s, optarg, &why) < 0)
				return diag_err("-g '%s': %s", optarg, why), EX_USAGE;
			break;
		case 'u':
			o->unbuffered = true;
			break;
		case OPT_MODE:
			if (strcmp(optarg, "update") == 0)
				o->mode = MODE_UPDATE;
			else if (strcmp(optarg, "complete") == 0)
				o->mode = MODE_COMPLETE;
			else if (strcmp(optarg, "final") == 0)
				o->mode = MODE_FINAL;
			else
				return diag_err("--mode: '%s' is not update, complete or final", optarg), EX_USAGE;
			break;
		case OPT_EVERY:
			if (opts_uint(optarg, 1, UINT64_MAX, &o->every) < 0)
				return diag_err("--every: '%s' is not a number of records", optarg), EX_USAGE;
			break;
		case OPT_INTERVAL:
			if (opts_duration(optarg, &o->interval) < 0 || o->interval <= 0)
				return diag_err("--interval: '%s' is not a duration", optarg), EX_USAGE;
			break;
		case OPT_WINDOW:
			window = optarg;
			if (parse_window(s, optarg) < 0)
				return diag_err("--window: '%s' is not SIZE or SIZE,SLIDE (durations)", optarg),
				    EX_USAGE;
			break;
		case OPT_TIME_FIELD:
			free(s->time_field);
			if (!(s->time_field = strdup(optarg)))
				return EX_OSERR;
			break;
		case OPT_TIME_UNIT:
			if (strcmp(optarg, "s") != 0 && strcmp(optarg, "ms") != 0)
				return diag_err("--time-unit: '%s' is not s or ms", optarg), EX_USAGE;
			unit = optarg;
			break;
		case OPT_WATERMARK:
			if (opts_duration(optarg, &watermark) < 0)
				return diag_err("--watermark: '%s' is not a duration", optarg), EX_USAGE;
			break;
		case OPT_CHECKPOINT:
			o->checkpoint = optarg;
			break;
		case OPT_CHECKPOINT_INTERVAL:
			if (opts_duration(optarg, &o->checkpoint_interval) < 0 || o->checkpoint_interval <= 0)
				return diag_err("--checkpoint-interval: '%s' is not a duration", optarg), EX_USAGE;
			break;
		case OPT_ENVELOPE:
			o->input = INPUT_ENVELOPES;
			break;
		case OPT_NO_ENVELOPE:
			o->input = INPUT_RECORDS;
			break;
		case OPT_ERRORS:
			o->errors_path = optarg;
			break;
		case OPT_STRICT:
			o->strict = true;
			break;
		default:
			if ((r = opts_default(c, optarg, help)) != OPTS_HANDLED)
				return r == EX_USAGE ? usage() : r;
		}
	}
	for (int i = optind; i < argc; i++)
		if (spec_add_agg(s, argv[i], &why) < 0)
			return diag_err("'%s': %s", argv[i], why), EX_USAGE;
	if (window || s->time_field) {
		if (!window || !s->time_field)
			return diag_err("--window and --time-field go together"), EX_USAGE;
		s->windowed = true;
		s->unit_ms = strcmp(unit, "ms") == 0 ? 1 : 1000;
		s->delay_ms = (long long)(watermark * 1000 + 0.5);
		if (s->size_ms % s->unit_ms || s->slide_ms % s->unit_ms || s->delay_ms % s->unit_ms)
			return diag_err("--window and --watermark must be whole %s with --time-unit %s",
			    unit[0] == 's' ? "seconds" : "milliseconds", unit), EX_USAGE;
		if (s->slide_ms > s->size_ms || s->size_ms / s->slide_ms > JAGG_MAX_WINDOWS)
			return diag_err("--window: the slide must be at most the size, and the size at most "
			    "%d slides", JAGG_MAX_WINDOWS), EX_USAGE;
	} else if (watermark > 0) {
		return diag_err("--watermark needs --window"), EX_USAGE;
	}
	if (spec_finish(s, &why) < 0)
		return diag_err("%s", why), usage();
	return EX_OK;
}

static int
exit_status(const struct run *R)
{
	if (R->bad_unsaved > 0) {
		diag_err("%" PRIu64 " bad line%s left out (--errors FILE keeps them)", R->bad_unsaved,
		    R->bad_unsaved == 1 ? "" : "s");
		return EX_DATAERR;
	}
	if (R->st.bad > 0 && R->o->strict)
		return EX_DATAERR;
	return EX_OK;
}

int
main(int argc, char **argv)
{
	static struct options opt;
	static struct run R;
	struct lreader r;
	int rc, fd;

	diag_init("jagg");
	if ((rc = parse_options(argc, argv, &opt)) != EX_OK)
		return rc == OPTS_DONE ? EX_OK : rc;
	stop_init();
	R.o = &opt;
	R.input = opt.input;
	if (state_init(&R.st, &opt.spec) < 0 || lw_init(&R.out, STDOUT_FILENO, 0, opt.unbuffered) < 0)
		diag_exit(EX_OSERR, "out of memory");
	if (opt.checkpoint) {
		bool mismatch;
		char why[1024];

		if ((rc = checkpoint_load(&R.st, opt.checkpoint, &mismatch, why, sizeof(why))) < 0)
			diag_exit(mismatch ? EX_CONFIG : EX_DATAERR, "--checkpoint %s: %s", opt.checkpoint, why);
		if (rc > 0)
			diag_info("%s: resuming with %zu groups and the offsets of %zu partitions", opt.checkpoint,
			    R.st.count, offsets_count(R.st.offsets));
		/* Saved offsets mean envelopes, whatever the first line looks like. */
		if (rc > 0 && offsets_count(R.st.offsets) > 0 && R.input == INPUT_AUTO)
			R.input = INPUT_ENVELOPES;
	}
	if (opt.errors_path) {
		if ((fd = open(opt.errors_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666)) < 0)
			diag_exit(EX_CANTCREAT, "--errors %s: %s", opt.errors_path, strerror(errno));
		lw_init(&R.dead, fd, 0, false);
		R.have_dead = true;
	}
	make_paths(&R);
	R.next_trigger = mono_now() + opt.interval;
	R.next_checkpoint = mono_now() + opt.checkpoint_interval;
	lr_init_fd(&r, STDIN_FILENO, "-", '\n', 0);

	run_loop(&R, &r);
	/* End of input, a stop or --strict: the last word, then the state that goes with it. */
	if (R.out.err != EPIPE)
		trigger(&R, true);
	checkpoint(&R);
	diag_info("%llu records, %llu bad, %llu late, %llu duplicates skipped, %zu groups", R.st.records, R.st.bad,
	    R.st.late, R.st.duplicates, R.st.count);
	diag_badline_flush();
	if (R.have_dead && lw_flush(&R.dead) < 0)
		diag_exit(EX_IOERR, "--errors %s: %s", opt.errors_path, strerror(R.dead.err));
	rc = exit_status(&R);
	lr_close(&r);
	lw_free(&R.out);
	lw_free(&R.dead);
	state_free(&R.st);
	for (size_t i = 0; i < opt.spec.nfields; i++)
		free(R.pathtext[i]);
	free(R.arena);
	spec_free(&opt.spec);
	return rc;
}

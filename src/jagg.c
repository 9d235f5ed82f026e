/*
 * jagg: streaming group-by aggregation of NDJSON records, exact and
 * restartable: the seed's Spark Structured Streaming job as a filter.
 *
 *   ksub -t financial_transactions -o @state.json --envelope \
 *     | jagg -g merchantId totalAmount=sum:amount transactionCount=count --checkpoint state.json
 *
 * Each line is checked whole by jscan, which also picks out the fields
 * the spec names; nothing else is decoded. Sums are exact decimals
 * (src/lib/dec.h). With envelopes (txstream(7), Envelope) jagg keeps the
 * next offset of every partition beside its state and skips what it has
 * already absorbed; the checkpoint holds both, so `ksub -o @FILE` and a
 * restarted jagg agree on where the state ends.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdatomic.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "agg/agg.h"
#include "lib/deadletter.h"
#include "lib/diag.h"
#include "lib/jsonw.h"
#include "lib/metrics.h"
#include "lib/opts.h"
#include "lib/stop.h"

#define CHECKPOINT_INTERVAL_S 10.0	/* like the seed's Spark checkpoint */
#define GAUGES_EVERY_S 1.0		/* state gauges are refreshed at least this often */
#define BATCH_MAX 4096			/* lines scanned together, by two threads */
#define READ_BUFFER (1u << 20)		/* bytes: room for a batch of seed records */

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
	const char *metrics_addr;
};

/* What jagg tells Prometheus; see METRICS in jagg(1). */
struct jagg_metrics {
	struct metric *in, *bytes_in, *out, *late, *duplicates, *groups, *windows, *watermark;
	struct metric *checkpoint_age, *checkpoint_duration, *checkpoints, *trigger;
};

/* The run: options, state, and the batch of lines at hand. */
struct run {
	struct jagg_metrics m;
	const struct options *o;
	struct state st;
	struct scanner sc;
	struct scanpool pool;
	struct scanned *batch;		/* BATCH_MAX lines */
	struct fieldval *vals;		/* BATCH_MAX × nfields */
	struct lwriter out;
	struct deadletter dl;		/* bad lines; --errors */
	uint64_t since_trigger;		/* records absorbed since the last trigger */
	double next_trigger, next_checkpoint, next_gauges;
};

static const char usage_text[] =
	"usage: jagg [-g field[,field...]] [--mode update|complete|final] [--every N]\n"
	"            [--interval time] [--window size[,slide] --time-field field\n"
	"            [--time-unit s|ms] [--watermark time]] [--checkpoint file]\n"
	"            [--checkpoint-interval time] [--envelope | --no-envelope]\n"
	"            [--errors file] [--strict] [-u] [-qv] [--log-format text|json]\n"
	"            [--metrics-addr addr] aggregate ...\n";

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
	    "      --metrics-addr ADDR      serve Prometheus metrics on http://ADDR/metrics\n"
	    "      --help                   this help\n"
	    "      --version                the version\n", stdout);
}

static int
usage(void)
{
	fputs(usage_text, stderr);
	return EX_USAGE;
}

/* --- the record at hand --- */

/*
 * The part of a line's work that needs the state, in input order.
 * Returns 0, or -1 when the run must stop (--strict).
 */
static int
apply_line(struct run *R, struct scanned *s)
{
	const struct spec *spec = &R->o->spec;
	long long *next = NULL, *src_next = NULL;
	const char *why = s->whybuf;
	int rc = -1;

	if (s->has_offset) {
		if (!(next = offsets_slot(R->st.offsets, s->topic, s->topic_len, (int32_t)s->partition)))
			diag_exit(EX_OSERR, "out of memory");
		if (*next >= 0 && s->offset < *next) {
			/* Absorbed before (a restart re-read it): once is enough. */
			R->st.duplicates++;
			metric_inc(R->m.duplicates);
			return 0;
		}
	}
	if (s->has_source) {
		char key[2 * SCAN_TOPIC_MAX + 32];
		int n = snprintf(key, sizeof(key), "%.*s@%.*s/%lld", (int)s->src_topic_len, s->src_topic,
		    (int)s->topic_len, s->topic, s->partition);

		if (!(src_next = offsets_slot(R->st.source_offsets, key, (size_t)n, (int32_t)s->src_partition)))
			diag_exit(EX_OSERR, "out of memory");
		if (*src_next >= 0 && s->src_offset < *src_next) {
			/* Forwarded twice (the forwarder restarted): the first copy counted. */
			R->st.duplicates++;
			metric_inc(R->m.duplicates);
			*next = s->offset + 1;
			return 0;
		}
	}
	if (s->status == SCAN_OK && (rc = state_absorb(&R->st, s->vals, s->event_ms, &why)) < 0 &&
	    strcmp(why, "out of memory") == 0)
		diag_exit(EX_OSERR, "out of memory");
	if (rc < 0) {
		/* Stopping a --strict run, the line is not done with: a rerun meets it again. */
		if (dl_bad(&R->dl, "stdin", &s->line, s->status == SCAN_BAD ? s->kind : "sum_overflow", "%s", why) < 0)
			return -1;
	} else if (rc == 1) {
		/* Late: its windows are gone. Reported and kept, not a bad line. */
		R->st.late++;
		metric_inc(R->m.late);
		diag_badline("stdin", s->line.no, "late: %s %lld is behind the watermark %lld", spec->time_field,
		    s->event_ms / spec->unit_ms, state_watermark(&R->st) / spec->unit_ms);
		/* A late record the file cannot keep is not done with either. */
		if (R->dl.path && dl_keep(&R->dl, &(struct iovec){ (void *)s->line.data, s->line.len }, 1) < 0)
			return -1;
	} else {
		R->st.records++;
		R->since_trigger++;
	}
	/* Absorbed, late or dead-lettered: done with. */
	if (next)
		*next = s->offset + 1;
	if (src_next)
		*src_next = s->src_offset + 1;
	return 0;
}

/*
 * Until the first JSON object says whether the input is envelopes or
 * records, lines go one at a time; the one that decides is scanned again
 * the decided way.
 */
static void
settle_input(struct run *R, struct scanned *s)
{
	if (R->sc.input != INPUT_AUTO || s->status == SCAN_BAD)
		return;
	/* --envelope (or a checkpoint with offsets) rules records out, not nesting. */
	scanner_set_input(&R->sc, R->o->input == INPUT_ENVELOPES && s->looks_like == INPUT_RECORDS ?
	    INPUT_ENVELOPES : s->looks_like);
	diag_info("stdin: reading %s", R->sc.input == INPUT_NESTED ? "envelopes of forwarded envelopes" :
	    R->sc.input == INPUT_ENVELOPES ? "envelopes" : "records");
	scan_line(&R->sc, s);
}

/* --- metrics --- */

/* The monotonic time of the last checkpoint, as double bits: the scrape thread reads it. */
static _Atomic uint64_t last_checkpoint_bits;

static uint64_t
dbl_bits(double v)
{
	uint64_t b;

	memcpy(&b, &v, sizeof(b));
	return b;
}

static void
checkpoint_age(void *arg)
{
	uint64_t b = atomic_load(&last_checkpoint_bits);
	double t;

	memcpy(&t, &b, sizeof(t));
	metric_set(arg, b ? mono_now() - t : 0);
}

static void
register_metrics(struct run *R)
{
	struct jagg_metrics *m = &R->m;

	m->in = metric_counter("txstream_jagg_records_in_total", "Input lines read (empty lines aside).");
	m->bytes_in = metric_counter("txstream_jagg_bytes_in_total", "Input bytes read, newlines included.");
	m->out = metric_counter("txstream_jagg_records_out_total", "Aggregate records written.");
	m->late = metric_counter("txstream_jagg_late_records_total", "Records behind the watermark, not absorbed.");
	m->duplicates = metric_counter("txstream_jagg_duplicates_skipped_total",
	    "Envelopes below the offsets already absorbed, skipped.");
	m->groups = metric_gauge("txstream_jagg_groups", "Groups held in state (one per window and key).");
	/* Every reason jagg(1) lists, at 0 from the start: a rate has a series before the first. */
	static const char *const reasons[] = { "not_json", "not_object", "not_envelope", "value_not_object",
	    "missing_field", "not_a_number", "out_of_range", "sum_overflow", "too_long", "cut" };
	for (size_t i = 0; i < sizeof reasons / sizeof reasons[0]; i++)
		metric_counter_label("txstream_jagg_bad_records_total", "Bad input lines, by reason.",
		    "reason", reasons[i]);
	m->trigger = metric_new(METRIC_HISTOGRAM, "txstream_jagg_trigger_duration_seconds",
	    "Time to write one trigger's records.", NULL, metric_latency_buckets, metric_latency_nbuckets);
	/* Without --window, 0 both: a dashboard's panel shows none, not no data. */
	m->windows = metric_gauge("txstream_jagg_windows", "Event-time windows open in state.");
	m->watermark = metric_gauge("txstream_jagg_watermark_seconds",
	    "The watermark: greatest event time seen less the delay, seconds since the epoch.");
	if (R->o->checkpoint) {
		m->checkpoint_age = metric_gauge("txstream_jagg_checkpoint_age_seconds",
		    "Seconds since the last checkpoint was written.");
		m->checkpoint_duration = metric_gauge("txstream_jagg_checkpoint_duration_seconds",
		    "Time the last checkpoint took to write.");
		m->checkpoints = metric_counter("txstream_jagg_checkpoints_total", "Checkpoints written.");
		metrics_on_scrape(checkpoint_age, m->checkpoint_age);
	}
}

static int
by_value(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return (x > y) - (x < y);
}

/* State gauges, set by the main thread that owns the state. */
static void
update_gauges(struct run *R)
{
	const struct state *st = &R->st;
	long long *starts;
	size_t n = 0, distinct = 0;

	metric_set(R->m.groups, (double)st->count);
	if (!R->o->spec.windowed)
		return;
	if (st->have_event)
		metric_set(R->m.watermark, (double)state_watermark(st) / 1000);
	if (!(starts = malloc((st->count ? st->count : 1) * sizeof(*starts))))
		return;
	for (const struct group *g = st->first; g; g = g->next)
		starts[n++] = g->wstart;
	qsort(starts, n, sizeof(*starts), by_value);
	for (size_t i = 0; i < n; i++)
		distinct += i == 0 || starts[i] != starts[i - 1];
	free(starts);
	metric_set(R->m.windows, (double)distinct);
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
	metric_add(R->m.out, (uint64_t)n);
	metric_observe(R->m.trigger, mono_now() - t0);
	update_gauges(R);
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
	metric_inc(R->m.checkpoints);
	metric_set(R->m.checkpoint_duration, mono_now() - t0);
	atomic_store(&last_checkpoint_bits, dbl_bits(mono_now()));
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

	if (now >= R->next_gauges) {
		update_gauges(R);
		R->next_gauges = now + GAUGES_EVERY_S;
	}
	if (R->o->interval > 0 && now >= R->next_trigger)
		trigger(R, false);
	if (R->o->checkpoint && now >= R->next_checkpoint)
		checkpoint(R);
}

/*
 * The main loop: returns when the input ends or a stop (or --strict)
 * ends it. Lines come in batches of what is already buffered; a status
 * other than a line ends a batch and is dealt with after it, in order.
 */
static void
run_loop(struct run *R, struct lreader *r)
{
	const struct options *o = R->o;
	/* Final mode has nothing to say before the end, except windows that close. */
	bool on_idle = o->every == 0 && o->interval == 0 && (o->mode != MODE_FINAL || o->spec.windowed);
	struct line l;

	for (;;) {
		/* Idle triggers ask "is there more right now?" only when there is something to say. */
		int timeout = on_idle && R->st.ndirty > 0 ? 0 : wait_ms(R);
		enum lr_status s = lr_next_wait(r, &l, timeout), first = s;
		size_t n = 0, max = R->sc.input == INPUT_AUTO ? 1 : BATCH_MAX;

		while (s == LR_LINE) {
			if (l.len > 0) {	/* txstream(7), Record streams: an empty line is skipped */
				R->batch[n].line = l;
				R->batch[n].vals = R->vals + n * o->spec.nfields;
				n++;
			}
			if (n == max)
				break;
			s = lr_next_wait(r, &l, LR_NO_READ);
		}
		if (n > 0) {
			size_t bytes = 0;

			for (size_t i = 0; i < n; i++)
				bytes += R->batch[i].line.len + 1;
			metric_add(R->m.in, n);
			metric_add(R->m.bytes_in, bytes);
			scanpool_scan(&R->pool, R->batch, n);
			settle_input(R, &R->batch[0]);
			for (size_t i = 0; i < n; i++) {
				int rc = apply_line(R, &R->batch[i]);

				free(R->batch[i].heap);
				if (rc < 0) {
					while (++i < n)
						free(R->batch[i].heap);
					return;
				}
				if (o->every && R->since_trigger >= o->every)
					trigger(R, false);
			}
			timed_events(R);
			if (R->out.err == EPIPE)
				return;
			if (s == LR_LINE || s == LR_TIMEOUT)
				continue;	/* a full batch, or the end of the buffered lines */
		}
		if (s == LR_TIMEOUT) {
			if (on_idle && R->st.ndirty > 0 && first == LR_TIMEOUT)
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

			if (dl_bad(&R->dl, "stdin", &none, "too_long",
			    "a line of %zu bytes is longer than jagg reads (%u MB); skipped", l.len, LR_DEFAULT_MAX >> 20) < 0)
				return;
			continue;
		}
		if (s == LR_CUT) {
			/* An envelope's offset was not absorbed: the consumer delivers it again. */
			if (R->sc.input == INPUT_ENVELOPES || R->sc.input == INPUT_NESTED)
				diag_warn("stdin:%llu: the stop came mid-line; the message is not absorbed, and "
				    "is read again from the checkpoint's offsets", l.no);
			else
				dl_bad(&R->dl, "stdin", &l, "cut", "cut short: the stop came before its end of line");
			return;
		}
	}
}

/* --- setting up --- */

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
		OPTS_METRICS_LONG,
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
		case OPT_METRICS_ADDR:
			o->metrics_addr = optarg;
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

static void
count_bad(const char *reason)
{
	metric_inc(metric_counter_label("txstream_jagg_bad_records_total", "Bad input lines, by reason.",
	    "reason", reason));
}

static int
exit_status(const struct run *R)
{
	return dl_status(&R->dl, "left out");
}

int
main(int argc, char **argv)
{
	static struct options opt;
	static struct run R;
	struct lreader r;
	int rc;

	diag_init("jagg");
	if ((rc = parse_options(argc, argv, &opt)) != EX_OK)
		return rc == OPTS_DONE ? EX_OK : rc;
	stop_init();
	R.o = &opt;
	register_metrics(&R);
	if (metrics_serve_option(opt.metrics_addr) < 0)
		exit(EX_CONFIG);
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
		/* Written at once: a path that cannot be written fails now, not in 10 s. */
		checkpoint(&R);
		/* Saved offsets mean envelopes, whatever the first line looks like. */
		if (rc > 0 && offsets_count(R.st.offsets) > 0 && opt.input == INPUT_AUTO)
			opt.input = INPUT_ENVELOPES;
	}
	if (dl_open(&R.dl, opt.errors_path, '\n', opt.strict, count_bad) < 0)
		diag_exit(EX_CANTCREAT, "--errors %s: %s", opt.errors_path, strerror(errno));
	if (scanner_init(&R.sc, &opt.spec, opt.input == INPUT_RECORDS ? INPUT_RECORDS : INPUT_AUTO) < 0 ||
	    !(R.batch = calloc(BATCH_MAX, sizeof(*R.batch))) ||
	    !(R.vals = calloc(BATCH_MAX * opt.spec.nfields, sizeof(*R.vals))))
		diag_exit(EX_OSERR, "out of memory");
	if (scanpool_start(&R.pool, &R.sc) < 0)
		diag_warn("cannot start a helper thread: scanning in one");
	R.next_trigger = mono_now() + opt.interval;
	R.next_checkpoint = mono_now() + opt.checkpoint_interval;
	lr_init_fd(&r, STDIN_FILENO, "-", '\n', 0);
	r.initial_cap = READ_BUFFER;

	run_loop(&R, &r);
	/* End of input, a stop or --strict: the last word, then the state that goes with it. */
	if (R.out.err != EPIPE)
		trigger(&R, true);
	checkpoint(&R);
	diag_info("%llu records, %llu bad, %llu late, %llu duplicates skipped, %zu groups", R.st.records, R.dl.bad,
	    R.st.late, R.st.duplicates, R.st.count);
	diag_badline_flush();
	dl_close(&R.dl);
	rc = exit_status(&R);
	metrics_stop();
	lr_close(&r);
	lw_free(&R.out);
	state_free(&R.st);
	scanpool_stop(&R.pool);
	scanner_free(&R.sc);
	free(R.batch);
	free(R.vals);
	spec_free(&opt.spec);
	return rc;
}

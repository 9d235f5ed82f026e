/*
 * txgen: write the seed's financial transaction records (txstream(7),
 * Transaction record) as NDJSON on stdout, at a steady rate or as fast as
 * the pipe takes them.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>
#include <uuid/uuid.h>

#include "lib/diag.h"
#include "lib/jsonw.h"
#include "lib/lineio.h"
#include "lib/metrics.h"
#include "lib/opts.h"
#include "lib/stop.h"

#define DEFAULT_RATE 30.0	/* records/s: the seed's 3 producers x 10/s */
#define DEFAULT_USERS 100
#define DEFAULT_MERCHANTS 3
#define DEFAULT_LOCATIONS 50
#define DEFAULT_AMOUNT_MIN_CENTS 5000000	/* 50000.00 */
#define DEFAULT_AMOUNT_MAX_CENTS 15000000	/* 150000.00 */
#define AMOUNT_MAX_CENTS 100000000000000000ull	/* 10^15 units: far from overflow */
#define ID_MAX 1000000000ull	/* largest --users, --merchants, --locations */
#define RECORD_MAX 512		/* bytes: a record is about 250 */
#define FAST_BATCH 4096		/* records between clock checks at -r 0 */
#define BURST_SECONDS 0.1	/* token bucket depth, in seconds of rate */

struct options {
	uint64_t count;		/* 0: endless */
	double rate;		/* records/s; 0: as fast as possible */
	double duration;	/* seconds; 0: no limit */
	uint64_t seed;
	bool seeded;
	int64_t start_time;	/* unix seconds */
	bool simulated_time;
	double time_rate;	/* records per simulated second */
	uint64_t users, merchants, locations;
	uint64_t amount_min, amount_max;	/* cents */
	bool unbuffered;
	const char *metrics_addr;
};

enum {
	OPT_DURATION = OPT_PRIVATE,
	OPT_START_TIME,
	OPT_TIME_RATE,
	OPT_USERS,
	OPT_MERCHANTS,
	OPT_LOCATIONS,
	OPT_AMOUNT_MIN,
	OPT_AMOUNT_MAX,
};

static const char synopsis[] =
	"usage: txgen [-quv] [-n count] [-r rate] [-s seed] [--duration time]\n"
	"             [--start-time secs] [--time-rate rate] [--users N]\n"
	"             [--merchants N] [--locations N] [--amount-min amount]\n"
	"             [--amount-max amount] [--log-format text|json]\n"
	"             [--metrics-addr addr]\n";

static void
usage(void)
{
	fputs(synopsis, stderr);
}

static void
help(void)
{
	fputs(synopsis, stdout);
	fputs("\n"
	    "Write transaction records (one JSON object per line) on stdout.\n"
	    "\n"
	    "  -n, --count N          stop after N records (default: endless)\n"
	    "  -r, --rate R           records per second, fractions allowed;\n"
	    "                         0 = as fast as possible (default 30)\n"
	    "      --duration D       stop after D: N, Nms, Ns, Nm or Nh\n"
	    "  -s, --seed S           seed the generator: the same seed and\n"
	    "                         --start-time give the same bytes\n"
	    "      --start-time T     transactionTime starts at T (unix seconds)\n"
	    "                         and follows the simulated rate, not the clock\n"
	    "      --time-rate R      records per simulated second with --start-time\n"
	    "                         (default: the rate; 30 with -r 0)\n"
	    "      --users N          userId from user_1 to user_N (default 100)\n"
	    "      --merchants N      merchantId from merchant_1 to merchant_N (default 3)\n"
	    "      --locations N      location from location_1 to location_N (default 50)\n"
	    "      --amount-min A     smallest amount, at most two decimals (default 50000)\n"
	    "      --amount-max A     largest amount (default 150000)\n"
	    "  -u, --unbuffered       flush every record\n"
	    "  -q, --quiet            print errors only\n"
	    "  -v, --verbose          print more (the seed used, the totals)\n"
	    "      --log-format F     diagnostics as text (default) or json\n"
	    "      --metrics-addr ADDR  serve Prometheus metrics on http://ADDR/metrics\n"
	    "      --help             print this help and exit\n"
	    "      --version          print the version and exit\n", stdout);
}

/* xoshiro256**: fast, small state, and the same stream for the same seed. */
struct rng {
	uint64_t s[4];
};

static uint64_t
splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void
rng_seed(struct rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&seed);
}

static inline uint64_t
rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static inline uint64_t
rng_next(struct rng *r)
{
	uint64_t *s = r->s, result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

/* Uniform in [0, n): Lemire's multiply-shift; bias below n / 2^64. */
static inline uint64_t
rng_below(struct rng *r, uint64_t n)
{
	return (uint64_t)(((unsigned __int128)rng_next(r) * n) >> 64);
}

struct gen {
	const struct options *opt;
	struct rng rng;
	uint64_t made;		/* records written so far */
	int64_t now;		/* transactionTime when not simulated */
	struct metric *m_out, *m_bytes;	/* see METRICS in txgen(1) */
};

#define PUT(p, lit) (memcpy((p), (lit), sizeof(lit) - 1), (p) + sizeof(lit) - 1)

static const char *const payment_methods[] = { "credit-card", "paypal", "bank_transfer" };
static const char *const currencies[] = { "USD", "EUR", "GBP" };

/* One record at dst (RECORD_MAX bytes free); returns its length. */
static size_t
format_record(struct gen *g, char *dst)
{
	const struct options *o = g->opt;
	uint64_t words[2], cents;
	uuid_t uu;
	char *p = dst;
	const char *s;
	int64_t t;

	/* A version 4 UUID from the seeded stream, so --seed repeats it. */
	words[0] = rng_next(&g->rng);
	words[1] = rng_next(&g->rng);
	memcpy(uu, words, sizeof(uu));
	uu[6] = (unsigned char)((uu[6] & 0x0f) | 0x40);
	uu[8] = (unsigned char)((uu[8] & 0x3f) | 0x80);

	p = PUT(p, "{\"transactionId\":\"");
	uuid_unparse_lower(uu, p);	/* 36 characters and a NUL we overwrite */
	p += 36;
	p = PUT(p, "\",\"userId\":\"user_");
	p += jw_u64(p, 1 + rng_below(&g->rng, o->users));

	cents = o->amount_min + rng_below(&g->rng, o->amount_max - o->amount_min + 1);
	p = PUT(p, "\",\"amount\":");
	p += jw_u64(p, cents / 100);
	*p++ = '.';
	*p++ = (char)('0' + cents % 100 / 10);
	*p++ = (char)('0' + cents % 10);

	if (o->simulated_time)
		t = o->start_time + (int64_t)floor((double)g->made / o->time_rate);
	else
		t = g->now;
	p = PUT(p, ",\"transactionTime\":");
	p += jw_i64(p, t);
	p = PUT(p, ",\"merchantId\":\"merchant_");
	p += jw_u64(p, 1 + rng_below(&g->rng, o->merchants));
	p = PUT(p, "\",\"location\":\"location_");
	p += jw_u64(p, 1 + rng_below(&g->rng, o->locations));
	p = PUT(p, "\",\"paymentMethod\":\"");
	s = payment_methods[rng_below(&g->rng, 3)];
	memcpy(p, s, strlen(s));
	p += strlen(s);
	if (rng_next(&g->rng) >> 63)
		p = PUT(p, "\",\"isInternational\":true,\"currency\":\"");
	else
		p = PUT(p, "\",\"isInternational\":false,\"currency\":\"");
	memcpy(p, currencies[rng_below(&g->rng, 3)], 3);
	p += 3;
	p = PUT(p, "\"}\n");
	return (size_t)(p - dst);
}

/* Write n records. Returns -1 when the output failed. */
static int
write_records(struct gen *g, struct lwriter *w, uint64_t n)
{
	unsigned long long before = w->bytes;
	uint64_t made = g->made;
	int rc = 0;

	if (!g->opt->simulated_time)
		g->now = (int64_t)time(NULL);
	for (uint64_t i = 0; i < n; i++) {
		char *dst = lw_reserve(w, RECORD_MAX);

		if (!dst) {
			rc = -1;
			break;
		}
		lw_commit(w, format_record(g, dst));
		g->made++;
		if (lw_end_record(w) < 0) {
			rc = -1;
			break;
		}
	}
	/* Counted a batch at a time: an atomic add per record would show at 7 M records/s. */
	metric_add(g->m_out, g->made - made);
	metric_add(g->m_bytes, w->bytes - before);
	return rc;
}

static uint64_t
left(const struct gen *g)
{
	return g->opt->count ? g->opt->count - g->made : UINT64_MAX;
}

static uint64_t
min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/*
 * The main loop. At -r 0 it writes in batches and looks at the clock
 * between them. Otherwise a token bucket holds the rate over time: tokens
 * accrue at the rate, at most BURST_SECONDS' worth, so a stalled reader
 * does not earn a flood, and the sleep is until the next token, not a
 * fixed pause per line (which drifts by the time spent writing).
 */
static int
run(struct gen *g, struct lwriter *w)
{
	const struct options *o = g->opt;
	double start = mono_now(), deadline = o->duration > 0 ? start + o->duration : INFINITY;
	double burst = fmax(1.0, o->rate * BURST_SECONDS), tokens = 1.0, last = start;

	while (left(g) > 0 && !stop_requested()) {
		double now;
		uint64_t n;

		if (o->rate == 0) {
			if (write_records(g, w, min_u64(left(g), FAST_BATCH)) < 0)
				return -1;
			if (mono_now() >= deadline)
				break;
			continue;
		}
		now = mono_now();
		if (now >= deadline)
			break;
		tokens = fmin(burst, tokens + (now - last) * o->rate);
		last = now;
		if (tokens < 1.0) {
			if (lw_flush(w) < 0)
				return -1;
			stop_sleep(fmin((1.0 - tokens) / o->rate, deadline - now));
			continue;
		}
		n = min_u64(left(g), (uint64_t)tokens);
		tokens -= (double)n;
		if (write_records(g, w, n) < 0 || lw_flush(w) < 0)
			return -1;
	}
	return lw_flush(w);
}

/* "50000", "50000.5", "50000.05" as cents; no sign, at most two decimals. */
static int
parse_amount(const char *s, uint64_t *cents)
{
	const char *dot = strchr(s, '.');
	char whole[32];
	uint64_t units, frac = 0;
	size_t n = dot ? (size_t)(dot - s) : strlen(s);

	if (n == 0 || n >= sizeof(whole))
		return -1;
	memcpy(whole, s, n);
	whole[n] = '\0';
	if (opts_uint(whole, 0, AMOUNT_MAX_CENTS / 100, &units) < 0)
		return -1;
	if (dot) {
		size_t d = strlen(dot + 1);

		if (d == 0 || d > 2 || opts_uint(dot + 1, 0, 99, &frac) < 0)
			return -1;
		if (d == 1)
			frac *= 10;
	}
	*cents = units * 100 + frac;
	return 0;
}

static int
parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "count", required_argument, NULL, 'n' },
		OPTS_METRICS_LONG,
		{ "rate", required_argument, NULL, 'r' },
		{ "seed", required_argument, NULL, 's' },
		{ "unbuffered", no_argument, NULL, 'u' },
		{ "duration", required_argument, NULL, OPT_DURATION },
		{ "start-time", required_argument, NULL, OPT_START_TIME },
		{ "time-rate", required_argument, NULL, OPT_TIME_RATE },
		{ "users", required_argument, NULL, OPT_USERS },
		{ "merchants", required_argument, NULL, OPT_MERCHANTS },
		{ "locations", required_argument, NULL, OPT_LOCATIONS },
		{ "amount-min", required_argument, NULL, OPT_AMOUNT_MIN },
		{ "amount-max", required_argument, NULL, OPT_AMOUNT_MAX },
		OPTS_COMMON_LONG,
		{ NULL, 0, NULL, 0 },
	};
	uint64_t start;
	int c, r;

	while ((c = getopt_long(argc, argv, "n:r:s:u" OPTS_COMMON_SHORT, longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			if (opts_uint(optarg, 1, UINT64_MAX, &o->count) < 0)
				return diag_err("-n: '%s' is not a count of 1 or more", optarg), EX_USAGE;
			break;
		case 'r':
			if (opts_rate(optarg, &o->rate) < 0)
				return diag_err("-r: '%s' is not a rate (records per second, 0 or more)", optarg), EX_USAGE;
			break;
		case 's':
			if (opts_uint(optarg, 0, UINT64_MAX, &o->seed) < 0)
				return diag_err("-s: '%s' is not a seed (a whole number)", optarg), EX_USAGE;
			o->seeded = true;
			break;
		case 'u':
			o->unbuffered = true;
			break;
		case OPT_METRICS_ADDR:
			o->metrics_addr = optarg;
			break;
		case OPT_DURATION:
			if (opts_duration(optarg, &o->duration) < 0 || o->duration <= 0)
				return diag_err("--duration: '%s' is not a duration above 0 (N, Nms, Ns, Nm, Nh)", optarg), EX_USAGE;
			break;
		case OPT_START_TIME:
			if (opts_uint(optarg, 0, INT64_MAX / 2, &start) < 0)
				return diag_err("--start-time: '%s' is not unix seconds", optarg), EX_USAGE;
			o->start_time = (int64_t)start;
			o->simulated_time = true;
			break;
		case OPT_TIME_RATE:
			if (opts_rate(optarg, &o->time_rate) < 0 || o->time_rate <= 0)
				return diag_err("--time-rate: '%s' is not a rate above 0", optarg), EX_USAGE;
			break;
		case OPT_USERS:
		case OPT_MERCHANTS:
		case OPT_LOCATIONS: {
			uint64_t *dst = c == OPT_USERS ? &o->users : c == OPT_MERCHANTS ? &o->merchants : &o->locations;

			if (opts_uint(optarg, 1, ID_MAX, dst) < 0)
				return diag_err("--%s: '%s' is not a number from 1 to %llu",
				    c == OPT_USERS ? "users" : c == OPT_MERCHANTS ? "merchants" : "locations",
				    optarg, (unsigned long long)ID_MAX), EX_USAGE;
			break;
		}
		case OPT_AMOUNT_MIN:
		case OPT_AMOUNT_MAX:
			if (parse_amount(optarg, c == OPT_AMOUNT_MIN ? &o->amount_min : &o->amount_max) < 0)
				return diag_err("--%s: '%s' is not an amount (0 or more, at most two decimals)",
				    c == OPT_AMOUNT_MIN ? "amount-min" : "amount-max", optarg), EX_USAGE;
			break;
		default:
			if ((r = opts_default(c, optarg, help)) != OPTS_HANDLED)
				return r;
		}
	}
	if (optind < argc)
		return diag_err("unexpected argument '%s'", argv[optind]), EX_USAGE;
	if (o->amount_min > o->amount_max)
		return diag_err("--amount-min is above --amount-max"), EX_USAGE;
	if (o->time_rate == 0)
		o->time_rate = o->rate > 0 ? o->rate : DEFAULT_RATE;
	return EX_OK;
}

int
main(int argc, char **argv)
{
	struct options opt = {
		.rate = DEFAULT_RATE,
		.users = DEFAULT_USERS,
		.merchants = DEFAULT_MERCHANTS,
		.locations = DEFAULT_LOCATIONS,
		.amount_min = DEFAULT_AMOUNT_MIN_CENTS,
		.amount_max = DEFAULT_AMOUNT_MAX_CENTS,
	};
	struct gen g = { .opt = &opt };
	struct lwriter out;
	int status;

	diag_init(argv[0]);
	status = parse_options(argc, argv, &opt);
	if (status == OPTS_DONE)
		return EX_OK;
	if (status != EX_OK) {
		usage();
		return status;
	}
	if (!opt.seeded && getrandom(&opt.seed, sizeof(opt.seed), 0) != sizeof(opt.seed))
		diag_exit(EX_OSERR, "cannot get a random seed: %s", strerror(errno));
	diag_info("seed %llu", (unsigned long long)opt.seed);
	rng_seed(&g.rng, opt.seed);

	stop_init();
	if (lw_init(&out, STDOUT_FILENO, 0, opt.unbuffered) < 0)
		diag_exit(EX_OSERR, "out of memory");
	g.m_out = metric_counter("txstream_txgen_records_out_total", "Records written.");
	g.m_bytes = metric_counter("txstream_txgen_bytes_out_total", "Bytes written, newlines included.");
	if (metrics_serve_option(opt.metrics_addr) < 0)
		exit(EX_CONFIG);
	status = run(&g, &out);
	metrics_stop();
	if (status < 0) {
		int err = out.err;

		lw_free(&out);
		/* A reader that went away is the normal end of `txgen | head`. */
		if (err == EPIPE)
			return EX_OK;
		diag_err("write error on stdout: %s", strerror(err));
		return EX_IOERR;
	}
	lw_free(&out);
	diag_info("%llu records written", (unsigned long long)g.made);
	return EX_OK;
}

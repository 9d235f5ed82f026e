#!/bin/sh
# The whole seed job, end to end on one Kafka cluster, txstream beside what
# a user runs today: the seed's Spark job (bench/peers/spark), the same job
# on Kafka Streams (bench/peers/kstreams) and kcat | jq | kcat
# (bench/peers/unix). txstream runs as scripts/pipeline runs it (ksub
# --envelope -o @STATE | jagg --checkpoint STATE --checkpoint-interval 1s |
# kpub: its documented default, checkpoint on, exact sums), once with one
# aggregator and once with --aggregators 2 (a forwarder re-keys the
# transactions by merchant into a topic of 2 partitions, each read by its
# own ksub | jagg | kpub).
#
# Each pipeline in turn gets the same records, `txgen -s SEED -n N`, in a
# topic of its own with the seed's 5 partitions (keyed by userId, as the
# seed's producers do), and its own aggregates topic:
#   backlog   from the pipeline's start until its aggregates topic holds
#             the final count of every merchant: records per second, the
#             CPU seconds and peak RSS of all its processes (or its JVM)
#             by then;
#   steady    then txgen | kpub at RATE records/s for DURATION s, keyed
#             by merchantId; the latency of each transaction is the time
#             from its produce timestamp to the first aggregate record of
#             its merchant whose count includes it (bench/e2e.py says
#             exactly what "includes" means): p50, p99, max;
#   exactness the last aggregate of each merchant against Python's
#             decimal sum of all the input: the largest error.
# The aggregates topics are LogAppendTime, so an aggregate's timestamp is
# when it reached Kafka, whoever wrote it (Kafka Streams would otherwise
# stamp it with its input's time).
#
# --engine kafka (the default) runs on scripts/kafka's real 3 + 3 node
# Apache Kafka and builds the JVM peers with bench/peers/build (Maven; the
# first time fetches Spark). --engine kbroker runs txstream and the Unix
# peer alone, on kbroker, for machines without Java; kbroker keeps only
# about 5 MB a partition, so its defaults are smaller (-n 30000, 1000
# records/s for 20 s).
#
# Usage: bench/e2e.sh [--engine kafka|kbroker] [-n N] [-s SEED] [--rate N]
#                     [--duration SECONDS] [--only NAME,...]
#   (BUILD=dir with src/ programs; PYTHON=interpreter; LOGS=dir to keep
#    each pipeline's messages and the raw results there)
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$here/..
build=${BUILD:-$top/_build/plain}
python=${PYTHON:-/usr/bin/python3}
keep=${LOGS:-}
engine=kafka
count=
seed=1
rate=
duration=
only=
BACKLOG_LIMIT=900	# seconds a pipeline may take over the backlog
DRAIN_LIMIT=120		# seconds after the steady phase for the last aggregate
POLL=0.1		# seconds between looks at the watch's progress

usage() {
	echo "usage: bench/e2e.sh [--engine kafka|kbroker] [-n N] [-s SEED] [--rate N] [--duration SECONDS] [--only NAME,...]"
}
while [ $# -gt 0 ]; do
	case $1 in
	--engine) engine=${2:-}; shift 2 ;;
	-n) count=${2:-}; shift 2 ;;
	-s) seed=${2:-}; shift 2 ;;
	--rate) rate=${2:-}; shift 2 ;;
	--duration) duration=${2:-}; shift 2 ;;
	--only) only=${2:-}; shift 2 ;;
	-h|--help) usage; exit 0 ;;
	*) usage >&2; exit 64 ;;
	esac
done
case $engine in
kafka) all="txstream txstream-x2 spark kstreams unix"
	: "${count:=1000000}" "${rate:=10000}" "${duration:=60}" ;;
kbroker) all="txstream txstream-x2 unix"
	: "${count:=30000}" "${rate:=1000}" "${duration:=20}" ;;
*) usage >&2; exit 64 ;;
esac
for v in "$count" "$seed" "$rate" "$duration"; do
	case $v in ''|*[!0-9]*) usage >&2; exit 64 ;; esac
done
pipelines=$(echo "${only:-$all}" | tr ',' ' ')
for p in $pipelines; do
	case " $all " in *" $p "*) ;; *) echo "e2e: no pipeline '$p' on $engine (one of: $all)" >&2; exit 64 ;; esac
done

for p in txgen kpub ksub jagg kbroker; do
	[ -x "$build/src/$p" ] || { echo "e2e: no $build/src/$p (run scripts/check or set BUILD)" >&2; exit 1; }
done
for c in kcat jq "$python"; do
	command -v "$c" >/dev/null || { echo "e2e: $c not found (apt-get install kcat jq python3)" >&2; exit 1; }
done
PATH=$build/src:$PATH

tmp=$(mktemp -d "${TMPDIR:-/tmp}/txstream-e2e.XXXXXX")
broker_pid=
bg_pids=
cleanup() {
	for p in $bg_pids $broker_pid; do
		kill "$p" 2>/dev/null || true
	done
	for p in $bg_pids $broker_pid; do
		wait "$p" 2>/dev/null || true
	done
	[ "$engine" = kafka ] && [ -d "$tmp/kafka" ] && "$top/scripts/kafka" stop --dir "$tmp/kafka" >/dev/null 2>&1
	if [ -n "$keep" ]; then
		mkdir -p "$keep"
		for d in "$tmp"/*/; do
			[ -e "$d/log" ] && cp "$d/log" "$keep/$(basename "$d").log"
		done
		cp "$tmp/results" "$keep/" 2>/dev/null || true
		[ ! -e "$tmp/kafka.log" ] || cp "$tmp/kafka.log" "$keep/"
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() {
	echo "e2e: $*" >&2
}
now_ms() {
	date +%s%3N
}

# --- the machine, the peers, the cluster -----------------------------

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
mem=$(awk '/^MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)
echo "machine: $(nproc) cores, ${cpu:-unknown CPU}, $mem RAM, $(uname -sr); $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "load: $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min) before the run"
echo "input: txgen -s $seed -n $count (backlog), then $rate records/s for $duration s; engine $engine"

peers=$tmp/peers
if [ "$engine" = kafka ]; then
	case " $pipelines " in
	*" spark "*|*" kstreams "*)
		peers=${XDG_CACHE_HOME:-$HOME/.cache}/txstream/bench-peers
		set --
		case " $pipelines " in *" spark "*) set -- "$@" spark ;; esac
		case " $pipelines " in *" kstreams "*) set -- "$@" kstreams ;; esac
		"$here/peers/build" --out "$peers" "$@" ;;
	esac
	say "starting Apache Kafka (scripts/kafka: 3 controllers, 3 brokers)"
	brokers=$("$top/scripts/kafka" start --dir "$tmp/kafka" --owner $$ 2>"$tmp/kafka.log" | head -n 1)
	[ -n "$brokers" ] || { cat "$tmp/kafka.log" >&2; say "Kafka did not start"; exit 69; }
	echo "peers: Spark 4.0.0 (local[2]), Kafka Streams $(sed -n 's|.*<kafka.streams.version>\(.*\)</kafka.streams.version>.*|\1|p' "$here/peers/kstreams/pom.xml"), $(kcat -V 2>&1 | head -n 1 | cut -d' ' -f1-2), $(jq --version), $(java -version 2>&1 | head -n 1); Apache Kafka 3.8.1 (3 + 3 nodes)"
else
	set --
	for p in $pipelines; do
		set -- "$@" -T "tx_$p:5" -T "agg_$p:3"
		[ "$p" = txstream-x2 ] && set -- "$@" -T "by_$p:2"
	done
	kbroker -q "$@" --bootstrap-file "$tmp/bootstrap" > /dev/null 2> "$tmp/kbroker.log" &
	broker_pid=$!
	n=0
	while [ ! -s "$tmp/bootstrap" ] && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
	[ -s "$tmp/bootstrap" ] || { cat "$tmp/kbroker.log" >&2; say "kbroker did not start"; exit 69; }
	brokers=$(cat "$tmp/bootstrap")
	echo "peers: $(kcat -V 2>&1 | head -n 1 | cut -d' ' -f1-2), $(jq --version); kbroker (librdkafka's mock cluster: timestamps are CreateTime)"
fi

# create_topic NAME PARTITIONS [CONFIG]: on kbroker they were made at its start.
create_topic() {
	[ "$engine" = kafka ] || return 0
	set -- --topic "$1" --partitions "$2" ${3:+--config "$3"}
	"$top/scripts/kafka" run org.apache.kafka.tools.TopicCommand --bootstrap-server "$brokers" \
		--create --replication-factor 3 "$@" >> "$tmp/kafka.log" 2>&1 ||
		{ cat "$tmp/kafka.log" >&2; say "cannot create topic $2"; exit 69; }
}

# --- the expected totals, by Python's decimal ------------------------

steady_count=$((rate * duration))
txgen -s "$seed" -r 0 -n "$count" | "$python" "$here/e2e.py" expect "$tmp/backlog.json"
txgen -s "$((seed + 1))" -r 0 -n "$steady_count" | "$python" "$here/e2e.py" expect "$tmp/steady.json"
"$python" "$here/e2e.py" sum "$tmp/backlog.json" "$tmp/steady.json" "$tmp/final.json"

# --- one pipeline ----------------------------------------------------

# start_pipeline NAME DIR: the pipeline reading tx_NAME and writing
# agg_NAME, in the background; $pipeline_pid is the root of its processes.
start_pipeline() {
	name=$1 dir=$2
	in=tx_$name agg=agg_$name
	case $name in
	txstream)
		(
			ksub -q -b "$brokers" -t "$in" --envelope -o "@$dir/state.json" |
			jagg -q -g merchantId totalAmount=sum:amount transactionCount=count \
				--checkpoint "$dir/state.json" --checkpoint-interval 1s --errors "$dir/bad.ndjson" |
			kpub -q -b "$brokers" -t "$agg" --key-field merchantId
		) 2> "$dir/log" &
		;;
	txstream-x2)
		(
			ksub -q -b "$brokers" -t "$in" --envelope -o "@$dir/forwarder.json" |
			kpub -q -b "$brokers" -t "by_$name" --key-field value.merchantId \
				--source-offsets "$dir/forwarder.json" &
			for i in 0 1; do
				ksub -q -b "$brokers" -t "by_$name" -p "$i" --envelope -o "@$dir/state-$i.json" |
				jagg -q -g merchantId totalAmount=sum:amount transactionCount=count \
					--checkpoint "$dir/state-$i.json" --checkpoint-interval 1s \
					--errors "$dir/bad-$i.ndjson" |
				kpub -q -b "$brokers" -t "$agg" --key-field merchantId &
			done
			wait
		) 2> "$dir/log" &
		;;
	spark)
		"$here/peers/spark/run" "$peers/spark.classpath" "$brokers" "$in" "$agg" "$dir/checkpoint" \
			> "$dir/log" 2>&1 &
		;;
	kstreams)
		"$here/peers/kstreams/run" "$peers/kstreams.classpath" "$brokers" "$in" "$agg" "$dir/state" \
			"txstream-e2e-$$" > "$dir/log" 2>&1 &
		;;
	unix)
		"$here/peers/unix" "$brokers" "$in" "$agg" 2> "$dir/log" &
		;;
	esac
	pipeline_pid=$!
}

# stop_tree ROOT [drain]: every process under ROOT, by PID: SIGTERM, then
# SIGKILL. With drain, ROOT alone is sent SIGTERM first and given
# DRAIN_WAIT seconds to stop what it started (the Unix peer drains so).
DRAIN_WAIT=20
stop_tree() {
	root=$1 how=${2:-}
	# shellcheck disable=SC2046  # a list of PIDs, split on purpose
	set -- $("$python" "$here/e2e.py" usage "$root" | cut -d' ' -f3-) "$root"
	if [ "$how" = drain ]; then
		kill "$root" 2>/dev/null || true
		await_pids $((DRAIN_WAIT * 10)) "$@"
	fi
	kill "$@" 2>/dev/null || true
	await_pids 100 "$@"
	for p in "$@"; do
		kill -KILL "$p" 2>/dev/null || true
	done
	wait "$root" 2>/dev/null || true
}

# await_pids TENTHS PID...: until none of them runs, or TENTHS of a second.
await_pids() {
	limit=$1 n=0
	shift
	while [ $n -lt "$limit" ]; do
		alive=no
		for p in "$@"; do
			kill -0 "$p" 2>/dev/null && alive=yes
		done
		[ $alive = yes ] || return 0
		sleep 0.1
		n=$((n + 1))
	done
}

# wait_for FILE SECONDS: until FILE exists or the pipeline has died.
wait_for() {
	n=0 limit=$(awk -v s="$2" -v p="$POLL" 'BEGIN { print int(s / p) }')
	while [ ! -e "$1" ]; do
		kill -0 "$pipeline_pid" 2>/dev/null || return 1
		[ $n -lt "$limit" ] || return 1
		sleep "$POLL"
		n=$((n + 1))
	done
}

: > "$tmp/results"
for name in $pipelines; do
	dir=$tmp/$name
	mkdir -p "$dir"
	say "$name: topics, then the backlog of $count records"
	create_topic "tx_$name" 5
	create_topic "agg_$name" 3 message.timestamp.type=LogAppendTime
	[ "$name" = txstream-x2 ] && create_topic "by_$name" 2
	txgen -s "$seed" -r 0 -n "$count" | kpub -q -b "$brokers" -t "tx_$name" --key-field userId
	# The steady records come after these ends.
	ksub -b "$brokers" -L "tx_$name" | "$python" -c '
import json, sys
for line in sys.stdin:
    t = json.loads(line)
    if "topic" in t:
        print(json.dumps({"offsets": {t["topic"]: {str(p["partition"]): p["high"] for p in t["partitions"]}}}))
' > "$dir/steady-offsets.json"

	# The watch: ksub reads the aggregates as they come, e2e.py keeps them.
	# kcat -P holds back its last 1023 bytes of input until more comes or
	# the input ends (bench/peers/unix): the Unix peer's last 12 updates at
	# most, so its watch waits for 12 fewer, and its stop drains.
	slack=0 stop=
	[ "$name" = unix ] && slack=12 stop=drain
	mkfifo "$dir/watch"
	ksub -q -b "$brokers" -t "agg_$name" --envelope > "$dir/watch" &
	watch_pid=$!
	"$python" "$here/e2e.py" watch --slack "$slack" "$dir/aggs.ndjson" "$dir/done" \
		"$tmp/backlog.json" "$tmp/final.json" < "$dir/watch" &
	keep_pid=$!
	bg_pids="$bg_pids $watch_pid $keep_pid"

	t0=$(now_ms)
	start_pipeline "$name" "$dir"
	bg_pids="$bg_pids $pipeline_pid"
	if ! wait_for "$dir/done.1" "$BACKLOG_LIMIT"; then
		say "$name: no final totals within $BACKLOG_LIMIT s (or it stopped); see its log:"
		tail -n 20 "$dir/log" >&2
		echo "{\"name\":\"$name\",\"failed\":\"backlog\"}" >> "$tmp/results"
		stop_tree "$pipeline_pid"
		kill "$watch_pid" 2>/dev/null || true
		wait "$watch_pid" "$keep_pid" 2>/dev/null || true
		continue
	fi
	# shellcheck disable=SC2046  # CPU, RSS and PIDs, split on purpose
	set -- $("$python" "$here/e2e.py" usage "$pipeline_pid")
	cpu1=$1 rss1=$2
	"$python" "$here/e2e.py" usage --detail "$pipeline_pid" > "$dir/processes"
	t1=$(cat "$dir/done.1")
	first=$(head -n 1 "$dir/aggs.ndjson" | "$python" -c 'import json, sys; print(json.load(sys.stdin)["timestamp"])')
	say "$name: backlog in $((t1 - t0)) ms; now $rate records/s for $duration s"

	ts0=$(date +%s.%N)
	txgen -s "$((seed + 1))" -r "$rate" -n "$steady_count" |
		kpub -q -b "$brokers" -t "tx_$name" --key-field merchantId
	ts1=$(date +%s.%N)
	# shellcheck disable=SC2046  # CPU, RSS and PIDs, split on purpose
	set -- $("$python" "$here/e2e.py" usage "$pipeline_pid")
	cpu2=$1 rss2=$2
	drained=yes
	wait_for "$dir/done.2" "$DRAIN_LIMIT" || { drained=no; say "$name: not all steady records counted within $DRAIN_LIMIT s"; }
	stop_tree "$pipeline_pid" $stop
	sleep 1		# the watch reads the last aggregates
	kill "$watch_pid" 2>/dev/null || true
	wait "$watch_pid" "$keep_pid" 2>/dev/null || true

	ksub -q -b "$brokers" -t "tx_$name" -o "@$dir/steady-offsets.json" -e --envelope > "$dir/steady.ndjson"
	"$python" "$here/e2e.py" report "$name" "$dir/aggs.ndjson" "$dir/steady.ndjson" \
		"$tmp/backlog.json" "$tmp/final.json" | "$python" -c '
import json, sys
r = json.load(sys.stdin)
a = sys.argv[1:]
r.update(backlog_ms=int(a[0]), startup_ms=int(a[1]), cpu_s=float(a[2]), rss_kb=int(a[3]),
         steady_cpu_pct=round(100 * (float(a[4]) - float(a[2])) / (float(a[6]) - float(a[5])), 1),
         peak_rss_kb=int(a[7]), drained=a[8], processes=a[9])
print(json.dumps(r))
' "$((t1 - t0))" "$((first - t0))" "$cpu1" "$rss1" "$cpu2" "$ts0" "$ts1" "$rss2" "$drained" \
		"$(cat "$dir/processes")" >> "$tmp/results"
	tail -n 1 "$tmp/results" >&2
done

# --- the table and the ratios ----------------------------------------

"$python" - "$count" "$tmp/results" <<'EOF'
import json, sys
n = int(sys.argv[1])
rows = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
config = {
    "txstream": "ksub|jagg|kpub, checkpoint 1s (default)",
    "txstream-x2": "--aggregators 2, checkpoint 1s",
    "spark": "Spark 4.0.0, local[2], 20 shuffle partitions",
    "kstreams": "Kafka Streams, exactly_once_v2, 2 threads",
    "unix": "kcat -C | jq foreach | kcat -P",
}
def fmt(v, f="%.0f"):
    return "-" if v is None else f % v
print()
print("%-12s %-46s %10s %8s %8s %9s %8s %8s %8s %14s" % (
    "pipeline", "configuration", "backlog/s", "start s", "CPU s", "RSS MB",
    "p50 ms", "p99 ms", "max ms", "max error"))
ok = {}
for r in rows:
    if "failed" in r:
        print("%-12s %-46s failed: %s" % (r["name"], config[r["name"]], r["failed"]))
        continue
    r["rate"] = n / (r["backlog_ms"] / 1000)
    r["rss_mb"] = r["rss_kb"] / 1024
    ok[r["name"]] = r
    err = r["max_error"] + ("" if r["max_count_error"] == 0 else " (count off by %d)" % r["max_count_error"])
    print("%-12s %-46s %10.0f %8.1f %8.1f %9.1f %8s %8s %8s %14s" % (
        r["name"], config[r["name"]], r["rate"], r["startup_ms"] / 1000, r["cpu_s"], r["rss_mb"],
        fmt(r["p50_ms"]), fmt(r["p99_ms"]), fmt(r["max_ms"]), err))
    if r["not_included"] or r["drained"] != "yes":
        print("%-12s   %d steady records never included" % ("", r["not_included"]))
print()
print("backlog/s: records per second from the pipeline's start to its final totals; start s: from the")
print("start to its first aggregate record; CPU s and RSS MB (sum of each process's peak) at its final")
print("totals; latency over the steady phase; max error: largest |totalAmount - exact sum| of a merchant.")
print()
for t in ("txstream", "txstream-x2"):
    if t not in ok:
        continue
    for p in ("spark", "kstreams", "unix"):
        if p not in ok:
            continue
        a, b = ok[t], ok[p]
        def ratio(x, y):
            return "-" if not x or not y else "%.2f" % (x / y)
        print("%s/%s: throughput %s, CPU %s, RSS %s, p50 %s, p99 %s, max %s" % (
            t, p, ratio(a["rate"], b["rate"]), ratio(a["cpu_s"], b["cpu_s"]),
            ratio(a["rss_mb"], b["rss_mb"]), ratio(a["p50_ms"], b["p50_ms"]),
            ratio(a["p99_ms"], b["p99_ms"]), ratio(a["max_ms"], b["max_ms"])))
if "spark" in ok:
    for t in ("txstream", "txstream-x2"):
        if t in ok:
            a, b = ok[t], ok["spark"]
            print("goals %s vs spark: throughput >= 10x: %s; p99 <= 1/10: %s; RSS <= 1/20: %s" % (t,
                "met" if a["rate"] >= 10 * b["rate"] else "missed",
                "met" if a["p99_ms"] is not None and b["p99_ms"] and a["p99_ms"] <= b["p99_ms"] / 10 else "missed",
                "met" if a["rss_mb"] <= b["rss_mb"] / 20 else "missed"))
EOF

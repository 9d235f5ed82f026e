#!/usr/bin/env bats
# Metrics and logs (txstream(7), Logs and metrics): every long-running program
# serves /metrics, Debian's promtool accepts the exposition, and a real
# Prometheus scraping a pipeline on kbroker counts what the test sent.

# $stderr is set by bats' run --separate-stderr; PIDS is per test, for teardown.
# shellcheck disable=SC2154,SC2030,SC2031

load helpers

# On the real engine (TXS_KAFKA=kafka) one cluster serves every test.
setup_file() {
	start_engine
}

teardown_file() {
	stop_engine
}

setup() {
	cd "$BATS_TEST_TMPDIR" || return
	PIDS=()
}

teardown() {
	stop_pids TERM
	stop_broker
}

# scrape PORT: the exposition, or fail.
scrape() {
	curl -sf "http://127.0.0.1:$1/metrics"
}

# sample PORT SERIES: the value of one series (name with its labels, as written).
sample() {
	scrape "$1" | awk -v s="$2" '$1 == s { print $2; found = 1 } END { exit !found }'
}

# wait_sample PORT SERIES VALUE: until the series has that value (10 s at most).
wait_sample() {
	local _ v=
	for _ in $(seq 100); do
		v=$(sample "$1" "$2" 2>/dev/null || true)
		[ "$v" = "$3" ] && return 0
		sleep 0.1
	done
	echo "$2 on :$1 is '$v', not $3" >&2
	return 1
}

# wait_lag_total PORT TOPIC N: until ksub's lag gauges for TOPIC add up
# to N (20 s at most).
wait_lag_total() {
	local _ n=
	for _ in $(seq 200); do
		n=$(scrape "$1" | awk -v t="$2" '
			index($1, "txstream_ksub_consumer_lag_messages{topic=\"" t "\"") == 1 { n += $2; seen = 1 }
			END { if (seen) printf "%d", n }')
		[ "$n" = "$3" ] && return 0
		sleep 0.1
	done
	echo "ksub's lag on $2 adds up to '$n', not $3" >&2
	return 1
}

# promql QUERY: the value of an instant query to the test's Prometheus.
promql() {
	curl -sf "http://127.0.0.1:$PROM_PORT/api/v1/query" --data-urlencode "query=$1" |
		jq -r '.data.result | if length == 1 then .[0].value[1] else "results: \(length)" end'
}

# wait_promql QUERY VALUE: until the query returns that value (20 s at most).
wait_promql() {
	local _ v=
	for _ in $(seq 200); do
		v=$(promql "$1" 2>/dev/null || true)
		[ "$v" = "$2" ] && return 0
		sleep 0.1
	done
	echo "PromQL $1 gives '$v', not $2" >&2
	return 1
}

# The JMX exporter's ports of the real cluster's brokers.
broker_metrics_ports() {
	kafka status | awk '$4 == "broker" { sub(".*:", "", $NF); print $NF }'
}

# wait_kafka_messages_in TOPIC N: until the brokers' messages-in
# counters for TOPIC add up to N (20 s at most).
wait_kafka_messages_in() {
	local _ port n=
	for _ in $(seq 100); do
		n=0
		for port in $(broker_metrics_ports); do
			n=$(scrape "$port" | awk -v t="$1" -v n="$n" '
				$1 ~ "^kafka_server_brokertopicmetrics_messagesin_total[{].*topic=\"" t "\"" { n += $2 }
				END { printf "%d", n }')
		done
		[ "$n" -eq "$2" ] && return 0
		sleep 0.2
	done
	echo "the brokers count $n messages in for $1, not $2" >&2
	return 1
}

@test "metrics: kpub, ksub, jagg and kbroker (or Kafka's brokers) count what went through them, promtool-clean" {
	pb=$(free_port) pp=$(free_port) ps=$(free_port) pj=$(free_port)
	start_broker -T tx:3 --metrics-addr "127.0.0.1:$pb"
	txgen -s 4 -n 300 -r 0 > sent
	mkfifo in pipe
	kpub -b "$BROKERS" -t tx --key-field userId --metrics-addr "127.0.0.1:$pp" < in 2> kpub.err &
	PIDS+=($!)
	exec {w}> in
	{ cat sent; echo 'not json'; echo '{"no":"key"}'; } >&"$w"
	ksub -b "$BROKERS" -t tx --envelope --metrics-addr "127.0.0.1:$ps" > pipe &
	PIDS+=($!)
	jagg -g merchantId total=sum:amount count --metrics-addr "127.0.0.1:$pj" < pipe > aggs &
	PIDS+=($!)

	wait_sample "$pp" txstream_kpub_records_out_total 300
	assert_equal "$(sample "$pp" txstream_kpub_records_in_total)" 302
	assert_equal "$(sample "$pp" 'txstream_kpub_bad_records_total{reason="not_json"}')" 1
	assert_equal "$(sample "$pp" 'txstream_kpub_bad_records_total{reason="missing_key"}')" 1
	assert_equal "$(sample "$pp" txstream_kpub_delivery_latency_seconds_count)" 300
	assert_equal "$(sample "$pp" txstream_kpub_messages_in_flight)" 0
	assert_equal "$(sample "$pp" txstream_kpub_bytes_in_total)" \
		"$(($(wc -c < sent) + 9 + 13))"
	wait_sample "$ps" txstream_ksub_records_out_total 300
	assert_equal "$(sample "$ps" txstream_ksub_records_in_total)" 300
	# The lag gauges come from librdkafka's statistics, once a second.
	for p in 0 1 2; do
		wait_sample "$ps" "txstream_ksub_consumer_lag_messages{topic=\"tx\",partition=\"$p\"}" 0
	done
	wait_sample "$pj" txstream_jagg_records_in_total 300
	wait_sample "$pj" txstream_jagg_groups 3
	if on_kafka; then
		# The brokers count the same 300 (their leaders' appends), as the
		# JMX exporter serves Kafka's BrokerTopicMetrics.
		wait_kafka_messages_in tx 300
		ports=("$pp" "$ps" "$pj")
	else
		assert_equal "$(sample "$pb" txstream_kbroker_brokers)" 3
		assert_equal "$(sample "$pb" 'txstream_kbroker_broker_up{broker="2"}')" 1
		broker_control down 2
		assert_equal "$(sample "$pb" 'txstream_kbroker_broker_up{broker="2"}')" 0
		broker_control up 2
		ports=("$pb" "$pp" "$ps" "$pj")
	fi
	# Each exposition passes Prometheus's own linter.
	for port in "${ports[@]}"; do
		scrape "$port" > exposition
		run promtool check metrics < exposition
		assert_success
	done
	run curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$pj/"
	assert_output 404
	exec {w}>&-
}

@test "metrics: a real Prometheus scrapes the pipeline, and PromQL returns what the test sent" {
	pp=$(free_port) ps=$(free_port) pj=$(free_port) PROM_PORT=$(free_port)
	start_broker -T tx:3
	cat > prometheus.yml <<-EOF
	global:
	  scrape_interval: 1s
	scrape_configs:
	  - job_name: producer
	    static_configs: [{targets: ["127.0.0.1:$pp"]}]
	  - job_name: aggregator
	    static_configs: [{targets: ["127.0.0.1:$ps", "127.0.0.1:$pj"]}]
	EOF
	run promtool check config prometheus.yml
	assert_success
	prometheus --config.file=prometheus.yml --storage.tsdb.path=tsdb \
		--web.listen-address="127.0.0.1:$PROM_PORT" > prometheus.log 2>&1 &
	PIDS+=($!)
	txgen -s 5 -n 1000 -r 0 > sent
	mkfifo in pipe
	kpub -b "$BROKERS" -t tx --key-field userId --metrics-addr "127.0.0.1:$pp" < in &
	PIDS+=($!)
	exec {w}> in
	cat sent >&"$w"
	ksub -b "$BROKERS" -t tx --envelope --metrics-addr "127.0.0.1:$ps" > pipe &
	PIDS+=($!)
	jagg -g merchantId total=sum:amount count --checkpoint state.json --checkpoint-interval 1s \
		--metrics-addr "127.0.0.1:$pj" < pipe > aggs &
	PIDS+=($!)
	# Each as soon as Prometheus has scraped the final counts (20 s at most).
	wait_promql 'txstream_jagg_records_in_total' 1000
	wait_promql 'txstream_kpub_records_out_total' 1000
	wait_promql 'sum(txstream_ksub_records_out_total)' 1000
	wait_promql 'count(up{job="aggregator"} == 1)' 2
	wait_promql 'txstream_jagg_groups' 3
	# The per-merchant counts jagg wrote add up to what was sent.
	assert_equal "$(jq -s 'group_by(.merchantId) | map(last.count) | add' aggs)" 1000
	# A histogram Prometheus can take a quantile of.
	run promql 'histogram_quantile(0.99, txstream_kpub_delivery_latency_seconds_bucket)'
	assert_success
	[[ "$output" =~ ^[0-9.e+-]+$ ]]
	age=$(promql 'txstream_jagg_checkpoint_age_seconds')
	awk -v a="$age" 'BEGIN { exit !(a >= 0 && a < 5) }'

	exec {w}>&-
}

@test "metrics: ksub's lag is what it has yet to read; jagg counts late, repeated and windowed records" {
	ps=$(free_port) pj=$(free_port)
	start_broker -T lag:4
	# More than the pipe and ksub's buffer hold (3.5 MB), so that ksub
	# mostly leaves messages unread while its reader sleeps (once, in a
	# full suite, it took all 40000: then the lag is rightly 0); in four
	# partitions, each well below kbroker's ~5 MB.
	txgen -s 8 -n 40000 -r 0 | kpub -b "$BROKERS" -t lag
	# A reader that reads nothing for 15 s: ksub fills the pipe and waits, the rest unread.
	ksub -b "$BROKERS" -t lag --metrics-addr "127.0.0.1:$ps" > >(sleep 15; cat > /dev/null) &
	PIDS+=($!)
	# Blocked, ksub consumes no more: its count stands still (for 2 s).
	in=-1 same=0
	for _ in $(seq 120); do
		sleep 0.1
		now=$(sample "$ps" txstream_ksub_records_in_total 2>/dev/null || echo 0)
		if [ "$now" -gt 0 ] && [ "$now" = "$in" ]; then same=$((same + 1)); else same=0; fi
		in=$now
		[ "$same" -lt 20 ] || break
	done
	echo "consumed $in, unchanged for $same scrapes"
	[ "$same" -ge 20 ]
	# The lag, asked of the brokers every second, is there while ksub
	# waits: what the partitions hold less what ksub took from librdkafka.
	wait_lag_total "$ps" lag $((40000 - in))
	# Once the reader reads, the lag falls to nothing.
	wait_lag_total "$ps" lag 0

	# jagg: offsets 0-9 at t=100-109, offsets 5-9 again, then one behind the watermark.
	mkfifo in
	jagg --window 10s --time-field t --watermark 9s --checkpoint state.json -g k count \
		--metrics-addr "127.0.0.1:$pj" < in > out &
	PIDS+=($!)
	exec {w}> in
	$PY -c '
lines = ["{\"topic\":\"e\",\"partition\":0,\"offset\":%d,\"value\":{\"k\":\"a\",\"t\":%d}}" % (o, 100 + o) for o in range(10)]
lines += lines[5:]
lines.append("{\"topic\":\"e\",\"partition\":0,\"offset\":10,\"value\":{\"k\":\"a\",\"t\":50}}")
print("\n".join(lines))
' >&"$w"
	wait_sample "$pj" txstream_jagg_records_in_total 16
	wait_sample "$pj" txstream_jagg_duplicates_skipped_total 5
	wait_sample "$pj" txstream_jagg_late_records_total 1
	wait_sample "$pj" txstream_jagg_watermark_seconds 100
	wait_sample "$pj" txstream_jagg_windows 1
	wait_sample "$pj" txstream_jagg_groups 1
	[ "$(sample "$pj" txstream_jagg_checkpoints_total)" -ge 1 ]
	[ "$(sample "$pj" txstream_jagg_trigger_duration_seconds_count)" -ge 1 ]
	awk -v d="$(sample "$pj" txstream_jagg_checkpoint_duration_seconds)" 'BEGIN { exit !(d > 0 && d < 5) }'
	exec {w}>&-
}

@test "metrics: ksub -G counts its group's rebalances from librdkafka's statistics" {
	ps=$(free_port)
	start_broker -T g:2
	ksub -b "$BROKERS" -G grp -t g --metrics-addr "127.0.0.1:$ps" > /dev/null &
	PIDS+=($!)
	wait_sample "$ps" txstream_ksub_rebalances_total 1
	# A second member joins: the group rebalances again.
	ksub -b "$BROKERS" -G grp -t g > /dev/null &
	PIDS+=($!)
	for _ in $(seq 150); do
		[ "$(sample "$ps" txstream_ksub_rebalances_total)" -ge 2 ] && break
		sleep 0.1
	done
	[ "$(sample "$ps" txstream_ksub_rebalances_total)" -ge 2 ]
}

@test "metrics: an address in use or malformed is refused with status 78" {
	port=$(free_port)
	$PY -c 'import socket, sys, time; s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(); open("listening", "w").close(); time.sleep(30)' "$port" &
	PIDS+=($!)
	wait_until 10 test -e listening
	run --separate-stderr jagg --metrics-addr "127.0.0.1:$port" count <<< '{}'
	assert_failure 78
	[[ "$stderr" == *"--metrics-addr 127.0.0.1:$port: cannot listen there"* ]]
	run --separate-stderr txgen -n 1 --metrics-addr nonsense
	assert_failure 78
	[[ "$stderr" == *"is not HOST:PORT"* ]]
}

@test "logs: --log-format json gives one parseable object per line, bad lines with source and line" {
	run --separate-stderr jagg --log-format json -v -g k count <<< $'{"k":1}\nnot json'
	assert_failure 65
	while IFS= read -r line; do
		jq -e 'has("ts") and has("level") and .prog == "jagg" and (.msg | type == "string")' <<< "$line" > /dev/null ||
			{ echo "not a log object: $line"; false; }
	done <<< "$stderr"
	jq -se 'map(select(.level == "warn")) | length == 1 and .[0].source == "stdin" and .[0].line == 2' <<< "$stderr"
	for prog in txgen kpub ksub kbroker; do
		run --separate-stderr "$prog" --log-format json --no-such-option
		assert_failure 64
	done
	run --separate-stderr kpub --log-format json -b 127.0.0.1:1 -t t --timeout 1 <<< 'x'
	[ -n "$stderr" ]
	while IFS= read -r line; do
		jq -e '.prog == "kpub" and has("ts") and has("level")' <<< "$line" > /dev/null ||
			{ echo "not a log object: $line"; false; }
	done <<< "$stderr"
}

# --- a flooded metrics port (libmicrohttpd's limits, src/lib/metrics.c) ---

# The connection cap the flood tests give every server
# ($TXSTREAM_METRICS_CONNECTIONS), small to keep them fast, and the
# descriptors a program may open for other reasons meanwhile.
FLOOD_CAP=8
FD_SLACK=12
SLOW=$BATS_TEST_DIRNAME/helpers/slow_reader.py

# wait_up PORT: until /metrics answers there (10 s at most).
wait_up() {
	local _
	for _ in $(seq 100); do
		curl -sf -o /dev/null "http://127.0.0.1:$1/metrics" && return 0
		sleep 0.1
	done
	echo "nothing answers /metrics on :$1" >&2
	return 1
}

# flood PID PORT: 2x the cap of idle connections and 200 slowloris ones
# for 2 s. Sets FDS_BEFORE and, from metrics_flood.py, MAX_FDS (during the
# flood) and SCRAPE_STATUS (/metrics once it ended; flood.out, shown,
# says how long that took).
flood() {
	FDS_BEFORE=$(find "/proc/$1/fd" -mindepth 1 | wc -l)
	$PY "$BATS_TEST_DIRNAME/helpers/metrics_flood.py" "$2" "$1" --idle $((2 * FLOOD_CAP)) --slow 200 \
		--seconds 2 > flood.out
	cat flood.out
	MAX_FDS=$(awk '$1 == "max_fds" { print $2 }' flood.out)
	SCRAPE_STATUS=$(awk '$1 == "scrape_status" { print $2 }' flood.out)
	echo "descriptors: $FDS_BEFORE before, $MAX_FDS at most during the flood"
}

# The checks every flood test makes once the flood is over.
# (How soon /metrics answers is shown, not bounded: make check has no
# timing thresholds.)
assert_flood_held() {
	assert_equal "$SCRAPE_STATUS" 200
	assert [ "$MAX_FDS" -le $((FDS_BEFORE + FLOOD_CAP + FD_SLACK)) ]
}

@test "metrics: txgen's stream is exact while its metrics port is flooded" {
	export TXSTREAM_METRICS_CONNECTIONS=$FLOOD_CAP
	port=$(free_port)
	txgen -s 7 -n 2000 --start-time 1700000000 --time-rate 30 -r 0 > expected
	# Started with a low soft descriptor limit, which the server raises to the hard one.
	(ulimit -S -n 256 && exec txgen -s 7 -n 2000 --start-time 1700000000 --time-rate 30 -r 500 \
		--metrics-addr "127.0.0.1:$port" > out) &
	pid=$!
	PIDS+=("$pid")
	wait_up "$port"
	assert_equal "$(awk '/^Max open files/ { print $4 }' "/proc/$pid/limits")" "$(ulimit -H -n)"
	flood "$pid" "$port"
	assert_flood_held
	wait "$pid"
	cmp out expected
}

@test "metrics: jagg's aggregates are exact while its metrics port is flooded" {
	export TXSTREAM_METRICS_CONNECTIONS=$FLOOD_CAP
	port=$(free_port)
	txgen -s 8 -n 4000 -r 0 > sent
	$PY "$BATS_TEST_DIRNAME/helpers/jagg_ref.py" -g merchantId total=sum:amount count < sent > expected
	$PY "$SLOW" 100 0.1 < sent |
		jagg -g merchantId total=sum:amount count --checkpoint cp.json --checkpoint-interval 0.2s \
			--metrics-addr "127.0.0.1:$port" > out &
	pid=$!
	PIDS+=("$pid")
	wait_up "$port"
	flood "$pid" "$port"
	assert_flood_held
	wait "$pid"
	# The last record per merchant, as written (jq would reformat the numbers).
	$PY -c '
import json, sys
last = {json.loads(l)["merchantId"]: l.rstrip("\n") for l in sys.stdin}
print("\n".join(last[k] for k in sorted(last)))' < out > got
	diff got expected
}

@test "metrics: kpub delivers exactly what it read while its metrics port is flooded" {
	export TXSTREAM_METRICS_CONNECTIONS=$FLOOD_CAP
	port=$(free_port)
	start_broker -T tx:1
	txgen -s 9 -n 4000 -r 0 > sent
	$PY "$SLOW" 100 0.1 < sent | kpub -b "$BROKERS" -t tx --metrics-addr "127.0.0.1:$port" &
	pid=$!
	PIDS+=("$pid")
	wait_up "$port"
	flood "$pid" "$port"
	assert_flood_held
	wait "$pid"
	ksub -b "$BROKERS" -t tx -e > got
	cmp got sent
}

@test "metrics: ksub writes exactly what was sent while its metrics port is flooded" {
	export TXSTREAM_METRICS_CONNECTIONS=$FLOOD_CAP
	port=$(free_port)
	start_broker -T tx:1
	txgen -s 10 -n 4000 -r 0 > sent
	ksub -b "$BROKERS" -t tx -c 4000 --metrics-addr "127.0.0.1:$port" > got &
	pid=$!
	PIDS+=("$pid")
	wait_up "$port"
	$PY "$SLOW" 100 0.1 < sent | kpub -b "$BROKERS" -t tx &
	PIDS+=($!)
	flood "$pid" "$port"
	assert_flood_held
	wait "$pid"
	cmp got sent
}

@test "metrics: kbroker carries a stream exactly while its metrics port is flooded" {
	only_on kbroker "kbroker's own metrics port; the real cluster has none of txstream's"
	export TXSTREAM_METRICS_CONNECTIONS=$FLOOD_CAP
	port=$(free_port)
	start_broker -T tx:1 --metrics-addr "127.0.0.1:$port"
	txgen -s 11 -n 4000 -r 0 > sent
	wait_up "$port"
	$PY "$SLOW" 100 0.1 < sent | kpub -b "$BROKERS" -t tx &
	PIDS+=($!)
	flood "$KBROKER_PID" "$port"
	assert_flood_held
	ksub -b "$BROKERS" -t tx -c 4000 > got
	cmp got sent
}

@test "metrics: a request that is not HTTP is answered or closed within seconds" {
	export TXSTREAM_METRICS_CONNECTIONS=$FLOOD_CAP
	port=$(free_port)
	txgen -r 10 --metrics-addr "127.0.0.1:$port" > /dev/null &
	PIDS+=($!)
	wait_up "$port"
	# Garbage with and without a line end, and a method the server does not serve.
	for req in '\x16\x03\x01\x00\xa5\x01\x00\x00' 'garbage garbage\r\n\r\n' 'POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n'; do
		run $PY -c '
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(sys.argv[2].encode().decode("unicode_escape").encode("latin-1"))
start = time.monotonic()
data = b""
while True:
    b = s.recv(4096)
    if not b:
        break
    data += b
print("closed after %.1f s: %r" % (time.monotonic() - start, data[:40]))
' "$port" "$req"
		assert_success
		[[ "$output" =~ ^closed\ after\ [0-4]\. ]]
	done
}

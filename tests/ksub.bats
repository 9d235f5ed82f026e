#!/usr/bin/env bats
# ksub: every message reaches the pipe once, offsets never run ahead of
# it, and a gap is never quiet. Each test starts its own kbroker on free
# ports; messages are produced by clients that are not ours where it
# matters (python3-kafka, kcat).

# $stderr is set by bats' run --separate-stderr; $SESSION is split on purpose.
# shellcheck disable=SC2154,SC2086,SC2030,SC2031

load helpers

# On the real engine (TXS_KAFKA=kafka) one cluster serves every test;
# its retention checker runs every second (Kafka's default: 5 minutes),
# so that the gap tests see a short retention.ms act.
setup_file() {
	start_engine -X log.retention.check.interval.ms=1000
}

teardown_file() {
	stop_engine
}

setup() {
	cd "$BATS_TEST_TMPDIR" || return
	PIDS=()		# what a test starts in the background: teardown stops it
	# kbroker's group coordinator (librdkafka's mock) makes a new member
	# wait for the session of one that left to time out (kcat -G waits
	# just the same): short sessions keep the group tests short. Kafka's
	# own coordinator refuses sessions under group.min.session.timeout.ms
	# (6 s by default) and does not wait for a member that left.
	# Heartbeats a third of the session, as Kafka advises: librdkafka's
	# default (3 s) against a 3 s session times a member out on the first
	# late answer, and what it wrote but could not commit is read again.
	if on_kafka; then
		SESSION="-X session.timeout.ms=6000 -X heartbeat.interval.ms=2000"
	else
		SESSION="-X session.timeout.ms=3000 -X heartbeat.interval.ms=1000"
	fi
}

teardown() {
	stop_pids TERM
	stop_broker
}

# python3-kafka produces one message of each kind to partition 0 of $1.
produce_kinds() {
	$PY -c '
import sys
from kafka import KafkaProducer
p = KafkaProducer(bootstrap_servers=sys.argv[1].split(","), acks="all")
t = sys.argv[2]
def send(**kw):
    p.send(t, partition=0, **kw).get(timeout=10)
send(key=b"user_1", value=b"{\"amount\":12.50,\"n\":[1,2]}", headers=[("h", b"1"), ("h", b"2"), ("x", b"y")])
send(key=b"k2", value=b"plain text, not JSON")
send(key=b"k3", value=b"{\"two\":\n\"lines\"}")
send(key=b"k4", value=None)
send(key=b"\xff\xfe", value=b"\x00\x01\xff binary")
send(key=None, value=b"\"caf\xc3\xa9\"")
p.flush()
' "$BROKERS" "$1"
}

@test "ksub: envelopes of what python3-kafka produced: keys, headers, tombstones, binary, JSON" {
	start_broker -T k:1
	produce_kinds k
	run --separate-stderr ksub -b "$BROKERS" -t k -e --envelope
	assert_success
	[ "${#lines[@]}" -eq 6 ]
	printf '%s\n' "${lines[@]}" > env.ndjson
	# Each line is JSON, and the independent decoding agrees field by field.
	$PY - env.ndjson <<'EOF'
import base64, json, sys
rows = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
assert [r["offset"] for r in rows] == list(range(6)), rows
assert all(r["topic"] == "k" and r["partition"] == 0 and r["timestamp"] > 1e12 for r in rows)
r = rows[0]
assert r["key"] == "user_1" and r["value"] == {"amount": 12.50, "n": [1, 2]}
assert r["headers"] == [{"key": "h", "value": "1"}, {"key": "h", "value": "2"}, {"key": "x", "value": "y"}]
assert rows[1]["value_text"] == "plain text, not JSON" and "value" not in rows[1]
assert rows[2]["value_text"] == '{"two":\n"lines"}'
assert rows[3]["key"] == "k4" and rows[3]["value"] is None
assert base64.b64decode(rows[4]["key_base64"]) == b"\xff\xfe"
assert base64.b64decode(rows[4]["value_base64"]) == b"\x00\x01\xff binary"
assert rows[5]["key"] is None and rows[5]["value"] == "caf\u00e9"
for r in rows[1:]:
    assert "headers" not in r
EOF
	# value is the payload verbatim, byte for byte.
	grep -F -q '"value":{"amount":12.50,"n":[1,2]}}' env.ndjson
}

@test "ksub: payloads with -D and -K, as kcat prints them" {
	start_broker -T t:1
	seq 1 20 | sed 's/^/k&\t/' | kcat -P -b "$BROKERS" -t t -K '\t'
	run ksub -b "$BROKERS" -t t -e -K : -D '|'
	assert_success
	expected=$(kcat -C -b "$BROKERS" -t t -e -q -K : -D '|')
	assert_equal "$output" "$expected"
	[ "$(tr '|' '\n' <<< "$output" | grep -c '^k[0-9]*:[0-9]*$')" -eq 20 ]
}

@test "ksub: -e reads every partition to its end, -c stops after N, -p takes ranges" {
	start_broker -T t:6
	for p in 0 1 2 3 4 5; do
		seq $((p * 100 + 1)) $((p * 100 + 100)) | kcat -P -b "$BROKERS" -t t -p "$p"
	done
	run ksub -b "$BROKERS" -t t -e
	assert_success
	[ "${#lines[@]}" -eq 600 ]
	[ "$(printf '%s\n' "${lines[@]}" | sort -n | uniq | wc -l)" -eq 600 ]
	run ksub -b "$BROKERS" -t t -c 7
	assert_success
	[ "${#lines[@]}" -eq 7 ]
	run ksub -b "$BROKERS" -t t -e -p 0,2-3 --envelope
	assert_success
	[ "${#lines[@]}" -eq 300 ]
	assert_equal "$(printf '%s\n' "${lines[@]}" | jq -r .partition | sort -u | tr '\n' ' ')" "0 2 3 "
	# Values come from the partitions asked for, and only from them.
	[ "$(printf '%s\n' "${lines[@]}" | jq -r '.value' | awk '$1 <= 100 || ($1 > 200 && $1 <= 400)' | wc -l)" -eq 300 ]
	run ksub -b "$BROKERS" -t t -e -p 9
	assert_failure 64
	run ksub -b "$BROKERS" -t t -e -p 2-1
	assert_failure 64
}

@test "ksub: -o N, -N, end, and s@ (which kbroker answers with the end)" {
	start_broker -T t:1
	seq 0 99 | kcat -P -b "$BROKERS" -t t
	run ksub -b "$BROKERS" -t t -e -o 90
	assert_success
	assert_equal "${lines[*]}" "$(seq 90 99 | tr '\n' ' ' | sed 's/ $//')"
	run ksub -b "$BROKERS" -t t -e -o -3
	assert_equal "${lines[*]}" "97 98 99"
	# -o end: only what comes after the start. When ksub has found the
	# end is seen, not guessed: a probe produced before that is not read,
	# so probes go on until one comes out.
	ksub -b "$BROKERS" -t t -o end > end.out &
	pid=$!
	PIDS+=("$pid")
	probe() {
		echo probe | kcat -P -b "$BROKERS" -t t
		echo probe >> probes.sent
		grep -q '^probe$' end.out
	}
	wait_until 30 probe
	printf 'new1\nnew2\n' | kcat -P -b "$BROKERS" -t t
	wait_until 30 grep -q '^new2$' end.out
	kill "$pid"
	wait "$pid" || true
	# Probes, then the two new lines; none of the 100 before the start.
	assert_equal "$(grep -cv '^probe$' end.out)" 2
	assert_equal "$(tail -2 end.out | tr '\n' ' ')" "new1 new2 "
	# s@MS goes through offsets-for-times; kbroker answers every lookup
	# with the end, so from there only newer messages come (see ksub(1));
	# Kafka answers with the first message at or after the time (0: all,
	# tests/kafka.bats has the rest).
	run ksub -b "$BROKERS" -t t -e -o s@0
	assert_success
	if on_kafka; then
		# The 100, every probe sent (read or not), the two new lines.
		assert_equal "${#lines[@]}" $((100 + $(wc -l < probes.sent) + 2))
	else
		assert_equal "$output" ""
	fi
	run ksub -b "$BROKERS" -t t -e -o 's@x'
	assert_failure 64
}

@test "ksub: -o @FILE resumes from an offsets file; a missing file is the beginning" {
	start_broker -T t:3
	for p in 0 1 2; do seq 1 50 | sed "s/^/p$p-/" | kcat -P -b "$BROKERS" -t t -p "$p"; done
	run ksub -b "$BROKERS" -t t -e -o @nothing-yet.json
	assert_success
	[ "${#lines[@]}" -eq 150 ]
	echo '{"offsets":{"t":{"0":40,"2":49}},"state":{}}' > state.json
	run ksub -b "$BROKERS" -t t -e -o @state.json
	assert_success
	# Partition 0 from offset 40 (10 left), 1 unlisted (all 50), 2 from 49 (1).
	[ "$(printf '%s\n' "${lines[@]}" | grep -c '^p0-')" -eq 10 ]
	[ "$(printf '%s\n' "${lines[@]}" | grep -c '^p1-')" -eq 50 ]
	assert_equal "$(printf '%s\n' "${lines[@]}" | grep '^p2-')" "p2-50"
	assert_equal "$(printf '%s\n' "${lines[@]}" | grep '^p0-' | head -1)" "p0-41"
	echo 'not json' > bad.json
	run ksub -b "$BROKERS" -t t -e -o @bad.json
	assert_failure 65
}

@test "ksub: two -G members split the partitions, nothing missed or doubled" {
	start_broker -T g:4
	ksub -b "$BROKERS" -G grp $SESSION -t g -v > c1.out 2> c1.err &
	p1=$!
	ksub -b "$BROKERS" -G grp $SESSION g -v > c2.out 2> c2.err &
	p2=$!
	for _ in $(seq 150); do
		[ "$(cat c1.err c2.err | grep -c 'assigned 2 partitions')" -ge 2 ] && break
		sleep 0.1
	done
	for p in 0 1 2 3; do
		seq $((p * 500 + 1)) $((p * 500 + 500)) | kcat -P -b "$BROKERS" -t g -p "$p"
	done
	for _ in $(seq 100); do
		[ "$(cat c1.out c2.out | wc -l)" -ge 2000 ] && break
		sleep 0.1
	done
	# A rolling stop: each member commits what it wrote as it leaves; the
	# second leaves once it holds all four partitions (during the
	# rebalance kbroker's coordinator refuses commits).
	kill -TERM "$p1"
	wait "$p1"
	for _ in $(seq 150); do
		grep -q 'assigned 4 partitions' c2.err && break
		sleep 0.1
	done
	kill -TERM "$p2"
	wait "$p2"
	cat c2.err
	[ -s c1.out ]
	[ -s c2.out ]
	[ "$(cat c1.out c2.out | wc -l)" -eq 2000 ]
	[ "$(cat c1.out c2.out | sort -n | uniq | wc -l)" -eq 2000 ]
	# What they wrote was committed: the group goes on after it.
	seq 2001 2010 | kcat -P -b "$BROKERS" -t g -p 0
	run ksub -b "$BROKERS" -G grp $SESSION -t g -e
	assert_success
	assert_equal "$(printf '%s\n' "${lines[@]}" | sort -n | tr '\n' ' ')" "$(seq 2001 2010 | tr '\n' ' ')"
}

@test "ksub: SIGTERM ends it while its reader reads nothing, and the group gives the rest to the next member" {
	start_broker -T t:4
	txgen -s 3 -r 0 -n 3000 > all.ndjson
	kpub -b "$BROKERS" -t t --key-field userId all.ndjson
	mkfifo out
	# A reader that takes nothing until told to (the file go), then all.
	$PY -c '
import os, sys, time
f = open("out", "rb")
while not os.path.exists("go"):
    time.sleep(0.05)
sys.stdout.buffer.write(f.read())' > first.ndjson &
	reader=$!
	ksub -b "$BROKERS" -t t -G g $SESSION > out 2> err &
	pid=$!
	# Until ksub waits for room in the full pipe.
	for _ in $(seq 150); do
		[[ "$(cat "/proc/$pid/wchan" 2>/dev/null)" == *pipe_write ]] && break
		sleep 0.1
	done
	[[ "$(cat "/proc/$pid/wchan")" == *pipe_write ]]
	kill -TERM "$pid"
	for _ in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	run kill -0 "$pid"
	assert_failure
	wait "$pid"
	grep -q 'stopped while stdout was not being read' err
	touch go
	wait "$reader"
	# The next member starts after what reached the pipe whole: nothing is
	# missing, and only the lines of the buffer cut short come twice.
	ksub -b "$BROKERS" -t t -G g $SESSION -e > second.ndjson
	$PY -c '
import sys
want = set(open("all.ndjson").read().splitlines())
# What follows the last newline, if anything, is a line cut short.
first = open("first.ndjson").read().split("\n")[:-1]
second = open("second.ndjson").read().splitlines()
assert len(first) > 0 and len(second) > 0, (len(first), len(second))
assert len(second) == len(set(second)), "a line twice in the second run"
assert set(first) <= want and set(second) <= want, "a line that was not sent"
assert set(first) | set(second) == want, "%d lines missing" % len(want - set(first) - set(second))
twice = set(first) & set(second)
# The group committed what reached the pipe whole, before the cut buffer.
assert len(twice) < len(first), "the second member read all the first wrote again"
print(len(first), len(second), len(twice))'
}

@test "ksub: after kill -9, a restarted -G member starts at or before the first line not written" {
	start_broker -T t:4
	txgen -s 3 -r 0 -n 20000 --start-time 1700000000 > sent
	kpub -b "$BROKERS" -t t < sent
	# A slow reader; its ksub is killed mid-stream, three times over. A
	# killed member holds its partitions until its session times out.
	slow() {
		local n=0 l
		while IFS= read -r l; do
			printf '%s\n' "$l"
			n=$((n + 1))
			[ $((n % 200)) -eq 0 ] && sleep 0.05
		done
	}
	grown() {
		[ "$(wc -l < all.out)" -ge "$1" ]
	}
	: > all.out
	for round in 1 2 3; do
		before=$(wc -l < all.out)
		rm -f pipe
		mkfifo pipe
		slow < pipe >> all.out &
		reader=$!
		ksub -b "$BROKERS" -G g $SESSION -t t > pipe &
		consumer=$!
		PIDS+=("$reader" "$consumer")
		wait_until 20 grown $((before + 1000)) || true
		kill -KILL "$consumer"
		wait "$consumer" || true
		wait "$reader" || true
		echo "round $round: $(wc -l < all.out) lines"
	done
	[ "$(wc -l < all.out)" -ge 3000 ]
	[ "$(sort -u all.out | wc -l)" -lt 20000 ]
	ksub -b "$BROKERS" -G g $SESSION -t t -e >> all.out
	# Nothing missed; repeats only where a kill cut in.
	sort -u all.out | diff - <(sort sent)
}

@test "ksub | head -5 exits 0, quietly, and commits nothing beyond what was written" {
	start_broker -T t:1
	seq 1 100000 | kpub -b "$BROKERS" -t t
	run --separate-stderr bash -c "ksub -b '$BROKERS' -G h $SESSION -t t | head -5; exit \${PIPESTATUS[0]}"
	assert_success
	assert_equal "$stderr" ""
	assert_equal "${lines[*]}" "1 2 3 4 5"
	# The group goes on after what reached the pipe (head's 5 at least),
	# not after what ksub had fetched (librdkafka prefetches it all).
	run ksub -b "$BROKERS" -G h $SESSION -t t -c 1
	assert_success
	echo "next: $output"
	[ "$output" -ge 6 ]
	[ "$output" -le 50000 ]
}

@test "ksub: a reader that closes the pipe early ends every output path quietly, -L with many partitions included" {
	# -L's listing of 24 topics of 50 partitions (about 100 kB) is more
	# than ksub's buffer holds, so with a reader that is gone its writes
	# fail while topics are left to list (it crashed there once).
	topics=()
	for i in $(seq 24); do
		topics+=(-T "w$i:50")
	done
	start_broker -n 1 -T t:1 "${topics[@]}"
	seq 1 20000 | kpub -b "$BROKERS" -t t -K :
	for args in "-t t -e" "-t t -e -K :" "-t t -e --envelope" "-L"; do
		for reader in "head -c 10 > /dev/null" true; do
			# shellcheck disable=SC2086
			run --separate-stderr bash -c "ksub -b '$BROKERS' $args | $reader; exit \${PIPESTATUS[0]}"
			echo "ksub $args | $reader -> $status: $stderr"
			assert_success
			assert_equal "$stderr" ""
		done
	done
}

# A topic "small" of one partition that keeps little: on kbroker any
# topic (about its last 5 MB); on Kafka one of 1 MB segments that keeps
# about its last 2 MB (retention by size never deletes the segment being
# written; setup_file has the retention checker run every second).
# Smaller segments would not do: Kafka refuses a batch larger than a
# segment (librdkafka's batches go up to 1 MB).
small_topic() {
	if on_kafka; then
		start_broker
		"$TXS_SRCDIR/tests/helpers/kafka_admin.py" "$BROKERS" create small 1 \
			segment.bytes=1048576 retention.bytes=2097152
	else
		start_broker -T small:1
	fi
}

# The first offset small still has.
small_low() {
	ksub -b "$BROKERS" -L -t small | jq -s '.[1].partitions[0].low'
}

# On Kafka, until retention has deleted every closed segment: the low
# offset is above $1 and stays where it is over two checks.
small_retained() {
	local a b
	on_kafka || return 0
	for _ in $(seq 60); do
		a=$(small_low)
		sleep 2
		b=$(small_low)
		[ "$a" -gt "$1" ] && [ "$a" = "$b" ] && return 0
	done
	echo "small's low offset did not settle above $1: $a, $b" >&2
	return 1
}

@test "ksub: a gap left by retention exits 65 naming the offsets, or is skipped and counted" {
	small_topic
	# 40,000 seed records (about 9 MB) into one partition; kbroker keeps
	# about the last 5 MB of it, Kafka its last segment.
	txgen -s 1 -r 0 -n 40000 --start-time 1700000000 > sent
	kpub -b "$BROKERS" -t small < sent
	small_retained 0
	low=$(small_low)
	[ "$low" -gt 0 ]
	run --separate-stderr ksub -b "$BROKERS" -t small -e -o 0
	assert_failure 65
	assert_output ""
	[[ "$stderr" == *"small [0]: offsets 0 to $((low - 1)) are gone from the broker"* ]]
	run --separate-stderr ksub -b "$BROKERS" -t small -e -o 0 --on-gap skip
	assert_success
	[ "${#lines[@]}" -eq $((40000 - low)) ]
	[[ "$stderr" == *"skipped $low messages"* ]]
	# What came is the tail of what was sent, in order.
	printf '%s\n' "${lines[@]}" | diff - <(tail -n $((40000 - low)) sent)
	# -o beginning is the oldest still there: no gap to report.
	run --separate-stderr ksub -b "$BROKERS" -t small -e
	assert_success
	[ "${#lines[@]}" -eq $((40000 - low)) ]
}

@test "ksub: a group whose committed offset is gone meets the gap too" {
	small_topic
	seq 1 10 | kpub -b "$BROKERS" -t small
	run ksub -b "$BROKERS" -G lag $SESSION -t small -e
	assert_success
	[ "${#lines[@]}" -eq 10 ]
	txgen -s 1 -r 0 -n 40000 | kpub -b "$BROKERS" -t small
	small_retained 10
	run --separate-stderr ksub -b "$BROKERS" -G lag $SESSION -t small -e
	assert_failure 65
	[[ "$stderr" == *"small [0]: offsets 10 to "* ]]
}

@test "ksub: no reachable broker exits 69 after --timeout, naming the brokers" {
	port=$(free_port)
	start=$(date +%s)
	run --separate-stderr ksub -b "127.0.0.1:$port" -t t -m 2s
	assert_failure 69
	[[ "$stderr" == *"cannot reach the brokers 127.0.0.1:$port"* ]]
	[ $(($(date +%s) - start)) -le 6 ]
}

@test "ksub: -L lists brokers and topics with partitions and message counts" {
	start_broker -n 2 -T a:3 -T b:1:2
	for p in 0 1 2; do seq 1 $((p * 10 + 5)) | kcat -P -b "$BROKERS" -t a -p "$p"; done
	seq 1 7 | kcat -P -b "$BROKERS" -t b
	run ksub -b "$BROKERS" -L
	assert_success
	printf '%s\n' "${lines[@]}" > list.ndjson
	# kbroker's -n 2 (the real cluster has its three).
	assert_equal "$(jq -s '.[0].brokers | length' list.ndjson)" "$(on_kafka && echo 3 || echo 2)"
	assert_equal "$(jq -c 'select(.topic == "a") | [.partition_count, .messages, [.partitions[].high]]' list.ndjson)" \
		"[3,45,[5,15,25]]"
	assert_equal "$(jq -c 'select(.topic == "b") | [.partition_count, .messages, (.partitions[0].replicas | length)]' list.ndjson)" \
		"[1,7,2]"
	# The same as kcat sees.
	assert_equal "$(jq -r 'select(.topic == "a") | .partitions[] | "\(.partition) \(.leader)"' list.ndjson | sort)" \
		"$(kcat -L -J -b "$BROKERS" -t a | jq -r '.topics[0].partitions[] | "\(.partition) \(.leader)"' | sort)"
	run ksub -b "$BROKERS" -L -t b
	assert_success
	[ "${#lines[@]}" -eq 2 ]
}

@test "ksub: a topic that does not exist exits 66, bad configuration 78, bad options 64" {
	start_broker -T t:1
	run --separate-stderr ksub -b "$BROKERS" -t nope -e
	assert_failure 66
	[[ "$stderr" == *"nope: no such topic"* ]]
	# Configuration errors are those of txstream(7), Command line, as in kpub.
	run --separate-stderr ksub -b "$BROKERS" -t t -X no.such.property=1
	assert_failure 78
	[[ "$stderr" == *'-X: No such configuration property: "no.such.property"'* ]]
	run ksub -b "$BROKERS" -t t -F no-such-file
	assert_failure 66
	for args in "" "-t t -o nowhere" "-t t -G g -p 1" "-t t -G g -o 5" "-t t -o stored" "-t t --on-gap maybe" "-t t -c 0"; do
		# shellcheck disable=SC2086
		run ksub -b "$BROKERS" $args
		echo "ksub $args -> $status: $output"
		assert_equal "$status" 64
		assert_output --partial "usage: ksub"
	done
}

@test "ksub: SIGUSR1 drains to the end the partitions have then, and exits 0" {
	start_broker -T t:3
	txgen -s 11 -r 0 -n 2000 > first
	txgen -s 12 -r 0 -n 700 > second
	kpub -b "$BROKERS" -t t --key-field userId < first
	ksub -b "$BROKERS" -t t > out 2> err &
	pid=$!
	# Reading, so its handler for SIGUSR1 is in place.
	wait_until 30 test -s out
	kpub -b "$BROKERS" -t t --key-field userId < second
	kill -USR1 "$pid"
	rc=0
	wait "$pid" || rc=$?
	assert_equal "$rc" 0
	# Everything in the topic at the signal, each once, whatever was still unread.
	assert_equal "$(sort out | uniq -d | wc -l)" 0
	assert_equal "$(sort out)" "$(sort first second)"
	# And an idle reader of one partition stops at once.
	n=$(kcat -C -b "$BROKERS" -t t -p 1 -e -q | wc -l)
	ksub -b "$BROKERS" -t t -p 1 > one &
	pid=$!
	# Idle at the end of it, then signalled.
	at_end() {
		[ "$(wc -l < one)" -eq "$n" ]
	}
	wait_until 30 at_end
	kill -USR1 "$pid"
	rc=0
	wait "$pid" || rc=$?
	assert_equal "$rc" 0
	assert_equal "$(wc -l < one)" "$n"
}

@test "ksub: a topic name Kafka would refuse is refused with status 64, by name" {
	long=$(printf 'a%.0s' $(seq 250))
	for t in '' . .. ../../etc 'a/b' "$long"; do
		run --separate-stderr ksub -b 127.0.0.1:1 -e -t "$t"
		assert_failure 64
		[[ "$stderr" == *"topic '$t': not a Kafka topic name"* ]]
	done
	run --separate-stderr ksub -b 127.0.0.1:1 -e ok ..
	assert_failure 64
	[[ "$stderr" == *"topic '..': not a Kafka topic name: it is '.' or '..'"* ]]
}

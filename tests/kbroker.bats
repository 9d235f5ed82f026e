#!/usr/bin/env bats
# kbroker: a real Kafka-protocol cluster on the loopback, for tests and
# demos, checked with clients that are not ours: kcat and python3-kafka.

# $stderr is set by bats' run --separate-stderr.
# shellcheck disable=SC2154

load helpers

setup() {
	cd "$BATS_TEST_TMPDIR" || return
}

teardown() {
	# Group members a failed test left behind would hold bats' output open.
	[ -n "${p1:-}" ] && kill -KILL "$p1" 2>/dev/null
	[ -n "${p2:-}" ] && kill -KILL "$p2" 2>/dev/null
	stop_broker
}

dump() {
	"$TXS_SRCDIR/tests/helpers/kafka_dump.py" "$BROKERS" "$@"
}

# Topic name and partition count from kcat's metadata, one per line.
topics() {
	kcat -L -J -b "$1" | jq -r '.topics[] | "\(.topic) \(.partitions | length)"' | sort
}

@test "kbroker: the first stdout line is a bootstrap list that accepts connections" {
	start_broker -n 3
	run head -1 "$BATS_TEST_TMPDIR/kbroker.out"
	assert_output "$BROKERS"
	assert_output --regexp '^127\.0\.0\.1:[0-9]+,127\.0\.0\.1:[0-9]+,127\.0\.0\.1:[0-9]+$'
	for addr in ${BROKERS//,/ }; do
		$PY -c 'import socket, sys; h, p = sys.argv[1].split(":"); socket.create_connection((h, int(p)), 2).close()' "$addr"
	done
}

@test "kbroker: with no -T it creates the seed's topics, 5 and 3 partitions" {
	start_broker
	run topics "$BROKERS"
	assert_output "$(printf 'financial_transactions 5\ntransaction_aggregates 3')"
	# python3-kafka sees the same.
	run $PY -c 'import sys; from kafka import KafkaConsumer
c = KafkaConsumer(bootstrap_servers=sys.argv[1].split(","))
print(len(c.partitions_for_topic("financial_transactions")), len(c.partitions_for_topic("transaction_aggregates")))' "$BROKERS"
	assert_output '5 3'
	run kcat -L -J -b "$BROKERS"
	[ "$(jq '.brokers | length' <<< "$output")" -eq 3 ]
	[ "$(jq '[.topics[].partitions[].replicas | length] | unique' -c <<< "$output")" = '[3]' ]
}

@test "kbroker: -n and -T set the brokers and topics" {
	start_broker -n 1 -T a:2 -T b:7:1
	run topics "$BROKERS"
	assert_output "$(printf 'a 2\nb 7')"
	[ "$(kcat -L -J -b "$BROKERS" | jq '.brokers | length')" -eq 1 ]
}

@test "kbroker: kcat produces and consumes, and so does python3-kafka, across each other" {
	start_broker -T t:3
	seq 1 500 | kcat -P -b "$BROKERS" -t t -k k
	$PY -c 'import sys; from kafka import KafkaProducer
p = KafkaProducer(bootstrap_servers=sys.argv[1].split(","))
for i in range(501, 1001): p.send("t", key=b"p", value=str(i).encode())
p.flush()' "$BROKERS"
	run kcat -C -b "$BROKERS" -t t -e -q
	[ "$(sort -n <<< "$output" | uniq | wc -l)" -eq 1000 ]
	[ "${#lines[@]}" -eq 1000 ]
	run dump t 1000
	assert_success
	[ "$(jq -r '.v | @base64d' <<< "$output" | sort -n | uniq | wc -l)" -eq 1000 ]
}

@test "kbroker: a python3-kafka consumer group of two splits the partitions, nothing missed or doubled" {
	start_broker -T g:4
	group="$TXS_SRCDIR/tests/helpers/kafka_group.py"
	"$group" "$BROKERS" grp g ready1 3 > c1.out &
	p1=$!
	"$group" "$BROKERS" grp g ready2 3 > c2.out &
	p2=$!
	# Produce only once both members hold partitions (librdkafka's mock
	# coordinator may make the members rejoin a few times first).
	for _ in $(seq 300); do
		[ -s ready1 ] && [ -s ready2 ] &&
			[ "$(jq -s 'add | length' ready1 ready2)" -eq 4 ] &&
			[ "$(jq -s 'add | unique | length' ready1 ready2)" -eq 4 ] && break
		sleep 0.1
	done
	[ -s ready1 ] && [ -s ready2 ] || fail "the two members did not both get partitions within 30 s"
	# The split as it stood when the messages went out (a member that
	# leaves at the end hands its partitions to the other one).
	held=$(jq -c -s '.' ready1 ready2)
	echo "assignments: $held"
	# 500 to each partition: without keys, kcat's sticky partitioner could
	# put so few messages all in one partition.
	for p in 0 1 2 3; do
		seq $((p * 500 + 1)) $((p * 500 + 500)) | kcat -P -b "$BROKERS" -t g -p "$p"
	done
	wait "$p1" "$p2"
	[ "$(jq 'add | length' <<< "$held")" -eq 4 ]
	[ "$(jq 'add | unique | length' <<< "$held")" -eq 4 ]
	[ "$(jq 'map(length) | min' <<< "$held")" -ge 1 ]
	[ -s c1.out ]
	[ -s c2.out ]
	[ "$(cat c1.out c2.out | wc -l)" -eq 2000 ]
	[ "$(cat c1.out c2.out | sort -n | uniq | wc -l)" -eq 2000 ]
}

@test "kbroker: the mock brokers' connections have TCP_NODELAY, as a Kafka broker's do" {
	# Without it a response queued behind another waits for the client's
	# delayed ACK (up to 40 ms): kbroker sets it on each connection the
	# mock cluster accepts, and -v -v says what the kernel then reports.
	start_broker -n 3 -v -v
	kcat -L -b "$BROKERS" > /dev/null
	echo hello | kcat -P -b "$BROKERS" -t financial_transactions
	# One per connection: the bootstrap and the three brokers at least.
	[ "$(grep -c 'TCP_NODELAY on$' "$BATS_TEST_TMPDIR/kbroker.err")" -ge 4 ]
	run grep 'TCP_NODELAY' "$BATS_TEST_TMPDIR/kbroker.err"
	refute_output --partial 'TCP_NODELAY off'
	refute_output --partial 'TCP_NODELAY on socket'
}

@test "kbroker: -P gives a fixed bootstrap port that relays to the cluster" {
	port=$(free_port)
	start_broker -P "$port" -T t:2
	assert_equal "$BROKERS" "127.0.0.1:$port"
	seq 1 100 | kcat -P -b "127.0.0.1:$port" -t t
	run kcat -C -b "127.0.0.1:$port" -t t -e -q
	assert_equal "${#lines[@]}" 100
	run dump t 100
	assert_success
}

@test "kbroker: every control command answers ok, and a bad one answers an error" {
	start_broker -T t:2
	for cmd in "down 2" "up 2" "rtt 1 50" "rtt 1 0" "leader t 1 3" "error Produce 2 NOT_LEADER_FOR_PARTITION" \
		"error 3 1 RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE" "error FetchRequest 1 6"; do
		run broker_control "$cmd"
		assert_success
	done
	for cmd in "down 9" "up x" "rtt 1 -5" "leader t 1 7" "error Nope 1 6" "error Produce 0 6" \
		"error Produce 1 NO_SUCH_ERROR" "bogus" "down"; do
		run broker_control "$cmd"
		assert_failure
		assert_output --regexp '^error: '
	done
	run kcat -L -J -b "$BROKERS"
	[ "$(jq '.topics[] | select(.topic == "t") | .partitions[] | select(.partition == 1) | .leader' <<< "$output")" -eq 3 ]
}

@test "kbroker: a broker taken down stalls its partitions until it is up again" {
	start_broker -T t:1
	broker_control "leader t 0 2"
	broker_control "down 2"
	run kcat -P -b "$BROKERS" -t t -X message.timeout.ms=1500 <<< lost
	assert_failure
	broker_control "up 2"
	run kcat -P -b "$BROKERS" -t t -X message.timeout.ms=10000 <<< delivered
	assert_success
	run kcat -C -b "$BROKERS" -t t -e -q
	assert_output delivered
}

@test "kbroker: injected errors reach the clients" {
	start_broker -T t:1
	# The producer gives up after its retries: 5 errors beat retries=2.
	broker_control "error Produce 5 NOT_ENOUGH_REPLICAS"
	run kcat -P -b "$BROKERS" -t t -X retries=2 -X retry.backoff.ms=10 <<< x
	assert_failure
	assert_output --partial 'Not enough in-sync replicas'
}

@test "kbroker: a Produce request whose answer comes too late is written again by the retry" {
	# librdkafka's mock checks an idempotent producer's sequence numbers
	# only when it is transactional (kbroker(1), CAVEATS); Kafka would
	# write the retry once.
	start_broker -T t:1
	broker_control "leader t 0 1"
	txgen -s 5 -r 500 -n 3000 | tee in.ndjson |
		kpub -v -b "$BROKERS" -t t --key-field userId -X socket.timeout.ms=1000 2> kpub.err &
	p1=$!
	under_way() {
		[ "$(wc -l < in.ndjson)" -ge 500 ]
	}
	wait_until 10 under_way
	# Answers held 3 s, past kpub's 1 s: requests time out after they
	# were written, and the producer sends them again once answers are
	# prompt.
	broker_control "rtt 1 3000"
	timed_out() {
		grep -q 'Timed out ProduceRequest in flight' kpub.err
	}
	wait_until 20 timed_out
	broker_control "rtt 1 0"
	wait "$p1"
	p1=
	grep -q '^kpub: 3000 produced, 3000 delivered, 0 failed, 0 bad$' kpub.err
	dump t 3000 30 > got.ndjson
	[ "$(wc -l < got.ndjson)" -gt 3000 ]
	run diff <(jq -r .transactionId in.ndjson | sort) \
		<(jq -r '.v | @base64d | fromjson | .transactionId' got.ndjson | sort -u)
	assert_success
	run "$TXS_SRCDIR/tests/helpers/retried_runs.py" got.ndjson
	assert_success
	assert_output --regexp '^[1-9][0-9]* repeated, in [1-9][0-9]* runs$'
}

@test "kbroker: a writer that closes the control FIFO does not stop it" {
	start_broker -T t:1
	exec {KBROKER_CONTROL_FD}>&-
	for cmd in "rtt 1 0" "rtt 2 0"; do
		echo "$cmd" > "$BATS_TEST_TMPDIR/kbroker.control"
	done
	# Both commands answered, each writer gone: kbroker still serves.
	answered() {
		[ "$(grep -c '^ok$' "$BATS_TEST_TMPDIR/kbroker.out")" -ge 2 ]
	}
	wait_until 10 answered
	kill -0 "$KBROKER_PID"
	exec {KBROKER_CONTROL_FD}> "$BATS_TEST_TMPDIR/kbroker.control"
	run broker_control "down 1"
	assert_success
	run tail -3 "$BATS_TEST_TMPDIR/kbroker.out"
	assert_output "$(printf 'ok\nok\nok')"
}

@test "kbroker: it warns when a partition loses its oldest messages to the 5 MB limit" {
	start_broker -T small:1
	# 8 MB of 1 KB messages into one partition: more than it keeps.
	$PY -c 'import sys; sys.stdout.write(("x" * 1023 + "\n") * 8192)' | kcat -P -b "$BROKERS" -t small
	for _ in $(seq 50); do
		grep -q 'small \[0\]: the oldest' "$BATS_TEST_TMPDIR/kbroker.err" && break
		sleep 0.1
	done
	run cat "$BATS_TEST_TMPDIR/kbroker.err"
	assert_output --regexp 'kbroker: small \[0\]: the oldest [0-9]+ messages were deleted'
	# And the low watermark really moved: python3-kafka reads fewer.
	run $PY -c 'import sys; from kafka import KafkaConsumer, TopicPartition
c = KafkaConsumer(bootstrap_servers=sys.argv[1].split(","))
tp = TopicPartition("small", 0)
print(c.beginning_offsets([tp])[tp], c.end_offsets([tp])[tp])' "$BROKERS"
	read -r low high <<< "$output"
	[ "$low" -gt 0 ]
	[ "$high" -eq 8192 ]
}

@test "kbroker: SIGTERM ends it with status 0, even with a broker down" {
	start_broker -T t:2
	broker_control "down 1"
	broker_control "leader t 0 1"
	# stop_broker fails when kbroker is still there 10 s after SIGTERM.
	stop_broker
}

@test "kbroker: bad options exit 64 with the usage" {
	for args in "-n 0" "-n x" "-T nopartitions" "-T t:0" "-T t:2:4" "-P 0" "--bogus" "extra"; do
		# shellcheck disable=SC2086
		run kbroker $args
		echo "kbroker $args -> $status: $output"
		assert_equal "$status" 64
		assert_output --partial 'usage: kbroker'
	done
}

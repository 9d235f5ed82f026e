#!/usr/bin/env bats
# What only a real Apache Kafka cluster makes possible: leader failover
# under load, a frozen broker, the active controller lost, the real group
# coordinator, offsets looked up by time, real retention. The cluster is
# scripts/kafka's (three KRaft controllers, three brokers), one for the
# whole file; the checks read with clients that are not ours (kcat,
# python3-kafka) or with Kafka's own Java tools. make check-kafka runs
# this file (TXS_KAFKA=kafka); it has no kbroker counterpart.

# $stderr is set by bats' run --separate-stderr.
# shellcheck disable=SC2154

load helpers

# The retention checker every second (Kafka's default: 5 minutes), so a
# test sees short retention.ms act; nothing else differs from compose.
setup_file() {
	[ "$TXS_KAFKA" = kafka ] || { echo "tests/kafka.bats needs TXS_KAFKA=kafka (make check-kafka)" >&2; return 1; }
	start_engine -X log.retention.check.interval.ms=1000
}

teardown_file() {
	stop_engine
}

setup() {
	cd "$BATS_TEST_TMPDIR" || return
	PIDS=()
}

teardown() {
	stop_pids KILL
}

admin() {
	"$TXS_SRCDIR/tests/helpers/kafka_admin.py" "$BROKERS" "$@"
}

# The broker (kafka-N) that leads partition $2 of topic $1.
leader_of() {
	admin leaders "$1" | awk -v p="$2" '$1 == p { print "kafka-" ($2 - 3) }'
}

# Messages in a topic now, by ksub -L (the sum of high - low).
messages_in() {
	ksub -b "$BROKERS" -L -t "$1" | jq -s '.[1].messages'
}

at_least() {
	[ "$(messages_in "$1")" -ge "$2" ]
}

# transactionIds of a topic, read by kcat, sorted.
ids_in() {
	kcat -C -b "$BROKERS" -t "$1" -e -q -f '%s\n' | grep -o '"transactionId":"[^"]*"' | sort
}

# Every record of $1 (the file sent) is in topic $2 exactly once.
assert_exactly_once() {
	grep -o '"transactionId":"[^"]*"' "$1" | sort > want.ids
	ids_in "$2" > got.ids
	echo "sent $(wc -l < want.ids), read $(wc -l < got.ids), $(uniq -d got.ids | wc -l) twice"
	assert_equal "$(uniq -d got.ids | wc -l)" 0
	run diff want.ids got.ids
	assert_success
}

# fault_amid_200k SEED FAULT...: 200,000 txgen records at full speed
# into a new topic ft of 5 partitions; once 20,000 are in, FAULT runs
# with the broker that leads partition 0 as its last argument (in
# $victim too). kpub must exit 0 and every record be there exactly once.
fault_amid_200k() {
	local seed=$1 pid rc=0
	shift
	start_broker -T ft:5
	txgen -s "$seed" -r 0 -n 200000 > sent
	victim=$(leader_of ft 0)
	kpub -b "$BROKERS" -t ft --key-field userId sent 2> kpub.err &
	pid=$!
	PIDS+=("$pid")
	wait_until 60 at_least ft 20000
	"$@" "$victim"
	wait "$pid" || rc=$?
	cat kpub.err
	assert_equal "$rc" 0
	assert_exactly_once sent ft
}

# The fault itself lasts 10 s; the cluster fences the broker after
# broker.session.timeout.ms (9 s) and moves its leaders.
freeze_10s() {
	kafka pause "$1"
	sleep 10
	kafka resume "$1"
}

@test "kafka: the leader's broker killed -9 amid 200,000 records at full speed: each arrives exactly once" {
	fault_amid_200k 31 kafka kill
	# Partition 0 has a new leader, from the replicas still in sync.
	run leader_of ft 0
	refute_output "$victim"
	kafka restart "$victim"
}

@test "kafka: the leader's broker frozen (SIGSTOP) for 10 s amid 200,000 records: each arrives exactly once" {
	fault_amid_200k 32 freeze_10s
}

# The active controller's node name, by Kafka's own kafka-metadata-quorum
# (org.apache.kafka.tools.MetadataQuorumCommand).
active_controller() {
	"$TXS_SRCDIR/scripts/kafka" run org.apache.kafka.tools.MetadataQuorumCommand \
		--bootstrap-server "$BROKERS" describe --status |
		awk '$1 == "LeaderId:" { print "controller-" $2 }'
}

controller_other_than() {
	local now
	now=$(active_controller)
	[ -n "$now" ] && [ "$now" != "$1" ]
}

# topic_created PREFIX N: kpub --create-topic made a topic of N
# partitions, PREFIX-1, PREFIX-2, ... (a new name each time: a request
# the cluster answered too late leaves kpub to go on, and its line then
# auto-creates that name with the cluster's default partitions). Its
# name in $CREATED.
topic_created() {
	CREATED_TRIES=$((${CREATED_TRIES:-0} + 1))
	CREATED=$1-$CREATED_TRIES
	# kpub creates the topic before its first line: one line, no record.
	echo probe | kpub -b "$BROKERS" -t "$CREATED" --create-topic --partitions "$2" -v 2> create.err || true
	cat create.err >&2
	grep -q "created topic $CREATED" create.err
}

@test "kafka: the active controller killed -9: producing and consuming go on, and a topic can still be created" {
	start_broker -T before:3
	old=$(active_controller)
	[[ "$old" == controller-[123] ]]
	kafka kill "$old"
	# A new leader of the quorum, among the two left.
	wait_until 60 controller_other_than "$old"
	txgen -s 33 -r 0 -n 5000 > sent
	run kpub -b "$BROKERS" -t before --key-field userId sent
	assert_success
	# The brokers forward CreateTopics to the new controller once they
	# know it; kpub asks again until its --timeout (10 s), then exits 69
	# without producing. Asked again (with a probe line, not a record)
	# until the cluster answers: within a minute of the failover.
	wait_until 60 topic_created after 4
	run kpub -b "$BROKERS" -t "$CREATED" -v sent
	assert_success
	run admin describe "$CREATED"
	assert_success
	assert_equal "$(jq -c '[.partitions, .replication_factor]' <<< "$output")" '[4,3]'
	assert_exactly_once sent before
	assert_exactly_once sent "$CREATED"
	run ksub -b "$BROKERS" -t "$CREATED" -e
	assert_success
	assert_equal "$(printf '%s\n' "${lines[@]}" | grep -c transactionId)" 5000
	kafka restart "$old"
}

lines_at_least() {
	[ "$(wc -l < "$1")" -ge "$2" ]
}

# offsets_written_at_least N FILE...: envelopes of N distinct messages.
offsets_written_at_least() {
	local n=$1
	shift
	[ "$(cat "$@" | jq -r '"\(.partition) \(.offset)"' | sort -u | wc -l)" -ge "$n" ]
}

# Each member's last assignment, in its -v log, was two partitions.
each_holds_two() {
	local f
	for f in "$@"; do
		grep 'assigned' "$f" | tail -n 1 | grep -q 'assigned 2 partitions' || return 1
	done
}

@test "kafka: ksub -G, three members on 6 partitions, one killed -9 and restarted: nothing lost, repeats only after its last commit" {
	start_broker -T g:6
	# Members commit what they wrote every second; a killed member's
	# partitions go to the others after its 6 s session.
	group=(-G three -X session.timeout.ms=6000 -X heartbeat.interval.ms=2000 -X auto.commit.interval.ms=1000 -t g --envelope -v)
	for m in 1 2 3; do
		ksub -b "$BROKERS" "${group[@]}" > "m$m.out" 2> "m$m.err" &
		PIDS+=("$!")
	done
	pid1=${PIDS[0]} pid2=${PIDS[1]} pid3=${PIDS[2]}
	wait_until 60 each_holds_two m1.err m2.err m3.err
	# 60,000 records at 4,000/s: the kill falls mid-stream.
	txgen -s 34 -r 4000 -n 60000 | tee sent | kpub -b "$BROKERS" -t g --key-field userId &
	prod=$!
	PIDS+=("$prod")
	wait_until 60 lines_at_least m2.out 3000
	kill -KILL "$pid2"
	ksub -b "$BROKERS" "${group[@]}" > m4.out 2> m4.err &
	PIDS+=("$!")
	pid4=$!
	wait "$prod"
	wait_until 120 offsets_written_at_least 60000 m1.out m2.out m3.out m4.out
	kill -TERM "$pid1" "$pid3" "$pid4"
	wait "$pid1" "$pid3" "$pid4"
	# Nothing lost: every message of the topic was written by a member.
	cat m1.out m2.out m3.out m4.out | jq -r '.value.transactionId' | sort -u > got.ids
	jq -r .transactionId sent | sort > want.ids
	run diff want.ids got.ids
	assert_success
	# Read twice: exactly the messages the killed member wrote after the
	# group's last commit of its partitions, and they were re-read from
	# that commit on. For each of its partitions: (last offset it wrote)
	# + 1 - (first offset the next owner read) messages.
	$PY - m2.out m1.out m3.out m4.out <<'EOF'
import json, sys
def rows(f):
    return [json.loads(l) for l in open(f) if l.endswith("\n")]
killed = rows(sys.argv[1])
others = [r for f in sys.argv[2:] for r in rows(f)]
last = {}
for r in killed:
    last[r["partition"]] = max(last.get(r["partition"], -1), r["offset"])
seen = {}
for r in killed + others:
    k = (r["partition"], r["offset"])
    seen[k] = seen.get(k, 0) + 1
twice = {k for k, n in seen.items() if n > 1}
assert all(n <= 2 for n in seen.values()), "a message read three times"
expected = set()
for p, hi in last.items():
    resumed = min((r["offset"] for r in others if r["partition"] == p and r["offset"] <= hi), default=hi + 1)
    expected |= {(p, o) for o in range(resumed, hi + 1)}
assert twice == expected, (len(twice), len(expected), sorted(twice ^ expected)[:5])
# One commit interval (1 s) of the killed member's share of 4000/s (two
# of six partitions), with room for the fetch in flight: at most 3000.
print(f"read twice: {len(twice)} messages of partitions {sorted(last)}")
assert len(twice) <= 3000, len(twice)
EOF
}

@test "kafka: ksub -o s@MS starts each partition at its first message at or after that time" {
	start_broker -T ts:2
	# 100 messages with CreateTime t0 + i s, i = 0..99, on two partitions,
	# by python3-kafka. t0 is recent: older messages would be past the
	# topic's retention (7 days) and deleted at once.
	t0=$(( ($(date +%s) - 1000) * 1000 ))
	$PY - "$BROKERS" "$t0" <<'PY'
import sys
from kafka import KafkaProducer
p = KafkaProducer(bootstrap_servers=sys.argv[1].split(","), acks="all", retries=5)
t0 = int(sys.argv[2])
sent = [p.send("ts", value=b"%d" % i, partition=i % 2, timestamp_ms=t0 + i * 1000) for i in range(100)]
p.flush()
for f in sent:
    f.get(timeout=30)    # raises if a message was not delivered
PY
	# Both partitions hold their 50, by kcat.
	assert_equal "$(kcat -C -b "$BROKERS" -t ts -e -q | wc -l)" 100
	run ksub -b "$BROKERS" -t ts -e -o "s@$((t0 + 50000))"
	assert_success
	assert_equal "$(printf '%s\n' "${lines[@]}" | sort -n | tr '\n' ' ')" "$(seq 50 99 | tr '\n' ' ')"
	# Between two messages: from the next one on.
	run ksub -b "$BROKERS" -t ts -e -o "s@$((t0 + 89500))" --envelope
	assert_success
	assert_equal "$(printf '%s\n' "${lines[@]}" | jq -r .value | sort -n | tr '\n' ' ')" "$(seq 90 99 | tr '\n' ' ')"
	assert_equal "$(printf '%s\n' "${lines[@]}" | jq -r .timestamp | sort -n | head -1)" "$((t0 + 90000))"
	# After the last message: nothing, and no error.
	run ksub -b "$BROKERS" -t ts -e -o "s@$((t0 + 200000))"
	assert_success
	assert_output ""
	# The same start as kcat's -o s@ (librdkafka's offsets-for-times too).
	assert_equal "$(ksub -b "$BROKERS" -t ts -e -o "s@$((t0 + 50000))" | sort -n)" \
		"$(kcat -C -b "$BROKERS" -t ts -e -q -o "s@$((t0 + 50000))" | sort -n)"
}

@test "kafka: every broker stopped: kpub exits 69, ksub exits 69, naming the brokers" {
	start_broker -T down:1
	for n in 1 2 3; do kafka pause "kafka-$n"; done
	run --separate-stderr kpub -b "$BROKERS" -t down --timeout 2s <<< x
	assert_failure 69
	[[ "$stderr" == *"cannot reach the brokers"* ]]
	run --separate-stderr ksub -b "$BROKERS" -t down -e -m 2s
	assert_failure 69
	[[ "$stderr" == *"cannot reach the brokers"* ]]
	for n in 1 2 3; do kafka resume "kafka-$n"; done
	run kpub -b "$BROKERS" -t down <<< back
	assert_success
}

@test "kafka: the controllers frozen: kpub --create-topic asks until --timeout, then exits 69 with nothing produced" {
	start_broker -T warm:1
	# The brokers answer Metadata from what they hold; CreateTopics waits
	# on a controller. Frozen 5 s at most: less than the brokers' 9 s
	# session, so that none is fenced when the controllers wake.
	for n in 1 2 3; do kafka pause "controller-$n"; done
	rc=0
	kpub -b "$BROKERS" -t frozen_create --create-topic --partitions 2 --timeout 4s <<< probe 2> err || rc=$?
	for n in 1 2 3; do kafka resume "controller-$n"; done
	cat err
	assert_equal "$rc" 69
	assert_equal "$(grep -c "^kpub: --create-topic: the cluster at $BROKERS did not answer for topic frozen_create within --timeout" err)" 1
	# Not auto-created with the broker's defaults and written to: the
	# topic is absent, or (created late by the woken controllers) empty.
	assert_equal "$(kcat -C -b "$BROKERS" -t frozen_create -e -q 2>/dev/null | wc -l)" 0
}

@test "kafka: the local nodes run the settings docker-compose.yml gives the apache/kafka image" {
	# compose's resolved environment of each Kafka service, mapped to
	# properties by the image's rule, against the server.properties
	# scripts/kafka wrote for the node of the same name. Only what is
	# each side's own differs: addresses, ports, ids, paths.
	cd "$TXS_SRCDIR"
	docker-compose config > "$BATS_TEST_TMPDIR/compose.yml"
	run $PY - "$BATS_TEST_TMPDIR/compose.yml" "$KAFKA_DIR" <<'PY'
import sys, yaml
compose = yaml.safe_load(open(sys.argv[1]))["services"]
own = {"node.id", "listeners", "advertised.listeners", "controller.quorum.voters", "log.dirs"}
not_properties = {"KAFKA_HEAP_OPTS", "KAFKA_OPTS", "CLUSTER_ID"}
def prop(name):
    k = name[len("KAFKA_"):].lower().replace("___", "-").replace("__", "\0").replace("_", ".")
    return k.replace("\0", "_")
bad = 0
for node in ["controller-1", "controller-2", "controller-3", "kafka-1", "kafka-2", "kafka-3"]:
    env = compose[node]["environment"]
    want = {prop(k): str(v) for k, v in env.items()
            if k.startswith("KAFKA_") and k not in not_properties and prop(k) not in own}
    got = {}
    for line in open(f"{sys.argv[2]}/{node}/server.properties"):
        if line.startswith("#") or "=" not in line:
            continue
        k, v = line.rstrip("\n").split("=", 1)
        if k not in own and k != "log.retention.check.interval.ms":  # this file's -X
            got[k] = v
    if want != got:
        bad += 1
        print(node, "compose only:", sorted(set(want.items()) - set(got.items())),
              "local only:", sorted(set(got.items()) - set(want.items())))
print(f"{6 - bad} of 6 nodes alike")
sys.exit(bad)
PY
	echo "$output"
	assert_success
	assert_output "6 of 6 nodes alike"
}

# low_offset_is TOPIC N: partition 0 of TOPIC starts at offset N.
low_offset_is() {
	[ "$(ksub -b "$BROKERS" -L -t "$1" | jq -s '.[1].partitions[0].low')" -eq "$2" ]
}

@test "kafka: a partition that time retention emptied is a gap too: ksub exits 65, or skips and counts it" {
	# Kafka deletes even the segment being written once it is older than
	# retention.ms: no message is left after the gap to reveal it, only
	# the end of the partition.
	start_broker
	admin create gone 1 segment.bytes=1048576 retention.ms=2000
	seq 1 5000 | kpub -b "$BROKERS" -t gone
	wait_until 60 low_offset_is gone 5000
	run --separate-stderr ksub -b "$BROKERS" -t gone -e -o 0
	assert_failure 65
	assert_output ""
	[[ "$stderr" == *"gone [0]: offsets 0 to 4999 are gone from the broker"* ]]
	run --separate-stderr ksub -b "$BROKERS" -t gone -e -o 0 --on-gap skip
	assert_success
	assert_output ""
	[[ "$stderr" == *"skipped 5000 messages"* ]]
}

@test "kafka: the topic names kpub and ksub refuse are the ones Kafka refuses" {
	start_broker
	long=$(printf 'x%.0s' $(seq 250))
	for name in '' . .. ../../etc 'a b' "$long"; do
		run kpub -b "$BROKERS" -t "$name" <<< x
		assert_failure 64
		run ksub -b "$BROKERS" -t "$name" -e
		assert_failure 64
		# Kafka's own answer, through python3-kafka's Admin client.
		run admin create "$name" 1
		assert_failure
	done
	for name in "${long%x}" A.b-c_9; do
		run admin create "$name" 1
		assert_success
		run kpub -b "$BROKERS" -t "$name" <<< x
		assert_success
	done
}

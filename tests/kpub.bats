#!/usr/bin/env bats
# kpub: every line becomes one message, and nothing is lost without a word.
# Each test starts its own kbroker on free ports; messages are read back
# with clients that are not ours: kcat, and python3-kafka (no librdkafka).

# $stderr is set by bats' run --separate-stderr.
# shellcheck disable=SC2154

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
	start_broker -T t:4 -T copy:4 -T one:1 -T kp:7 -T kc:7 -T kpm:7 -T kcm:7
}

teardown() {
	stop_broker
}

dump() {
	"$TXS_SRCDIR/tests/helpers/kafka_dump.py" "$BROKERS" "$@"
}

# The (key, value) pairs expected from NDJSON lines keyed by a field.
expected_pairs() {
	$PY -c '
import base64, json, sys
field = sys.argv[1]
for raw in sys.stdin.buffer:
    line = raw.rstrip(b"\n")
    if not line:
        continue
    key = str(json.loads(line)[field]).encode()
    print(base64.b64encode(key).decode(), base64.b64encode(line).decode())
' "$1" | sort
}

@test "kpub: every line arrives exactly once with its key (read by python3-kafka)" {
	txgen -s 1 -r 0 -n 3000 > in.ndjson
	run kpub -b "$BROKERS" -t t --key-field userId in.ndjson
	assert_success
	dump t 3000 > got.ndjson
	jq -r '"\(.k) \(.v)"' got.ndjson | sort > got.pairs
	expected_pairs userId < in.ndjson > want.pairs
	run diff want.pairs got.pairs
	assert_success
	# Kafka's partitioner keeps one key on one partition.
	[ "$(jq -r '"\(.k) \(.p)"' got.ndjson | sort -u | cut -d' ' -f1 | uniq -d | wc -l)" -eq 0 ]
}

@test "kpub: every line arrives exactly once with its key (read by kcat)" {
	txgen -s 2 -r 0 -n 2000 > in.ndjson
	kpub -b "$BROKERS" -t t --key-field userId < in.ndjson
	kcat -C -b "$BROKERS" -t t -e -q -f '%k\t%s\n' > got.tsv
	[ "$(wc -l < got.tsv)" -eq 2000 ]
	jq -r '"\(.userId)\t\(tojson)"' in.ndjson | sort > want.sorted
	# jq re-serialises; compare kcat's values as JSON, keys as text.
	jq -R -r 'split("\t") | "\(.[0])\t\(.[1] | fromjson | tojson)"' got.tsv | sort > got.sorted
	run diff want.sorted got.sorted
	assert_success
	# And byte for byte: the raw values are exactly the input lines.
	run diff <(cut -f2- got.tsv | sort) <(sort in.ndjson)
	assert_success
}

@test "kpub: a number key field is sent as its text, and -k, -K set keys" {
	printf '{"id":42,"v":1}\n{"id":-1.50,"v":2}\n' | kpub -b "$BROKERS" -t one --key-field id
	printf 'a\nb\n' | kpub -b "$BROKERS" -t one -k fixed
	printf 'k1:v:1\nnokey\n' | kpub -b "$BROKERS" -t one -K :
	run dump one 6
	assert_success
	run jq -r '"\(.k // "null" | if . == "null" then . else @base64d end)=\(.v | @base64d)"' <<< "$output"
	assert_output "$(printf '42={"id":42,"v":1}\n-1.50={"id":-1.50,"v":2}\nfixed=a\nfixed=b\nk1=v:1\nnull=nokey')"
}

@test "kpub: --missing-key=null sends keyless lines without a key" {
	printf '{"u":"x"}\n{"other":1}\n{"u":null}\n' > in.ndjson
	run kpub -b "$BROKERS" -t one --key-field u --missing-key=null in.ndjson
	assert_success
	run dump one 3
	assert_success
	run jq -c '[.k, (.v | @base64d)]' <<< "$output"
	assert_output "$(printf '%s\n' '["eA==","{\"u\":\"x\"}"]' '[null,"{\"other\":1}"]' '[null,"{\"u\":null}"]')"
}

@test "kpub: headers are added in order, repeated names kept" {
	printf 'x\n' | kpub -b "$BROKERS" -t one --header a=1 --header b=two --header a=3
	run dump one 1
	assert_success
	run jq -c '.h | map([.[0], (.[1] | @base64d)])' <<< "$output"
	assert_output '[["a","1"],["b","two"],["a","3"]]'
	run kcat -C -b "$BROKERS" -t one -e -q -f '%h\n'
	assert_output 'a=1,b=two,a=3'
}

@test "kpub: -p sends every message to that partition" {
	txgen -r 0 -n 100 | kpub -b "$BROKERS" -t t -p 2 --key-field userId
	run dump t 100
	assert_success
	[ "$(jq .p <<< "$output" | sort -u)" = 2 ]
}

# key, partition of every message of a topic, read by kcat, sorted.
key_partitions() {
	kcat -C -b "$BROKERS" -t "$1" -e -q -f '%k %p\n' | sort -u
}

@test "kpub: by default keys land where kafka-python and Java put them (murmur2), and -X partitioner= still chooses" {
	$PY -c '
import json
for i in range(3000):
    print(json.dumps({"k": "key-%d" % (i % 211), "seq": i}))' > in.ndjson
	jq -r '"\(.k)|\(tojson)"' -c in.ndjson > in.keyed
	# The partitions kafka-python's DefaultPartitioner computes for these keys.
	$PY -c '
import sys
from kafka.partitioner.default import murmur2
for i in range(211):
    k = b"key-%d" % i
    print(k.decode(), (murmur2(k) & 0x7fffffff) % 7)' | sort -u > expected.txt
	kpub -b "$BROKERS" -t kp --key-field k in.ndjson
	key_partitions kp > kp.txt
	[ "$(wc -l < kp.txt)" -eq 211 ]
	run diff expected.txt kp.txt
	assert_success
	# kpub batches by partition, so it runs the partitioner itself: the
	# same keys sent by kcat (librdkafka partitioning each message) must
	# land on the same partitions, for murmur2_random and for another
	# partitioner chosen with -X.
	kcat -P -b "$BROKERS" -t kc -K '|' -X partitioner=murmur2_random in.keyed -l
	kpub -b "$BROKERS" -t kpm --key-field k -X partitioner=consistent_random in.ndjson
	kcat -P -b "$BROKERS" -t kcm -K '|' -X partitioner=consistent_random in.keyed -l
	key_partitions kc > kc.txt
	key_partitions kpm > kpm.txt
	key_partitions kcm > kcm.txt
	run diff kc.txt kp.txt
	assert_success
	run diff kcm.txt kpm.txt
	assert_success
	# The two partitioners differ, so the comparison above can fail.
	run diff -q kp.txt kpm.txt
	assert_failure
	# Each partition keeps the input order.
	kcat -C -b "$BROKERS" -t kp -e -q -f '%p %s\n' | $PY -c '
import json, sys
last = {}
for line in sys.stdin:
    p, v = line.split(" ", 1)
    seq = json.loads(v)["seq"]
    assert seq > last.get(p, -1), (p, seq, last.get(p))
    last[p] = seq
print(len(last))'
}

@test "kpub -T: a reader that closes the pipe early loses no message and ends quietly" {
	seq 1 50000 > in.txt
	for reader in "head -c 10 > /dev/null" true; do
		run --separate-stderr bash -c "kpub -b '$BROKERS' -t t -T < in.txt | $reader; exit \${PIPESTATUS[0]}"
		assert_success
		assert_equal "$stderr" ""
	done
	run -0 bash -c "ksub -b '$BROKERS' -t t -e | sort -n | uniq -c | awk '{print \$1}' | sort -u"
	assert_output 2
}

@test "kpub: with a librdkafka queue of 50 messages, 5000 lines still all arrive once, in order" {
	$PY -c '
import json
for i in range(5000):
    print(json.dumps({"k": "key-%d" % (i % 7), "seq": i}))' > in.ndjson
	run kpub -b "$BROKERS" -t t --key-field k -X queue.buffering.max.messages=50 in.ndjson
	assert_success
	kcat -C -b "$BROKERS" -t t -e -q -f '%k %p %s\n' > got.txt
	[ "$(wc -l < got.txt)" -eq 5000 ]
	$PY -c '
import json, sys
seen, last, part = set(), {}, {}
for line in open("got.txt"):
    k, p, v = line.split(" ", 2)
    seq = json.loads(v)["seq"]
    assert seq not in seen, seq
    seen.add(seq)
    assert seq > last.get(k, -1), (k, seq)
    last[k] = seq
    assert part.setdefault(k, p) == p, (k, p, part[k])
assert seen == set(range(5000))'
}

@test "kpub: keyless lines among keyed ones (--missing-key=null) keep every partition in input order" {
	$PY -c '
import json
for i in range(3000):
    r = {"seq": i}
    if i % 10:
        r["k"] = "key-%d" % (i % 13)
    print(json.dumps(r))' > in.ndjson
	run kpub -b "$BROKERS" -t t --key-field k --missing-key=null in.ndjson
	assert_success
	kcat -C -b "$BROKERS" -t t -e -q -f '%p %K %s\n' > got.txt
	[ "$(wc -l < got.txt)" -eq 3000 ]
	# 300 keyless (key length -1), and per partition the sequence only rises.
	[ "$(awk '$2 == -1' got.txt | wc -l)" -eq 300 ]
	$PY -c '
import json
last = {}
for line in open("got.txt"):
    p, _, v = line.split(" ", 2)
    seq = json.loads(v)["seq"]
    assert seq > last.get(p, -1), (p, seq)
    last[p] = seq'
}

@test "kpub: batched, an empty key stays an empty key, and -T writes the line as read" {
	printf ':v1\nk:v2\n' > in.txt
	run --separate-stderr kpub -b "$BROKERS" -t one -p 0 -K : -T -v in.txt
	assert_success
	assert_output "$(cat in.txt)"
	[[ "$stderr" == *"a batch per partition"* ]]
	run kcat -C -b "$BROKERS" -t one -e -q -f '%K|%k|%s\n'
	assert_output "$(printf '0||v1\n1|k|v2')"
}

@test "kpub: a message librdkafka refuses: --strict stops there, -c still sends its count" {
	x=$(head -c 990 /dev/zero | tr '\0' x)
	printf 'a1\na2\n%s\na3\na4\n' "$x" > in.txt
	# 990 bytes pass kpub's own check of the line; librdkafka's of the
	# message (with its overhead) refuses it.
	run kpub -b "$BROKERS" -t one -p 0 --strict -X message.max.bytes=1000 in.txt
	assert_failure 65
	assert_equal "$(kcat -C -b "$BROKERS" -t one -e -q | tr '\n' ' ')" 'a1 a2 '
	run --separate-stderr kpub -b "$BROKERS" -t t -p 2 -c 3 -X message.max.bytes=1000 --errors dl -v in.txt
	assert_success
	[[ "$stderr" == *"a batch per partition"* ]]
	[[ "$stderr" == *"in.txt:3: cannot produce"* ]]
	assert_equal "$(kcat -C -b "$BROKERS" -t t -p 2 -e -q | tr '\n' ' ')" 'a1 a2 a3 '
	assert_equal "$(cat dl)" "$x"
}

@test "kpub: a batch that ends where a read ends is sent before the next read" {
	# kpub reads 256 KB less one byte at a time and takes 4096 lines at
	# most: 4095 lines of 64 bytes and one of 63 fill the first read
	# exactly, so the batch is full just as the buffer has no line left.
	$PY -c '
for i in range(7096):
    print(("%06d-" % i).ljust(62 if i == 4095 else 63, "x"))' > in.txt
	[ "$(head -n 4096 in.txt | wc -c)" -eq 262143 ]
	run --separate-stderr kpub -b "$BROKERS" -t one -p 0 -T -v < in.txt
	assert_success
	[[ "$stderr" == *"a batch per partition"* ]]
	assert_equal "$output" "$(cat in.txt)"
	kcat -C -b "$BROKERS" -t one -e -q > got.txt
	run cmp in.txt got.txt
	assert_success
}

@test "kpub: -D '\\0' is binary-safe: newlines stay inside messages" {
	printf 'one\nline\0two\r\n\0\001\377\0' > in.bin
	run kpub -b "$BROKERS" -t one -D '\0' in.bin
	assert_success
	run dump one 3
	assert_success
	run jq -r .v <<< "$output"
	assert_output "$(printf '%s\n' "$(printf 'one\nline' | base64)" "$(printf 'two\r\n' | base64)" "$(printf '\001\377' | base64)")"
}

@test "kpub: -c stops after that many messages" {
	txgen -r 0 -n 500 | kpub -b "$BROKERS" -t t -c 123
	run dump t 123 5
	assert_success
	assert_equal "${#lines[@]}" 123
}

@test "kpub: bad lines go to --errors with their line numbers, and it exits 0" {
	engine_free
	printf '{"userId":"u1"}\nnot json\n{"userId":"u2"} trailing\n{"nokey":1}\n\n{"userId":"u3"}\n' > in.ndjson
	run --separate-stderr kpub -b "$BROKERS" -t one --key-field userId --errors dead.ndjson in.ndjson
	assert_success
	assert_equal "$(printf '%s\n' "$stderr" | grep -c '^kpub: in.ndjson:[0-9]*: ')" 3
	[[ $stderr == *"in.ndjson:2: not JSON"* ]]
	[[ $stderr == *"in.ndjson:3: not JSON: trailing characters"* ]]
	[[ $stderr == *"in.ndjson:4: no key field: userId"* ]]
	run cat dead.ndjson
	assert_output "$(printf 'not json\n{"userId":"u2"} trailing\n{"nokey":1}')"
	run dump one 2
	assert_success
	assert_equal "${#lines[@]}" 2
}

@test "kpub: bad lines without --errors make the exit status 65" {
	engine_free
	printf '{"userId":"u1"}\nnot json\n{"userId":"u3"}\n' > in.ndjson
	run kpub -b "$BROKERS" -t one --key-field userId in.ndjson
	assert_equal "$status" 65
	assert_output --partial 'in.ndjson:2: not JSON'
	# The good lines were still sent.
	run dump one 2
	assert_success
}

@test "kpub: --strict stops at the first bad line with 65, after sending the lines before it" {
	engine_free
	printf '{"userId":"u1"}\nbad\n{"userId":"u3"}\n' > in.ndjson
	run kpub -b "$BROKERS" -t one --key-field userId --strict --errors dead in.ndjson
	assert_equal "$status" 65
	run dump one 1 5
	assert_success
	assert_equal "${#lines[@]}" 1
	assert_equal "$(cat dead)" bad
}

@test "kpub: a line over message.max.bytes is a bad line, not a crash" {
	{ echo small; head -c 20000 /dev/zero | tr '\0' x; echo; echo after; } > in.txt
	run --separate-stderr kpub -b "$BROKERS" -t one -X message.max.bytes=10000 --errors dead in.txt
	assert_success
	[[ $stderr == *"in.txt:2: line too long: 20000 bytes, over message.max.bytes (10000)"* ]]
	[ "$(wc -c < dead)" -eq 20001 ]
	run dump one 2
	assert_success
	run jq -r '.v | @base64d' <<< "$output"
	assert_output "$(printf 'small\nafter')"
}

@test "kpub: a broker down for 2 s mid-stream loses nothing; Kafka doubles nothing, kbroker only a request the outage cut" {
	# txgen paces the stream (4 s at 3000/s), so the outage falls mid-stream.
	txgen -s 4 -r 3000 -n 12000 | tee in.ndjson | kpub -v -b "$BROKERS" -t t --key-field userId 2> kpub.err &
	pid=$!
	# Under way (a tenth of the stream read), then the outage, which lasts 2 s.
	under_way() {
		[ "$(wc -l < in.ndjson)" -ge 1200 ]
	}
	wait_until 10 under_way
	broker_control "down 1"
	sleep 2
	broker_control "up 1"
	rc=0
	wait "$pid" || rc=$?
	assert_equal "$rc" 0
	dump t 12000 60 > got.ndjson
	jq -r '.v | @base64d | fromjson | .transactionId' got.ndjson | sort > got.ids
	# Said before the checks, so a failure shows what came back.
	echo "read $(wc -l < got.ids), $(uniq -d got.ids | wc -l) twice; kpub said:"
	cat kpub.err
	# kpub handed each line to librdkafka once, and had each delivered once.
	grep -q '^kpub: 12000 produced, 12000 delivered, 0 failed, 0 bad$' kpub.err
	run diff <(jq -r .transactionId in.ndjson | sort) <(sort -u got.ids)
	assert_success
	if on_kafka; then
		# The broker checks the idempotent producer's sequence numbers.
		[ "$(wc -l < got.ndjson)" -eq 12000 ]
		[ "$(uniq -d got.ids | wc -l)" -eq 0 ]
	else
		# kbroker (librdkafka's mock) checks them only for a transactional
		# producer: a request it wrote whose answer the outage cut is
		# retried and written again, directly after itself (kbroker(1)).
		# Nothing else may come twice.
		run "$TXS_SRCDIR/tests/helpers/retried_runs.py" got.ndjson
		assert_success
	fi
}

@test "kpub: SIGTERM mid-stream delivers every line already read, then exits 0" {
	mkfifo feed
	txgen -r 2000 --duration 10 > feed &
	gen=$!
	kpub -v -b "$BROKERS" -t t --key-field userId -T --errors dead < feed > delivered 2> err &
	pid=$!
	# Mid-stream: some lines delivered, more to come.
	delivered_some() {
		[ "$(wc -l < delivered)" -gt 100 ]
	}
	wait_until 10 delivered_some
	kill -TERM "$pid"
	rc=0
	wait "$pid" || rc=$?
	kill "$gen" 2>/dev/null || true
	assert_equal "$rc" 0
	n=$(wc -l < delivered)
	[ "$n" -gt 100 ]
	# What kpub says it produced was delivered, and is in the topic. A
	# record the stop cut in half is dead-lettered, not sent or dropped.
	cat err
	grep -qE "kpub: $n produced, $n delivered, 0 failed, [01] bad" err
	if [ -s dead ]; then
		grep -q 'cut short' err
		[ "$(wc -l < dead)" -le 1 ]
	fi
	dump t "$n" > got.ndjson
	[ "$(wc -l < got.ndjson)" -eq "$n" ]
	run diff <(sort delivered) <(jq -r '.v | @base64d' got.ndjson | sort)
	assert_success
}

# away N, back N: broker N stops answering, and answers again. kbroker
# takes it down; on Kafka it is frozen (SIGSTOP), which a broker comes
# back from at once, where a killed one takes seconds to start again.
away() {
	if on_kafka; then kafka pause "kafka-$1"; else broker_control "down $1"; fi
}
back() {
	if on_kafka; then kafka resume "kafka-$1"; else broker_control "up $1"; fi
}

@test "kpub: undelivered messages go to --errors, or make the exit status 75" {
	away 1
	away 2
	away 3
	printf 'a\nb\n' > in.txt
	run --separate-stderr kpub -b "$BROKERS" -t one --timeout 1s --flush-timeout 1s in.txt
	# Unreachable at start: 69, before anything is read.
	assert_equal "$status" 69
	[[ $stderr == *"cannot reach the brokers"* ]]
	back 1
	back 2
	back 3
	run kpub -b "$BROKERS" -t one -c 1 <<< warmup
	assert_success
	# Now a partition that cannot take a message: on kbroker its leader
	# goes away for good; on Kafka two of its three replicas do, so
	# min.insync.replicas (2) cannot be met. Messages time out.
	if on_kafka; then
		away 1
		away 2
	else
		broker_control "leader one 0 1"
		broker_control "down 1"
	fi
	run --separate-stderr kpub -b "$BROKERS" -t one -X message.timeout.ms=1500 --flush-timeout 5s in.txt
	assert_equal "$status" 75
	[[ $stderr == *"2 messages not delivered and not saved anywhere"* ]]
	run --separate-stderr kpub -b "$BROKERS" -t one -X message.timeout.ms=1500 --flush-timeout 5s --errors dead in.txt
	assert_success
	[[ $stderr == *"in.txt:1: not delivered to one [0]"* ]]
	run cat dead
	assert_output "$(printf 'a\nb')"
}

@test "kpub: envelopes are produced byte for byte: keys, headers, tombstones, binary" {
	$PY - > env.ndjson <<'EOF'
import base64, json
rows = [
    {"topic": "ignored", "partition": 1, "key": "k1", "headers": [{"key": "h", "value": "1"}, {"key": "h", "value": "2"}]},
    {"topic": "ignored", "partition": 2, "key": None},
    {"topic": "ignored", "partition": 3, "key_base64": base64.b64encode(b"\xff\x00k").decode()},
    {"topic": "ignored", "partition": 0, "key": "tomb"},
    {"topic": "ignored", "partition": 0, "key": "nul", "headers": [{"key": "n", "value": None}]},
]
values = ['"value":{"a" : 2.50, "b":[1,2]}', '"value_text":"plain \\u00e9 text\\n"',
          '"value_base64":"' + base64.b64encode(b"\x00\xfe\xff").decode() + '"', '"value":null', '"value":"str"']
for r, v in zip(rows, values):
    print(json.dumps(r)[:-1] + ", " + v + "}")
EOF
	run kpub -b "$BROKERS" -t copy --envelope env.ndjson
	assert_success
	run dump copy 5
	assert_success
	run jq -c '[.p, (.k // "-"), (.v // "-"), (.h | map([.[0], (.[1] // "-")]))]' <<< "$output"
	b() { printf '%b' "$1" | base64; }
	assert_line --index 0 "[0,\"$(b tomb)\",\"-\",[]]"
	assert_line --index 1 "[0,\"$(b nul)\",\"$(printf '"str"' | base64)\",[[\"n\",\"-\"]]]"
	assert_line --index 2 "[1,\"$(b k1)\",\"$(printf '{"a" : 2.50, "b":[1,2]}' | base64)\",[[\"h\",\"$(b 1)\"],[\"h\",\"$(b 2)\"]]]"
	assert_line --index 3 "[2,\"-\",\"$(printf 'plain \303\251 text\n' | base64)\",[]]"
	assert_line --index 4 "[3,\"$(printf '\377\000k' | base64)\",\"$(printf '\000\376\377' | base64)\",[]]"
}

@test "kpub: envelope mirroring of a topic round-trips byte for byte" {
	txgen -s 9 -r 0 -n 500 | kpub -b "$BROKERS" -t t --key-field userId --header src=txgen
	# Envelopes of the source topic, written by an independent client.
	dump t 500 | jq -c '{topic: "t", partition: .p, offset: .o, key: (.k | @base64d),
		headers: (.h | map({key: .[0], value: (.[1] | @base64d)})), value: (.v | @base64d | fromjson)}' > env.ndjson
	# jq re-serialises values; make them the source bytes again.
	dump t 500 | jq -r '.v | @base64d' > raw.values
	paste -d '\t' env.ndjson raw.values | $PY -c '
import json, sys
for line in sys.stdin:
    env, raw = line.rstrip("\n").split("\t", 1)
    e = json.loads(env); e.pop("value")
    print(json.dumps(e)[:-1] + ", \"value\":" + raw + "}")' > env.raw.ndjson
	run kpub -b "$BROKERS" -t copy --envelope env.raw.ndjson
	assert_success
	run diff <(dump t 500 | jq -c 'del(.o)') <(dump copy 500 | jq -c 'del(.o)')
	assert_success
}

@test "kpub: malformed envelopes are bad lines with a reason" {
	engine_free
	printf '%s\n' '{"partition":0,"value":1}' '[1]' '{"topic":"x","value":1,"value_text":"a"}' \
		'{"topic":"x"}' '{"topic":"x","value_base64":"%%%"}' '{"topic":"x","value":1,"headers":{}}' > env.ndjson
	run --separate-stderr kpub -b "$BROKERS" --envelope --errors dead env.ndjson
	assert_success
	[[ $stderr == *":1: not an envelope: no topic (give -t)"* ]]
	[[ $stderr == *":2: not an envelope: not an object"* ]]
	[[ $stderr == *":3: not an envelope: more than one of value"* ]]
	[[ $stderr == *":4: not an envelope: no value"* ]]
	[[ $stderr == *":5: not an envelope: value_base64 is not base64"* ]]
	[[ $stderr == *":6: not an envelope: headers is not an array"* ]]
	run diff dead env.ndjson
	assert_success
}

@test "kpub: --create-topic makes the seed's topic on Kafka; on kbroker (no CreateTopics) says so once and goes on" {
	if ! on_kafka; then
		run --separate-stderr kpub -b "$BROKERS" -t t --create-topic <<< hello
		assert_success
		assert_equal "$(grep -c 'create-topic' <<< "$stderr")" 1
		run dump t 1
		assert_success
		return
	fi
	run --separate-stderr kpub -b "$BROKERS" -t financial_transactions --create-topic -v <<< '{"a":1}'
	assert_success
	# As Kafka's Admin API (python3-kafka) describes it: the cluster's
	# defaults, the seed's 5 partitions, 3 replicas, min.insync.replicas 2.
	run "$TXS_SRCDIR/tests/helpers/kafka_admin.py" "$BROKERS" describe financial_transactions
	assert_success
	assert_equal "$(jq -c '[.partitions, .replication_factor, ."min.insync.replicas"]' <<< "$output")" '[5,3,"2"]'
	# And as ksub -L lists it.
	run ksub -b "$BROKERS" -L -t financial_transactions
	assert_success
	assert_equal "$(jq -c 'select(.partitions) | [.partition_count, (.partitions[0].replicas | length)]' <<< "$output")" '[5,3]'
	run dump financial_transactions 1
	assert_success
}

@test "kpub: no brokers named is a usage error naming -b, -F and KAFKA_BROKERS" {
	engine_free
	unset KAFKA_BROKERS
	run kpub -t t <<< x
	assert_equal "$status" 64
	assert_output --partial '-b host:port'
	assert_output --partial '-F'
	assert_output --partial 'KAFKA_BROKERS'
	# $KAFKA_BROKERS and -F are used when -b is not given.
	KAFKA_BROKERS=$BROKERS run kpub -t one <<< via-env
	assert_success
	echo "bootstrap.servers=$BROKERS" > client.conf
	run kpub -F client.conf -t one <<< via-file
	assert_success
	run dump one 2
	assert_success
}

@test "kpub: bad options exit 64 with the usage" {
	engine_free
	for args in "-t" "-k a -K :" "--missing-key=null -t t" "-t t -D ab" "-t t -c 0" \
		"-t t --flush-timeout x" "--envelope -p 1" "--bogus"; do
		# shellcheck disable=SC2086
		run kpub -b "$BROKERS" $args
		echo "kpub $args -> $status: $output"
		assert_equal "$status" 64
		assert_output --partial 'usage: kpub'
	done
	run kpub -b "$BROKERS" -t t -X no.such.property=1
	assert_equal "$status" 78
}

@test "kpub: --source-offsets keeps where a forwarder may resume; kill -9 loses nothing" {
	# src is setup's t (4 partitions), dst its copy (4).
	txgen -s 21 -r 0 -n 6000 > sent
	kpub -b "$BROKERS" -t t --key-field userId < sent
	# The forwarder, killed -9 three times mid-stream: its kpub, with lines
	# read and not yet delivered, and ksub, with lines in the pipe.
	# It saves every second: each round lives until it has saved some
	# progress, then a little longer, by a different amount each round.
	saved() {
		jq '[.offsets.t[]?] | add // 0' fwd.json 2>/dev/null || echo 0
	}
	saved_beyond() {
		[ "$(saved)" -gt "$1" ]
	}
	for delay in 0.3 0.1 0.2; do
		before=$(saved)
		bash -c 'ksub -b "$1" -t t --envelope -o @fwd.json 2>/dev/null | "$2/tests/helpers/slow_reader.py" 50 0.03 2>/dev/null |
			sh -c "echo \$\$ > kpub.pid; exec kpub -b \"$1\" -t copy --key-field value.merchantId \
				--source-offsets fwd.json"' _ "$BROKERS" "$TXS_SRCDIR" &
		forwarder=$!
		wait_until 30 saved_beyond "$before"
		sleep "$delay"
		kill -KILL "$(cat kpub.pid)"
		# And the rest of the pipeline, by its parent's PID: a round that
		# read the whole topic leaves ksub idle, and no EPIPE would end it.
		pkill -KILL -P "$forwarder" || true
		wait "$forwarder" || true
		jq -c .offsets fwd.json
	done
	done_so_far=$(jq '[.offsets.t[]] | add' fwd.json)
	[ "$done_so_far" -gt 0 ]
	[ "$done_so_far" -lt 6000 ]
	ksub -b "$BROKERS" -t t --envelope -o @fwd.json -e | kpub -b "$BROKERS" -t copy \
		--key-field value.merchantId --source-offsets fwd.json
	# Every source message reached dst at least once...
	assert_equal "$(ksub -b "$BROKERS" -t copy -e | jq -r '"\(.partition) \(.offset)"' | sort -u | wc -l)" 6000
	# ...and the file says all of src is done.
	assert_equal "$(jq -c .offsets fwd.json)" "$(ksub -b "$BROKERS" -L -t t |
		jq -c 'select(.partitions) | {(.topic): (.partitions | map({(.partition | tostring): .high}) | add)}')"
	# The repeats a kill left are the ones jagg counts once: totals exact.
	run -0 bash -c "ksub -b '$BROKERS' -t copy --envelope -e | jagg --mode final -g merchantId t=sum:amount count"
	assert_equal "$(jq -sc 'sort_by(.merchantId)' <<< "$output")" \
		"$($PY "$TXS_SRCDIR/tests/helpers/jagg_ref.py" -g merchantId t=sum:amount count < sent | jq -sc 'sort_by(.merchantId)')"
}

@test "kpub: the --errors file is created 0600 under umask 000, and never through a symbolic link" {
	engine_free
	umask 000
	run kpub -b "$BROKERS" -t t --key-field k --errors dead.ndjson <<< 'not json'
	assert_equal "$(stat -c %a dead.ndjson)" 600
	assert_equal "$(cat dead.ndjson)" 'not json'
	ln -s elsewhere link.ndjson
	run --separate-stderr kpub -b "$BROKERS" -t t --key-field k --errors link.ndjson <<< 'not json'
	assert_failure 73
	assert [ ! -e elsewhere ]
}

@test "kpub: an --errors file that cannot be written stops it at that line, with status 74" {
	engine_free
	printf '{"userId":"u1"}\nbad\n{"userId":"u3"}\n' > in.ndjson
	run --separate-stderr kpub -b "$BROKERS" -t one --key-field userId --errors /dev/full in.ndjson
	assert_failure 74
	assert_equal "$(grep -c '^kpub: --errors /dev/full: No space left on device; stopping$' <<< "$stderr")" 1
	# What came before the bad line is sent; nothing after it.
	run dump one 1 5
	assert_success
	assert_equal "${#lines[@]}" 1
	run jq -r '.v | @base64d' <<< "$output"
	assert_output '{"userId":"u1"}'
}

@test "kpub: an escaped lone surrogate in an envelope or a key is a bad line, not U+FFFD" {
	engine_free
	printf '%s\n' '{"value_text":"\ud800"}' '{"value_text":"\ufffd"}' '{"key":"\udc00","value":1}' > in
	run --separate-stderr kpub -b "$BROKERS" -t one --envelope --errors dead.ndjson < in
	assert_success
	assert_equal "$(cat dead.ndjson)" "$(sed -n '1p;3p' in)"
	assert_equal "$(grep -c 'lone surrogate' <<< "$stderr")" 2
	printf '%s\n' '{"k":"\ud800"}' > keyed
	run --separate-stderr kpub -b "$BROKERS" -t one --key-field k --errors dead2.ndjson < keyed
	assert_equal "$(cat dead2.ndjson)" "$(cat keyed)"
	# The one message sent holds U+FFFD as UTF-8, once.
	run ksub -b "$BROKERS" -t one -e
	assert_output $'\xef\xbf\xbd'
}

@test "kpub: an envelope's partition out of range is said to be, with the range" {
	printf '%s\n' '{"partition":-5,"value":1}' '{"partition":2147483648,"value":2}' '{"partition":1.5,"value":3}' > in
	run --separate-stderr kpub -b "$BROKERS" -t one --envelope < in
	assert_failure 65
	assert_equal "$(grep -c 'partition -5 is out of range (0 to 2147483647)' <<< "$stderr")" 1
	assert_equal "$(grep -c 'partition 2147483648 is out of range (0 to 2147483647)' <<< "$stderr")" 1
	assert_equal "$(grep -c 'partition is not a whole number' <<< "$stderr")" 1
}

@test "kpub: a topic name Kafka would refuse is refused with status 64, by name" {
	engine_free
	long=$(printf 'a%.0s' $(seq 250))
	for t in '' . .. ../../etc 'a b' "$long"; do
		run --separate-stderr kpub -b "$BROKERS" -t "$t" <<< 'x'
		assert_failure 64
		[[ "$stderr" == *"-t '$t': not a Kafka topic name"* ]]
	done
	# 249 characters of every legal kind are a name.
	ok=$(printf 'a%.0s' $(seq 246))._-
	run kpub -b "$BROKERS" -t "$ok" <<< 'x'
	assert_success
	# An envelope's topic is checked too: that line is bad, the others go.
	printf '%s\n' '{"topic":"","value":1}' '{"topic":"../x","value":2}' '{"topic":"one","value":3}' > in
	run --separate-stderr kpub -b "$BROKERS" --envelope < in
	assert_failure 65
	assert_equal "$(grep -c 'is not a Kafka topic name' <<< "$stderr")" 2
	run ksub -b "$BROKERS" -t one -e
	assert_output 3
}

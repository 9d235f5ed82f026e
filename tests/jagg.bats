#!/usr/bin/env bats
# jagg: totals that are exact, restartable after kill -9 without loss or
# double counting, and bad input that is never silent. Expected values
# come from tests/helpers/jagg_ref.py, a model written with Python's
# decimal module that shares nothing with jagg.

# $stderr is set by bats' run --separate-stderr.
# shellcheck disable=SC2154

load helpers

REF="$BATS_TEST_DIRNAME/helpers/jagg_ref.py"

setup() {
	cd "$BATS_TEST_TMPDIR" || return
}

teardown() {
	stop_broker
}

# The last record per group (window + group fields) of jagg's output,
# sorted as jagg_ref.py sorts: the answer a changelog consumer keeps.
last_per_group() {
	$PY -c '
import json, sys
groups = [g for g in sys.argv[1].split(",") if g]
last = {}
for line in sys.stdin:
    r = json.loads(line, parse_float=str, parse_int=str)
    w = int(r["window"]["start"]) if "window" in r else 0
    k = tuple(json.dumps(r[g], ensure_ascii=False, separators=(",", ":")) for g in groups)
    last[(w, k)] = line.rstrip("\n")
for k in sorted(last):
    print(last[k])
' "$1"
}

# Amounts binary floating point gets wrong: 0.1 + 0.2, cents on large
# values, long fractions, negatives, exponents.
awkward_amounts() {
	$PY -c '
import random
r = random.Random(7)
forms = ["0.1", "0.2", "0.3", "1000000000000000.01", "-0.07", "12.50", "1.5",
         "99999999999.99", "0.000000001", "1e2", "25E-2", "-3"]
for i in range(5000):
    a = r.choice(forms) if i % 3 else "%d.%02d" % (r.randint(0, 10**12), r.randint(0, 99))
    print("{\"m\":\"m%d\",\"c\":\"%s\",\"amount\":%s,\"u\":\"u%d\"}" % (i % 4, "AB"[i % 2], a, r.randint(1, 50)))
'
}

@test "jagg: sums of amounts that binary floating point gets wrong are exact" {
	awkward_amounts > in
	run -0 jagg --mode final -g m total=sum:amount n=count < in
	assert_equal "$(last_per_group m <<< "$output")" "$($PY "$REF" -g m total=sum:amount n=count < in)"
	# A float would not get there: jq's sum of the same amounts differs.
	jq_total=$(jq -s 'map(select(.m == "m1") | .amount) | add' in)
	ours=$(grep '"m1"' <<< "$output" | jq -r '.total')
	[ "$jq_total" != "$ours" ]
}

@test "jagg: every aggregate function against the decimal model, two group fields" {
	awkward_amounts > in
	aggs=(total=sum:amount count avg:amount min:amount max:amount first:u last:u count_distinct:u)
	run -0 jagg --mode final -g m,c "${aggs[@]}" < in
	assert_equal "$(last_per_group m,c <<< "$output")" "$($PY "$REF" -g m,c "${aggs[@]}" < in)"
	# Names: NAME=, then FUNC_FIELD, then plain count; group fields first.
	assert_line --index 0 --regexp '^\{"m":"m[0-3]","c":"[AB]","total":[-0-9.]+,"count":[0-9]+,"avg_amount":[-0-9.]+,"min_amount":.*,"count_distinct_u":[0-9]+\}$'
}

@test "jagg: the seed's aggregation over txgen records equals Python's decimal sums" {
	txgen -s 5 -n 20000 -r 0 > in
	run -0 jagg --mode final -g merchantId totalAmount=sum:amount transactionCount=count < in
	assert_equal "${#lines[@]}" 3
	assert_equal "$(last_per_group merchantId <<< "$output")" \
		"$($PY "$REF" -g merchantId totalAmount=sum:amount transactionCount=count < in)"
}

@test "jagg: update mode emits only the groups changed since the last trigger" {
	printf '%s\n' '{"k":"a","x":1}' '{"k":"b","x":2}' '{"k":"a","x":3}' '{"k":"a","x":4}' '{"k":"c","x":5}' > in
	run -0 jagg --every 2 -g k s=sum:x < in
	# Triggers after records 2 and 4, and at the end: a,b | a | c.
	assert_output "$(printf '%s\n' '{"k":"a","s":1}' '{"k":"b","s":2}' '{"k":"a","s":8}' '{"k":"c","s":5}')"
}

@test "jagg: complete mode emits every group at each trigger; final mode once" {
	printf '%s\n' '{"k":"a","x":1}' '{"k":"b","x":2}' '{"k":"a","x":3}' '{"k":"a","x":4}' '{"k":"c","x":5}' > in
	run -0 jagg --mode complete --every 2 -g k s=sum:x < in
	assert_output "$(printf '%s\n' '{"k":"a","s":1}' '{"k":"b","s":2}' \
		'{"k":"a","s":8}' '{"k":"b","s":2}' '{"k":"a","s":8}' '{"k":"b","s":2}' '{"k":"c","s":5}')"
	run -0 jagg --mode final --every 2 -g k s=sum:x < in
	assert_output "$(printf '%s\n' '{"k":"a","s":8}' '{"k":"b","s":2}' '{"k":"c","s":5}')"
	# Without -g, one group.
	run -0 jagg --mode final count s=sum:x < in
	assert_output '{"count":5,"s":15}'
}

@test "jagg: with no trigger given, it emits whenever the input goes idle" {
	mkfifo in
	jagg -g k count < in > out &
	pid=$!
	exec {w}> in
	# One line, then nothing: the idle input is the trigger, long before
	# the end of input.
	echo '{"k":"a"}' >&"$w"
	wait_until 10 test -s out
	assert_equal "$(cat out)" '{"k":"a","count":1}'
	# Two lines in one write(2) by cat: no idle moment between them, so
	# one update for both.
	printf '%s\n' '{"k":"b"}' '{"k":"b"}' > two
	cat two >&"$w"
	wait_until 10 grep -q '"b"' out
	exec {w}>&-
	wait "$pid"
	assert_equal "$(cat out)" "$(printf '%s\n' '{"k":"a","count":1}' '{"k":"b","count":2}')"
}

@test "jagg: --interval triggers on time while the input is quiet" {
	mkfifo in
	jagg --interval 0.5s -g k count < in > out &
	pid=$!
	exec {w}> in
	echo '{"k":"a"}' >&"$w"
	wait_until 10 test -s out
	# Emitted by the clock alone: the input is still open.
	kill -0 "$pid"
	assert_equal "$(cat out)" '{"k":"a","count":1}'
	exec {w}>&-
	wait "$pid"
}

@test "jagg: SIGTERM stops reading and gives the last word, then the checkpoint" {
	mkfifo in
	port=$(free_port)
	jagg --mode final -g k count --checkpoint state.json --metrics-addr "127.0.0.1:$port" < in > out &
	pid=$!
	exec {w}> in
	echo '{"k":"a"}' >&"$w"
	echo '{"k":"a"}' >&"$w"
	# Both read (a line read is absorbed before the next read), then the signal.
	read_both() {
		curl -sf "http://127.0.0.1:$port/metrics" | grep -qx 'txstream_jagg_records_in_total 2'
	}
	wait_until 10 read_both
	assert_equal "$(cat out)" ''
	kill -TERM "$pid"
	wait "$pid"
	exec {w}>&-
	assert_equal "$(cat out)" '{"k":"a","count":2}'
	assert_equal "$(jq -c '.jagg.groups[0].n' state.json)" 2
}

@test "jagg: --checkpoint is written every 10 s by default while the input stays open" {
	txgen -s 4 -r 0 -n 50 > in.ndjson
	mkfifo feed
	jagg --mode final -g merchantId n=count --checkpoint state.json < feed > out &
	pid=$!
	exec 7> feed
	cat in.ndjson >&7
	# The checkpoint of the start holds none of them, and stays 8 s.
	sleep 8
	[ "$(jq .jagg.records state.json)" -eq 0 ]
	# The next one, 10 s after the start, holds all 50 (until 30 s allowed).
	for _ in $(seq 125); do
		[ "$(jq .jagg.records state.json)" -eq 50 ] && break
		sleep 0.2
	done
	[ "$(jq .jagg.records state.json)" -eq 50 ]
	kill -0 "$pid"
	exec 7>&-
	wait "$pid"
}

@test "jagg: tumbling windows close behind the watermark; late records are dead letters" {
	$PY -c '
import random
r = random.Random(3)
t = 1000
for i in range(3000):
    t += r.randint(0, 3)
    late = t - r.randint(0, 40) if i % 10 == 0 else t   # some behind the watermark
    print("{\"k\":\"k%d\",\"t\":%d,\"x\":%d.%02d}" % (r.randint(1, 3), late, r.randint(0, 99), r.randint(0, 99)))
' > in
	run -0 --separate-stderr jagg --every 100 --window 30s --time-field t --watermark 10s \
		--errors late.out -g k s=sum:x count < in
	assert_equal "$(last_per_group k <<< "$output")" \
		"$($PY "$REF" --window 30 --time-field t --watermark 10 --late late.ref -g k s=sum:x count < in)"
	# The late lines are exactly the dead letters, and each was reported.
	[ -s late.ref ]
	assert_equal "$(cat late.out)" "$(awk 'NR == FNR { want[$1]; next } FNR in want' late.ref in)"
	[[ "$stderr" == *"late: t "*" is behind the watermark "* ]]
	# Closed windows are gone from state: far fewer groups than windows seen.
	run -0 --separate-stderr jagg --every 100 --window 30s --time-field t --watermark 10s -v -g k count < in
	groups=$(grep -o '[0-9]* groups$' <<< "$stderr" | cut -d' ' -f1)
	echo "$stderr"
	[ "$groups" -le 6 ]
}

@test "jagg: sliding windows count each record in size/slide windows" {
	$PY -c '
import random
r = random.Random(4)
for i in range(2000):
    print("{\"k\":\"k%d\",\"ts\":%d,\"x\":%d}" % (r.randint(1, 2), 1700000000000 + i * 37 + r.randint(0, 20), r.randint(-50, 50)))
' > in
	run -0 jagg --mode final --window 10s,2s --time-field ts --time-unit ms -g k s=sum:x count < in
	assert_equal "$(last_per_group k <<< "$output")" \
		"$($PY "$REF" --window 10000,2000 --time-field ts -g k s=sum:x count < in)"
	# Every window holds 10 s of records: 5 overlapping windows per record.
	assert_equal "$(jq -s 'map(.count) | add' <<< "$output")" 10000
}

# Envelopes as ksub --envelope writes them, for partitions 0-2.
envelopes() {
	$PY -c '
import json, sys
recs = [l.rstrip("\n") for l in open(sys.argv[1])]
for i, r in enumerate(recs):
    p = i % 3
    print("{\"topic\":\"tx\",\"partition\":%d,\"offset\":%d,\"timestamp\":1,\"key\":null,\"value\":%s}" % (p, i // 3, r))
' "$1"
}

@test "jagg: envelopes already absorbed are skipped, so a re-read counts once" {
	txgen -s 6 -n 3000 -r 0 > recs
	envelopes recs > envs
	# A consumer restarted from older offsets re-delivers: 1-2000, then 1000-3000.
	{ head -2000 envs; tail -n +1000 envs; } > redelivered
	run -0 --separate-stderr jagg --mode final -v -g merchantId total=sum:amount count < redelivered
	assert_equal "$(last_per_group merchantId <<< "$output")" \
		"$($PY "$REF" -g merchantId total=sum:amount count < recs)"
	[[ "$stderr" == *"1001 duplicates skipped"* ]]
}

@test "jagg: forwarded envelopes (a repartitioned topic) count once, though forwarded twice" {
	txgen -s 7 -n 3000 -r 0 > recs
	envelopes recs > envs
	# What ksub --envelope | kpub --key-field value.merchantId makes of them,
	# read back by ksub --envelope: each source envelope is the value of a
	# message in partition 0 or 1 by merchant. The forwarder restarts
	# twice and sends a stretch of messages again, at new offsets; the two
	# partitions are read interleaved.
	$PY -c '
import json, sys
src = [l.rstrip("\n") for l in open(sys.argv[1])]
sent = src[:1200] + src[900:2500] + src[2000:]
parts = {0: [], 1: []}
for line in sent:
    p = 0 if json.loads(line)["value"]["merchantId"] == "merchant_1" else 1
    parts[p].append(line)
out = []
for p, lines in parts.items():
    out += [(i * 2 + p, "{\"topic\":\"by_merchant\",\"partition\":%d,\"offset\":%d,\"key\":null,\"value\":%s}" % (p, i, l)) for i, l in enumerate(lines)]
for _, l in sorted(out):
    print(l)
' envs > forwarded
	run -0 --separate-stderr jagg --mode final -v -g merchantId total=sum:amount count < forwarded
	assert_equal "$(last_per_group merchantId <<< "$output")" \
		"$($PY "$REF" -g merchantId total=sum:amount count < recs)"
	[[ "$stderr" == *"envelopes of forwarded envelopes"* ]]
	[[ "$stderr" == *"800 duplicates skipped"* ]]
	# Resumed from its checkpoint, a second half counts on where the first stopped.
	head -2000 forwarded | jagg -g merchantId total=sum:amount count --checkpoint state.json > /dev/null
	jq -e '.jagg.source_offsets | keys == ["tx@by_merchant/0", "tx@by_merchant/1"]' state.json
	run -0 jagg --mode final -g merchantId total=sum:amount count --checkpoint state.json < forwarded
	assert_equal "$(last_per_group merchantId <<< "$output")" \
		"$($PY "$REF" -g merchantId total=sum:amount count < recs)"
}

@test "jagg: a checkpoint carries state and offsets; ksub -o @FILE reads its offsets" {
	txgen -s 8 -n 900 -r 0 > recs
	envelopes recs > envs
	head -400 envs | jagg -g merchantId total=sum:amount count distinct=count_distinct:userId \
		first:userId --checkpoint state.json > /dev/null
	# The offsets member is the offsets file's (txstream(7)): the next offset of each partition.
	assert_equal "$(jq -c .offsets state.json)" '{"tx":{"0":134,"1":133,"2":133}}'
	run -0 jagg --mode final -g merchantId total=sum:amount count distinct=count_distinct:userId \
		first:userId --checkpoint state.json < envs
	assert_equal "$(last_per_group merchantId <<< "$output")" \
		"$($PY "$REF" -g merchantId total=sum:amount count distinct=count_distinct:userId first:userId < recs)"
}

@test "jagg: a checkpoint of a different computation is refused with status 78" {
	echo '{"k":"a","x":1}' | jagg -g k s=sum:x --checkpoint state.json
	cp state.json before.json
	run --separate-stderr jagg -g k s=sum:x n=count --checkpoint state.json <<< '{"k":"a","x":1}'
	assert_failure 78
	assert_output ''
	[[ "$stderr" == *'"-g k s=sum:x"'*'"-g k s=sum:x n=count"'* ]]
	cmp state.json before.json
	# The same computation with other triggers is the same state.
	run -0 jagg --mode complete --every 5 -g k s=sum:x --checkpoint state.json <<< '{"k":"a","x":1}'
	assert_output '{"k":"a","s":2}'
	echo garbage > state.json
	run --separate-stderr jagg -g k s=sum:x --checkpoint state.json <<< '{"k":"a","x":1}'
	assert_failure 65
	[[ "$stderr" == *"--checkpoint state.json: not a JSON checkpoint"* ]]
}

@test "jagg: ksub | jagg killed -9 five times, then finished, counts every record exactly once" {
	start_broker -T tx:3
	txgen -s 9 -n 15000 -r 0 > sent
	kpub -b "$BROKERS" -t tx --key-field userId < sent
	# A reader slower than jagg: 15,000 lines take about 6 s, so kill -9
	# lands mid-stream, at a different moment each round.
	: > out
	for delay in 0.4 0.7 0.3 0.9 0.5; do
		# The pipeline in its own shell; jagg's PID from the shell it
		# replaces. The delay counts from jagg's start.
		rm -f jagg.pid
		bash -c 'ksub -b "$1" -t tx -o @state.json --envelope -e 2>/dev/null | "$2/tests/helpers/slow_reader.py" 50 0.02 2>/dev/null |
			sh -c "echo \$\$ > jagg.pid; exec jagg -g merchantId total=sum:amount count \
				--checkpoint state.json --checkpoint-interval 0.1s" >> out' _ "$BROKERS" "$TXS_SRCDIR" &
		pipeline=$!
		wait_until 30 test -s jagg.pid
		sleep "$delay"
		kill -KILL "$(cat jagg.pid)"
		wait "$pipeline" || true
		jq -c .offsets state.json
	done
	# Kills landed mid-stream: the state holds part of the topic, not all.
	done_so_far=$(jq '[.offsets.tx[]] | add' state.json)
	[ "$done_so_far" -gt 0 ]
	[ "$done_so_far" -lt 15000 ]
	ksub -b "$BROKERS" -t tx -o @state.json --envelope -e |
		jagg -g merchantId total=sum:amount count --checkpoint state.json >> out
	assert_equal "$(last_per_group merchantId < out)" \
		"$($PY "$REF" -g merchantId total=sum:amount count < sent)"
	assert_equal "$(jq -c .offsets state.json)" "$(ksub -b "$BROKERS" -L -t tx |
		jq -c 'select(.partitions) | {(.topic): (.partitions | map({(.partition | tostring): .high}) | add)}')"
}

@test "jagg: bad input is counted, reported by line, dead-lettered verbatim" {
	bad="$BATS_TEST_DIRNAME/data/jagg/bad-input.ndjson"
	run --separate-stderr jagg --mode final --errors dead -g merchantId total=sum:amount count < "$bad"
	assert_success
	# The dead letters are exactly the lines marked bad in the fixture.
	assert_equal "$(cat dead)" "$(grep -av '"good"' "$bad" | grep -av '^$')"
	# And the totals are those of the good lines alone.
	assert_equal "$(last_per_group merchantId <<< "$output")" \
		"$(grep -a '"good"' "$bad" | $PY "$REF" -g merchantId total=sum:amount count)"
	# Each bad line is named by its number, with its reason; after ten,
	# reports are rate-limited and the rest counted.
	reasons="$BATS_TEST_DIRNAME/data/jagg/bad-input.reasons"
	while IFS=: read -r no reason; do
		[[ "$stderr" == *"jagg: stdin:$no: $reason"* ]] || { echo "no report for line $no: $reason"; false; }
	done < <(head -10 "$reasons")
	[[ "$stderr" == *"jagg: $(($(wc -l < "$reasons") - 10)) more bad lines not reported (rate limit)"* ]]
	while IFS=: read -r no reason; do
		run --separate-stderr jagg -g merchantId total=sum:amount count < <(sed -n "${no}p" "$bad")
		assert_failure 65
		[[ "$stderr" == *"jagg: stdin:1: $reason"* ]] || { echo "line $no: $stderr"; false; }
	done < "$reasons"
	# Without --errors the lines went nowhere: status 65.
	run --separate-stderr jagg --mode final -g merchantId total=sum:amount count < "$bad"
	assert_failure 65
	[[ "$stderr" == *"bad lines left out (--errors FILE keeps them)"* ]]
	# --strict stops at the first, with what came before it emitted.
	run --separate-stderr jagg --strict --mode final -g merchantId total=sum:amount count < "$bad"
	assert_failure 65
	first_bad=$(head -1 "$reasons" | cut -d: -f1)
	assert_equal "$(last_per_group merchantId <<< "$output")" \
		"$(head -n "$((first_bad - 1))" "$bad" | $PY "$REF" -g merchantId total=sum:amount count)"
}

@test "jagg: --strict stops at a bad envelope and, from its checkpoint, stops there again" {
	printf '%s\n' '{"topic":"t","partition":0,"offset":0,"value":{"k":"a","x":1}}' \
		'{"topic":"t","partition":0,"offset":1,"value_text":"oops"}' \
		'{"topic":"t","partition":0,"offset":2,"value":{"k":"a","x":2}}' > envs
	for _ in 1 2; do
		run --separate-stderr jagg --strict -g k s=sum:x --checkpoint state.json < envs
		assert_failure 65
		[[ "$stderr" == *"stdin:2: t [0] offset 1: the value is text, not a JSON object"* ]]
		assert_equal "$(jq -c .offsets state.json)" '{"t":{"0":1}}'
	done
	# Without --strict the bad line is dead-lettered, and the rest absorbed.
	run -0 --separate-stderr jagg --errors dead -g k s=sum:x --checkpoint state.json < envs
	assert_output '{"k":"a","s":3}'
	assert_equal "$(jq -c .offsets state.json)" '{"t":{"0":3}}'
}

@test "jagg: a sum that would pass 38 digits leaves its record out, whole" {
	printf '%s\n' '{"k":"a","x":99999999999999999999999999999999999990,"y":1}' \
		'{"k":"a","x":10,"y":1}' '{"k":"a","x":9,"y":1}' > in
	run --separate-stderr jagg --mode final --errors dead -g k sx=sum:x sy=sum:y count < in
	assert_success
	assert_output '{"k":"a","sx":99999999999999999999999999999999999999,"sy":2,"count":2}'
	assert_equal "$(cat dead)" '{"k":"a","x":10,"y":1}'
	[[ "$stderr" == *"stdin:2: a sum would pass 38 significant digits"* ]]
}

@test "jagg: a line of several megabytes is one record" {
	$PY -c '
pad = "x" * (6 << 20)
print("{\"k\":\"a\",\"pad\":\"%s\",\"x\":1.25}" % pad)
print("{\"k\":\"a\",\"x\":2}")
' > in
	run -0 jagg --mode final -g k s=sum:x count < in
	assert_output '{"k":"a","s":3.25,"count":2}'
}

@test "jagg: strings are grouped by their value, whatever their escapes" {
	printf '%s\n' '{"k":"A\u00e9","x":1}' '{"k":"Aé","x":2}' '{"k":"\u0041\u00E9","x":3}' '{"k":"q\"\\","x":4}' > in
	run -0 jagg --mode final -g k s=sum:x < in
	assert_output "$(printf '%s\n' '{"k":"Aé","s":6}' '{"k":"q\"\\","s":4}')"
}

@test "jagg: usage errors exit 64; a closed stdout ends it quietly" {
	run --separate-stderr jagg -g k nosuch:x
	assert_failure 64
	[[ "$stderr" == *"'nosuch:x': not an aggregate"* ]]
	run jagg -g k sum
	assert_failure 64
	run jagg -g k
	assert_failure 64
	run jagg --window 10s -g k count
	assert_failure 64
	run jagg --window 1500ms --time-field t -g k count
	assert_failure 64
	run --separate-stderr jagg -g k k=count
	assert_failure 64
	[[ "$stderr" == *"named like a group field"* ]]
	run -0 jagg --help
	assert_line --index 0 --partial 'usage: jagg'
	txgen -s 1 -n 20000 -r 0 > in
	run --separate-stderr bash -c 'set -o pipefail; jagg --every 1 -g userId count < in | head -3'
	assert_success
	assert_equal "${#lines[@]}" 3
	assert_equal "$stderr" ''
}

@test "jagg: the --errors file is created 0600 under umask 000, and never through a symbolic link" {
	umask 000
	run jagg count --errors dead.ndjson <<< 'not json'
	assert_equal "$(stat -c %a dead.ndjson)" 600
	assert_equal "$(cat dead.ndjson)" 'not json'
	ln -s elsewhere link.ndjson
	run --separate-stderr jagg count --errors link.ndjson <<< 'not json'
	assert_failure 73
	assert [ ! -e elsewhere ]
}

@test "jagg: an --errors file that cannot be written stops it at that line, with status 74" {
	printf '%s\n' '{"k":"a"}' 'not json' '{"k":"b"}' > in
	run --separate-stderr jagg --mode final -g k count --errors /dev/full < in
	assert_failure 74
	# The last word counts what came before the bad line, not what came after.
	assert_output '{"k":"a","count":1}'
	assert_equal "$(grep -c '^jagg: --errors /dev/full: No space left on device; stopping$' <<< "$stderr")" 1
}

@test "jagg: an escaped lone surrogate is a bad line, not a third spelling of U+FFFD" {
	printf '%s\n' '{"m":"\ud800","x":1}' '{"m":"\udc00","x":2}' '{"m":"\ufffd","x":4}' '{"m":"\ud83d\ude00","x":8}' > in
	run --separate-stderr jagg -g m n=count s=sum:x --errors dead.ndjson < in
	assert_success
	# Groups in canonical form: the escapes decoded to UTF-8.
	assert_equal "$output" $'{"m":"\xef\xbf\xbd","n":1,"s":4}\n{"m":"\xf0\x9f\x98\x80","n":1,"s":8}'
	assert_equal "$(cat dead.ndjson)" "$(head -n 2 in)"
	assert_equal "$(grep -c 'lone surrogate' <<< "$stderr")" 2
}

@test "jagg: with --errors, a line too long to keep is said to be missing from that file, by name" {
	# A line past jagg's 256 MB limit, a bad line, a good one.
	{ head -c 270000000 /dev/zero | tr '\0' a; printf '\nnot json\n{"k":1}\n'; } > in
	run --separate-stderr jagg -g k count --errors dead.ndjson < in
	assert_failure 65
	assert_equal "$(cat dead.ndjson)" 'not json'
	assert_equal "$(grep -c '^jagg: 1 bad line left out, too long to copy to --errors dead.ndjson$' <<< "$stderr")" 1
}

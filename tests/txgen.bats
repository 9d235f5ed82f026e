#!/usr/bin/env bats
# txgen: the seed's transaction records, at a rate, reproducibly.

load helpers

setup() {
	cd "$BATS_TEST_TMPDIR" || return
}

check() {
	"$TXS_SRCDIR/tests/helpers/check_txrecords.py" "$@"
}

@test "txgen: every record has the seed's fields, in order, within range" {
	txgen -s 7 -r 0 -n 20000 > out.ndjson
	run check < out.ndjson
	assert_success
	# All 100 users, 3 merchants, 50 locations and every enum value appear.
	run jq -e '.records == 20000 and .userId == 100 and .merchantId == 3 and .location == 50
		and .paymentMethod == 3 and .currency == 3 and .isInternational == 2' <<< "$output"
	assert_success
}

@test "txgen: amounts have two decimals and reach both ends of the range" {
	txgen -s 3 -r 0 -n 20000 --amount-min 10.5 --amount-max 10.52 > out.ndjson
	run check --amount-min 10.50 --amount-max 10.52 < out.ndjson
	assert_success
	run jq -e '.amount_min == "10.50" and .amount_max == "10.52"' <<< "$output"
	assert_success
	# The raw text, not jq's float: 10.50 must not come out as 10.5.
	run grep -c '"amount":10.50,' out.ndjson
	assert_success
	[ "$output" -gt 1000 ]
}

@test "txgen: --users, --merchants and --locations bound the identifiers" {
	txgen -s 11 -r 0 -n 5000 --users 5 --merchants 1 --locations 2 > out.ndjson
	run check --users 5 --merchants 1 --locations 2 < out.ndjson
	assert_success
	run jq -e '.userId == 5 and .merchantId == 1 and .location == 2' <<< "$output"
	assert_success
}

@test "txgen: merchants are drawn evenly" {
	txgen -s 5 -r 0 -n 30000 > out.ndjson
	# Each of 3 merchants expects 10000; 4 standard deviations is about 330.
	run bash -c "jq -r .merchantId out.ndjson | sort | uniq -c | awk '\$1 < 9670 || \$1 > 10330 { bad = 1 } END { exit bad + (NR != 3) }'"
	assert_success
}

@test "txgen: the same seed and start time give the same bytes, UUIDs included" {
	txgen -s 42 --start-time 1795550000 -r 0 -n 3000 > a
	txgen -s 42 --start-time 1795550000 -r 0 -n 3000 > b
	cmp a b
	txgen -s 43 --start-time 1795550000 -r 0 -n 3000 > c
	run cmp -s a c
	assert_failure
	# And no two records in one run share a transactionId.
	[ "$(jq -r .transactionId a | sort -u | wc -l)" -eq 3000 ]
}

@test "txgen: --start-time advances transactionTime with the simulated rate" {
	txgen -s 1 --start-time 1795550000 --time-rate 4 -r 0 -n 10 > out.ndjson
	run jq -c -s 'map(.transactionTime)' out.ndjson
	assert_output '[1795550000,1795550000,1795550000,1795550000,1795550001,1795550001,1795550001,1795550001,1795550002,1795550002]'
	# Default simulated rate is -r: at -r 1000, 2500 records span 3 seconds.
	txgen -s 1 --start-time 100 -r 1000 -n 2500 > out.ndjson
	run jq -s -c '[.[0].transactionTime, .[-1].transactionTime]' out.ndjson
	assert_output '[100,102]'
}

@test "txgen: without --start-time, transactionTime is the clock" {
	before=$(date +%s)
	txgen -r 0 -n 100 > out.ndjson
	after=$(date +%s)
	run jq -e -s --argjson lo "$before" --argjson hi "$after" \
		'all(.[]; .transactionTime >= $lo and .transactionTime <= $hi)' out.ndjson
	assert_success
}

@test "txgen: -n writes exactly that many records" {
	for n in 1 7 4096 4097 10000; do
		[ "$(txgen -r 0 -n "$n" | wc -l)" -eq "$n" ]
	done
}

@test "txgen: -r 200 for 3 s writes 600 +- 15 records" {
	txgen -r 200 --duration 3 > out.ndjson
	n=$(wc -l < out.ndjson)
	echo "records: $n"
	[ "$n" -ge 585 ]
	[ "$n" -le 615 ]
}

@test "txgen: the rate holds while the reader is slow at first" {
	# A reader that sleeps 1 s before reading must not earn a burst.
	n=$( (txgen -r 100 --duration 3 | (sleep 1; cat)) | wc -l)
	echo "records: $n"
	[ "$n" -ge 280 ]
	[ "$n" -le 320 ]
}

@test "txgen: --duration stops even at -r 0" {
	# Unbounded, it would run until timeout(1) kills it (status 124).
	start=$(now_ms)
	timeout 60 txgen -r 0 --duration 0.5s > /dev/null
	elapsed=$(( $(now_ms) - start ))
	echo "elapsed: $elapsed ms"
	[ "$elapsed" -ge 450 ]
}

@test "txgen: records reach a pipe as they are made, not when a buffer fills" {
	mkfifo pipe
	txgen -r 1 > pipe &
	pid=$!
	# A record is ~250 bytes: at one a second, a 4 KB buffer would fill
	# in 16 s; two records made and written come within the 10.
	run timeout 10 head -n 2 pipe
	kill "$pid" 2>/dev/null || true
	wait "$pid" || true
	assert_success
	assert_equal "${#lines[@]}" 2
}

@test "txgen: -u writes each record as it is made; without it, whole buffers" {
	# LeakSanitizer cannot run under ptrace; the other tests check leaks.
	export ASAN_OPTIONS=detect_leaks=0
	strace -o trace -e trace=write txgen -u -r 0 -n 50 > /dev/null
	[ "$(grep -c '^write(1,' trace)" -eq 50 ]
	strace -o trace -e trace=write txgen -r 0 -n 50 > /dev/null
	[ "$(grep -c '^write(1,' trace)" -eq 1 ]
}

@test "txgen: a closed pipe ends it quietly with status 0" {
	run bash -c 'set -o pipefail; txgen -r 0 2>err | head -1'
	assert_success
	assert_equal "${#lines[@]}" 1
	run cat err
	assert_output ''
}

@test "txgen: SIGTERM ends it with status 0 and whole records" {
	txgen -r 1000 > out.ndjson &
	pid=$!
	written() {
		[ "$(wc -l < out.ndjson)" -ge 500 ]
	}
	wait_until 10 written
	kill -TERM "$pid"
	rc=0
	wait "$pid" || rc=$?
	assert_equal "$rc" 0
	run check < out.ndjson
	assert_success
	[ "$(wc -l < out.ndjson)" -ge 500 ]
}

@test "txgen: a write error other than a closed pipe exits 74" {
	run bash -c 'txgen -r 0 -n 100000 > /dev/full'
	assert_equal "$status" 74
	assert_output --partial 'txgen: write error on stdout'
}

@test "txgen: bad options exit 64 with the usage" {
	for args in "-r abc" "-r -1" "-n 0" "-n 12x" "--duration 0" "--duration 5d" \
		"--users 0" "--merchants x" "--amount-min 1.234" "--amount-min 10 --amount-max 5" \
		"-s -1" "--start-time yesterday" "--time-rate 0" "--bogus" "extra-arg"; do
		# shellcheck disable=SC2086
		run txgen $args
		echo "txgen $args -> $status: $output"
		assert_equal "$status" 64
		assert_output --partial 'usage: txgen'
		assert_line --index 0 --regexp '^txgen: '
	done
}

@test "txgen: --help prints the usage on stdout and exits 0" {
	run --separate-stderr txgen --help
	assert_success
	assert_line --index 0 --partial 'usage: txgen'
	[ -z "$stderr" ]
	run txgen --version
	assert_success
	assert_output --regexp '^txgen \(txstream\) [0-9]'
}

@test "txgen: --log-format json makes diagnostics JSON objects" {
	run --separate-stderr txgen --log-format json -v -s 9 -n 1 -r 0
	assert_success
	echo "$stderr" | jq -e -s 'length >= 1 and all(.[]; .prog == "txgen" and .level == "info" and (.ts | test("Z$")))'
	echo "$stderr" | jq -e -s 'any(.[]; .msg == "seed 9")'
}

#!/usr/bin/env bats
# Each program runs valgrind-clean: no invalid access, no leak, no
# uninitialised value decides anything.

load helpers

vg() {
	exec valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect "$@"
}

@test "valgrind: txgen is clean" {
	run bash -c "$(declare -f vg); vg txgen -s 1 -r 0 -n 20000 --start-time 1"
	assert_success
	assert_equal "${#lines[@]}" 20000
	run bash -c "$(declare -f vg); vg txgen -r 1000 --duration 0.3"
	assert_success
}

@test "valgrind: kbroker, kpub and ksub are clean through a produce and consume" {
	cd "$BATS_TEST_TMPDIR" || return
	# exec: the PID is valgrind's own, so SIGTERM reaches kbroker.
	(vg kbroker -T t:2 --bootstrap-file bs > kb.out 2> kb.err) &
	pid=$!
	for _ in $(seq 200); do [ -s bs ] && break; sleep 0.1; done
	[ -s bs ]
	txgen -r 0 -n 200 > in.ndjson
	run bash -c "$(declare -f vg); vg kpub -b $(cat bs) -t t --key-field userId in.ndjson"
	assert_success
	run kcat -C -b "$(cat bs)" -t t -e -q
	assert_equal "${#lines[@]}" 200
	run bash -c "$(declare -f vg); vg ksub -b $(cat bs) -t t -e --envelope"
	assert_success
	assert_equal "$(grep -c '^{"topic":"t"' <<< "$output")" 200
	run bash -c "$(declare -f vg); vg ksub -b $(cat bs) -G v -t t -c 150"
	assert_success
	assert_equal "$(grep -c '^{"transactionId"' <<< "$output")" 150
	kill -TERM "$pid"
	rc=0
	wait "$pid" || rc=$?
	cat kb.err
	assert_equal "$rc" 0
}

@test "valgrind: jagg is clean through windows, envelopes, bad lines and a checkpoint" {
	cd "$BATS_TEST_TMPDIR" || return
	txgen -s 2 -r 0 -n 3000 --start-time 1700000000 > recs
	{ head -1000 recs; echo 'not json'; echo '{"merchantId":"m","amount":"x"}'; tail -n +1001 recs; } > in
	run bash -c "$(declare -f vg); vg jagg --every 500 --window 60s,20s --time-field transactionTime \
		--watermark 5s --errors dead -g merchantId,currency s=sum:amount count avg:amount min:amount \
		max:amount first:userId last:userId count_distinct:userId --checkpoint state.json < in"
	assert_success
	assert_equal "$(wc -l < dead)" 2
	awk '{ printf "{\"topic\":\"t\",\"partition\":%d,\"offset\":%d,\"value\":%s}\n", NR % 2, NR, $0 }' recs > envs
	run bash -c "$(declare -f vg); head -2000 envs | vg jagg -g merchantId s=sum:amount count_distinct:userId \
		--checkpoint envs.json > /dev/null && vg jagg --mode final -g merchantId s=sum:amount \
		count_distinct:userId --checkpoint envs.json < envs"
	assert_success
	assert_equal "${#lines[@]}" 3
}

@test "valgrind: jfmt is clean in every format" {
	cd "$BATS_TEST_TMPDIR" || return
	{ txgen -s 3 -r 0 -n 300 --start-time 1; printf '%s\n' 'not json' '{"a":"q\"\\","b":[1,{"c":null}],"n":2.50}'; } > in
	for format in --pretty --compact --table --csv --tsv "--live merchantId"; do
		# shellcheck disable=SC2086  # the format may be two words
		run bash -c "$(declare -f vg); vg jfmt $format --errors dead < in > /dev/null"
		assert_success
	done
	run bash -c "$(declare -f vg); vg jfmt -f merchantId,amount,b.c --table --errors dead < in"
	assert_success
}

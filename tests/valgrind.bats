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

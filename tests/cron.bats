#!/usr/bin/env bats
# scripts/cron/txstream.crontab, the example crontab the package ships:
# its command lines, taken out of the file as cron reads it and run by
# hand as cron runs them, against a kbroker. The catch-up gives exact
# totals after each run, a second run reads only what came since the
# first, a run that finds the lock held exits at once without touching
# the checkpoint, and the daily report is the totals as CSV.

load helpers

CRONTAB="$TXS_SRCDIR/scripts/cron/txstream.crontab"
REF="$TXS_SRCDIR/tests/helpers/jagg_ref.py"

setup() {
	start_broker -T financial_transactions:3
	# The crontab's user: its state goes to ~/txstream.
	export HOME=$BATS_TEST_TMPDIR/home
	mkdir -p "$HOME"
	STATE=$HOME/txstream
	# Each ksub the jobs run keeps a copy of what it read, run by run.
	mkdir -p "$BATS_TEST_TMPDIR/shim"
	cat > "$BATS_TEST_TMPDIR/shim/ksub" <<-SHIM
	#!/bin/sh
	set -eu
	n=\$(ls "$BATS_TEST_TMPDIR"/ksub-read.* 2>/dev/null | wc -l)
	$(command -v ksub) "\$@" | tee "$BATS_TEST_TMPDIR/ksub-read.\$((n + 1))"
	SHIM
	chmod +x "$BATS_TEST_TMPDIR/shim/ksub"
}

teardown() {
	[ -z "${LOCK_PID:-}" ] || kill "$LOCK_PID" 2>/dev/null || true
	stop_broker
}

# job N: the command of the crontab's Nth job, as cron hands it to SHELL
# (after the five time fields; crontab(5): an escaped \% is a %).
job() {
	grep -E '^[0-9*@]' "$CRONTAB" | sed -n "$1p" |
		sed -E 's/^([^[:space:]]+[[:space:]]+){5}//; s/\\%/%/g'
}

# The value of an environment line NAME=VALUE of the crontab.
cron_env() {
	sed -n "s/^$1=//p" "$CRONTAB"
}

# run_job N: run job N as cron would: its SHELL, a bare environment (the
# crontab's lines, with this test's broker), stdout and stderr together,
# as cron mails them.
run_job() {
	run env -i HOME="$HOME" LOGNAME=txstream PATH="$BATS_TEST_TMPDIR/shim:$PATH" \
		SHELL="$(cron_env SHELL)" KAFKA_BROKERS="$BROKERS" \
		"$(cron_env SHELL)" -c "$(job "$1")"
}

# produce N: N more transactions into financial_transactions, also kept
# in sent.ndjson, from which the totals are computed independently.
produce() {
	txgen -r 0 -n "$1" | tee -a "$BATS_TEST_TMPDIR/sent.ndjson" |
		kpub -q -b "$BROKERS" -t financial_transactions --key-field userId
}

# The exact totals of every transaction sent so far (Python's decimal),
# and those of the totals file, both sorted, as text: jq would read the
# numbers as binary floating point.
expected_totals() {
	$PY "$REF" -g merchantId totalAmount=sum:amount transactionCount=count \
		< "$BATS_TEST_TMPDIR/sent.ndjson" | sort
}
saved_totals() {
	sort "$STATE/totals.ndjson"
}

@test "cron: the crontab sets bash as SHELL and its commands hold no bare %" {
	run cron_env SHELL
	assert_output /bin/bash
	run grep -E '^[0-9*@].*[^\\]%' "$CRONTAB"
	assert_failure
	run job 2
	assert_output --partial 'date +%F'
}

@test "cron: each catch-up run gives exact totals and reads only the new records" {
	produce 500
	run_job 1
	assert_success
	assert_output ''
	assert_equal "$(saved_totals)" "$(expected_totals)"
	assert_equal "$(wc -l < "$BATS_TEST_TMPDIR/ksub-read.1")" 500

	produce 120
	run_job 1
	assert_success
	assert_output ''
	assert_equal "$(saved_totals)" "$(expected_totals)"
	# Only the 120 new ones, none of them already read by the first run.
	assert_equal "$(wc -l < "$BATS_TEST_TMPDIR/ksub-read.2")" 120
	assert_equal "$(cat "$BATS_TEST_TMPDIR"/ksub-read.1 "$BATS_TEST_TMPDIR"/ksub-read.2 |
		jq -r '"\(.partition):\(.offset)"' | sort | uniq -d)" ''
	# The checkpoint is at the end of every partition.
	assert_equal "$(jq -c '.offsets' "$STATE/checkpoint.json")" \
		"$(ksub -b "$BROKERS" -L | jq -c 'select(.topic == "financial_transactions") |
			{financial_transactions: (.partitions | map({key: (.partition | tostring), value: .high}) | from_entries)}')"
}

@test "cron: a run that finds the lock held exits 75 at once and leaves the checkpoint alone" {
	produce 200
	run_job 1
	assert_success
	cp "$STATE/checkpoint.json" "$BATS_TEST_TMPDIR/checkpoint.before"
	touch -d '2000-01-01' "$STATE/checkpoint.json" "$STATE/totals.ndjson"
	produce 50
	# Another run holds the lock, until its stdin closes.
	mkfifo "$BATS_TEST_TMPDIR/hold"
	flock "$STATE/lock" sh -c 'echo held; cat >/dev/null' < "$BATS_TEST_TMPDIR/hold" \
		> "$BATS_TEST_TMPDIR/held" &
	LOCK_PID=$!
	exec {hold_fd}> "$BATS_TEST_TMPDIR/hold"
	for _ in $(seq 100); do [ -s "$BATS_TEST_TMPDIR/held" ] && break; sleep 0.1; done
	assert_equal "$(cat "$BATS_TEST_TMPDIR/held")" held
	# The holder keeps the lock until the test lets it go: a run that
	# waited for it would never return (BATS_TEST_TIMEOUT fails it), so
	# returning at all is returning at once; no timing bound.
	run_job 1
	assert_equal "$status" 75
	assert_output ''
	# Nothing read, nothing written.
	assert [ ! -e "$BATS_TEST_TMPDIR/ksub-read.2" ]
	cmp "$STATE/checkpoint.json" "$BATS_TEST_TMPDIR/checkpoint.before"
	assert_equal "$(stat -c %Y "$STATE/checkpoint.json" "$STATE/totals.ndjson")" "$(printf '946684800\n946684800')"
	# Once the lock is free, the next run catches up on all 250.
	exec {hold_fd}>&-
	wait "$LOCK_PID"
	LOCK_PID=
	run_job 1
	assert_success
	assert_equal "$(saved_totals)" "$(expected_totals)"
}

@test "cron: the daily report is the totals as CSV, in a file named for the day" {
	produce 300
	run_job 1
	assert_success
	run_job 2
	assert_success
	assert_output ''
	report=$STATE/reports/totals-$(date +%F).csv
	assert [ -f "$report" ]
	run cat "$report"
	assert_line --index 0 merchantId,totalAmount,transactionCount
	assert_equal "$(tail -n +2 "$report" | sort)" \
		"$(expected_totals | sed 's/^{"merchantId":"\([^"]*\)","totalAmount":\([^,]*\),"transactionCount":\([0-9]*\)}$/\1,\2,\3/')"
	assert_equal "${#lines[@]}" 4
}

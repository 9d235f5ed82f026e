#!/usr/bin/env bats
# Hostile input through every mode of jfmt, every jagg aggregate and kpub
# --envelope. In the sanitizer build (make check in _build/sanitizers) a
# report from AddressSanitizer or UBSan fails the test: the programs are
# built with -fno-sanitize-recover=all, and stderr is searched as well.
# In the plain build the same runs check that nothing crashes.

# $output and $stderr are set by bats' run --separate-stderr.
# shellcheck disable=SC2154

load helpers

setup_file() {
	local dir=$BATS_FILE_TMPDIR
	# The hand-written fixture of bad lines, then what a hostile user sends.
	cp "$BATS_TEST_DIRNAME/data/jagg/bad-input.ndjson" "$dir/hostile.ndjson"
	$PY - "$dir/hostile.ndjson" <<-'PYEOF'
		import sys
		lines = [
		    b'{"amount":1}', b'{"amount":1e400}', b'{"amount":-1e-400}',
		    b'{"amount":' + b"9" * 400 + b'}', b'{"amount":0.' + b"1" * 400 + b'}',
		    b'[' * 100000 + b']' * 100000, b'{"a":' * 70 + b'1' + b'}' * 70,
		    b'{"k":"\\ud800"}', b'{"k":"\\udc00\\ud800"}', b'{"k":"\\ud83d\\ude00","amount":2}',
		    b'{"k":"a\x00b"}', b'{"k":"\\u0000","amount":3}', b'{"amount":"12.5"}', b'{"amount":null}',
		    b'{}', b'[]', b'""', b'0', b'{"k":', b'{"k":"' + b"x" * 100000 + b'","amount":1}',
		    b'{"k":"\xff"}', b'{"k":"\xed\xa0\x80"}', b'{"k":1,"k":2,"amount":4}',
		    b'{"":1,"amount":5}', b'{"k":{"x":[1,{"y":2}]},"amount":6}',
		]
		with open(sys.argv[1], "ab") as f:
		    f.write(b"\n".join(lines) + b"\n" + b'{"truncated":')
		PYEOF
	# The same records as envelopes, as ksub --envelope writes them.
	$PY - "$dir/hostile.ndjson" "$dir/envelopes.ndjson" <<-'PYEOF'
		import json, sys
		out = open(sys.argv[2], "wb")
		for i, line in enumerate(open(sys.argv[1], "rb").read().split(b"\n")):
		    env = b'{"topic":"h","partition":0,"offset":%d,"key":"k","value":' % i
		    out.write(env + line + b"}\n")
		    out.write(b'{"value_text":' + json.dumps(line.decode("utf-8", "replace")).encode() + b"}\n")
		out.write(b'{"partition":-1,"value":1}\n{"partition":99999999999999999999,"value":1}\n')
		out.write(b'{"value_base64":"!!!"}\n{"value":1,"value_text":"x"}\n{"headers":[{"key":1}],"value":1}\n')
		PYEOF
}

setup() {
	cd "$BATS_TEST_TMPDIR" || return
}

teardown() {
	stop_broker
}

# no_report: the last run's stderr holds no sanitizer report.
no_report() {
	if grep -E 'runtime error|Sanitizer|LeakSanitizer|SUMMARY:' <<< "$stderr"; then
		return 1
	fi
}

@test "hostile: every jfmt mode takes the hostile corpus without a sanitizer report" {
	for mode in '--pretty --color always' --compact --table --csv --tsv '--live k --refresh 1ms'; do
		# shellcheck disable=SC2086
		run --separate-stderr jfmt $mode --errors dead < "$BATS_FILE_TMPDIR/hostile.ndjson"
		echo "jfmt $mode: status $status"
		no_report
		assert [ "$status" -eq 0 ]
	done
	# A table of one row of one column: the case that once had memset on NULL.
	run --separate-stderr jfmt --table <<< '{"amount":1}'
	no_report
	assert_success
	run --separate-stderr jfmt --table -f amount,missing <<< '{"amount":1}'
	no_report
	assert_success
}

@test "hostile: every jagg aggregate takes the hostile corpus without a sanitizer report" {
	for f in count sum min max avg first last count_distinct; do
		agg="x=$f:amount"
		[ "$f" = count ] && agg=count
		for input in hostile envelopes; do
			run --separate-stderr jagg -g k "$agg" --mode complete --errors dead < "$BATS_FILE_TMPDIR/$input.ndjson"
			echo "jagg $agg on $input: status $status"
			no_report
			assert [ "$status" -eq 0 ]
		done
	done
}

@test "hostile: kpub --envelope takes the hostile corpus without a sanitizer report" {
	start_broker -T h:1
	run --separate-stderr kpub -b "$BROKERS" -t h --envelope --errors dead < "$BATS_FILE_TMPDIR/envelopes.ndjson"
	echo "kpub: status $status"
	no_report
	assert_success
	run --separate-stderr kpub -b "$BROKERS" -t h --key-field k --errors dead2 < "$BATS_FILE_TMPDIR/hostile.ndjson"
	no_report
	assert_success
}

#!/usr/bin/env bats
# The envelope (txstream(7), ENVELOPE): every kind of message, produced by
# clients that are not ours (python3-kafka, kcat), mirrored with
# ksub --envelope | kpub --envelope, reads back the same byte for byte
# through python3-kafka: partition, offset, timestamp, key, value and
# headers in their order.

# $stderr is set by bats' run --separate-stderr.
# shellcheck disable=SC2154

load helpers

setup_file() {
	start_engine
}

teardown_file() {
	stop_engine
}

setup() {
	cd "$BATS_TEST_TMPDIR" || return
	if on_kafka; then
		# python3-kafka's corpus is stamped in 2020: kept whatever its age,
		# since make check-kafka's retention checker runs every second.
		heal_kafka
		BROKERS=$KAFKA_CLUSTER
		"$TXS_SRCDIR/tests/helpers/kafka_admin.py" "$BROKERS" reset src:3 mirror:3 retention.ms=-1
	else
		start_broker -T src:3 -T mirror:3
	fi
}

teardown() {
	stop_broker
}

corpus() {
	$PY "$TXS_SRCDIR/tests/helpers/envelope_corpus.py" "$@"
}

dump() {
	$PY "$TXS_SRCDIR/tests/helpers/kafka_dump.py" --timestamps "$BROKERS" "$@"
}

# mirror N: src into mirror through envelopes, then both read back.
mirror() {
	ksub -b "$BROKERS" -t src --envelope -e > env.ndjson
	run -0 wc -l < env.ndjson
	assert_output "$1"
	run --separate-stderr kpub -b "$BROKERS" -t mirror --envelope env.ndjson
	assert_success
	dump src "$1" > src.dump
	dump mirror "$1" > mirror.dump
	run -0 wc -l < mirror.dump
	assert_output "$1"
}

@test "envelope: python3-kafka's corpus of every message class mirrors byte for byte, timestamps and headers included" {
	run -0 corpus produce "$BROKERS" src 3
	n=$output
	mirror "$n"
	run cmp src.dump mirror.dump
	assert_success
	# Each class went where the rule puts it.
	run -0 jq -r 'if has("value") then (if .value == null then "null" else "value" end)
		elif has("value_text") then "text" else "base64" end' env.ndjson
	assert_equal "$(grep -c '^value$' <<< "$output")" 5
	assert_equal "$(grep -c '^text$' <<< "$output")" 11
	assert_equal "$(grep -c '^base64$' <<< "$output")" 2
	assert_equal "$(grep -c '^null$' <<< "$output")" 1
	# The CreateTimes are the producer's, not the mirror's.
	run -0 jq -r 'select(.p == 0 and .o == 0) | "\(.t) \(.tt)"' mirror.dump
	assert_output "1600000000007 0"
}

@test "envelope: kcat's messages (files as values, null and repeated headers, tombstones) mirror byte for byte" {
	corpus files values
	# kcat sends no message for an empty file: python3-kafka's corpus has the empty value.
	find values -name '*.value' -size 0 -delete
	for f in values/*.value; do
		i=${f##*/}
		i=$((10#${i%.value}))
		kcat -P -b "$BROKERS" -t src -p $((i % 3)) -k "k$i" -H "h=$i" -H empty= -H none -H "h=again" "$f"
	done
	# A tombstone: with -Z an empty message is a null value.
	printf 'tomb:\n' | kcat -P -b "$BROKERS" -t src -p 0 -Z -K :
	n=$(($(find values -name '*.value' | wc -l) + 1))
	mirror "$n"
	run cmp src.dump mirror.dump
	assert_success
	# The header without a value came through as one.
	run -0 jq -c 'select(.h != []) | .h[2]' mirror.dump
	assert_line --index 0 '["none",null]'
	run -0 jq -c 'select(.k == "dG9tYg==") | .v' mirror.dump
	assert_output null
}

@test "envelope: kpub --no-timestamp gives messages the time they are produced" {
	before=$(($(date +%s) * 1000))
	printf '%s\n' '{"partition":0,"timestamp":1600000000000,"key":"a","value":1}' > env.ndjson
	run -0 kpub -b "$BROKERS" -t mirror --envelope --no-timestamp env.ndjson
	run -0 dump mirror 1
	t=$(jq .t <<< "$output")
	[ "$t" -ge "$before" ]
	run -0 kpub -b "$BROKERS" -t mirror --envelope env.ndjson
	run -0 dump mirror 2
	assert_equal "$(jq -s -c 'map(.t) | sort | .[0]' <<< "$output")" 1600000000000
}

@test "envelope: headers are read in both forms; a bad one fails its line, by number and name" {
	printf '%s\n' \
		'{"partition":0,"key":"a","headers":[{"key":"b","value_base64":"/wA="},{"key_base64":"aGk=","value":"x"}],"value":1}' \
		'{"partition":0,"key":"b","headers":[{"key":"ok","value":"x"},{"key":"bin","value_base64":"%%"}],"value":2}' \
		'{"partition":0,"key":"c","headers":[{"value":"x"}],"value":3}' \
		'{"partition":0,"key":"d","headers":[{"key":"n","value":5}],"value":4}' > env.ndjson
	run --separate-stderr kpub -b "$BROKERS" -t mirror --envelope --errors dead env.ndjson
	assert_success
	[[ $stderr == *':2: not an envelope: header 2 ("bin"): value_base64 is not base64'* ]]
	[[ $stderr == *':3: not an envelope: header 1 has no key'* ]]
	[[ $stderr == *':4: not an envelope: header 1 ("n"): value is not a string or null'* ]]
	run -0 dump mirror 1
	assert_equal "$(jq -c .h <<< "$output")" '[["b","/wA="],["hi","eA=="]]'
	assert_equal "$(wc -l < dead)" 3
}

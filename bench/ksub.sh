#!/bin/sh
# ksub against kcat -C, reading the same 100,000 seed records from an
# embedded kbroker topic of 10 partitions (so none nears kbroker's ~5 MB
# limit), in the same run: payloads only (ksub vs kcat -C), then one JSON
# object per message (ksub --envelope vs kcat -C -J). Each reads the topic
# from the beginning to its end (-e). Prints the median time of each and
# the ratios kcat/ksub (>= 1.0: ksub is at least as fast).
# With -e, ksub shortens the broker's wait on an empty fetch
# (fetch.wait.max.ms) from librdkafka's 500 ms to 100 ms, which ends the
# read sooner; so the payload comparison is also run with kcat given the
# same 100 ms, to show what is left once that difference is taken out.
# Usage: bench/ksub.sh [COUNT] [ROUNDS]   (BUILD=dir with src/ programs)
set -eu

here=$(cd "$(dirname "$0")" && pwd)
build=${BUILD:-$here/../_build/plain}
count=${1:-100000}
rounds=${2:-3}
tmp=$(mktemp -d)
broker_pid=

cleanup() {
	[ -n "$broker_pid" ] && kill "$broker_pid" 2>/dev/null && wait "$broker_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

for p in txgen kpub ksub kbroker; do
	[ -x "$build/src/$p" ] || { echo "bench: no $build/src/$p (run scripts/check or set BUILD)" >&2; exit 1; }
done
command -v kcat >/dev/null || { echo "bench: kcat not found (apt-get install kcat)" >&2; exit 1; }

"$build/src/kbroker" -q -T seed:10 --bootstrap-file "$tmp/bootstrap" > /dev/null &
broker_pid=$!
n=0
while [ ! -s "$tmp/bootstrap" ] && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
brokers=$(cat "$tmp/bootstrap")
"$build/src/txgen" -s 1 -r 0 -n "$count" | "$build/src/kpub" -q -b "$brokers" -t seed --key-field userId

# Milliseconds a command took; its output is counted, to be sure it read all.
timed() {
	start=$(date +%s%N)
	lines=$("$@" | wc -l)
	end=$(date +%s%N)
	if [ "$lines" -ne "$count" ]; then
		echo "bench: $* printed $lines lines, not $count" >&2
		exit 1
	fi
	echo "$(( (end - start) / 1000000 ))"
}

median() {
	sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

for f in kcat ksub kcatj ksube kcat100; do : > "$tmp/$f.ms"; done
i=1
while [ "$i" -le "$rounds" ]; do
	timed kcat -C -b "$brokers" -t seed -e -q >> "$tmp/kcat.ms"
	timed "$build/src/ksub" -b "$brokers" -t seed -e >> "$tmp/ksub.ms"
	timed kcat -C -J -b "$brokers" -t seed -e -q >> "$tmp/kcatj.ms"
	timed "$build/src/ksub" -b "$brokers" -t seed -e --envelope >> "$tmp/ksube.ms"
	timed kcat -C -b "$brokers" -t seed -e -q -X fetch.wait.max.ms=100 >> "$tmp/kcat100.ms"
	i=$((i + 1))
done

awk -v n="$count" -v r="$rounds" -v kc="$(median < "$tmp/kcat.ms")" -v ks="$(median < "$tmp/ksub.ms")" \
    -v kj="$(median < "$tmp/kcatj.ms")" -v ke="$(median < "$tmp/ksube.ms")" \
    -v k1="$(median < "$tmp/kcat100.ms")" 'BEGIN {
	printf "%d records, median of %d rounds each\n", n, r
	printf "kcat -C:          %6d ms = %.0f msgs/s\n", kc, n / (kc / 1000)
	printf "ksub:             %6d ms = %.0f msgs/s\n", ks, n / (ks / 1000)
	printf "kcat -C -J:       %6d ms = %.0f msgs/s\n", kj, n / (kj / 1000)
	printf "ksub --envelope:  %6d ms = %.0f msgs/s\n", ke, n / (ke / 1000)
	printf "kcat -C, 100 ms fetch wait: %6d ms = %.0f msgs/s\n", k1, n / (k1 / 1000)
	printf "ratio kcat/ksub (payloads): %.2f; kcat -J/ksub --envelope: %.2f (issue target: >= 1.0)\n", kc / ks, kj / ke
	printf "ratio with the same 100 ms fetch wait (payloads): %.2f\n", k1 / ks
}'

#!/bin/sh
# kpub against kcat -P, producing the same 100,000 seed records to an
# embedded kbroker in the same run: kcat without any key, kpub with
# --key-field userId (it parses every line). Each round uses fresh topics
# of 10 partitions, so no partition nears kbroker's ~5 MB limit.
# Prints the median time of each and the ratio kcat/kpub (>= 1.0: kpub is
# at least as fast).
# Usage: bench/kpub.sh [COUNT] [ROUNDS]   (BUILD=dir with src/ programs)
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

for p in txgen kpub kbroker; do
	[ -x "$build/src/$p" ] || { echo "bench: no $build/src/$p (run scripts/check or set BUILD)" >&2; exit 1; }
done
command -v kcat >/dev/null || { echo "bench: kcat not found (apt-get install kcat)" >&2; exit 1; }

topics=
i=1
while [ "$i" -le "$rounds" ]; do
	topics="$topics -T kc$i:10 -T kp$i:10"
	i=$((i + 1))
done
# shellcheck disable=SC2086
"$build/src/kbroker" -q $topics --bootstrap-file "$tmp/bootstrap" > /dev/null &
broker_pid=$!
n=0
while [ ! -s "$tmp/bootstrap" ] && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
brokers=$(cat "$tmp/bootstrap")

"$build/src/txgen" -s 1 -r 0 -n "$count" > "$tmp/records"

# Seconds a command took, to the millisecond.
timed() {
	start=$(date +%s%N)
	"$@" < "$tmp/records" > /dev/null
	end=$(date +%s%N)
	echo "$(( (end - start) / 1000000 ))"
}

median() {
	sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

: > "$tmp/kcat.ms"
: > "$tmp/kpub.ms"
i=1
while [ "$i" -le "$rounds" ]; do
	timed kcat -P -b "$brokers" -t "kc$i" >> "$tmp/kcat.ms"
	timed "$build/src/kpub" -b "$brokers" -t "kp$i" --key-field userId >> "$tmp/kpub.ms"
	i=$((i + 1))
done

kc=$(median < "$tmp/kcat.ms")
kp=$(median < "$tmp/kpub.ms")
awk -v n="$count" -v kc="$kc" -v kp="$kp" -v r="$rounds" 'BEGIN {
	printf "%d records, median of %d rounds each\n", n, r
	printf "kcat -P (no key):           %6d ms = %.0f msgs/s\n", kc, n / (kc / 1000)
	printf "kpub --key-field userId:    %6d ms = %.0f msgs/s\n", kp, n / (kp / 1000)
	printf "ratio kcat/kpub: %.2f (issue target: >= 1.0)\n", kc / kp
}'

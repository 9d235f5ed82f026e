#!/bin/sh
# txgen against the seed's own approach (a Python loop over json.dumps),
# both pinned to one core, writing to /dev/null, in the same run.
# Prints records per second for each and the ratio.
# Usage: bench/txgen.sh [COUNT]   (TXGEN=path, PYTHON=interpreter)
set -eu

here=$(cd "$(dirname "$0")" && pwd)
txgen=${TXGEN:-$here/../_build/plain/src/txgen}
python=${PYTHON:-python3}
count=${1:-4000000}
py_count=$((count / 10))	# the peer is slower: keep its run short

[ -x "$txgen" ] || { echo "bench: no txgen at $txgen (run scripts/check or set TXGEN)" >&2; exit 1; }

# Wall time of a command in seconds, to the millisecond.
elapsed() {
	start=$(date +%s%N)
	"$@" > /dev/null
	end=$(date +%s%N)
	echo "$(( (end - start) / 1000000 ))" | awk '{ printf "%.3f", $1 / 1000 }'
}

# Both on one core, as the issue asks; without taskset, unpinned.
pin() {
	if command -v taskset >/dev/null 2>&1; then taskset -c 0 "$@"; else "$@"; fi
}

t_txgen=$(elapsed pin "$txgen" -r 0 -n "$count" -s 1)
t_py=$(elapsed pin "$python" "$here/txgen_seed_producer.py" "$py_count")

awk -v n="$count" -v t="$t_txgen" -v pn="$py_count" -v pt="$t_py" 'BEGIN {
	r = n / t; pr = pn / pt
	printf "txgen:              %d records in %.3f s = %.0f records/s\n", n, t, r
	printf "seed python loop:   %d records in %.3f s = %.0f records/s\n", pn, pt, pr
	printf "ratio txgen/python: %.1f (issue target: >= 20; txgen target >= 2000000 records/s)\n", r / pr
}'

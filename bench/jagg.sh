#!/bin/sh
# jagg against jq and Miller on the seed's aggregation (total amount and
# transaction count per merchant), on the same stored file of N seed
# records in the same run, with wc -l as the floor (just reading the bytes).
# Each command runs several times and the best (least) wall time counts,
# as this is meant for a noisy VM; nothing is pinned to a core.
# Prints each time and the ratios jq/jagg, mlr/jagg and jagg/wc; jagg's
# peak RSS for N and 10*N records (the 10*N piped from txgen, not stored)
# beside txgen's own; and checks jagg's sums against exact decimal sums
# computed by Python, and jq's and mlr's against them up to float rounding.
# Exits 1 if any result is wrong.
# Usage: bench/jagg.sh [N] [REPEATS]
#   (BUILD=dir with src/ programs, PEER_REPEATS=runs of jq and mlr,
#    default 1 as each takes ~20 s on 1M; PYTHON=interpreter for the check)
set -eu

here=$(cd "$(dirname "$0")" && pwd)
build=${BUILD:-$here/../_build/plain}
count=${1:-1000000}
repeats=${2:-3}
peer_repeats=${PEER_REPEATS:-1}
python=${PYTHON:-/usr/bin/python3}
gnutime=/usr/bin/time
big=$((10 * count))
tmp=$(mktemp -d)

cleanup() {
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

for p in txgen jagg; do
	[ -x "$build/src/$p" ] || { echo "bench: no $build/src/$p (run scripts/check or set BUILD)" >&2; exit 1; }
done
for c in jq mlr "$python" "$gnutime"; do
	command -v "$c" >/dev/null || { echo "bench: $c not found (apt-get install jq miller python3 time)" >&2; exit 1; }
done
txgen=$build/src/txgen
jagg=$build/src/jagg

# The one aggregation, as each tool spells it ($aggregate is split into
# jagg's arguments wherever it is used).
aggregate="-g merchantId totalAmount=sum:amount transactionCount=count --mode final"
run_jagg() {
	# shellcheck disable=SC2086
	"$jagg" $aggregate
}
run_jq() {
	jq -n 'reduce inputs as $r ({}; .[$r.merchantId].totalAmount += $r.amount | .[$r.merchantId].transactionCount += 1)'
}
run_mlr() {
	mlr --ijson --ojsonl stats1 -a sum,count -f amount -g merchantId
}

# Milliseconds one run of a command took on the stored records; its output
# is kept in $tmp/NAME.out for the check, its time appended to $tmp/NAME.ms.
timed() {
	name=$1
	shift
	start=$(date +%s%N)
	"$@" < "$tmp/records" > "$tmp/$name.out"
	end=$(date +%s%N)
	echo "$(( (end - start) / 1000000 ))" >> "$tmp/$name.ms"
}

best() {
	sort -n "$tmp/$1.ms" | head -n 1
}

# Peak resident set of a command, in KiB; its output goes to the file $1.
rss() {
	out=$1
	shift
	"$gnutime" -f %M -o "$tmp/rss" "$@" > "$out"
	cat "$tmp/rss"
}

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
echo "machine: $(nproc) cores, ${cpu:-unknown CPU}, $(uname -sr)"
echo "peers: $(jq --version), $(mlr --version), wc from $(wc --version | head -n 1)"

"$txgen" -s 1 -n "$count" -r 0 > "$tmp/records"
bytes=$(wc -c < "$tmp/records")
cat "$tmp/records" > /dev/null	# into the page cache before any timing
awk -v n="$count" -v b="$bytes" -v r="$repeats" -v p="$peer_repeats" 'BEGIN {
	printf "%d records (txgen -s 1 -r 0), %.0f MB, best of %d runs (jq, mlr: %d)\n", n, b / 1e6, r, p
}'

for f in wc jagg jq mlr; do : > "$tmp/$f.ms"; done
i=1
while [ "$i" -le "$repeats" ] || [ "$i" -le "$peer_repeats" ]; do
	if [ "$i" -le "$repeats" ]; then
		timed wc wc -l
		timed jagg run_jagg
	fi
	if [ "$i" -le "$peer_repeats" ]; then
		timed jq run_jq
		timed mlr run_mlr
	fi
	i=$((i + 1))
done

lines=$(cat "$tmp/wc.out")
[ "$lines" -eq "$count" ] || { echo "bench: wc -l counted $lines lines, not $count" >&2; exit 1; }

awk -v n="$count" -v b="$bytes" -v w="$(best wc)" -v g="$(best jagg)" \
    -v q="$(best jq)" -v m="$(best mlr)" 'BEGIN {
	printf "wc -l:  %8.3f s\n", w / 1000
	printf "jagg:   %8.3f s = %.0f records/s, %.0f MB/s\n", g / 1000, n / (g / 1000), b / 1e6 / (g / 1000)
	printf "jq:     %8.3f s\n", q / 1000
	printf "mlr:    %8.3f s\n", m / 1000
	printf "ratio jq/jagg:  %6.1f (issue target: >= 30)\n", q / g
	printf "ratio mlr/jagg: %6.1f (issue target: >= 25)\n", m / g
	printf "ratio jagg/wc:  %6.1f (how far from just reading the bytes)\n", g / w
}'

# Peak RSS: both record counts piped from txgen the same way, and txgen
# alone, so what grows with the count can be told apart.
# shellcheck disable=SC2086
jagg_small=$("$txgen" -s 1 -n "$count" -r 0 | rss "$tmp/small.out" "$jagg" $aggregate)
gen_small=$(rss /dev/null "$txgen" -s 1 -n "$count" -r 0)
# shellcheck disable=SC2086
jagg_big=$("$txgen" -s 1 -n "$big" -r 0 | rss "$tmp/big.out" "$jagg" $aggregate)
gen_big=$(rss /dev/null "$txgen" -s 1 -n "$big" -r 0)
for f in small:"$count" big:"$big"; do
	got=$(sed -n 's/.*"transactionCount":\([0-9]*\).*/\1/p' "$tmp/${f%%:*}.out" | awk '{ s += $1 } END { print s + 0 }')
	[ "$got" -eq "${f#*:}" ] || { echo "bench: jagg counted $got records of ${f#*:} from the pipe" >&2; exit 1; }
done
echo "peak RSS (KiB, GNU time %M), input piped from txgen:"
printf '  %10s  %10s  %12s\n' records jagg "txgen alone"
printf '  %10d  %10d  %12d\n' "$count" "$jagg_small" "$gen_small" "$big" "$jagg_big" "$gen_big"

# The check: exact decimal sums from the file, Python's own reading of it.
"$python" - "$tmp/records" "$tmp/jagg.out" "$tmp/jq.out" "$tmp/mlr.out" <<'EOF'
import json, sys
from decimal import Decimal

records, jagg_out, jq_out, mlr_out = sys.argv[1:]
sums, counts = {}, {}
with open(records) as f:
    for line in f:
        r = json.loads(line, parse_float=Decimal)
        m = r["merchantId"]
        sums[m] = sums.get(m, Decimal(0)) + Decimal(str(r["amount"]))
        counts[m] = counts.get(m, 0) + 1

def load(path):
    with open(path) as f:
        return f.read()

got = {}
for line in load(jagg_out).splitlines():
    r = json.loads(line, parse_float=Decimal)
    got[r["merchantId"]] = (r["totalAmount"], r["transactionCount"])
jq = {m: (v["totalAmount"], v["transactionCount"])
      for m, v in json.loads(load(jq_out), parse_float=Decimal).items()}
mlr = {}
for line in load(mlr_out).splitlines():
    r = json.loads(line, parse_float=Decimal)
    mlr[r["merchantId"]] = (r["amount_sum"], r["amount_count"])

REL_TOL = Decimal("1e-12")  # binary doubles summing ~1e6 amounts of ~1e5
bad = []
for name, res, exact in (("jagg", got, True), ("jq", jq, False), ("mlr", mlr, False)):
    if set(res) != set(sums):
        bad.append(f"{name}: merchants {sorted(res)}, expected {sorted(sums)}")
        continue
    worst = Decimal(0)
    for m in sorted(sums):
        s, c = res[m]
        if c != counts[m]:
            bad.append(f"{name}: {m} transactionCount {c}, expected {counts[m]}")
        d = abs(Decimal(s) - sums[m])
        worst = max(worst, d)
        if exact and d != 0:
            bad.append(f"{name}: {m} totalAmount {s}, expected exactly {sums[m]}")
        elif not exact and d > REL_TOL * abs(sums[m]):
            bad.append(f"{name}: {m} totalAmount {s}, expected {sums[m]} within {REL_TOL} relative")
    how = "exact" if exact else f"largest difference {worst:f}"
    print(f"check {name}: {len(sums)} merchants, counts equal, sums {how}"
          if not any(b.startswith(name + ":") for b in bad) else f"check {name}: FAILED")
for b in bad:
    print("bench: " + b, file=sys.stderr)
sys.exit(1 if bad else 0)
EOF

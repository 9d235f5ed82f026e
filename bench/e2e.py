#!/usr/bin/env python3
"""The measuring half of bench/e2e.sh: the expected totals, the watch on
an aggregates topic, a pipeline's CPU and memory from /proc, and the
report of one pipeline's run. Standard library only.

  e2e.py expect OUT.json < records     per merchant, the count and the exact
                                       decimal sum of amount (Python decimal)
  e2e.py sum A.json B.json OUT.json    the expectation of A's input then B's
  e2e.py watch [--slack K] OUT.ndjson DONE EXPECT.json...
                                       < aggregate envelopes (ksub --envelope):
                                       keeps every line in OUT.ndjson; once
                                       the latest count of every merchant has
                                       reached EXPECT i's (less K), writes
                                       DONE.i: the timestamp (ms) of the
                                       aggregate record that got there last
  e2e.py usage [--detail] PID          "CPU_SECONDS PEAK_RSS_KB PID..." of the
                                       process tree under PID, shells left out;
                                       --detail: "NAME:CPUs:RSSMB" of each
  e2e.py report NAME AGGS.ndjson STEADY.ndjson BACKLOG.json FINAL.json
                                       latency and exactness, one JSON line

What "includes" means, the same for every pipeline (man/txstream.7 says
what an aggregate record is): the steady transactions are keyed by
merchantId, so all of one merchant's lie in one partition, in the order
they were produced, and every pipeline reads a partition in offset order.
The j-th steady transaction of merchant M (by offset) is then the
(B + j)-th transaction of M that any pipeline can count, B being M's
count in the backlog, which is all read before the steady phase starts.
An aggregate record for M includes it when its transactionCount is at
least B + j. Its latency is the timestamp of the first aggregate record
for M (in the aggregates topic's order) that includes it, minus the
transaction's own timestamp (its CreateTime: when kpub produced it).
"""

import json
import os
import sys
from decimal import Decimal


def expect(out):
    counts, sums = {}, {}
    for line in sys.stdin:
        if not line.strip():
            continue
        t = json.loads(line, parse_float=Decimal)
        m = t["merchantId"]
        counts[m] = counts.get(m, 0) + 1
        sums[m] = sums.get(m, Decimal(0)) + Decimal(t["amount"])
    with open(out, "w") as f:
        json.dump({"counts": counts, "sums": {m: str(s) for m, s in sums.items()}}, f)


def load(path):
    with open(path) as f:
        e = json.load(f)
    return e["counts"], {m: Decimal(s) for m, s in e["sums"].items()}


def add(a, b):
    """The expectation of two inputs one after the other."""
    counts = dict(a[0])
    sums = dict(a[1])
    for m, n in b[0].items():
        counts[m] = counts.get(m, 0) + n
        sums[m] = sums.get(m, Decimal(0)) + b[1][m]
    return counts, sums


def aggregate(line):
    """(merchant, count, timestamp ms, totalAmount) of one envelope, or None."""
    e = json.loads(line, parse_float=Decimal, parse_int=Decimal)
    v = e.get("value")
    if not isinstance(v, dict) or "merchantId" not in v:
        return None
    return v["merchantId"], int(v["transactionCount"]), int(e["timestamp"]), v["totalAmount"]


def watch(out, done, stages, slack=0):
    targets = [{m: n - slack for m, n in load(s)[0].items()} for s in stages]
    latest = {}
    reached = [dict() for _ in targets]    # merchant -> timestamp of reaching it
    written = [False] * len(targets)
    with open(out, "w") as f:
        for line in sys.stdin:
            f.write(line)
            a = aggregate(line)
            if a is None:
                continue
            m, n, ts, _ = a
            latest[m] = n
            news = False
            for i, t in enumerate(targets):
                if not written[i] and m in t and n >= t[m] and m not in reached[i]:
                    reached[i][m] = ts
                    news = True
            if not news:
                continue
            f.flush()
            for i, t in enumerate(targets):
                if not written[i] and all(m in reached[i] for m in t):
                    tmp = "%s.%d.tmp" % (done, i + 1)
                    with open(tmp, "w") as d:
                        d.write("%d\n" % max(reached[i].values()))
                    os.rename(tmp, "%s.%d" % (done, i + 1))
                    written[i] = True


SHELLS = {"sh", "dash", "bash"}


def usage(root, detail=False):
    parent, comm = {}, {}
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % p) as f:
                s = f.read()
        except OSError:
            continue
        r = s.rindex(")")
        comm[int(p)] = s[s.index("(") + 1:r]
        parent[int(p)] = int(s[r + 2:].split()[1])
    tree, todo = [], [root]
    while todo:
        p = todo.pop()
        if p not in comm:
            continue
        tree.append(p)
        todo.extend(c for c, pp in parent.items() if pp == p)
    hz = os.sysconf("SC_CLK_TCK")
    cpu, rss, pids = 0.0, 0, []
    for p in tree:
        # A subshell keeps the script's name as its comm: ask its binary.
        try:
            exe = os.path.basename(os.readlink("/proc/%d/exe" % p))
        except OSError:
            exe = comm[p]
        if exe in SHELLS or comm[p] in SHELLS:
            continue
        try:
            with open("/proc/%d/stat" % p) as f:
                s = f.read()
            fields = s[s.rindex(")") + 2:].split()
            with open("/proc/%d/status" % p) as f:
                hwm = [l for l in f if l.startswith("VmHWM:")]
        except OSError:
            continue
        c = (int(fields[11]) + int(fields[12])) / hz    # utime + stime
        r = int(hwm[0].split()[1]) if hwm else 0
        cpu += c
        rss += r
        pids.append("%s:%.2fs:%dMB" % (comm[p], c, r // 1024) if detail else str(p))
    if detail:
        print(" ".join(pids))
    else:
        print("%.2f %d %s" % (cpu, rss, " ".join(pids)))


def nearest_rank(sorted_values, q):
    if not sorted_values:
        return None
    i = max(0, -(-len(sorted_values) * q // 100) - 1)    # ceil(n q / 100) - 1
    return sorted_values[int(i)]


def report(name, aggs_path, steady_path, backlog_path, final_path):
    backlog = load(backlog_path)
    counts, sums = load(final_path)
    per = {}    # merchant -> [(count, ts)] in topic order
    last = {}
    with open(aggs_path) as f:
        rows = []
        for line in f:
            if not line.strip():
                continue
            e = json.loads(line, parse_float=Decimal, parse_int=Decimal)
            a = aggregate(line)
            if a is not None:
                rows.append((int(e["partition"]), int(e["offset"]), a))
    rows.sort(key=lambda r: (r[0], r[1]))
    for _, _, (m, n, ts, total) in rows:
        per.setdefault(m, []).append((n, ts))
        last[m] = (n, total)

    steady = {}
    parts = {}
    with open(steady_path) as f:
        for line in f:
            if not line.strip():
                continue
            e = json.loads(line)
            m = e["value"]["merchantId"]
            steady.setdefault(m, []).append((e["partition"], e["offset"], e["timestamp"]))
            parts.setdefault(m, set()).add(e["partition"])
    split = [m for m, p in parts.items() if len(p) > 1]
    if split:
        sys.exit("e2e.py: merchants %s are in more than one partition" % split)
    lat, missing = [], 0
    for m, txs in steady.items():
        txs.sort()
        aggs = per.get(m, [])
        i = 0
        for j, (_, _, ts) in enumerate(txs, 1):
            k = backlog[0].get(m, 0) + j
            while i < len(aggs) and aggs[i][0] < k:
                i += 1
            if i == len(aggs):
                missing += len(txs) - j + 1
                break
            lat.append(aggs[i][1] - ts)
    lat.sort()

    err, count_err = Decimal(0), 0
    for m, n in counts.items():
        got_n, got_total = last.get(m, (0, Decimal(0)))
        count_err = max(count_err, abs(got_n - n))
        err = max(err, abs(Decimal(got_total) - sums[m]))
    print(json.dumps({
        "name": name,
        "steady": sum(len(t) for t in steady.values()),
        "p50_ms": nearest_rank(lat, 50), "p99_ms": nearest_rank(lat, 99),
        "max_ms": lat[-1] if lat else None, "not_included": missing,
        "max_error": str(err), "max_count_error": count_err,
        "aggregate_records": len(rows),
    }))


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "expect" and len(args) == 1:
        expect(args[0])
    elif cmd == "sum" and len(args) == 3:
        c, s = add(load(args[0]), load(args[1]))
        with open(args[2], "w") as f:
            json.dump({"counts": c, "sums": {m: str(v) for m, v in s.items()}}, f)
    elif cmd == "watch" and len(args) >= 5 and args[0] == "--slack":
        watch(args[2], args[3], args[4:], int(args[1]))
    elif cmd == "watch" and len(args) >= 3:
        watch(args[0], args[1], args[2:])
    elif cmd == "usage" and len(args) == 1:
        usage(int(args[0]))
    elif cmd == "usage" and len(args) == 2 and args[0] == "--detail":
        usage(int(args[1]), True)
    elif cmd == "report" and len(args) == 5:
        report(*args)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()

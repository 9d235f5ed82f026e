#!/usr/bin/python3
"""Tell a producer request written twice from any other repeat in a topic.

Reads kafka_dump.py's output (one message per line, sorted by partition
and offset) and looks at the messages whose key and value came before in
the same partition. A request the broker wrote and whose answer an outage
cut is sent again by the idempotent producer, with the same messages in the
same order; a broker that does not check the sequence numbers (kbroker's
mock, for a producer that is not transactional) writes it a second time,
directly after the first, and again if that retry's answer is lost too. So
every run of repeated messages must be, message for message, the run just
before it, once or several times over. Anything else (a message sent twice
by itself, a repeat out of place, a gap) is reported.

Usage: retried_runs.py DUMP
Prints "N repeated, in K runs" and exits 0 when every repeat is such a run;
prints each other repeat and exits 1.
"""
import json
import sys


def main():
    parts = {}
    with open(sys.argv[1], encoding="utf-8") as f:
        for line in f:
            m = json.loads(line)
            parts.setdefault(m["p"], []).append((m["o"], m["k"], m["v"]))
    twice = runs = bad = 0
    for p, log in sorted(parts.items()):
        first = {}
        i = 0
        while i < len(log):
            body = log[i][1:]
            if body not in first:
                first[body] = i
                i += 1
                continue
            # A run of repeats from i: the request (or the requests in
            # flight together) written from first[body] to i, once more
            # or several times, each copy directly after the last.
            n = i - first[body]
            j = i
            while j < len(log) and log[j][1:] == log[j - n][1:]:
                j += 1
            gapless = all(log[k][0] == log[k - 1][0] + 1 for k in range(i - n + 1, j))
            if j > i and (j - i) % n == 0 and gapless:
                twice += j - i
                runs += 1
            else:
                j = max(j, i + 1)
                bad += j - i
                print(f"partition {p}: offsets {log[i][0]}-{log[j - 1][0]} repeat messages "
                      "that are not the run just before them")
            i = j
    print(f"{twice} repeated, in {runs} runs")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

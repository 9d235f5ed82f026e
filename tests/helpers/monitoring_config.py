#!/usr/bin/python3
"""Derive the test's Prometheus and Alertmanager configuration from the
shipped one (monitoring/), for tests/monitoring-kafka.bats.

usage: monitoring_config.py TOP OUT FACTOR SCRAPE_FACTOR TARGETS WEBHOOK

TOP      the source tree (monitoring/ in it is read, never written)
OUT      the directory to write prometheus.yml, rules/ and alertmanager.yml in
FACTOR   how many times faster the test's clock runs (an integer)
SCRAPE_FACTOR  how many times more often Prometheus scrapes the Kafka
         nodes (an integer, at most FACTOR: a JVM's JMX exporter scrape
         costs it tens of milliseconds of CPU, six of them share two cores
         with the rest); txstream's own jobs (txstream-*), whose scrape
         costs microseconds, are scraped FACTOR times as often
TARGETS  a JSON object from each shipped target ("kafka-1:7071") to the
         address that serves it here ("127.0.0.1:20311"); every shipped
         target must be in it
WEBHOOK  the base URL of the test's webhook receiver ("http://127.0.0.1:PORT")

What changes, and nothing else:
- every target and the Alertmanager address, to the local ones;
- the scrape interval divided by SCRAPE_FACTOR, and scrape_timeout, which
  the shipped file leaves at Prometheus's 10 s default and Prometheus
  wants no longer than the interval, made the scaled interval; for the
  txstream-* jobs both divided by FACTOR instead (an alert on their
  series then waits on scrapes no more than on the scaled rules);
- every other duration, divided by FACTOR: the evaluation interval, each
  rule's `for:`, the range of each range selector in an expression,
  the one threshold in seconds (a *_seconds metric compared with a
  number), and Alertmanager's group_wait, group_interval,
  repeat_interval and resolve_timeout;
- each webhook receiver's URL: same path, the test's host and port.

Prints one line: the Kafka nodes' scaled scrape interval in seconds.
"""

import json
import os
import re
import sys
from urllib.parse import urlsplit

import yaml

UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
DURATION = re.compile(r"(\d+)(ms|s|m|h|d|w|y)")


def seconds(d):
    """A Prometheus duration ("1h30m", "15s") in seconds."""
    parts = DURATION.findall(d)
    if not parts or "".join(n + u for n, u in parts) != d:
        sys.exit("monitoring_config: '%s' is not a duration" % d)
    return sum(int(n) * UNITS[u] for n, u in parts)


def duration(s):
    """Seconds as a duration Prometheus and Alertmanager read, to the ms."""
    ms = round(s * 1000)
    if ms <= 0:
        sys.exit("monitoring_config: a duration scaled to nothing")
    return "%ds" % (ms // 1000) if ms % 1000 == 0 else "%dms" % ms


def scaled(d, factor):
    return duration(seconds(d) / factor)


def scale_expr(expr, factor):
    if re.search(r"\boffset\b|\[[^\]]*:", expr):
        sys.exit("monitoring_config: offsets and subqueries are not scaled: %s" % expr)
    expr = re.sub(r"\[([0-9a-z]+)\]", lambda m: "[%s]" % scaled(m.group(1), factor), expr)
    # A threshold on a metric in seconds is a duration too.
    return re.sub(r"(_seconds\s*>\s*)(\d+(?:\.\d+)?)",
                  lambda m: m.group(1) + ("%g" % (float(m.group(2)) / factor)), expr)


def main():
    if len(sys.argv) != 7:
        sys.exit(__doc__.split("\n\n")[1])
    top, out, factor, scrape_factor, targets, webhook = sys.argv[1:]
    factor, scrape_factor = int(factor), int(scrape_factor)
    targets = json.loads(targets)
    src = os.path.join(top, "monitoring")
    os.makedirs(os.path.join(out, "rules"), exist_ok=True)

    def local(t):
        if t not in targets:
            sys.exit("monitoring_config: no local address for the shipped target %s" % t)
        return targets[t]

    prom = yaml.safe_load(open(os.path.join(src, "prometheus", "prometheus.yml")))
    g = prom["global"]
    if "scrape_timeout" in g:
        sys.exit("monitoring_config: the shipped scrape_timeout is not scaled yet")
    shipped_interval = g["scrape_interval"]
    g["scrape_interval"] = scaled(shipped_interval, scrape_factor)
    g["scrape_timeout"] = g["scrape_interval"]
    g["evaluation_interval"] = scaled(g["evaluation_interval"], factor)
    for am in prom["alerting"]["alertmanagers"]:
        for sc in am["static_configs"]:
            sc["targets"] = [local(t) for t in sc["targets"]]
    for job in prom["scrape_configs"]:
        if set(job) - {"job_name", "static_configs"}:
            sys.exit("monitoring_config: job %s has settings this script does not scale" % job["job_name"])
        for sc in job["static_configs"]:
            sc["targets"] = [local(t) for t in sc["targets"]]
        if job["job_name"].startswith("txstream-"):
            job["scrape_interval"] = job["scrape_timeout"] = scaled(shipped_interval, factor)
    for f in prom["rule_files"]:
        rules = yaml.safe_load(open(os.path.join(src, "prometheus", f)))
        for group in rules["groups"]:
            for r in group["rules"]:
                r["expr"] = scale_expr(r["expr"], factor)
                if "for" in r:
                    r["for"] = scaled(r["for"], factor)
        with open(os.path.join(out, f), "w") as w:
            yaml.safe_dump(rules, w, sort_keys=False)
    with open(os.path.join(out, "prometheus.yml"), "w") as w:
        yaml.safe_dump(prom, w, sort_keys=False)

    am = yaml.safe_load(open(os.path.join(src, "alertmanager", "alertmanager.yml")))
    am["global"]["resolve_timeout"] = scaled(am["global"]["resolve_timeout"], factor)

    def scale_route(r):
        for k in ("group_wait", "group_interval", "repeat_interval"):
            if k in r:
                r[k] = scaled(r[k], factor)
        for sub in r.get("routes", []):
            scale_route(sub)
    scale_route(am["route"])
    base = urlsplit(webhook)
    for rc in am["receivers"]:
        for wh in rc.get("webhook_configs", []):
            wh["url"] = "%s://%s%s" % (base.scheme, base.netloc, urlsplit(wh["url"]).path)
    with open(os.path.join(out, "alertmanager.yml"), "w") as w:
        yaml.safe_dump(am, w, sort_keys=False)
    print("%g" % seconds(g["scrape_interval"]))


main()

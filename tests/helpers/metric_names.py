#!/usr/bin/python3
"""The metric names the shipped monitoring uses.

usage: metric_names.py TOPDIR

Prints, one a line and sorted, every metric name that an expression of
monitoring/prometheus/rules/*.yml or a query of
monitoring/grafana/dashboards/*.json names: the identifiers of the
kafka_ and txstream_ families, and up, once strings, label matchers
({...}) and label lists (by, without, on, ignoring, group_left,
group_right) are taken out.
"""

import glob
import json
import os
import re
import sys

import yaml


def queries(node, out):
    """Every "expr" and "query" string in a dashboard's JSON."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k in ("expr", "query") and isinstance(v, str):
                out.append(v)
            else:
                queries(v, out)
    elif isinstance(node, list):
        for v in node:
            queries(v, out)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: metric_names.py TOPDIR")
    top = sys.argv[1]
    exprs = []
    for f in sorted(glob.glob(os.path.join(top, "monitoring/prometheus/rules/*.yml"))):
        with open(f, encoding="utf-8") as fh:
            exprs += [r["expr"] for g in yaml.safe_load(fh)["groups"] for r in g["rules"]]
    for f in sorted(glob.glob(os.path.join(top, "monitoring/grafana/dashboards/*.json"))):
        with open(f, encoding="utf-8") as fh:
            queries(json.load(fh), exprs)
    names = set()
    for e in exprs:
        e = re.sub(r'"[^"]*"', '""', e)
        e = re.sub(r"\{[^}]*\}", "", e)
        e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", e)
        names.update(re.findall(r"\b(?:(?:kafka|txstream)_[a-z0-9_]+|up)\b", e))
    for n in sorted(names):
        print(n)


if __name__ == "__main__":
    main()

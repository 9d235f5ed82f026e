#!/usr/bin/python3
"""An independent model of what jagg must compute, for the tests.

Reads records (or envelopes with --envelope) on stdin and prints the
final value of every group, one JSON object per line, in jagg's record
format (txstream(7), Aggregate record), sorted by window and key. Arithmetic is
Python's decimal module; nothing here shares code with jagg.

  jagg_ref.py [--envelope] [-g a,b] [--window SIZE[,SLIDE] --time-field F
              [--watermark DELAY]] [--late FILE] AGG...

Window sizes and the delay are given in the time field's own unit.
Records are late when their time is below (max time seen - DELAY);
their line numbers go to --late FILE. Bad records (missing fields,
non-numbers) are skipped and their line numbers printed on stderr.
"""
import argparse
import decimal
import json
import sys

decimal.getcontext().prec = 200
D = decimal.Decimal


def plain(d):
    return format(d, "f")


def get(obj, path):
    for part in path.split("."):
        if not isinstance(obj, dict) or part not in obj:
            raise KeyError(path)
        obj = obj[part]
    return obj


def text(v):
    """A value's canonical JSON text (numbers keep their original text)."""
    if isinstance(v, D):
        return v.text
    return json.dumps(v, ensure_ascii=False, separators=(",", ":"))


class Num(D):
    """A decimal that remembers the text it was read from."""

    def __new__(cls, s):
        d = D.__new__(cls, s)
        d.text = s
        return d


def parse_agg(spec):
    name, _, rest = spec.rpartition("=") if "=" in spec.split(":")[0] else ("", "", spec)
    func, _, field = rest.partition(":")
    if not name:
        name = "count" if func == "count" else f"{func}_{field}"
    return name, func, field


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--envelope", action="store_true")
    ap.add_argument("-g", default="")
    ap.add_argument("--window")
    ap.add_argument("--time-field")
    ap.add_argument("--watermark", type=int, default=0)
    ap.add_argument("--late")
    ap.add_argument("aggs", nargs="+")
    a = ap.parse_args()
    groups = [g for g in a.g.split(",") if g]
    aggs = [parse_agg(s) for s in a.aggs]
    size = slide = None
    if a.window:
        size, _, sl = a.window.partition(",")
        size = int(size)
        slide = int(sl) if sl else size

    state = {}
    order = []
    max_t = None
    next_off = {}
    late = []
    for lineno, line in enumerate(sys.stdin, 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line, parse_float=Num, parse_int=Num)
        except ValueError:
            print(lineno, file=sys.stderr)
            continue
        if a.envelope:
            tp = (rec["topic"], int(rec["partition"]))
            off = int(rec["offset"])
            if tp in next_off and off < next_off[tp]:
                continue
            next_off[tp] = off + 1
            rec = rec.get("value")
        try:
            if not isinstance(rec, dict):
                raise KeyError("value")
            key = tuple(text(get(rec, g)) for g in groups)
            vals = []
            for _, func, field in aggs:
                if func == "count":
                    vals.append(None)
                    continue
                v = get(rec, field)
                if func in ("sum", "min", "max", "avg") and not isinstance(v, D):
                    raise KeyError(field)
                vals.append(v)
            if size:
                t = get(rec, a.time_field)
                if not isinstance(t, D):
                    raise KeyError(a.time_field)
                t = int(t.to_integral_value(rounding=decimal.ROUND_FLOOR))
        except KeyError:
            print(lineno, file=sys.stderr)
            continue
        if size:
            if max_t is not None and t < max_t - a.watermark:
                late.append(lineno)
                continue
            windows = []
            s = (t // slide) * slide
            while s > t - size:
                windows.append(s)
                s -= slide
            windows.reverse()
            max_t = t if max_t is None else max(max_t, t)
        else:
            windows = [None]
        for w in windows:
            k = (w, key)
            if k not in state:
                state[k] = {"n": 0, "v": [None] * len(aggs)}
                order.append(k)
            g = state[k]
            g["n"] += 1
            for i, (_, func, _) in enumerate(aggs):
                v, cur = vals[i], g["v"][i]
                if func in ("sum", "avg"):
                    g["v"][i] = D(v) if cur is None else cur + D(v)
                elif func == "min":
                    g["v"][i] = v if cur is None or D(v) < cur else cur
                elif func == "max":
                    g["v"][i] = v if cur is None or D(v) > cur else cur
                elif func == "first":
                    g["v"][i] = cur if g["n"] > 1 else text(v)
                elif func == "last":
                    g["v"][i] = text(v)
                elif func == "count_distinct":
                    g["v"][i] = (cur or set()) | {text(v)}

    out = []
    for k in order:
        w, key = k
        g = state[k]
        parts = []
        if w is not None:
            parts.append('"window":{"start":%d,"end":%d}' % (w, w + size))
        for name, t in zip(groups, key):
            parts.append(json.dumps(name) + ":" + t)
        for i, (name, func, _) in enumerate(aggs):
            v = g["v"][i]
            if func == "count":
                s = str(g["n"])
            elif func in ("sum", "min", "max"):
                s = plain(D(v))
            elif func == "avg":
                exp = v.as_tuple().exponent
                places = min(-exp + 4 if exp < 0 else 4, 38)
                q = (v / g["n"]).quantize(D(1).scaleb(-places), rounding=decimal.ROUND_HALF_UP)
                s = plain(q)
            elif func in ("first", "last"):
                s = v
            else:
                s = str(len(v))
            parts.append(json.dumps(name) + ":" + s)
        out.append(((w if w is not None else 0), key, "{" + ",".join(parts) + "}"))
    for _, _, line in sorted(out):
        print(line)
    if a.late:
        with open(a.late, "w") as f:
            f.writelines(f"{n}\n" for n in late)


if __name__ == "__main__":
    main()

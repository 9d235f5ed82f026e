#!/usr/bin/python3
"""Check transaction records (txstream(7), Transaction record) independently of txgen.

Reads NDJSON on stdin, checks every line against the schema and the given
ranges, and prints one JSON summary: the number of records and the distinct
values seen per field, so tests can assert coverage. Exits 1 at the first
record that breaks the schema, naming its line.
"""
import argparse
import json
import re
import sys
from decimal import Decimal

FIELDS = ["transactionId", "userId", "amount", "transactionTime", "merchantId",
          "location", "paymentMethod", "isInternational", "currency"]
UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
AMOUNT_TEXT = re.compile(r'"amount":(-?[0-9]+\.[0-9]{2}),"transactionTime"')


def numbered(prefix, value, limit):
    m = re.fullmatch(prefix + r"_([1-9][0-9]*)", value)
    return m is not None and 1 <= int(m.group(1)) <= limit


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", type=int, default=100)
    ap.add_argument("--merchants", type=int, default=3)
    ap.add_argument("--locations", type=int, default=50)
    ap.add_argument("--amount-min", type=Decimal, default=Decimal("50000"))
    ap.add_argument("--amount-max", type=Decimal, default=Decimal("150000"))
    a = ap.parse_args()

    seen = {f: set() for f in FIELDS if f not in ("transactionId", "amount")}
    ids = set()
    n = 0
    amount_lo = amount_hi = None
    for no, raw in enumerate(sys.stdin, 1):
        def bad(why):
            sys.exit(f"line {no}: {why}: {raw.rstrip()}")
        if not raw.endswith("\n"):
            bad("no newline at the end")
        rec = json.loads(raw, parse_float=Decimal, object_pairs_hook=lambda p: p)
        if [k for k, _ in rec] != FIELDS:
            bad("fields missing or out of order")
        r = dict(rec)
        if not UUID4.match(r["transactionId"]):
            bad("transactionId is not a lower-case version 4 UUID")
        if r["transactionId"] in ids:
            bad("transactionId repeated")
        ids.add(r["transactionId"])
        if not numbered("user", r["userId"], a.users):
            bad("userId out of range")
        m = AMOUNT_TEXT.search(raw)
        if not m or not isinstance(r["amount"], Decimal):
            bad("amount is not written with exactly two decimals")
        amt = Decimal(m.group(1))
        if not a.amount_min <= amt <= a.amount_max:
            bad("amount out of range")
        amount_lo = amt if amount_lo is None else min(amount_lo, amt)
        amount_hi = amt if amount_hi is None else max(amount_hi, amt)
        if type(r["transactionTime"]) is not int or r["transactionTime"] < 0:
            bad("transactionTime is not unix seconds")
        if not numbered("merchant", r["merchantId"], a.merchants):
            bad("merchantId out of range")
        if not numbered("location", r["location"], a.locations):
            bad("location out of range")
        if r["paymentMethod"] not in ("credit-card", "paypal", "bank_transfer"):
            bad("paymentMethod unknown")
        if type(r["isInternational"]) is not bool:
            bad("isInternational is not a boolean")
        if r["currency"] not in ("USD", "EUR", "GBP"):
            bad("currency unknown")
        for f in seen:
            seen[f].add(r[f])
        n += 1
    out = {"records": n, "amount_min": str(amount_lo), "amount_max": str(amount_hi)}
    out.update({f: len(v) for f, v in seen.items()})
    print(json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    main()

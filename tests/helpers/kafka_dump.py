#!/usr/bin/python3
"""Read a topic with python3-kafka (a client that does not use librdkafka)
and print every message as one JSON object per line, sorted by partition
and offset:

  {"p": 0, "o": 0, "k": "<base64 or null>", "v": "<base64 or null>",
   "h": [["name", "<base64 or null>"], ...]}

With --timestamps first, each object also has "t", the timestamp, and
"tt", its type (0 CreateTime, 1 LogAppendTime).

Usage: kafka_dump.py [--timestamps] BROKERS TOPIC COUNT [TIMEOUT_S]
Reads until COUNT messages arrived, then 1 s more to catch extras; exits 1
if fewer than COUNT arrive within TIMEOUT_S (default 30).
"""
import base64
import json
import sys
import time

from kafka import KafkaConsumer, TopicPartition


def b64(b):
    return None if b is None else base64.b64encode(b).decode()


def main():
    stamps = len(sys.argv) > 1 and sys.argv[1] == "--timestamps"
    if stamps:
        del sys.argv[1]
    brokers, topic, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    timeout = float(sys.argv[4]) if len(sys.argv) > 4 else 30.0
    c = KafkaConsumer(bootstrap_servers=brokers.split(","), enable_auto_commit=False,
                      auto_offset_reset="earliest", consumer_timeout_ms=500,
                      api_version_auto_timeout_ms=10000)
    deadline = time.monotonic() + timeout
    parts = None
    while parts is None and time.monotonic() < deadline:
        parts = c.partitions_for_topic(topic)
        if parts is None:
            time.sleep(0.2)
    if parts is None:
        sys.exit(f"kafka_dump: no topic {topic}")
    c.assign([TopicPartition(topic, p) for p in sorted(parts)])
    c.seek_to_beginning()
    got, extra_until = [], None
    while time.monotonic() < deadline:
        for m in c:
            got.append(m)
        if len(got) >= count:
            if extra_until is None:
                extra_until = time.monotonic() + 1.0
            elif time.monotonic() > extra_until:
                break
    c.close()
    got.sort(key=lambda m: (m.partition, m.offset))
    for m in got:
        d = {"p": m.partition, "o": m.offset, "k": b64(m.key), "v": b64(m.value),
             "h": [[k, b64(v)] for k, v in (m.headers or [])]}
        if stamps:
            d.update(t=m.timestamp, tt=m.timestamp_type)
        print(json.dumps(d))
    if len(got) < count:
        sys.exit(f"kafka_dump: {len(got)} of {count} messages from {topic}")


main()

#!/usr/bin/python3
"""One member of a python3-kafka consumer group, for tests.

Usage: kafka_group.py BROKERS GROUP TOPIC READY_FILE IDLE_S
Joins GROUP on TOPIC, writes its assigned partitions to READY_FILE once it
has them (JSON list, rewritten whenever a rebalance changes them), then prints every message value it receives, one
per line, until IDLE_S seconds pass without a message after the first
one. Commits synchronously after each batch it has printed, so a
rebalance hands the next member exactly where this one stopped.
"""
import json
import os
import signal
import sys
import time

from kafka import KafkaConsumer
from kafka.errors import InvalidRequestError


def main():
    brokers, group, topic, ready, idle = sys.argv[1:6]
    # kafka-python's poll and commit can block for good once the broker is
    # gone: whatever happens, this member is over after 90 s.
    signal.alarm(90)
    c = KafkaConsumer(topic, bootstrap_servers=brokers.split(","), group_id=group,
                      auto_offset_reset="earliest", enable_auto_commit=False,
                      session_timeout_ms=6000, heartbeat_interval_ms=500,
                      max_poll_interval_ms=30000, api_version_auto_timeout_ms=10000)
    written, last = None, None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            batch = c.poll(timeout_ms=200)
        except InvalidRequestError:
            # librdkafka 2.0.2's mock group coordinator answers a follower's
            # SyncGroup that comes after the leader's with InvalidRequest;
            # the next poll rejoins, as a client of a real broker would.
            print("kafka_group: InvalidRequest from the coordinator; rejoining", file=sys.stderr)
            continue
        held = sorted(tp.partition for tp in c.assignment())
        if held and held != written:
            with open(ready + ".tmp", "w") as f:
                json.dump(held, f)
            os.rename(ready + ".tmp", ready)
            written = held
        for records in batch.values():
            for m in records:
                print(m.value.decode(), flush=True)
                last = time.monotonic()
        if batch:
            c.commit()
        if last is not None and time.monotonic() - last > float(idle):
            break
    c.close()


main()

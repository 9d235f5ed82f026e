#!/usr/bin/python3
"""Every kind of message a Kafka client can send, produced by python3-kafka
(a client that does not use librdkafka), for the envelope round trip.

  envelope_corpus.py produce BROKERS TOPIC PARTITIONS
      sends the corpus, spread over PARTITIONS partitions, each message
      with its own CreateTime, and prints how many it sent;
  envelope_corpus.py files DIR
      writes the corpus's payloads as DIR/NNN.value, for kcat -P, which
      sends a file as one message byte for byte.

The corpus: a tombstone, an empty value, the four bytes null, JSON with
white space around it, numbers written two ways (1.0, 1e0, 10E-1), a
JSON text on two lines, invalid UTF-8, NUL bytes, newlines and CR, a
lone-surrogate escape, JSON nested deeper than a reader follows, values
of about 1 MB (text and binary); keys absent, empty, binary and text;
headers binary, empty, repeated, in a given order (python3-kafka cannot
send a header without a value: kcat -H name does, in the test).
"""
import os
import sys

MB = 999_000  # a 1 MB value that, with its key and headers, fits Kafka's default limits
BASE_TS = 1_600_000_000_000

VALUES = [
    None,
    b"",
    b"null",
    b' {"a":1} ',
    b'{"a":1}\n',
    b"1.0",
    b"1e0",
    b"10E-1",
    b'{"a":\n1}',
    b"\xff\xfe\x00 not UTF-8",
    b"a\x00b",
    b"two\nlines\r\n",
    b'"\\ud800"',
    b"[" * 64 + b"]" * 64,
    b"[" * 63 + b"]" * 63,
    b'{"k": [1, 2.50, "x"], "t": true}',
    b"plain text \xc3\xa9",
    b"x" * MB,
    bytes(range(256)) * (MB // 256),
]

KEYS = [b"user_42", None, b"", b"\xff\x01binary", "\u00e9t\u00e9".encode()]

HEADERS = [
    [],
    [("bin", b"\xff\x00\xfe")],
    [("empty", b""), ("e2", b"")],
    [("h", b"1"), ("h", b"2"), ("h", b"1")],
    [("z", b"last"), ("a", b"first"), ("m", "\u00e9".encode())],
]


def corpus():
    for i, v in enumerate(VALUES):
        yield i, KEYS[i % len(KEYS)], v, HEADERS[i % len(HEADERS)]


def produce(brokers, topic, partitions):
    from kafka import KafkaProducer

    p = KafkaProducer(bootstrap_servers=brokers.split(","), acks="all", max_request_size=4 << 20,
                      api_version_auto_timeout_ms=10000, linger_ms=0)
    n = 0
    for i, k, v, h in corpus():
        # One at a time, so that each partition keeps the corpus's order.
        p.send(topic, value=v, key=k, headers=h, partition=i % partitions,
               timestamp_ms=BASE_TS + 1000 * i + 7).get(timeout=30)
        n += 1
    p.flush()
    p.close()
    print(n)


def files(d):
    os.makedirs(d, exist_ok=True)
    for i, _, v, _ in corpus():
        if v is not None:
            with open(os.path.join(d, "%03d.value" % i), "wb") as f:
                f.write(v)


def main():
    if sys.argv[1] == "produce":
        produce(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    elif sys.argv[1] == "files":
        files(sys.argv[2])
    else:
        sys.exit(__doc__)


main()

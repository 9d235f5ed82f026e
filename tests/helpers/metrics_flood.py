#!/usr/bin/python3
"""Flood a program's --metrics-addr on loopback, as a hostile client would,
and say how the program held up.

Usage: metrics_flood.py PORT PID [--idle N] [--slow N] [--seconds S]

Opens N idle connections (they send nothing) and N slowloris connections
(a request header sent one byte a second, never finished), holds them for
S seconds while sampling the descriptor count of PID (/proc/PID/fd),
closes them all, then times a GET /metrics. Prints, one per line:

  max_fds N      the most descriptors PID held during the flood
  scrape_ms N    how long /metrics took to answer once the flood ended
                 (asked again for up to 10 s)
  scrape_status  the HTTP status of that answer (or "none")

Bounded on purpose: loopback only, at most MAX_CONNECTIONS connections and
MAX_SECONDS seconds, whatever the arguments say.
"""
import argparse
import os
import socket
import sys
import time

MAX_CONNECTIONS = 1000
MAX_SECONDS = 30
SLOW_HEADER = b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 4096


def fd_count(pid):
    try:
        return len(os.listdir("/proc/%d/fd" % pid))
    except OSError:
        return -1


def connect(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(1.0)
    try:
        s.connect(("127.0.0.1", port))
    except OSError:
        s.close()
        return None
    s.setblocking(False)
    return s


def scrape(port, seconds=10):
    """GET /metrics until it is answered, for SECONDS at most: the server
    may not have seen the flood's connections close yet, and a loaded
    machine may take a while to let it."""
    start = time.monotonic()
    status = "none"
    while status == "none" and time.monotonic() - start < seconds:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                s.sendall(b"GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
                head = s.recv(64)
                if head.startswith(b"HTTP/1."):
                    status = head.split()[1].decode()
        except OSError:
            pass
        if status == "none":
            time.sleep(0.1)
    return int((time.monotonic() - start) * 1000), status


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("pid", type=int)
    ap.add_argument("--idle", type=int, default=16)
    ap.add_argument("--slow", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=3)
    a = ap.parse_args()
    if a.idle + a.slow > MAX_CONNECTIONS or a.seconds > MAX_SECONDS:
        sys.exit("metrics_flood: at most %d connections for %d s" % (MAX_CONNECTIONS, MAX_SECONDS))

    idle = [s for s in (connect(a.port) for _ in range(a.idle)) if s]
    slow = [s for s in (connect(a.port) for _ in range(a.slow)) if s]
    max_fds = fd_count(a.pid)
    end = time.monotonic() + a.seconds
    sent = 0
    while time.monotonic() < end:
        for s in list(slow):
            try:
                s.send(SLOW_HEADER[sent:sent + 1])
            except OSError:
                slow.remove(s)
                s.close()
        sent = min(sent + 1, len(SLOW_HEADER) - 1)
        # Sample often within the second between header bytes.
        tick = time.monotonic() + 1
        while time.monotonic() < min(tick, end):
            max_fds = max(max_fds, fd_count(a.pid))
            time.sleep(0.05)
    for s in idle + slow:
        s.close()
    ms, status = scrape(a.port)
    print("max_fds %d" % max_fds)
    print("scrape_ms %d" % ms)
    print("scrape_status %s" % status)


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""Copy stdin to stdout slowly: BURST lines, then a PAUSE of seconds, so
that a test's kill -9 lands mid-stream.

Usage: slow_reader.py BURST PAUSE
"""
import sys
import time


def main():
    burst, pause = int(sys.argv[1]), float(sys.argv[2])
    for i, line in enumerate(sys.stdin, 1):
        sys.stdout.write(line)
        if i % burst == 0:
            sys.stdout.flush()
            time.sleep(pause)


if __name__ == "__main__":
    main()

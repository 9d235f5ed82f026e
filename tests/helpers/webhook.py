#!/usr/bin/python3
"""A webhook receiver for Alertmanager, on loopback.

usage: webhook.py FILE

Listens on a free port of 127.0.0.1 and prints it as its first line.
Each POST is answered 200 and appended to FILE as one JSON line:
{"path": ..., "received": UNIX_SECONDS, "body": <Alertmanager's JSON>}.
"""

import json
import sys
import time
from http.server import BaseHTTPRequestHandler, HTTPServer


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        line = json.dumps({"path": self.path, "received": time.time(), "body": json.loads(body)})
        with open(sys.argv[1], "a") as f:
            f.write(line + "\n")
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


server = HTTPServer(("127.0.0.1", 0), Receiver)
print(server.server_address[1], flush=True)
server.serve_forever()

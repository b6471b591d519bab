#!/usr/bin/env python3
"""A GraphQL subscription over `graphql-transport-ws`, with the standard library alone: what an
app does to keep a screen live, small enough to read in one sitting.

    scripts/subscribe.py http://127.0.0.1:8080/graphql "$TOKEN" \\
        'subscription($c: ID!) { teamChanged(childId: $c) { type childId } }' '{"c": "..."}' 1

Prints each event's payload as one JSON line; stops after COUNT events (default: never), and
exits non-zero when the server closes the connection (e.g. 4403: the session has ended).
"""

import base64
import json
import os
import socket
import struct
import sys
import urllib.parse


def handshake(url):
    u = urllib.parse.urlsplit(url)
    sock = socket.create_connection((u.hostname, u.port or 80), timeout=60)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall((f"GET {u.path or '/'} HTTP/1.1\r\nHost: {u.netloc}\r\n"
                  "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                  f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                  "Sec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)
    if b" 101 " not in head.split(b"\r\n")[0]:
        sys.exit(f"subscribe: no WebSocket: {head.decode(errors='replace')}")
    return sock


def send(sock, message):
    """One text frame, masked as a client must."""
    data, mask = json.dumps(message).encode(), os.urandom(4)
    n = len(data)
    head = struct.pack("!BB", 0x81, 0x80 | n) if n < 126 else struct.pack("!BBH", 0x81, 0xFE, n)
    sock.sendall(head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))


def exactly(sock, n):
    out = b""
    while len(out) < n:
        chunk = sock.recv(n - len(out))
        if not chunk:
            sys.exit("subscribe: the connection was cut")
        out += chunk
    return out


def frames(sock):
    """(opcode, payload) of each frame from the server, answering its pings."""
    while True:
        b0, b1 = exactly(sock, 2)
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", exactly(sock, 2))[0]
        elif n == 127:
            n = struct.unpack("!Q", exactly(sock, 8))[0]
        payload = exactly(sock, n)
        if b0 & 0x0F == 0x9:  # ping: pong with the same bytes
            mask = os.urandom(4)
            sock.sendall(struct.pack("!BB", 0x8A, 0x80 | len(payload)) + mask
                         + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))
            continue
        yield b0 & 0x0F, payload


def main():
    url, token, query = sys.argv[1:4]
    variables = json.loads(sys.argv[4]) if len(sys.argv) > 4 else {}
    count = int(sys.argv[5]) if len(sys.argv) > 5 else None
    sock = handshake(url.replace("ws://", "http://"))
    send(sock, {"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}})
    for opcode, payload in frames(sock):
        if opcode == 0x8:
            code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
            sys.exit(f"subscribe: closed by the server ({code}: {payload[2:].decode()})")
        message = json.loads(payload)
        if message["type"] == "connection_ack":
            send(sock, {"id": "1", "type": "subscribe",
                        "payload": {"query": query, "variables": variables}})
        elif message["type"] == "ping":
            send(sock, {"type": "pong"})
        elif message["type"] == "next":
            print(json.dumps(message["payload"]), flush=True)
            count = None if count is None else count - 1
            if count == 0:
                return
        elif message["type"] in ("complete", "error"):
            sys.exit(f"subscribe: the subscription ended: {message}")


if __name__ == "__main__":
    main()

"""A minimal, fast stand-in for Reevo for `make bench`: answers every PATCH with 200 and counts.

Why not the bundled sandbox: the sandbox validates every attribute, logs every request
and serves only the five seeded opportunities, so a bench through it measures the
sandbox and serialises all deliveries onto five opportunities (the bridge never has
two deliveries for one opportunity in flight). Real webhook traffic spreads over many
opportunities; this upstream accepts any opportunity id.

    python bench/upstream.py --port 8091

  PATCH /api/v2/opportunity/<id>   200 {"data": {"id": <id>}}; counted
  GET   /api/v2/health             200
  GET   /_bench/stats              {"patches", "distinct_keys", "first", "last", "bad"}
  POST  /_bench/reset              zero the counters

One asyncio event loop, HTTP/1.1 keep-alive, no framework: it costs the machine far
less than the bridge it serves, so it does not hold the bridge's delivery rate back.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import time


class Stats:
    def __init__(self):
        self.reset()

    def reset(self):
        self.patches = 0
        self.bad = 0  # PATCHes whose body is not {"attributes": {…non-empty…}}
        self.keys: set[str] = set()
        self.first: float | None = None
        self.last: float | None = None

    def as_dict(self) -> dict:
        return {"patches": self.patches, "distinct_keys": len(self.keys), "bad": self.bad,
                "first": self.first, "last": self.last}


STATS = Stats()


def _answer(status: int, body: dict) -> bytes:
    payload = json.dumps(body).encode()
    reason = {200: "OK", 400: "Bad Request", 404: "Not Found"}.get(status, "OK")
    return (f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\n\r\n").encode() + payload


def handle(method: str, path: str, headers: dict, body: bytes) -> bytes:
    if method == "PATCH" and path.startswith("/api/v2/opportunity/"):
        now = time.time()
        try:
            attributes = json.loads(body)["attributes"]
            ok = isinstance(attributes, dict) and bool(attributes)
        except (ValueError, KeyError, TypeError):
            ok = False
        if not ok:
            STATS.bad += 1
            return _answer(400, {"error": {"code": "invalid_request", "message": "bench upstream", "field": None}})
        STATS.patches += 1
        STATS.keys.add(headers.get("idempotency-key", ""))
        STATS.first = now if STATS.first is None else STATS.first
        STATS.last = now
        return _answer(200, {"data": {"id": path.rsplit("/", 1)[1]}})
    if path == "/api/v2/health":
        return _answer(200, {"status": "ok"})
    if path == "/_bench/stats":
        return _answer(200, STATS.as_dict())
    if path == "/_bench/reset" and method == "POST":
        STATS.reset()
        return _answer(200, STATS.as_dict())
    return _answer(404, {"error": {"code": "not_found", "message": path, "field": None}})


async def serve_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                return
            lines = head.decode("latin-1").split("\r\n")
            method, path, _ = lines[0].split(" ", 2)
            headers = {}
            for line in lines[1:]:
                if ":" in line:
                    name, value = line.split(":", 1)
                    headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length") or 0)
            body = await reader.readexactly(length) if length else b""
            writer.write(handle(method, path, headers, body))
            await writer.drain()
            if headers.get("connection", "").lower() == "close":
                return
    except (ConnectionError, asyncio.IncompleteReadError):
        return
    finally:
        writer.close()


async def main(host: str, port: int) -> None:
    server = await asyncio.start_server(serve_connection, host, port, backlog=512)
    print(f"bench upstream listening on http://{host}:{port}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    try:
        asyncio.run(main(args.host, args.port))
    except KeyboardInterrupt:
        pass

"""A second baseline for `make bench`: the Stripe webhook handler you would write by hand.

It verifies the `Stripe-Signature` (HMAC-SHA256 of `{t}.{body}`, five minutes' tolerance),
parses the JSON and stores the event durably in SQLite the textbook way (WAL,
`synchronous=FULL`, one connection per thread, `INSERT OR IGNORE` on the event id), then
answers 202. No mapping, no deliveries, no logs or metrics: it shows what a durable
SQLite accept alone costs on the machine, next to the bridge, which does all of that.

Served by the same gunicorn.conf.py as the bridge and bare Flask; the SQLite file is
$HANDWRITTEN_DB.

    gunicorn -c gunicorn.conf.py --pythonpath bench handwritten_flask:app
"""
import hashlib
import hmac
import json
import os
import sqlite3
import threading
import time

from flask import Flask, jsonify, request

app = Flask("handwritten")
SECRET = os.environ["STRIPE_WEBHOOK_SECRET"].encode()
DB_PATH = os.environ["HANDWRITTEN_DB"]
TOLERANCE = 300
_local = threading.local()


def connection() -> sqlite3.Connection:
    """This thread's connection (sqlite3 connections are not shared between threads by default)."""
    db = getattr(_local, "db", None)
    if db is None:
        db = _local.db = sqlite3.connect(DB_PATH, timeout=10, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.execute("CREATE TABLE IF NOT EXISTS events (id TEXT PRIMARY KEY, type TEXT, body TEXT NOT NULL)")
    return db


def signature_ok(header: str, body: bytes) -> bool:
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    if not parts.get("t", "").isdigit() or abs(time.time() - int(parts["t"])) > TOLERANCE:
        return False
    expected = hmac.new(SECRET, parts["t"].encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts.get("v1", ""))


@app.post("/webhooks/stripe")
def receive():
    body = request.get_data(cache=False)
    if not signature_ok(request.headers.get("Stripe-Signature", ""), body):
        return jsonify({"status": "rejected"}), 401
    event = json.loads(body)
    stored = connection().execute("INSERT OR IGNORE INTO events (id, type, body) VALUES (?, ?, ?)",
                                  (event["id"], event.get("type"), body.decode())).rowcount
    return jsonify({"status": "accepted" if stored else "duplicate"}), 202 if stored else 200


@app.get("/healthz")
def healthz():
    return jsonify({"status": "ok"})

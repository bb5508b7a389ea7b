"""The baseline for `make bench`: a bare Flask app that only reads the body and answers 202.

Served by the same gunicorn.conf.py as the bridge (same workers, threads, worker
class, timeouts, logging), so the ratio bridge / bare is the cost of the bridge's own
work: verify, parse, map and the durable SQLite accept.

    gunicorn -c gunicorn.conf.py --pythonpath bench bare_flask:app
"""
from flask import Flask, jsonify, request

app = Flask("bare")


@app.post("/webhooks/<source>")
def receive(source: str):
    request.get_data(cache=False)
    return jsonify({"status": "accepted"}), 202


@app.get("/healthz")
def healthz():
    return jsonify({"status": "ok"})

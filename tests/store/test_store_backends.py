"""What only one backend has to show: SQLite's file and schema, memory's bounds, Redis's server."""
import logging
import multiprocessing
import sqlite3
import subprocess

import pytest

from bridge.store import ACCEPTED, DUPLICATE, QUEUED, StoreConfigError, StoreUnavailable, open_store, redact
from bridge.store.sqlite_schema import MIGRATIONS, SCHEMA_VERSION
from helpers import free_port
from store_samples import OPP_A, T0, delivery, event


# ---- SQLite --------------------------------------------------------------------------------
def test_sqlite_survives_reopen(tmp_path):
    url = f"sqlite:///{tmp_path}/durable.db"
    first = open_store(url)
    first.accept(event(), [delivery()], T0)
    first.close()
    second = open_store(url)
    assert second.accept(event(), [delivery()], T0) == DUPLICATE
    assert len(second.claim(5, 30, T0)) == 1
    second.close()


def test_sqlite_runs_wal(tmp_path):
    store = open_store(f"sqlite:///{tmp_path}/s.db")
    with store._connection() as db:  # durability of writes: see test_group_commit.py
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    store.close()


def test_sqlite_schema_is_migrated_by_the_bridge(tmp_path):
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:  # a store written by the first release
        for statement in filter(str.strip, MIGRATIONS[1].split(";")):
            db.execute(statement)
        db.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        db.execute("INSERT INTO schema_version VALUES (1)")
        db.execute("INSERT INTO events VALUES ('stripe','evt_1','t',NULL,'h1','accepted',NULL,?,0,NULL)", (T0,))
        db.execute("INSERT INTO deliveries (source, event_id, route, target, target_key, attributes, status,"
                   " next_attempt_at, received_at, updated_at) VALUES ('stripe','evt_1','r','{\"id\": \"o\"}',"
                   " 'id:o', '{}', 'queued', ?, ?, ?)", (T0, T0, T0))
    store = open_store(f"sqlite:///{path}")
    with store._connection() as db:
        assert [v for (v,) in db.execute("SELECT version FROM schema_version ORDER BY version")] == list(
            range(1, SCHEMA_VERSION + 1))
        indexes = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type='index'")}
        assert "deliveries_pending" in indexes and "deliveries_target" not in indexes  # v4 added, v5 dropped
        assert {"events_source_received", "deliveries_target_key", "deliveries_opportunity"} <= indexes  # v6
    assert store.accept(event(), [delivery()], T0) == DUPLICATE
    (row,) = store.list_events({"opportunity": "o", "source": "stripe"}, 10)[0]
    assert (row["event_id"], row["duplicates"], row["deliveries"]["queued"]) == ("evt_1", 1, 1)
    (record,) = store.claim(1, 30, T0)
    assert store.complete(record.id, record.lease_token, T0, opportunity_id="o", applied={"stage": "x"})
    assert store.field_times("o", ["stage"]) == {"stage": "x"}
    store.close()


def test_a_newer_schema_is_refused(tmp_path):
    path = tmp_path / "future.db"
    open_store(f"sqlite:///{path}").close()
    with sqlite3.connect(path) as db:
        db.execute("INSERT INTO schema_version VALUES (?)", (SCHEMA_VERSION + 1,))
    with pytest.raises(StoreConfigError, match="BRIDGE_STORE_URL.*newer than this bridge"):
        open_store(f"sqlite:///{path}")


def test_unwritable_sqlite_is_unavailable(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(StoreUnavailable, match="BRIDGE_STORE_URL") as error:
        open_store(f"sqlite:///{blocker}/sub/store.db")
    assert f"'sqlite:///{blocker}/sub/store.db'" in str(error.value)  # the URL as given, // and all


@pytest.mark.parametrize("url,shown", [
    ("sqlite:///var/bridge.db", "sqlite:///var/bridge.db"),
    ("sqlite:////abs/bridge.db?timeout=2", "sqlite:////abs/bridge.db?timeout=2"),
    ("redis://user:pw@host:6379/0", "redis://user:***@host:6379/0"),
    ("rediss://:pw@host/0?password=pw2", "rediss://:***@host/0?password=***"),
    ("memory://", "memory://"),
])
def test_store_urls_are_shown_as_given_less_their_passwords(url, shown):
    assert redact(url) == shown


# ---- memory --------------------------------------------------------------------------------
def test_memory_is_bounded(tmp_path):
    store = open_store("memory://?max_events=3")
    for number in range(3):
        assert store.accept(event(f"e{number}"), [delivery(f"o{number}")], T0) == ACCEPTED
    with pytest.raises(StoreUnavailable, match="full"):
        store.accept(event("e3"), [delivery()], T0)
    assert store.accept(event("e0"), [delivery("o0")], T0) == DUPLICATE, "a resend is still recognised"
    for record in store.claim(3, 30, T0):
        store.complete(record.id, record.lease_token, T0)
    assert store.purge(T0 + 1) == 6
    assert store.accept(event("e3"), [delivery()], T0 + 1) == ACCEPTED


def _use_in_child(store, queue):
    try:
        store.counts()
        queue.put("used")
    except StoreConfigError as exc:
        queue.put(str(exc))


def test_memory_refuses_another_process():
    store = open_store("memory://")
    store.accept(event(), [delivery()], T0)
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_use_in_child, args=(store, queue))
    child.start()
    answer = queue.get(timeout=20)
    child.join(20)
    assert "serves one process only" in answer and "sqlite" in answer
    assert store.counts() == {QUEUED: 1}, "the owner goes on"


def test_memory_options_are_checked():
    with pytest.raises(StoreConfigError, match="BRIDGE_STORE_URL.*max_events"):
        open_store("memory://?max_events=lots")
    with pytest.raises(StoreConfigError, match="unknown option 'size'"):
        open_store("memory://?size=3")


# ---- Redis -----------------------------------------------------------------------------------
def test_redis_warns_when_acknowledged_events_could_be_lost(private_redis, caplog):
    server = private_redis("--appendonly", "no", "--maxmemory-policy", "allkeys-lru")
    with caplog.at_level(logging.WARNING, logger="bridge.store"):
        open_store(server.url).close()
    text = caplog.text
    assert "appendonly=no" in text and "LOST if Redis restarts" in text
    assert "maxmemory-policy=allkeys-lru" in text


def test_redis_warns_when_the_aof_is_never_fsynced(private_redis, caplog):
    server = private_redis("--appendfsync", "no")
    with caplog.at_level(logging.WARNING, logger="bridge.store"):
        open_store(server.url).close()
    assert "appendfsync=no" in caplog.text


def test_redis_with_aof_starts_quietly(redis_server, caplog):
    with caplog.at_level(logging.WARNING, logger="bridge.store"):
        open_store(redis_server.url).close()
    assert caplog.text == ""


def test_redis_without_config_command_still_starts_and_says_so(private_redis, caplog):
    server = private_redis("--rename-command", "CONFIG", "")
    with caplog.at_level(logging.WARNING, logger="bridge.store"):
        store = open_store(server.url)
    assert "cannot read Redis persistence settings" in caplog.text
    assert store.accept(event(), [delivery()], T0) == ACCEPTED
    store.close()


def test_redis_password_works_and_is_never_shown(private_redis):
    server = private_redis(password="s3cret-pw")
    store = open_store(server.url)
    assert store.accept(event(), [delivery()], T0) == ACCEPTED
    store.close()
    wrong = server.url.replace("s3cret-pw", "wrong-pw")
    with pytest.raises(StoreConfigError) as error:
        open_store(wrong)
    assert "BRIDGE_STORE_URL" in str(error.value) and "wrong-pw" not in str(error.value)
    assert ":***@" in str(error.value)


def test_rediss_with_tls_and_a_password(private_redis, tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    plain = free_port()  # the TLS port
    server = private_redis("--tls-port", str(plain), "--tls-cert-file", str(cert), "--tls-key-file", str(key),
                           "--tls-auth-clients", "no", password="tls-pw")
    url = f"rediss://:tls-pw@127.0.0.1:{plain}/0?ssl_ca_certs={cert}"
    store = open_store(url)
    assert store.accept(event(), [delivery()], T0) == ACCEPTED
    assert server.client().exists("bridge:seq") == 1
    store.close()


def test_redis_keys_live_under_the_prefix(redis_server):
    one = open_store(redis_server.url, redis_prefix="tenant-one:")
    two = open_store(redis_server.url, redis_prefix="tenant-two:")
    assert one.accept(event(), [delivery()], T0) == ACCEPTED
    assert two.accept(event(), [delivery()], T0) == ACCEPTED, "another prefix is another store"
    keys = redis_server.client().keys("tenant-one:*")
    assert keys and all(k.startswith("tenant-one:") for k in keys)
    one.close()
    two.close()


def test_a_resent_accept_reports_accepted_not_duplicate(redis_server):
    """What redis-py does after a lost reply: the same script, same token, again."""
    store = open_store(redis_server.url, redis_prefix="resent:")
    member = store._event_member("stripe", "evt_1")
    args = ["tok", repr(T0), "h1", member, 2, "source", "stripe"]
    keys = [store._key("e", member)]
    assert store._run("accept", args, keys=keys) == ACCEPTED
    assert store._run("accept", args, keys=keys) == ACCEPTED
    assert store._run("accept", ["other", *args[1:]], keys=keys) == DUPLICATE
    store.close()


def test_redis_down_at_start_is_a_clear_error(tmp_path):
    port = free_port()  # nothing listens there
    with pytest.raises(StoreUnavailable) as error:
        open_store(f"redis://:hunter2@127.0.0.1:{port}/0")
    message = str(error.value)
    assert "BRIDGE_STORE_URL" in message and "cannot reach Redis" in message and "hunter2" not in message


def test_redis_restart_with_aof_keeps_what_was_acknowledged(private_redis):
    # appendfsync always: with everysec, a busy disk lets Redis postpone even the write(2) of
    # the AOF for up to 2 s, so a kill -9 right after the answer could lose it (seen under load).
    server = private_redis("--appendfsync", "always")
    store = open_store(server.url)
    assert store.accept(event(), [delivery()], T0) == ACCEPTED
    server.kill()
    server.start()
    assert store.accept(event(), [delivery()], T0) == DUPLICATE, "the same store object reconnects by itself"
    assert [r.event_id for r in store.claim(5, 30, T0)] == ["evt_1"]
    store.close()


# ---- URLs ---------------------------------------------------------------------------------
@pytest.mark.parametrize("url", ["postgres://u:hunter2@db/x", "sqlite://", "sqlite://host/x", "nonsense",
                                 "redis://:hunter2@host:notaport/0", "redis://:hunter2@[::1/0"])
def test_bad_store_url_is_a_clear_error_without_password(url):
    with pytest.raises(StoreConfigError) as error:
        open_store(url)
    assert "BRIDGE_STORE_URL" in str(error.value)
    assert "hunter2" not in str(error.value)


def test_redis_events_stored_before_the_console_indexes_are_indexed_on_open(redis_server):
    store = open_store(redis_server.url, redis_prefix="preindex:")
    for n in range(3):
        store.accept(event(f"evt_{n}", body_hash=f"h{n}"), [delivery()], T0 + n)
    client = redis_server.client()
    for key in client.keys("preindex:ev:*") + client.keys("preindex:dopp:*") + client.keys("preindex:console-*"):
        client.delete(key)
    for key in client.keys("preindex:e:*"):
        client.hdel(key, "imember", "seq")
    for key in client.keys("preindex:d:*"):
        client.hdel(key, "imember")
    assert store.list_events({}, 10) == ([], None), "what an upgraded store would show without its indexes"
    store.close()
    store = open_store(redis_server.url, redis_prefix="preindex:")
    assert [r["event_id"] for r in store.list_events({}, 10)[0]] == ["evt_2", "evt_1", "evt_0"]
    for filter in ({"opportunity": OPP_A}, {"type": "t"}, {"delivery_status": "queued"}, {"source": "stripe"}):
        assert [r["event_id"] for r in store.list_events(filter, 10)[0]] == ["evt_2", "evt_1", "evt_0"], filter
    assert store.index_old_events() == 0, "indexed once"
    store.close()

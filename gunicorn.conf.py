"""gunicorn settings for the bridge: a shim over bridge.web.server, where the logic lives.

Every value comes from the bridge's settings (BRIDGE_BIND, BRIDGE_WEB_WORKERS, …). The
master checks configuration, store and mappings once before forking, so a mistake
stops the start with one clear message instead of a boot loop.
"""
from bridge.web import server

server.prepare_metrics_folder()  # before anything imports prometheus_client
globals().update(server.gunicorn_settings())

on_starting = server.on_starting
on_reload = server.on_reload
post_fork = server.post_fork
post_worker_init = server.post_worker_init
worker_exit = server.worker_exit
child_exit = server.child_exit
on_exit = server.on_exit

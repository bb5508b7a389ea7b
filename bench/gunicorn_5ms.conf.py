"""gunicorn.conf.py as shipped, but the workers keep CPython's default 5 ms switch interval.

Only for bench/bench_tricks.py, which measures what `sys.setswitchinterval(0.001)` in
the bridge's post_fork buys against this.
"""
import sys
from pathlib import Path

_SHIPPED = Path(__file__).resolve().parents[1] / "gunicorn.conf.py"
exec(compile(_SHIPPED.read_text(), str(_SHIPPED), "exec"))
_shipped_post_fork = globals()["post_fork"]


def post_fork(server, worker):
    _shipped_post_fork(server, worker)
    sys.setswitchinterval(0.005)  # CPython's default

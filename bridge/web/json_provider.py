"""Flask's JSON, bounded both ways: request bodies parse as untrusted JSON, answers are always JSON.

`request.get_json()` on the admin API then refuses deep nesting, NaN and oversized numbers
like a webhook body does (a ValueError, which Flask turns into a 400 or, with
`silent=True`, into None) instead of raising RecursionError. Answers never carry NaN or
Infinity (not JSON): such a float, only possible in data stored before the bounds
existed, is answered as null.
"""
from __future__ import annotations

import json

from flask.json.provider import DefaultJSONProvider

from bridge import untrusted_json


class BoundedJSONProvider(DefaultJSONProvider):
    """DefaultJSONProvider with untrusted_json's limits on loads and allow_nan=False on dumps."""

    def loads(self, s, **kwargs):
        return untrusted_json.loads(s)

    def dumps(self, obj, **kwargs) -> str:
        kwargs.setdefault("default", self.default)
        kwargs.setdefault("ensure_ascii", self.ensure_ascii)
        kwargs.setdefault("sort_keys", self.sort_keys)
        try:
            return json.dumps(obj, allow_nan=False, **kwargs)
        except ValueError:  # a non-finite float somewhere: answer it as null
            return json.dumps(untrusted_json.finite(obj), allow_nan=False, **kwargs)

"""The reason slugs the bridge answers, logs and counts with: one enum per kind of answer.

They are part of the HTTP contract (senders and dashboards match on them), so they are
named once here; the README's answer table and docs/security.md list the same values
(tests/project/test_reasons_documented.py). Signature refusals have their own enum,
`bridge.signatures.SignatureReason`, beside the verifiers that raise them.
"""
from enum import StrEnum


class Rejected(StrEnum):
    """Why a webhook was refused (`status: rejected`): nothing was stored."""

    # the accept pipeline
    UNKNOWN_SOURCE = "unknown_source"                  # 404: no mapping file for that <source>
    SOURCE_NOT_CONFIGURED = "source_not_configured"    # 503: the source's secret is not set
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"  # 415
    MALFORMED_BODY = "malformed_body"                  # 400: not JSON
    BODY_TOO_DEEP = "body_too_deep"                    # 400: JSON nested too deep
    NUMBER_OUT_OF_RANGE = "number_out_of_range"        # 400: a number no double holds
    STORE_UNAVAILABLE = "store_unavailable"            # 503: retry later
    # the HTTP edge (before the app) and Flask's own errors
    BODY_TOO_LARGE = "body_too_large"                  # 413
    HEADERS_TOO_LARGE = "headers_too_large"            # 431
    INVALID_CHUNKED_BODY = "invalid_chunked_body"      # 400
    UNSUPPORTED_TRANSFER_CODING = "unsupported_transfer_coding"  # 400
    REQUEST_TIMEOUT = "request_timeout"                # 408
    EDGE_BUSY = "edge_busy"                            # 503
    BAD_REQUEST = "bad_request"                        # 400, any other
    NOT_FOUND = "not_found"                            # 404: not a route at all
    METHOD_NOT_ALLOWED = "method_not_allowed"          # 405
    HTTP_ERROR = "http_error"                          # any other HTTP error
    UNAUTHORIZED = "unauthorized"                      # 401 on /metrics without its token


class Ignored(StrEnum):
    """Why a verified webhook was recorded but produced no delivery (`status: ignored`)."""

    NO_ROUTE_MATCHED = "no_route_matched"          # no route wanted its event(s)
    NO_EVENTS = "no_events"                        # `events:` found none in the body
    NO_NEW_EVENT_MATCHED = "no_new_event_matched"  # the rest were duplicates


class MappingFailure(StrEnum):
    """Why a route could not build its PATCH: the delivery is stored `dead` with this reason."""

    MISSING_TARGET = "missing_target"
    INVALID_TARGET = "invalid_target"
    INVALID_VALUE = "invalid_value"
    EMPTY_PATCH = "empty_patch"
    TRANSFORM_FAILED = "transform_failed"
    NO_LOOKUP_MATCH = "no_lookup_match"
    REQUIRED_FIELD_MISSING = "required_field_missing"
    EXPRESSION_FAILED = "expression_failed"
    EXPRESSION_TOO_COSTLY = "expression_too_costly"


class Refused(StrEnum):
    """Why the admin API or the console refused an operator's request (nothing changed)."""

    NOT_FOUND = "not_found"                  # 404: no such delivery or event (or the API is off)
    UNAUTHORIZED = "unauthorized"            # 401: no or a wrong token
    BAD_REQUEST = "bad_request"              # 400: a body that is not what the endpoint takes
    BAD_QUERY = "bad_query"                  # 400: a filter, cursor or limit out of bounds
    STORE_UNAVAILABLE = "store_unavailable"  # 503
    CSRF_FAILED = "csrf_failed"              # 403: a console form without its token
    READ_ONLY = "read_only"                  # 403: the viewer token changes nothing
    LOCKED_OUT = "locked_out"                # console sign-in: too many wrong tokens (logged)
    WRONG_TOKEN = "wrong_token"              # console sign-in: a wrong token (logged)
    # what replay, rebuild and retarget refuse (409 unless said otherwise)
    UNKNOWN_SOURCE = "unknown_source"        # no mapping file is loaded for the event's source
    NO_DATA = "no_data"                      # the event was stored without its data
    INVALID_TARGET = "invalid_target"        # 400: not an opportunity id (a UUID)
    UNRESOLVED = "unresolved"                # the delivery has no PATCH to send elsewhere
    NOT_DEAD = "not_dead"                    # only a dead delivery is retargeted

"""Where one HTTP/1.1 request ends in a byte stream, found without blocking (sans-I/O).

The edge worker (`bridge.web.edge_worker`) feeds the bytes a client has sent so far;
`RequestFraming.feed` says whether the request is complete, needs more, or must be
refused before any thread or application code sees it: headers too large, a body over
BRIDGE_MAX_BODY_BYTES (Content-Length or chunked), a malformed chunked body, or a
transfer coding the bridge does not take. Anything else odd (bad request line, bad
header) is left to gunicorn's parser, which answers 400 from bytes already in memory.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from bridge.reasons import Rejected

MAX_CHUNK_LINE = 1024  # a chunk-size line with extensions; real senders use a few bytes
_HEX = re.compile(rb"[0-9A-Fa-f]{1,15}")


@dataclass(frozen=True)
class Refusal:
    """An answer given at the edge: HTTP status, reason slug and a short detail."""

    status: int
    reason: Rejected
    detail: str


class RequestFraming:
    """Scans one request: headers first, then a Content-Length or chunked body."""

    NEED_MORE = "need_more"
    COMPLETE = "complete"

    def __init__(self, max_header_bytes: int, max_body_bytes: int):
        self.max_header_bytes = max_header_bytes
        self.max_body_bytes = max_body_bytes
        self.buffer = bytearray()
        self.header_end: int | None = None
        self.expects_continue = False  # Expect: 100-continue on an HTTP/1.1 request with a body
        self._length: int | None = None  # body length, when Content-Length framed
        self._chunked = False
        self._cursor = 0  # chunked: where the next chunk-size line starts
        self._body_bytes = 0  # chunked: data bytes seen so far
        self._searched = 0  # bytes already searched for a blank line (never scan twice)
        self.refusal: Refusal | None = None

    def feed(self, data: bytes) -> str | Refusal:
        """Add bytes; NEED_MORE, COMPLETE, or the Refusal to answer with."""
        self._searched = max(0, len(self.buffer) - 3)  # a terminator may straddle the old end
        self.buffer += data
        if self.header_end is None:
            found = self.buffer.find(b"\r\n\r\n", self._searched)
            if found < 0:
                if len(self.buffer) > self.max_header_bytes:
                    return self._refuse(431, Rejected.HEADERS_TOO_LARGE,
                                        f"request headers over {self.max_header_bytes} bytes")
                return self.NEED_MORE
            self.header_end = found + 4
            verdict = self._read_headers(bytes(self.buffer[:found]))
            if verdict is not None:
                return verdict
            self._cursor = self.header_end
        if self._chunked:
            return self._scan_chunks()
        if len(self.buffer) - self.header_end >= (self._length or 0):
            return self.COMPLETE
        return self.NEED_MORE

    def _refuse(self, status: int, reason: Rejected, detail: str) -> Refusal:
        self.refusal = Refusal(status, reason, detail)
        return self.refusal

    def _read_headers(self, head: bytes) -> str | Refusal | None:
        """Decide the body framing; a verdict when the request can already be settled."""
        if len(head) + 4 > self.max_header_bytes:
            return self._refuse(431, Rejected.HEADERS_TOO_LARGE, f"request headers over {self.max_header_bytes} bytes")
        lines = head.split(b"\r\n")
        fields: dict[bytes, list[bytes]] = {}
        for line in lines[1:]:
            name, colon, value = line.partition(b":")
            if colon:
                fields.setdefault(name.strip().lower(), []).append(value.strip())
        codings = b",".join(fields.get(b"transfer-encoding", [])).lower()
        if codings:
            if [c.strip() for c in codings.split(b",")] != [b"chunked"] or b"content-length" in fields:
                return self._refuse(400, Rejected.UNSUPPORTED_TRANSFER_CODING,
                                    "only Transfer-Encoding: chunked is accepted, without Content-Length")
            self._chunked = True
        else:
            lengths = set(fields.get(b"content-length", []))
            if len(lengths) > 1 or (lengths and not next(iter(lengths)).isdigit()):
                return self.COMPLETE  # gunicorn's parser answers 400 for a bad Content-Length
            self._length = int(next(iter(lengths))) if lengths else 0
            if self._length > self.max_body_bytes:
                return self._refuse(413, Rejected.BODY_TOO_LARGE, f"the body is over {self.max_body_bytes} bytes")
        has_body = self._chunked or bool(self._length)
        self.expects_continue = (has_body and b"100-continue" in b",".join(fields.get(b"expect", [])).lower()
                                 and lines[0].endswith(b"HTTP/1.1"))
        return None

    def _scan_chunks(self) -> str | Refusal:
        """Walk complete chunks from the cursor; COMPLETE after the last chunk and its trailers."""
        buffer = self.buffer
        while True:
            line_end = buffer.find(b"\r\n", self._cursor)
            if line_end < 0:
                if len(buffer) - self._cursor > MAX_CHUNK_LINE:
                    return self._refuse(400, Rejected.INVALID_CHUNKED_BODY, "a chunk-size line is too long")
                return self.NEED_MORE
            size_text = bytes(buffer[self._cursor:line_end]).split(b";", 1)[0].strip(b" \t")
            if not _HEX.fullmatch(size_text):
                return self._refuse(400, Rejected.INVALID_CHUNKED_BODY, "a chunk size is not a hexadecimal number")
            size = int(size_text, 16)
            if size == 0:
                return self._scan_trailers(line_end + 2)
            if self._body_bytes + size > self.max_body_bytes:
                return self._refuse(413, Rejected.BODY_TOO_LARGE, f"the body is over {self.max_body_bytes} bytes")
            data_end = line_end + 2 + size
            if len(buffer) < data_end + 2:
                return self.NEED_MORE
            if buffer[data_end:data_end + 2] != b"\r\n":
                return self._refuse(400, Rejected.INVALID_CHUNKED_BODY, "a chunk is longer than its declared size")
            self._body_bytes += size
            self._cursor = data_end + 2

    def _scan_trailers(self, start: int) -> str | Refusal:
        if self.buffer[start:start + 2] == b"\r\n":
            return self.COMPLETE
        if self.buffer.find(b"\r\n\r\n", max(start, self._searched)) >= 0:
            return self.COMPLETE
        if len(self.buffer) - start > self.max_header_bytes:
            return self._refuse(431, Rejected.HEADERS_TOO_LARGE, "chunked trailers too large")
        return self.NEED_MORE

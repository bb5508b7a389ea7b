"""Where a request ends, decided from bytes alone (the edge worker's sans-I/O part)."""
import pytest

from bridge.web.request_framing import Refusal, RequestFraming

COMPLETE, NEED_MORE = RequestFraming.COMPLETE, RequestFraming.NEED_MORE
HEAD = b"POST /webhooks/stripe HTTP/1.1\r\nHost: bridge\r\nContent-Type: application/json\r\n"


def framing(max_body: int = 100) -> RequestFraming:
    return RequestFraming(max_header_bytes=1024, max_body_bytes=max_body)


def feed_bytewise(data: bytes, max_body: int = 100):
    """Every verdict while `data` arrives one byte at a time (a trickling client)."""
    scanner = framing(max_body)
    verdicts = [scanner.feed(data[i:i + 1]) for i in range(len(data))]
    return verdicts, scanner


def chunked(*chunks: bytes, trailers: bytes = b"") -> bytes:
    body = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks)
    return HEAD + b"Transfer-Encoding: chunked\r\n\r\n" + body + b"0\r\n" + trailers + b"\r\n"


@pytest.mark.parametrize("request_bytes", [
    b"GET /healthz HTTP/1.1\r\nHost: bridge\r\n\r\n",
    HEAD + b"Content-Length: 11\r\n\r\n{\"id\": \"x\"}",
    chunked(b'{"id":', b' "x"}'),
    chunked(b"{}", trailers=b"X-Trailer: 1\r\n"),
], ids=["no body", "content-length", "chunked", "chunked with trailers"])
def test_a_request_is_complete_exactly_at_its_last_byte(request_bytes):
    verdicts, scanner = feed_bytewise(request_bytes)
    assert verdicts[:-1] == [NEED_MORE] * (len(request_bytes) - 1)
    assert verdicts[-1] == COMPLETE
    assert framing().feed(request_bytes) == COMPLETE, "all at once gives the same answer"
    assert bytes(scanner.buffer) == request_bytes, "every byte is kept for the parser"


def refusal(data: bytes, max_body: int = 100) -> Refusal:
    verdict = framing(max_body).feed(data)
    assert isinstance(verdict, Refusal), verdict
    return verdict


def test_an_invalid_chunk_size_is_a_400_with_a_reason():
    answer = refusal(HEAD + b"Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n")
    assert (answer.status, answer.reason) == (400, "invalid_chunked_body")
    assert "hexadecimal" in answer.detail


def test_a_chunk_longer_than_declared_is_a_400():
    answer = refusal(HEAD + b"Transfer-Encoding: chunked\r\n\r\n2\r\nhello\r\n0\r\n\r\n")
    assert (answer.status, answer.reason) == (400, "invalid_chunked_body")


def test_a_chunked_body_over_the_limit_is_413_as_soon_as_a_size_line_says_so():
    answer = refusal(HEAD + b"Transfer-Encoding: chunked\r\n\r\n40\r\n" + b"x" * 64 + b"\r\n41\r\n", max_body=100)
    assert (answer.status, answer.reason) == (413, "body_too_large")


def test_a_declared_length_over_the_limit_is_413_before_the_body_arrives():
    answer = refusal(HEAD + b"Content-Length: 101\r\n\r\n", max_body=100)
    assert (answer.status, answer.reason) == (413, "body_too_large")
    assert framing(100).feed(HEAD + b"Content-Length: 100\r\n\r\n") == NEED_MORE, "the limit itself is allowed"


def test_headers_that_never_end_are_431():
    scanner = framing()
    assert scanner.feed(HEAD) == NEED_MORE
    answer = scanner.feed(b"X-Slow: " + b"a" * 1024)
    assert (answer.status, answer.reason) == (431, "headers_too_large")


@pytest.mark.parametrize("headers", [b"Transfer-Encoding: gzip\r\n",
                                     b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n"])
def test_other_transfer_codings_or_both_framings_are_refused(headers):
    answer = refusal(HEAD + headers + b"\r\n")
    assert (answer.status, answer.reason) == (400, "unsupported_transfer_coding")


def test_a_malformed_content_length_is_left_to_gunicorns_parser():
    assert framing().feed(HEAD + b"Content-Length: 5x\r\n\r\n") == COMPLETE


def test_expect_100_continue_is_noticed_only_when_a_body_follows():
    scanner = framing()
    assert scanner.feed(HEAD + b"Expect: 100-continue\r\nContent-Length: 2\r\n\r\n") == NEED_MORE
    assert scanner.expects_continue
    scanner = framing()
    assert scanner.feed(HEAD + b"Expect: 100-continue\r\n\r\n") == COMPLETE
    assert not scanner.expects_continue


def test_bytes_of_a_pipelined_next_request_stay_in_the_buffer():
    first = HEAD + b"Content-Length: 2\r\n\r\n{}"
    scanner = framing()
    assert scanner.feed(first + b"GET /heal") == COMPLETE
    assert bytes(scanner.buffer) == first + b"GET /heal"

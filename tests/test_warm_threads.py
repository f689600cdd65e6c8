"""models.serve.warm_threads: requests computed on a few persistent threads, never queued."""

from __future__ import annotations

import contextvars
import threading
import time

import pytest
from flask import Flask

import app as appmod
from models.serve.warm_threads import WarmPool, WarmWSGI


def test_calls_run_on_the_same_few_persistent_threads():
    pool = WarmPool(2, "t")
    idents = {pool.run(threading.get_ident) for _ in range(50)}
    assert threading.get_ident() not in idents and 1 <= len(idents) <= 2
    assert pool.run(sum, [1, 2, 3]) == 6


def test_exceptions_reach_the_caller():
    with pytest.raises(ZeroDivisionError):
        WarmPool(1, "t").run(lambda: 1 / 0)


def test_a_busy_pool_runs_the_call_on_the_callers_thread():
    pool = WarmPool(1, "t")
    release = threading.Event()
    busy = pool.try_submit(release.wait, 60)
    try:
        assert pool.try_submit(len, "x") is None
        assert pool.run(threading.get_ident) == threading.get_ident()  # no wait behind `busy`
    finally:
        release.set()
    assert busy.result(timeout=30) is True
    assert pool.run(threading.get_ident) != threading.get_ident()  # its thread is free again


def test_a_call_from_a_pool_thread_never_waits_for_the_pool():
    for pool in (WarmPool(1, "t"), WarmPool(1, "t", wait_s=30)):
        t0 = time.monotonic()
        assert pool.run(lambda p=pool: p.run(threading.get_ident) == threading.get_ident())
        assert time.monotonic() - t0 < 10  # not the 30 s wait


def test_a_waiting_pool_takes_the_thread_freed_in_time_else_runs_inline():
    pool = WarmPool(1, "t", wait_s=5)
    release = threading.Event()
    busy = pool.try_submit(release.wait, 60)
    threading.Timer(0.2, release.set).start()  # freed well within the wait
    assert pool.run(threading.get_ident) != threading.get_ident()  # waited, then the warm thread
    assert busy.result(timeout=30) is True

    impatient = WarmPool(1, "t", wait_s=0.2)
    release = threading.Event()
    busy = impatient.try_submit(release.wait, 60)
    try:
        t0 = time.monotonic()
        assert impatient.run(threading.get_ident) == threading.get_ident()  # gave up waiting
        assert 0.15 < time.monotonic() - t0 < 10
    finally:
        release.set()
    busy.result(timeout=30)


REQUEST = contextvars.ContextVar("request", default=None)


def _server():
    server = Flask(__name__)
    seen = {}

    @server.post("/_dash-update-component")
    def callback():
        seen["callback"] = threading.get_ident()
        seen["context"] = REQUEST.get()
        REQUEST.set("stale")  # a fresh context per request: never seen by the next one
        return {"ok": True}

    @server.get("/api/v1/search")
    def api():
        seen["api"] = threading.get_ident()
        return {"hits": []}

    @server.get("/assets/x.css")
    def asset():
        seen["asset"] = threading.get_ident()
        return "body{}"

    return server, seen


def test_callbacks_and_api_run_on_warm_threads_files_on_their_own():
    server, seen = _server()
    server.wsgi_app = WarmWSGI(server.wsgi_app, WarmPool(2, "requests"), max_body=1000)
    client = server.test_client()
    me = threading.get_ident()
    for _ in range(2):
        r = client.post("/_dash-update-component", json={})
        assert r.status_code == 200 and r.get_json() == {"ok": True}
        assert seen["callback"] != me and seen["context"] is None
    assert client.get("/api/v1/search").get_json() == {"hits": []} and seen["api"] != me
    assert client.get("/assets/x.css").data == b"body{}" and seen["asset"] == me


def test_the_response_is_closed_on_the_warm_thread():
    closed = []

    class Body(list):
        def close(self):
            closed.append(threading.get_ident())

    def wsgi(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return Body([b"a", b"b"])

    statuses = []
    warm = WarmWSGI(wsgi, WarmPool(1, "t"), max_body=1000)
    out = warm({"PATH_INFO": "/api/v1/x"}, lambda status, headers: statuses.append(status))
    assert out == [b"a", b"b"] and statuses == ["200 OK"]
    assert closed and closed[0] != threading.get_ident()


def test_app_py_puts_the_warm_threads_in_front_of_the_server():
    server, seen = _server()

    class FakeDash:
        pass

    dash_app = FakeDash()
    dash_app.server = server
    warm = appmod.warm_requests(dash_app, threads=1, wait_s=0.5)
    assert server.wsgi_app is warm and (warm.pool.threads, warm.pool.wait_s) == (1, 0.5)
    server.test_client().post("/_dash-update-component", json={})
    assert seen["callback"] != threading.get_ident()


class SlowBody:
    """A request body whose bytes come only once ``arrived`` is set (a slow client)."""

    def __init__(self, data: bytes, arrived: threading.Event) -> None:
        self.data, self.arrived, self.reader = data, arrived, None

    def read(self, n: int = -1) -> bytes:
        self.reader = threading.get_ident()
        assert self.arrived.wait(30)
        out, self.data = (self.data, b"") if n < 0 else (self.data[:n], self.data[n:])
        return out


def test_a_slow_body_holds_its_own_thread_never_a_warm_one():
    seen = {}

    def wsgi(environ, start_response):
        seen["body"] = environ["wsgi.input"].read()
        seen["app"] = threading.get_ident()
        start_response("200 OK", [])
        return [b"ok"]

    pool = WarmPool(1, "t", wait_s=5)
    warm = WarmWSGI(wsgi, pool, max_body=1000)
    arrived = threading.Event()
    body = SlowBody(b'{"a": 1}', arrived)
    environ = {"PATH_INFO": "/_dash-update-component", "CONTENT_LENGTH": "8", "wsgi.input": body}
    out = []
    client = threading.Thread(target=lambda: out.append(warm(environ, lambda s, h: None)))
    client.start()
    time.sleep(0.2)
    free = pool.try_submit(threading.get_ident)  # the warm thread is free while the body trickles in
    assert free is not None and free.result(timeout=5) != client.ident
    arrived.set()
    client.join(timeout=30)
    assert out == [[b"ok"]] and seen["body"] == b'{"a": 1}'
    assert body.reader == client.ident and seen["app"] != client.ident


@pytest.mark.parametrize(("headers", "sent", "expected"), [
    ({"CONTENT_LENGTH": "5"}, b"abcdefgh", b"abcde"),  # no more than Content-Length
    ({"CONTENT_LENGTH": "50"}, b"x" * 50, b"x" * 11),  # over the limit: limit + 1, the app refuses
    ({"wsgi.input_terminated": True}, b"y" * 50, b"y" * 11),  # chunked: up to limit + 1
    ({"wsgi.input_terminated": True}, b"short", b"short"),
    ({}, b"ignored", b"ignored"),  # no body announced: the stream is left as it is
    ({"CONTENT_LENGTH": "abc"}, b"raw", b"raw"),  # malformed: left to the app's 400
])
def test_the_body_read_first_is_bounded(headers, sent, expected):
    import io

    warm = WarmWSGI(lambda e, s: [], WarmPool(1, "t"), max_body=10)
    environ = {"PATH_INFO": "/api/v1/ask", "wsgi.input": io.BytesIO(sent), **headers}
    assert warm.body_read(environ)["wsgi.input"].read() == expected


def test_the_apps_limits_hold_behind_the_warm_threads(app):
    """The real app behind WarmWSGI as ``python app.py`` installs it: a chunked body over the
    limit is still a 413, a Content-Length over it too, the API's own limit too, and a normal
    callback request answers."""
    import io

    from werkzeug.test import Client
    from werkzeug.wrappers import Response

    from callbacks import http_guard
    from models.api import limits

    warm = WarmWSGI(app.server.wsgi_app, WarmPool(2, "requests", 1.0),
                    max_body=max(http_guard.MAX_BODY_BYTES, limits.MAX_BODY_BYTES))
    client = Client(warm, Response)
    chunked = {"wsgi.input_terminated": True}
    r = client.post("/_dash-update-component", input_stream=io.BytesIO(b"[" + b" " * 3_000_000),
                    content_type="application/json", environ_overrides=chunked)
    assert r.status_code == 413
    r = client.post("/_dash-update-component", data=b"[" + b" " * 2_500_000 + b"]",
                    content_type="application/json")
    assert r.status_code == 413
    big = b'{"question": "' + b"a" * 100_000 + b'"}'
    r = client.post("/api/v1/ask", data=big, content_type="application/json")
    assert r.status_code == 413
    r = client.post("/api/v1/ask", data=b'{"question": "piscines"}', content_type="application/json")
    assert r.status_code == 200 and "state" in r.get_json()
    assert client.get("/api/v1/search?q=eau").status_code == 200

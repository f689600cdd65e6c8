"""A few persistent threads for the requests' work, and never a long wait for them.

Why persistent threads: a thread that has just run a search runs the next one faster than a new
thread (the query encoder's and the matrix product's calls; the full catalogue's search callback
p50 31.7 ms against 38.8 ms on a new thread, ``scripts/bench/callback_profile.py --blocks``,
docs/measurements.md). ``python app.py``'s server starts a new thread for each connection, and a
client that does not keep its connection alive (``curl``, a script's ``requests.get``, the bench)
paid that on every request.

:class:`WarmPool` hands a call to one of its threads when one is idle or becomes idle within
``wait_s``; past that (a long request holds them), the caller runs the call itself, as before.
:class:`WarmWSGI` routes the app's callback and API requests through a pool of
:data:`WSGI_THREADS` threads that waits up to :data:`WSGI_WAIT_S`: with 8 concurrent clients the
requests then take the cores in turn instead of all at once (8 clients' search p95 ~400 → ~360 ms,
API search ~250 → ~190 ms, ~35 MiB less private memory, ``python -m models bench``), and a
quality run of thousands of queries cannot hold every page's callbacks for more than a second.
The page's files and everything else stay on the connection's thread. Forked processes (gunicorn
with ``--preload``) make their own threads.
"""

from __future__ import annotations

import contextvars
import io
import os
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

WSGI_THREADS = 2  # requests computed at once on warm threads (the cores)
WSGI_WAIT_S = 1.0  # the longest a request waits for one; then it runs on its own thread
WARM_PATHS = ("/_dash-update-component", "/api/")  # callbacks and the JSON API (never streamed)


class WarmPool:
    """``threads`` persistent threads; :meth:`try_submit` gives a call to one that is idle (or
    becomes idle within ``wait_s`` seconds) or says no.

    Examples
    --------
    >>> pool = WarmPool(1, "exemple")
    >>> pool.run(sum, [1, 2, 3])
    6
    >>> pool.run(pool.run, len, "abc")  # from its own (busy) thread: runs inline, never waits
    3
    """

    def __init__(self, threads: int, name: str, wait_s: float = 0.0) -> None:
        self.threads = max(int(threads), 1)
        self.name = name
        self.wait_s = max(float(wait_s), 0.0)
        self._inside = threading.local()
        self._lock = threading.Lock()
        self._state: tuple[int, ThreadPoolExecutor, threading.Semaphore] | None = None

    def _current(self) -> tuple[ThreadPoolExecutor, threading.Semaphore]:
        with self._lock:
            if self._state is None or self._state[0] != os.getpid():  # a fork: its own threads
                self._state = (os.getpid(), ThreadPoolExecutor(max_workers=self.threads,
                                                               thread_name_prefix=self.name),
                               threading.Semaphore(self.threads))
            return self._state[1], self._state[2]

    def try_submit(self, fn: Callable[..., Any], *args: Any) -> Future | None:
        """A future for ``fn(*args)`` on an idle thread of the pool; None when none is idle within
        ``wait_s`` (or the pool is shut down at exit): the caller then runs it itself."""
        pool, idle = self._current()
        if not (idle.acquire(timeout=self.wait_s) if self.wait_s > 0 else idle.acquire(blocking=False)):
            return None

        def task():
            self._inside.active = True
            try:
                return fn(*args)
            finally:
                self._inside.active = False
                idle.release()

        try:
            return pool.submit(task)
        except RuntimeError:  # interpreter exit
            idle.release()
            return None

    def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(*args)`` on an idle pool thread if there is one (within ``wait_s``), else on this
        thread (at once from one of the pool's own threads: it would wait for itself)."""
        future = self.try_submit(fn, *args) if not self.owns_current_thread() else None
        return fn(*args) if future is None else future.result()

    def owns_current_thread(self) -> bool:
        """Whether the calling thread is running one of this pool's calls."""
        return getattr(self._inside, "active", False)


class WarmWSGI:
    """WSGI middleware: the requests whose path contains one of ``paths`` run on ``pool``'s threads
    (their whole response collected there: callbacks and API answers are small JSON), each in a
    fresh ``contextvars`` context as a new thread would have; the others pass through.

    The request's body is read first, on the connection's own thread (at most ``max_body`` + 1
    bytes, ``max_body`` being the app's largest body limit: it refuses a larger body by itself): a
    client that sends its body slowly holds its own thread only, never a warm one."""

    def __init__(self, app: Callable, pool: WarmPool, *, max_body: int,
                 paths: Iterable[str] = WARM_PATHS) -> None:
        self.app = app
        self.pool = pool
        self.paths = tuple(paths)
        self.max_body = max(int(max_body), 0)

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO") or ""
        if not any(p in path for p in self.paths):
            return self.app(environ, start_response)
        environ = self.body_read(environ)
        return self.pool.run(contextvars.Context().run, self._collect, environ, start_response)

    def body_read(self, environ: dict) -> dict:
        """``environ`` with its body already read into memory (a copy; unchanged without a body):
        ``Content-Length`` bytes, or up to the end of a chunked body, ``max_body`` + 1 at most."""
        try:
            length = int(environ.get("CONTENT_LENGTH") or -1)
        except ValueError:
            return environ  # the app answers 400 to a malformed header by itself
        chunked = length < 0 and bool(environ.get("wsgi.input_terminated"))
        stream = environ.get("wsgi.input")
        if stream is None or (length <= 0 and not chunked):
            return environ
        limit = self.max_body + 1 if chunked else min(length, self.max_body + 1)
        data = stream.read(limit)
        return {**environ, "wsgi.input": io.BytesIO(data)}

    def _collect(self, environ: dict, start_response: Callable) -> list[bytes]:
        result = self.app(environ, start_response)
        try:
            return list(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()

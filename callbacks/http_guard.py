"""Request-level limits and security headers, installed on the Flask server by ``create_app``.

Before Dash reads a callback request:

- a body over :data:`MAX_BODY_BYTES` is refused with 413 (from ``Content-Length``, before
  anything is read; a chunked body is cut by Flask's ``MAX_CONTENT_LENGTH`` while reading);
- JSON nested deeper than :data:`MAX_JSON_DEPTH` is refused with 400 (the depth is counted on
  the raw bytes, so the decoder never recurses on it);
- a body that is not a callback request (not JSON, not an object with ``output``, ``inputs``
  and ``state`` lists, an unknown output) is refused with 400.

Each refusal is one warning line in the log and a small JSON answer, never a traceback.
Every response gets a Content-Security-Policy (own origin only, plus what Dash and plotly.js
need), ``X-Frame-Options``, ``X-Content-Type-Options``, ``Referrer-Policy``, and a ``Server``
header without versions.
"""

from __future__ import annotations

import json
import logging

import numpy as np

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 2_000_000  # a 500 kB upload is ~670 kB in base64; up to ~1.4 MB the page says "trop gros"
MAX_JSON_DEPTH = 32  # dash-renderer's deepest callback bodies are ~8 levels
CALLBACK_PATH = "_dash-update-component"
SERVER_NAME = "explorateur"

def json_depth(data: bytes) -> int:
    """Deepest nesting of ``[``/``{`` in JSON text, strings left out. Linear and vectorised: a
    quote opens or closes a string unless an odd run of backslashes precedes it, brackets count
    outside strings only (no regex: a backtracking pattern over « "\\"\\"… » was quadratic,
    20 s of CPU for 64 KB). A 2 MB body of any bytes takes a few tens of milliseconds.

    Examples
    --------
    >>> json_depth(b'{"a": [1, {"b": "[[[\\\\"}]}')
    3
    >>> json_depth(b'["\\"]"]')
    1
    """
    a = np.frombuffer(data, dtype=np.uint8)
    if not len(a):
        return 0
    idx = np.arange(len(a), dtype=np.int32)  # bodies are capped far below 2**31 bytes
    backslash = a == 0x5C
    last_other = np.maximum.accumulate(np.where(backslash, -1, idx))
    run = idx - last_other  # backslashes ending at each position (0 where it is no backslash)
    escaped = np.zeros(len(a), dtype=bool)
    escaped[1:] = (run[:-1] % 2) == 1
    quote = (a == 0x22) & ~escaped
    outside = (np.cumsum(quote) % 2 == 0) & ~quote
    steps = (((a == 0x5B) | (a == 0x7B)) & outside).astype(np.int32)
    steps -= ((a == 0x5D) | (a == 0x7D)) & outside
    return int(np.cumsum(steps).max(initial=0))


def _is_dep(item) -> bool:
    return isinstance(item, dict) and "id" in item and isinstance(item.get("property"), str)


def _deps_ok(items) -> bool:
    if not isinstance(items, list):
        return False
    return all(_is_dep(i) or (isinstance(i, list) and all(_is_dep(j) for j in i)) for i in items)


def callback_body_problem(body, known_outputs) -> str | None:
    """Why ``body`` is not a callback request dash-renderer could send (None: it is one)."""
    if not isinstance(body, dict):
        return "not a JSON object"
    output = body.get("output")
    if not isinstance(output, str) or output not in known_outputs:
        return "unknown output"
    if not _deps_ok(body.get("inputs")) or not _deps_ok(body.get("state", [])):
        return "malformed inputs or state"
    outputs = body.get("outputs")
    if outputs is not None and not (_is_dep(outputs) or _deps_ok(outputs)):
        return "malformed outputs"
    changed = body.get("changedPropIds", [])
    if not isinstance(changed, list) or not all(isinstance(c, str) for c in changed):
        return "malformed changedPropIds"
    return None


def content_security_policy(script_hashes: list[str]) -> str:
    """Own origin only. Scripts: the app's files and Dash's one inline start-up script, by hash
    (never ``'unsafe-inline'``), plus ``'unsafe-eval'``: plotly.js's WebGL traces (the map, a
    Scattergl of every dataset) compile their shaders' drawing code with ``new Function`` (regl);
    without it the map shows « WebGL is not supported » in every browser — it did from the
    morning of 2026-11-30 to the night, unseen by a test that checked only that a canvas existed
    (``tests/test_boundary_browser.py`` now checks the map's pixels and plotly's no-WebGL notice).
    The strict plotly bundle that avoids it is not shipped in any installed package. Inline
    styles: React's ``style`` props; ``data:``/``blob:`` images: plotly's icons and image export."""
    scripts = " ".join(["'self'", "'unsafe-eval'", *script_hashes])
    return ("default-src 'self'; "
            f"script-src {scripts}; "
            "style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data: blob:; "
            "font-src 'self' data:; "
            "connect-src 'self'; "
            "worker-src 'self' blob:; "
            "object-src 'none'; "
            "base-uri 'self'; "
            "form-action 'self'; "
            "frame-ancestors 'none'")


def install(app) -> None:
    """Limits and headers on ``app.server`` (a Dash app)."""
    import flask
    from werkzeug.exceptions import RequestEntityTooLarge

    server = app.server
    server.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    csp: list[str] = []  # computed on the first response: Dash knows its scripts by then

    def refuse(status: int, why: str):
        log.warning("request refused (%d): %s %s from %s: %s", status, flask.request.method,
                    flask.request.path[:100], flask.request.remote_addr, why)
        message = ("requête trop volumineuse" if status == 413 else "requête invalide")
        return flask.jsonify({"error": message}), status

    @server.before_request
    def limit_request():
        req = flask.request
        if req.content_length is not None and req.content_length > MAX_BODY_BYTES:
            return refuse(413, f"{req.content_length} bytes > {MAX_BODY_BYTES}")
        if req.method != "POST" or not req.path.endswith(CALLBACK_PATH):
            return None
        try:
            data = req.get_data(cache=True)
        except RequestEntityTooLarge:
            return refuse(413, f"body over {MAX_BODY_BYTES} bytes")
        depth = json_depth(data)
        if depth > MAX_JSON_DEPTH:
            return refuse(400, f"JSON nested {depth} deep > {MAX_JSON_DEPTH}")
        if not req.is_json:
            return refuse(400, "not JSON")
        try:
            body = json.loads(data)
        except (ValueError, UnicodeDecodeError):
            return refuse(400, "invalid JSON")
        problem = callback_body_problem(body, app.callback_map)
        if problem:
            return refuse(400, problem)
        return None

    @server.after_request
    def security_headers(response):
        if not csp:  # after every callback (clientside ones add inline scripts) is registered
            csp.append(content_security_policy(list(app.csp_hashes())))
        return _headers(response, csp[0])


def request_handler():
    """For ``python app.py`` (werkzeug's server): the ``Server`` header comes from the app only
    (werkzeug's own would add ``Werkzeug/x.y Python/x.y``)."""
    from werkzeug.serving import WSGIRequestHandler

    class Handler(WSGIRequestHandler):
        def send_response(self, code, message=None):
            self.log_request(code)
            self.send_response_only(code, message)
            self.send_header("Date", self.date_time_string())

    return Handler


def _headers(response, csp: str):
    h = response.headers
    h["Content-Security-Policy"] = csp
    h["X-Frame-Options"] = "DENY"
    h["X-Content-Type-Options"] = "nosniff"
    h["Referrer-Policy"] = "same-origin"
    h["Server"] = SERVER_NAME
    return response

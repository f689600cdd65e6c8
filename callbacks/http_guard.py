"""Request-level limits and security headers, installed on the Flask server by ``create_app``.

Before Dash reads a callback request:

- a body over :data:`MAX_BODY_BYTES` is refused with 413 (from ``Content-Length``, before
  anything is read; a chunked body is read up to the limit, one byte more is a 413);
- JSON nested deeper than :data:`MAX_JSON_DEPTH` is refused with 400 (the depth is counted on
  the raw bytes, so the decoder never recurses on it), as are more than :data:`MAX_JSON_OBJECTS`
  objects; a JSON object with a key twice is a 400;
- a body that is not a request dash-renderer could send for one of the app's server-side
  callbacks is refused with 400: :func:`callbacks.request_shape.request_problem` checks it
  against the callback's declared signature (outputs, inputs, state, pattern ids, triggers),
  so Dash never raises on a request's structure (a client-side callback's output included).

Other requests: a ``/_dash-component-suites/`` file the page did not register (``dash/dash.py``,
a ``%2e%2e`` path) is a 404, as is any path but ``/`` (Dash would answer its page: the pages are
tabs of ``/``; routes registered on the server, such as ``/api/...``, are matched before).
A ``DashException`` that still escapes is a 4xx counted in :data:`RESCUES` (the tests require
none). ``GET /`` names no Python, Dash or plotly version (:func:`hide_versions`).

Each refusal is one warning line in the log and a small French JSON answer, never a traceback.
Every response gets a Content-Security-Policy (own origin only, plus what Dash and plotly.js
need), ``X-Frame-Options``, ``X-Content-Type-Options``, ``Referrer-Policy``, and a ``Server``
header without versions.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import re
import sys
from collections import Counter

import flask
from dash.exceptions import DashException
from dash.fingerprint import check_fingerprint
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.serving import WSGIRequestHandler

from callbacks import request_shape
from components.labels import HTTP_REFUSED
from models.core.jsonsafe import json_depth, json_shape  # noqa: F401 (http_guard.json_depth: the tests' name)

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 2_000_000  # a 500 kB upload is ~670 kB in base64; up to ~1.4 MB the page says "trop gros"
MAX_JSON_DEPTH = 32  # dash-renderer's deepest callback bodies are ~8 levels
# JSON objects in one body: the largest real ones (a quality result of 5,000 queries) hold ~15,000;
# each costs the duplicate-key check a call (2 MB of « {}, » would be 666,000: ~0.25 s, GIL held)
MAX_JSON_OBJECTS = 100_000
CALLBACK_PATH = "_dash-update-component"
SUITES_PATH = "/_dash-component-suites/"
SERVER_NAME = "explorateur"
RESCUES: Counter = Counter()  # requests only the DashException net answered (tests require none)
_CONFIG_LEAKS = ("dash_version", "python_version", "plotly_version", "ddk_version", "dash_version_url")
_FINGERPRINT = re.compile(r"\.v([0-9][\w-]*?)m([0-9a-fA-F]+)\.")  # dash's « name.v4_4_1m1712345.min.js »
_FAVICON_VERSION = re.compile(r"(_favicon\.ico)\?v=[^\"'&]*")


class DuplicateKey(ValueError):
    pass


def _no_duplicate_keys(pairs: list) -> dict:
    """``object_pairs_hook``: JSON objects with a key twice are refused (the decoder would keep
    the last one silently, and Dash and this guard could read different requests)."""
    d = dict(pairs)
    if len(d) != len(pairs):
        raise DuplicateKey("duplicate key")
    return d


def parse_body(data: bytes):
    """The JSON of a request body (``ValueError``: not JSON, not UTF-8, a duplicate key). One C
    pass plus one dict per object: ~0.13 s for the worst 2 MB body (``[{"a":1},…]``)."""
    return json.loads(data, object_pairs_hook=_no_duplicate_keys)


def component_suite(path: str) -> tuple[str, str] | None:
    """``(package, path in the package)`` of a ``/_dash-component-suites/`` URL (fingerprint
    removed as Dash does), else None."""
    if not path.startswith(SUITES_PATH):
        return None
    package, _, rest = path[len(SUITES_PATH):].partition("/")
    return package, check_fingerprint(rest)[0]


def suite_registered(app, package: str, path_in_package: str) -> bool:
    """What Dash's ``validate_js_path`` accepts (it raises, a 500, on anything else): a file of
    the page's component packages. ``dash/dash.py``, ``os/path.py``, ``../`` are not."""
    return path_in_package in app.registered_paths.get(package, ())


def _more_to_read(req) -> bool:
    """A body without Content-Length (chunked) read up to the limit: is there more? Werkzeug's
    limited stream stops at the limit silently, which turned a 3 MB chunked body into invalid
    JSON (400) instead of 413."""
    if "wsgi.input_terminated" not in req.environ:  # the stream cannot be read safely: it was empty
        return False
    try:
        return bool(req.environ["wsgi.input"].read(1))
    except OSError:
        return False


def _cache_json(req, body) -> None:
    """Flask's ``get_json`` returns this parse (Dash calls it) rather than parsing again."""
    if hasattr(req, "_cached_json"):
        req._cached_json = (body, body)


def _version_token(version: str) -> str:
    """A stand-in for a version in a URL: changes with it (caches are refreshed), says nothing."""
    return hashlib.sha256(f"explorateur:{version}".encode()).hexdigest()[:10]


def strip_versions(html: str) -> str:
    """The page without library versions in its URLs: Dash writes « dash_renderer.v4_4_1m…js »
    and « _favicon.ico?v=4.4.1 »; the fingerprint keeps its shape (Dash still recognises it)."""
    html = _FINGERPRINT.sub(lambda m: f".v{_version_token(m.group(1))}m{m.group(2)}.", html)
    return _FAVICON_VERSION.sub(lambda m: f"{m.group(1)}?v={_version_token('favicon')}", html)


def hide_versions(app) -> None:
    """``GET /`` names no Python, Dash or plotly version: ``_dash-config`` loses
    ``python_version`` (with its build date and compiler), ``dash_version``, ``plotly_version``
    (used only by Dash's debug tools, never on here) and asset URLs carry a token instead."""
    config, index = app._config, app.index

    def _config():
        return {k: v for k, v in config().items() if k not in _CONFIG_LEAKS}

    def _index(*args, **kwargs):
        return strip_versions(index(*args, **kwargs))

    app._config, app.index = _config, _index


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


def refuse(status: int, why: str):
    """A French JSON refusal, and one warning line saying why (in English, for the log)."""
    log.warning("request refused (%d): %s %s from %s: %s", status, flask.request.method,
                flask.request.path[:100], flask.request.remote_addr, why)
    message = HTTP_REFUSED.get(status, HTTP_REFUSED[400])
    return flask.jsonify({"error": message}), status


def limit_request(app, signatures: request_shape.Signatures):
    """``before_request``: the body's size, the component files, then a callback's body."""
    req = flask.request
    if req.content_length is not None and req.content_length > MAX_BODY_BYTES:
        return refuse(413, f"{req.content_length} bytes > {MAX_BODY_BYTES}")
    suite = component_suite(req.path)
    if suite is not None and not suite_registered(app, *suite):
        return refuse(404, "not a registered component file")
    if req.method != "POST" or not req.path.endswith(CALLBACK_PATH):
        return None
    return check_callback_body(req, signatures)


def check_callback_body(req, signatures: request_shape.Signatures):
    """A callback request: its size, JSON nesting and objects, duplicate keys, then its shape
    against the callback's signature; None when Dash may read it (it reads this parse)."""
    try:
        data = req.get_data(cache=True)
        if len(data) >= MAX_BODY_BYTES and req.content_length is None and _more_to_read(req):
            raise RequestEntityTooLarge()
    except RequestEntityTooLarge:
        return refuse(413, f"body over {MAX_BODY_BYTES} bytes")
    depth, objects = json_shape(data)
    if depth > MAX_JSON_DEPTH:
        return refuse(400, f"JSON nested {depth} deep > {MAX_JSON_DEPTH}")
    if objects > MAX_JSON_OBJECTS:
        return refuse(400, f"{objects} JSON objects > {MAX_JSON_OBJECTS}")
    if not req.is_json:
        return refuse(400, "not JSON")
    try:
        body = parse_body(data)
    except DuplicateKey:
        return refuse(400, "duplicate key in a JSON object")
    except (ValueError, UnicodeDecodeError):
        return refuse(400, "invalid JSON")
    problem = request_shape.request_problem(body, signatures)
    if problem:
        return refuse(400, problem)
    _cache_json(req, body)  # Dash reads this parse, not a second one
    return None


def page_or_404(path: str = "", **_kw):
    """Dash answers its page for any path; only ``/`` (with its query string) is one."""
    return refuse(404, "no such page")


def not_found(_exc):
    """Flask's own 404s (an unknown asset) answer in French too."""
    return flask.jsonify({"error": HTTP_REFUSED[404]}), 404


def dash_error(exc):
    """The net under the checks above: a request Dash still cannot serve is a 4xx, one
    warning line marked ``structure_rescue`` and counted (the fuzz tests require none)."""
    RESCUES["structure"] += 1
    log.warning("request Dash could not serve (%s: %s)", type(exc).__name__, str(exc)[:200],
                extra={"structure_rescue": True})
    status = 404 if flask.request.method in ("GET", "HEAD") else 400
    return flask.jsonify({"error": HTTP_REFUSED[status]}), status


def security_headers(app, csp: list[str], response):
    """``after_request``: the security headers (the policy computed on the first response, after
    every callback, client-side ones included, has added its inline scripts)."""
    if not csp:
        csp.append(content_security_policy(list(app.csp_hashes())))
    return _headers(response, csp[0])


def install(app) -> None:
    """Limits, checks and headers on ``app.server`` (a Dash app)."""
    server = app.server
    server.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    signatures = request_shape.Signatures(app.callback_map)  # filled as pages register callbacks
    hide_versions(app)
    gunicorn_error_pages()
    server.before_request(functools.partial(limit_request, app, signatures))
    for rule in server.url_map.iter_rules():  # Dash's catch-all ``/<path:path>``
        if rule.rule.endswith("/<path:path>") and "GET" in (rule.methods or ()):
            server.view_functions[rule.endpoint] = page_or_404
    server.errorhandler(404)(not_found)
    server.errorhandler(DashException)(dash_error)
    server.after_request(functools.partial(security_headers, app, []))  # the policy, once computed


def request_handler():
    """For ``python app.py`` (werkzeug's server): the ``Server`` header comes from the app only
    (werkzeug's own would add ``Werkzeug/x.y Python/x.y``)."""
    class Handler(WSGIRequestHandler):
        # what the server itself answers before the app sees a request (431: a header over 64 KB,
        # 414: a request line too long, 400: a malformed one): French, with the security headers
        error_message_format = ('<!DOCTYPE html><html lang="fr"><meta charset="utf-8">'
                                "<title>%(code)d</title><p>%(explain)s</p></html>")
        _server_error = False

        def send_error(self, code, message=None, explain=None):
            self._server_error = True
            super().send_error(code, message, HTTP_REFUSED.get(code, HTTP_REFUSED[400]))

        def send_response(self, code, message=None):
            self.log_request(code)
            self.send_response_only(code, message)
            self.send_header("Date", self.date_time_string())
            if self._server_error:
                for k, v in ERROR_HEADERS.items():
                    self.send_header(k, v)

    return Handler


ERROR_HEADERS = {"Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
                 "X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff",
                 "Referrer-Policy": "same-origin", "Server": SERVER_NAME}


def server_error_page(status: int) -> bytes:
    """What a server answers by itself before the app sees a request (a header too long, a
    malformed request line): a French sentence, the security headers, no version."""
    text = HTTP_REFUSED.get(status, HTTP_REFUSED[400])
    body = (f'<!DOCTYPE html><html lang="fr"><meta charset="utf-8"><title>{status}</title>'
            f"<p>{text}</p></html>").encode()
    head = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Bad Request')}", "Connection: close",
            "Content-Type: text/html; charset=utf-8", f"Content-Length: {len(body)}",
            *(f"{k}: {v}" for k, v in ERROR_HEADERS.items())]
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


_REASONS = {400: "Bad Request", 403: "Forbidden", 413: "Content Too Large", 414: "URI Too Long",
            417: "Expectation Failed", 431: "Request Header Fields Too Large",
            500: "Internal Server Error"}


def gunicorn_error_pages() -> bool:
    """Under gunicorn (already imported when it loads the app): its own error answers (431 for a
    header over 8 KB, 414, 400) get :func:`server_error_page` instead of an English page without
    the security headers. Returns whether gunicorn was there."""
    util = sys.modules.get("gunicorn.util")
    if util is None or getattr(util.write_error, "explorateur", False):
        return util is not None

    def write_error(sock, status_int, reason, mesg):
        util.write_nonblock(sock, server_error_page(int(status_int)))

    write_error.explorateur = True
    util.write_error = write_error
    return True


def _headers(response, csp: str):
    h = response.headers
    h["Content-Security-Policy"] = csp
    h["X-Frame-Options"] = "DENY"
    h["X-Content-Type-Options"] = "nosniff"
    h["Referrer-Policy"] = "same-origin"
    h["Server"] = SERVER_NAME
    return response

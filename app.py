"""The web app: ``create_app(settings)`` is the only place that assembles it.

Run it::

    python app.py --artifacts artifacts [--host 127.0.0.1] [--port 8050] [--debug] [--model NAME]

Serve it with gunicorn (one process loads the artifacts once, then forks)::

    EXPLORER_ARTIFACTS=artifacts gunicorn --preload -w 2 -b 127.0.0.1:8050 'app:server_from_env()'
    EXPLORER_ARTIFACTS=artifacts gunicorn --preload -w 2 -b 127.0.0.1:8050 app:server

``app:server`` is created lazily on first access (PEP 562 module ``__getattr__``), and only when
``EXPLORER_ARTIFACTS`` is set: importing this module loads nothing.

Pages: the ``pages`` list in :func:`create_app` holds (tab id, French label, content); a page's
callbacks live in ``callbacks/<page>.py`` (``register(app, services)``), listed in
``callbacks.PAGE_MODULES``.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import sys
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import dash
from dash import html

import callbacks.producers
import callbacks.territories
import callbacks.topics
from callbacks import Services, http_guard, register_callbacks
from callbacks.explorer import catalogue_facets, topic_cloud
from callbacks.quality import default_file, labelled_files
from callbacks.territories import first_view as territories_first_view
from components.ask_page import build_ask_page
from components.build_status import build_status_bar
from components.compare_page import build_compare_page
from components.explorer_page import build_explorer_page
from components.labels import APP_TITLE, PAGES, catalogue_subtitle
from components.layout import build_layout
from components.map import visualize_map
from components.producers_page import build_producers_page
from components.quality_page import build_quality_page
from components.territories_page import build_territories_page
from components.topics import default_colour, map_colour_options
from components.topics_page import build_topics_page
from components.tour import tour_overlay
from models import api
from models.api import limits as api_limits
from models.core.config import AppSettings
from models.core.producers import DUPLICATE_THRESHOLD
from models.core.search_params import SearchParamsError, load_search_params
from models.core.store import ArtifactError
from models.serve.coverage import clusters_list
from models.serve.explorer import Explorer
from models.serve.map_time import year_bounds
from models.serve.search import MODES
from models.serve.warm_threads import WSGI_THREADS, WSGI_WAIT_S, WarmPool, WarmWSGI

log = logging.getLogger("app")

ASSETS = Path(__file__).resolve().parent / "assets"
PROBE_QUERY = "données publiques"


def available_modes(explorer) -> list[str]:
    """Search modes this build can serve, in ``models.serve.search.MODES`` order. Probing each mode
    once (its scores over the catalogue, :meth:`models.serve.engine.SearchEngine.mode_scores`)
    loads its index and the query encoder now; what a full search adds (spelling, places,
    families) is :func:`warm_app`'s."""
    modes = []
    for mode in MODES:
        try:
            explorer.engine.mode_scores(PROBE_QUERY, mode)
        except ArtifactError as exc:
            log.warning("search mode %s unavailable: %s", mode, exc)
        except Exception:  # a broken index or encoder must not take the whole app down
            log.exception("search mode %s unavailable", mode)
        else:
            modes.append(mode)
    return modes


def warm_search(explorer) -> None:
    """Filter columns, territories (declared zones resolved) and query understanding (gazetteer)
    are built now, once, rather than on the first filtered search."""
    try:
        _ = explorer.catalogue.territories
        _ = explorer.engine.understanding_context
        _ = explorer.producers.assessed()  # the quality score of the result cards
        _ = explorer.engine.speller  # the catalogue's words, for spelling correction (~1.4 s)
        _ = explorer.engine.family_keys  # one result per family of near-identical datasets (~2 s)
        _ = explorer.catalogue.freshness_codes  # « fraîcheur » filter and late cards (~1 s)
    except Exception:  # filters and places are a bonus: never take the app down for them
        log.exception("search filters or query understanding unavailable")


def warm_app(app: dash.Dash) -> float:
    """Everything a first search or « Demander » question needs beyond the indexes, built once:
    one full search per mode (spelling vocabulary, gazetteer, families, result cards), the
    filter columns and places (:func:`warm_search`), the assistant's indexes. Failures are
    logged; the pages then do without (or answer with a French message). Returns the seconds.

    ``python app.py`` serves the page first and runs this in a thread (a search that arrives
    before it ends waits for what it needs: ``functools.cached_property`` computes each piece
    once); gunicorn's ``--preload`` and a build switch run it before serving."""
    t0 = time.perf_counter()
    services = app.explorer_services
    explorer, modes = services.explorer, services.modes
    for mode in modes:
        try:
            explorer.search(PROBE_QUERY, mode=mode, k=1)
        except Exception:  # the mode's index answered the probe: a bug, logged, not fatal
            log.exception("search mode %s failed its first search", mode)
    warm_search(explorer)
    if "hybrid" in modes:  # the « Demander » page: its indexes are loaded now, not on a first question
        try:
            explorer.assistant.warm()
        except Exception:  # the page then answers with a French message
            log.exception("assistant not ready")
    dt = time.perf_counter() - t0
    log.info("search and assistant warm in %.1f s", dt)
    return dt


def default_mode(modes: list[str]) -> str | None:
    for preferred in ("hybrid", "semantic"):
        if preferred in modes:
            return preferred
    return modes[0] if modes else None


def load_explorer(settings: AppSettings):
    """The settings' artifacts, loaded once (raises ArtifactError when unusable, SearchParamsError
    when the package's fitted search parameters are missing or broken)."""
    load_search_params()  # read at start: without the fitted constants the app refuses to start
    try:
        explorer = Explorer.load(settings.artifacts, encoder=settings.encoder, model=settings.model,
                                 query_encoder=getattr(settings, "query_encoder", "build"),
                                 models_dir=settings.models_dir, max_query_chars=settings.max_query_chars)
        if settings.model and settings.encoder is None:
            _ = explorer.engine.semantic  # another model than the build's: refused now (ArtifactError)
        return explorer
    except ArtifactError:
        raise
    except (OSError, ValueError, KeyError) as exc:  # unreadable parquet / npy
        raise ArtifactError(f"cannot read the artifacts in {settings.artifacts}: {exc}") from exc


# what damaged artifacts raise while the app is assembled (anything else is a bug: a traceback)
START_ERRORS = (ArtifactError, OSError, ValueError, KeyError, IndexError, TypeError)


def start_error(exc: BaseException) -> str:
    """One line for ``cannot start: ...``."""
    text = (str(exc) if isinstance(exc, ArtifactError | SearchParamsError)
            else f"damaged artifacts ({type(exc).__name__}: {exc})")
    return " ".join(text.split())[:500]


DAMAGED_PAGE = ("Cette page est indisponible\u202f: une partie de ses données est endommagée. Le reste de "
                "l'explorateur fonctionne\u202f; l'administrateur du site doit régénérer les données.")


def page_usable(name: str, check) -> bool:
    """Runs ``check()`` (which reads what an optional page needs); False, with one warning line,
    when a damaged file makes it fail: the page then says so and the app still starts."""
    try:
        check()
    except Exception as exc:  # a damaged parquet/npy/json can raise anything
        log.warning("page %s disabled, its files are damaged: %s: %s", name, type(exc).__name__,
                    str(exc)[:200])
        return False
    return True


def check_topics(explorer) -> None:
    svc = explorer.topics
    svc.default.check()  # map colours, word cloud
    for k in svc.ks():
        svc.topics(k), svc.dominant(k), svc.terms(k), svc.shared_terms(k)
    if svc.has_clusters:
        svc.clusters()


def check_producers(explorer) -> None:
    explorer.producers.options(limit=30)


def check_territories(explorer) -> None:
    t = explorer.territories
    if t.available:
        t.evaluation(), t.options(None, limit=20), t.map_data("departement"), t.map_data("region")


def without_topics(explorer) -> None:
    """The map and its word cloud without LDA topics (their files are damaged)."""
    explorer.topics.default.switch_off()


def damaged_page():
    import dash_bootstrap_components as dbc

    return dbc.Alert(DAMAGED_PAGE, color="warning", className="m-3")


def create_app(settings: AppSettings, explorer=None, *, warm: bool = True) -> dash.Dash:
    """Build the Dash app over ``explorer`` (loaded from ``settings.artifacts`` if None). An
    optional page whose files are damaged (topics, producers, territories) shows a notice
    instead, its callbacks are not registered, and the rest of the app serves. ``warm=False``:
    the caller runs :func:`warm_app` (``python app.py`` does, in a thread, once serving)."""
    if explorer is None:
        explorer = load_explorer(settings)
    modes = available_modes(explorer)
    services = Services(explorer=explorer, settings=settings, modes=modes, default_mode=default_mode(modes))
    ok = {"themes": page_usable("themes", lambda: check_topics(explorer)),
          "producteurs": page_usable("producteurs", lambda: check_producers(explorer)),
          "territoires": page_usable("territoires", lambda: check_territories(explorer))}
    if not ok["themes"]:
        without_topics(explorer)
    skip = {callbacks.topics: not ok["themes"], callbacks.producers: not ok["producteurs"],
            callbacks.territories: not ok["territoires"]}

    # computed once per process: the map figure, the topic list and the first word cloud
    default_topics = explorer.topics.default
    topics = default_topics.table
    has_topics = default_topics.available and len(topics) > 0
    map_figure = visualize_map(explorer.records.coords, default_topics.dominant if has_topics else None,
                               topics["label"].tolist(), topics["prevalence"].tolist())
    by_prevalence = topics.sort_values("prevalence", ascending=False, kind="stable")
    topic_options = [{"label": f"{int(t) + 1}. {label}", "value": int(t)}
                     for t, label in zip(by_prevalence["topic"], by_prevalence["label"], strict=True)]
    first_topic = topic_options[0]["value"] if topic_options else None
    lda_models = explorer.topics.summary.get("models", []) if ok["themes"] else []
    clusters = clusters_list(explorer) if ok["themes"] else []  # « Où sont ces données ? » of a cluster

    relevance = labelled_files(getattr(settings, "relevance_dir", None))
    app = dash.Dash(__name__, title=APP_TITLE, assets_folder=str(ASSETS), update_title=None,
                    serve_locally=True)
    http_guard.install(app)  # body size and JSON depth limits, security headers
    api.install(app.server, explorer, modes=modes)  # /api/v1 (models/api), its own limits
    pages = [
        ("carte", PAGES["carte"], build_explorer_page(
            map_figure=map_figure, cloud_figure=topic_cloud(services, first_topic), modes=modes,
            default_mode=services.default_mode, topic_options=topic_options, default_topic=first_topic,
            max_query_chars=explorer.max_query_chars,
            colour_options=map_colour_options(lda_models, explorer.topics.n_clusters if ok["themes"] else 0,
                                              freshness=True),
            colour_value=default_colour(lda_models),
            map_labels=explorer.map_labels, year_bounds=year_bounds(explorer.datasets),
            catalogue_facets=catalogue_facets(explorer), clusters=clusters)),
        ("demander", PAGES["demander"], build_ask_page(max_query_chars=explorer.max_query_chars,
                                                       available="hybrid" in modes)),
        ("themes", PAGES["themes"], build_topics_page(
            models=lda_models, default_k=explorer.topics.default_k,
            has_clusters=explorer.topics.has_clusters, clusters=clusters)
         if ok["themes"] else damaged_page()),
        ("producteurs", PAGES["producteurs"], build_producers_page(explorer.producers.options(limit=30),
                                                                   threshold=DUPLICATE_THRESHOLD)
         if ok["producteurs"] else damaged_page()),
        ("territoires", PAGES["territoires"], build_territories_page(
            available=explorer.territories.available, evaluation=explorer.territories.evaluation(),
            options=explorer.territories.options(None, limit=20), **territories_first_view(services))
         if ok["territoires"] else damaged_page()),
        ("comparer", PAGES["comparer"], build_compare_page(modes=modes,
                                                           max_query_chars=explorer.max_query_chars)),
        ("qualite", PAGES["qualite"], build_quality_page(
            files=relevance, default_file=default_file(relevance), modes=modes)),
    ]
    manifest = explorer.artifacts.manifest
    status = build_status_bar(manifest.get("build_id", ""), manifest.get("partial"),
                              manifest.get("created_at"), datetime.now(UTC), manifest.get("pending"))
    app.layout = html.Div([  # the tour's caption bar sits over every page
        build_layout(pages, subtitle=catalogue_subtitle(explorer.n, manifest), status=status),
        tour_overlay()])
    register_callbacks(app, services, skip=[m for m, off in skip.items() if off])
    app.explorer_services = services  # SwitchingServer tells it about a newer build it refused
    log.info("app ready: %d datasets, search modes %s, %d topics", explorer.n, modes, len(topics))
    if warm:
        warm_app(app)
    return app


class SwitchingServer:
    """The WSGI entry point: serves the Dash app of the build ``settings.artifacts`` points at and,
    when that is an artifacts root whose ``current`` moves to a new build (the whole catalogue
    after a first sample, a rebuild), builds a new Dash app for it in a background thread and
    switches to it without a restart. Requests in flight finish on the old app; open pages are
    told to reload (``callbacks.build_status``). A new build that cannot be loaded is logged and
    the old one stays served. Checks ``current`` at most every ``check_every`` seconds, on the
    requests' path (so it works in gunicorn workers too)."""

    def __init__(self, settings: AppSettings, app: dash.Dash, *, check_every: float = 10.0) -> None:
        self.settings = settings
        self.app = app
        self._wsgi = app.server.wsgi_app  # the app's own WSGI callable (before any wrapping)
        self.check_every = check_every
        self.build_dir = self.current_target()
        self._next_check = time.monotonic() + check_every
        self._lock = threading.Lock()
        self._loading: threading.Thread | None = None
        self._failed: Path | None = None

    def current_target(self) -> Path | None:
        """The build folder ``current`` points at now (None: a fixed build folder, or none yet)."""
        link = Path(self.settings.artifacts) / "current"
        try:
            return link.resolve(strict=True) if (link / "manifest.json").is_file() else None
        except OSError:
            return None

    def maybe_switch(self) -> None:
        now = time.monotonic()
        if now < self._next_check or self._loading is not None:
            return
        with self._lock:
            if now < self._next_check or self._loading is not None:
                return
            self._next_check = now + self.check_every
            target = self.current_target()
            if target is None or target == self.build_dir or target == self._failed:
                return
            self._loading = threading.Thread(target=self._switch, args=(target,), daemon=True,
                                             name="build-switch")
            self._loading.start()

    def _switch(self, target: Path) -> None:
        try:
            log.info("new build %s: loading it to replace %s", target.name,
                     self.build_dir.name if self.build_dir else "?")
            t0 = time.perf_counter()
            new_app = create_app(replace(self.settings, artifacts=target))
            after_start(self.settings)
            self.app, self._wsgi, self.build_dir = new_app, new_app.server.wsgi_app, target
            release_memory()  # the old build's objects, frozen with it, are collected now
            log.info("now serving build %s (switched in %.1f s, no restart)", target.name,
                     time.perf_counter() - t0)
        except Exception:  # a damaged new build must not take the served one down
            log.exception("build %s cannot be served; still serving %s", target,
                          self.build_dir.name if self.build_dir else "?")
            self._failed = target
            services = getattr(self.app, "explorer_services", None)
            if services is not None:  # the banner of open pages says so (callbacks.build_status)
                services.rejected_build = target.name
        finally:
            self._loading = None

    def wait_switch(self, timeout: float = 300.0) -> None:
        """Tests: check now and wait for a switch in progress."""
        self._next_check = 0.0
        self.maybe_switch()
        thread = self._loading
        if thread is not None:
            thread.join(timeout)

    def __call__(self, environ, start_response):
        self.maybe_switch()
        return self._wsgi(environ, start_response)

    @classmethod
    def install(cls, settings: AppSettings, app: dash.Dash, **kw) -> SwitchingServer:
        """Put the switch in front of ``app``'s Flask server (``app.server.wsgi_app``), so that
        ``app.run`` and gunicorn serve whichever build is current."""
        switch = cls(settings, app, **kw)
        app.server.wsgi_app = switch
        return switch


def warm_requests(app: dash.Dash, threads: int = WSGI_THREADS, wait_s: float = WSGI_WAIT_S) -> WarmWSGI:
    """For ``python app.py``: the callback and API requests computed on a few persistent threads
    (:class:`models.serve.warm_threads.WarmWSGI`, in front of whatever ``app.server.wsgi_app`` is).
    werkzeug starts a thread per connection, and a new thread's search costs ~4–7 ms more;
    concurrent requests take the cores in turn; one that waits more than ``wait_s`` for a warm
    thread runs on its own, as before. gunicorn's gthread workers already keep their threads."""
    warm = WarmWSGI(app.server.wsgi_app, WarmPool(threads, "requests", wait_s),
                    max_body=max(http_guard.MAX_BODY_BYTES, api_limits.MAX_BODY_BYTES))
    app.server.wsgi_app = warm
    return warm


def limit_threads(n: int) -> None:
    """At most ``n`` numeric threads per process (numpy's BLAS, torch). A search runs in its
    request's thread, so concurrent requests (and gunicorn workers) already use the cores: BLAS
    threads on top of them only fight for the cores (``python -m models bench``: p95 ×2 to ×6
    worse on 2 busy cores). Called before and after ``create_app`` (torch is imported with the
    encoder). ``n <= 0``: the libraries' defaults."""
    if n <= 0:
        return
    os.environ.setdefault("OMP_NUM_THREADS", str(n))  # read when torch loads OpenMP
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(n)  # the BLAS and OpenMP libraries already loaded, for good
    except ImportError:  # comes with scikit-learn; without it only torch is limited
        pass
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(n)


def release_memory() -> None:
    """Give back what loading left unused (freed heap, pyarrow's pool). With :func:`prepare_process`
    ~60 MB less resident memory on the full catalogue (``python -m models bench``).

    Then the ~450,000 objects of the loaded build go to the collector's permanent generation
    (``gc.freeze``): a full collection no longer walks them. Without it one search in a few
    dozen paid a ~200 ms pause (a full collection, measured on the full catalogue), and
    gunicorn's forked workers stop touching the shared pages of those objects. Called again
    after a build switch: unfrozen first, so the old build's reference cycles are collected."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    gc.enable()  # off while loading (prepare_process)
    try:
        import pyarrow

        pyarrow.default_memory_pool().release_unused()
    except ImportError:
        pass
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass


def prepare_process(settings: AppSettings) -> None:
    """Before loading: numeric threads (:func:`limit_threads`), parquet reads through the system
    allocator, whose freed memory :func:`release_memory` can return (pyarrow's default pool keeps
    the peak of every read), fewer malloc arenas, and no cyclic garbage collection until
    :func:`release_memory`: loading makes ~450,000 long-lived objects, and the collections they
    trigger cost ~40 % of building the gazetteer alone."""
    gc.disable()
    limit_threads(settings.threads)
    try:
        import pyarrow

        pyarrow.set_memory_pool(pyarrow.system_memory_pool())
    except ImportError:
        pass
    try:  # glibc: at most 2 malloc arenas, not 8 per core for the request threads (~30 MB less)
        import ctypes

        ctypes.CDLL("libc.so.6").mallopt(-8, 2)  # M_ARENA_MAX
    except (OSError, AttributeError):
        pass


def after_start(settings: AppSettings) -> None:
    """Once the app is built: threads again (torch came with the encoder), unused memory back."""
    limit_threads(settings.threads)
    release_memory()


def warm_in_background(app: dash.Dash, settings: AppSettings) -> threading.Thread:
    """:func:`warm_app` then :func:`after_start` in a thread: the page is served meanwhile (the
    map needs none of it), and a first search waits only for the pieces it needs."""

    def run() -> None:
        try:
            warm_app(app)
        except Exception:  # a bug in the warm-up: searches then build what they need themselves
            log.exception("warm-up failed")
        finally:
            after_start(settings)  # the collector on again, whatever happened

    thread = threading.Thread(target=run, name="warm-up", daemon=True)
    thread.start()
    return thread


def setup_logging() -> None:
    """INFO and above on stderr (under gunicorn too), unless the host already set logging up."""
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def server_from_env():
    """The Flask server for gunicorn, from ``EXPLORER_*`` environment variables."""
    setup_logging()
    settings = AppSettings()
    prepare_process(settings)
    try:
        dash_app = create_app(settings)
        SwitchingServer.install(settings, dash_app)
        after_start(settings)
        return dash_app.server
    except START_ERRORS as exc:
        gc.enable()  # off since prepare_process
        log.error("cannot start: %s", start_error(exc))
        # --preload (the documented way): the master loads the app and exits 2 like app.py; in a
        # worker, gunicorn's APP_LOAD_ERROR (4) stops the master instead of a reboot loop
        raise SystemExit(4 if _in_gunicorn_worker() else 2) from None


def _in_gunicorn_worker() -> bool:
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_name == "load_wsgi" and "gunicorn" in frame.f_code.co_filename:
            return True
        frame = frame.f_back
    return False


_server = None


def __getattr__(name: str):  # ``app.server``, created on first access only
    global _server
    if name == "server":
        if not os.environ.get("EXPLORER_ARTIFACTS"):
            raise AttributeError("app.server needs EXPLORER_ARTIFACTS set (or use server_from_env())")
        if _server is None:
            _server = server_from_env()
        return _server
    raise AttributeError(name)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    defaults = AppSettings()
    p = argparse.ArgumentParser(prog="python app.py", description=f"{APP_TITLE} (Dash)")
    p.add_argument("--artifacts", default=str(defaults.artifacts), metavar="DIR",
                   help="artifacts root or build folder (default: %(default)s)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: %(default)s)")
    p.add_argument("--port", type=int, default=defaults.port, help="port (default: %(default)s)")
    p.add_argument("--debug", action="store_true", help="Dash debug mode (never in production)")
    p.add_argument("--model", default=None,
                   help="query encoder (default: the build's; another model than the build's is refused)")
    p.add_argument("--query-encoder", choices=("build", "onnx"), default=defaults.query_encoder,
                   help="queries encoded by the build's model, or by the int8 ONNX twin of the torch "
                        "e5 model (no torch in the app) (default: %(default)s)")
    p.add_argument("--models-dir", default=None, metavar="DIR",
                   help="offline model folders (default: the artifacts root's models/)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    setup_logging()
    if not args.debug:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
    settings = AppSettings(artifacts=Path(args.artifacts), host=args.host, port=args.port, debug=args.debug,
                           model=args.model, models_dir=Path(args.models_dir) if args.models_dir else None,
                           query_encoder=args.query_encoder)
    prepare_process(settings)
    try:
        app = create_app(settings, warm=False)
    except START_ERRORS as exc:
        gc.enable()  # off since prepare_process (main may run inside a longer process: tests)
        log.error("cannot start: %s", start_error(exc))
        return 2
    limit_threads(settings.threads)
    log.info("serving on http://%s:%d/", settings.host, settings.port)
    SwitchingServer.install(settings, app)
    warm_requests(app)
    warm_in_background(app, settings)
    app.run(host=settings.host, port=settings.port, debug=settings.debug,
            request_handler=http_guard.request_handler())
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The one validation layer at the callback boundary.

Whatever a browser (or anyone with ``curl``) posts to ``/_dash-update-component`` reaches the
callbacks as plain JSON of any shape: the coercers below turn a value into the type and range
a callback expects, or into ``None`` / an empty value, never an exception. Callbacks call them
first and answer their documented empty state (or ``no_update``) on ``None``.

:class:`GuardedApp` wraps the Dash app given to every page's ``register``: each callback is
registered through it, so a bug that still raises on some input answers ``no_update`` (HTTP 204)
with ONE warning line (marked ``guard_rescue``, counted in :data:`RESCUES`; the fuzz tests
forbid any) instead of an HTTP 500 and a traceback. It also caps the number of matches of a
pattern-matching input.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import math
import threading
from collections import Counter
from collections.abc import Callable, Collection

from dash.exceptions import PreventUpdate

from components import labels as texts

log = logging.getLogger(__name__)

MAX_TEXT_CHARS = 2_000  # any free text that is not a search query (already capped by clean_query)
MAX_SEARCH_VALUE_CHARS = 200  # what a dropdown's typed search may hold
MAX_ID_CHARS = 200  # producer ids, territory values, file names
MAX_LIST_ITEMS = 20_000  # rows of a highlight, points of a selection
MAX_PATTERN_ITEMS = 5_000  # matches of one pattern-matching input (items on a page)
RESCUES: Counter = Counter()  # callback name -> errors only the last-resort net caught (tests: none)
BUSY = texts.BUSY  # said when a heavy callback finds no free slot


# ---- pure coercers (no Dash): a value from the client -> a checked value or None --------------

def as_int(value, lo: int | None = None, hi: int | None = None) -> int | None:
    """An integral number (``3`` or ``3.0``, not ``True``, ``"3"``, NaN or ∞) within ``[lo, hi]``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float):
        if not math.isfinite(value) or value != int(value):
            return None
        value = int(value)
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        return None
    return value


def as_row(value, n: int) -> int | None:
    """A row id of a build of ``n`` datasets."""
    return as_int(value, 0, n - 1)


def as_float(value, lo: float, hi: float, default: float | None = None) -> float | None:
    """A finite number clamped into ``[lo, hi]`` (``default`` for anything else)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return default
    value = float(value)
    if not math.isfinite(value):
        return default
    return min(hi, max(lo, value))


def as_text(value, max_chars: int = MAX_TEXT_CHARS) -> str:
    """A string cut at ``max_chars`` (``""`` for anything that is not a string)."""
    return value[:max_chars] if isinstance(value, str) else ""


def as_key(value, max_chars: int = MAX_ID_CHARS) -> str | None:
    """A short non-empty string used as a key (producer id, territory, file name), else None."""
    return value if isinstance(value, str) and 0 < len(value) <= max_chars else None


def as_choice(value, allowed: Collection, default=None):
    """``value`` if it is one of ``allowed`` (strings or ints), else ``default``."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return default
    return value if value in allowed else default


def as_dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def as_list(value, max_items: int = MAX_LIST_ITEMS) -> list:
    return value[:max_items] if isinstance(value, list) else []


def as_rows(values, n: int, max_items: int = MAX_LIST_ITEMS) -> list[int]:
    """The valid row ids of a list (others dropped), at most ``max_items`` looked at."""
    out = []
    for v in as_list(values, max_items):
        r = as_row(v, n)
        if r is not None:
            out.append(r)
    return out


def selected_rows(store, n: int, max_items: int = MAX_LIST_ITEMS) -> list[int]:
    """The distinct valid rows of a ``{"rows": [...]}`` store written by the browser (a lasso)."""
    return list(dict.fromkeys(as_rows(as_dict(store).get("rows"), n, max_items)))


def as_choices(values, allowed: Collection, max_items: int = 50) -> list:
    """The allowed items of a list input (checklist values)."""
    return [v for v in as_list(values, max_items) if as_choice(v, allowed) is not None]


def first_point(event) -> dict:
    """The first point of a plotly ``clickData`` / ``hoverData`` (``{}`` when malformed)."""
    points = as_dict(event).get("points")
    return as_dict(points[0]) if isinstance(points, list) and points else {}


def pattern_keys(items, key: str = "key") -> list:
    """The ``key`` of each item of a pattern-matching input (``ctx.inputs_list[i]``), None for
    a malformed item."""
    items = items if isinstance(items, list) else []
    return [i["id"].get(key) if isinstance(i, dict) and isinstance(i.get("id"), dict) else None
            for i in items]


def clicked_pattern(triggered_id, triggered: list | None) -> dict | None:
    """The pattern id of a clicked item (``ctx.triggered_id``), or None when nothing was clicked
    (a list re-rendered: ``n_clicks`` 0/None) or the trigger is not a pattern id."""
    if not isinstance(triggered_id, dict) or not triggered:
        return None
    first = triggered[0] if isinstance(triggered[0], dict) else {}
    return triggered_id if first.get("value") else None


# ---- bounded work: a few heavy callbacks at a time per process --------------------------------

class Gate:
    """At most ``slots`` holders at once; a caller waits ``wait_s`` at most, then is told
    the server is busy (``with gate.slot() as ok: if not ok: return ...guard.BUSY...``)."""

    def __init__(self, slots: int, wait_s: float = 1.0) -> None:
        self._sem = threading.BoundedSemaphore(slots)
        self.slots = slots
        self.wait_s = wait_s

    @contextlib.contextmanager
    def slot(self):
        ok = self._sem.acquire(timeout=self.wait_s)
        try:
            yield ok
        finally:
            if ok:
                self._sem.release()


# One gate for every heavy callback of a process (an MDS of the Thèmes page or of a map
# selection: ~130 MB and a few seconds each at 3,000 points; the map image: a headless browser):
# at most two run at once, a third caller waits a second and is told the server is busy.
HEAVY = Gate(slots=2)


# ---- the app proxy: every callback registered through it gets the safety net ---------------

def _safe(func: Callable, name: str) -> Callable:
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except PreventUpdate:
            raise
        except Exception as exc:  # the last line of defence, not the validation (see module doc)
            RESCUES[name] += 1
            log.warning("callback %s: unexpected input refused (%s: %s)", name, type(exc).__name__,
                        str(exc)[:200], extra={"guard_rescue": True})
            raise PreventUpdate from None

    return wrapper


def _cap_pattern_lists(args: tuple) -> tuple:
    """Pattern-matching inputs arrive as lists (one value per matching item): capped."""
    return tuple(a[:MAX_PATTERN_ITEMS] if isinstance(a, list) else a for a in args)


class GuardedApp:
    """``app.callback`` with the safety net; every other attribute is the Dash app's."""

    def __init__(self, app) -> None:
        self._app = app

    def callback(self, *args, **kwargs):
        register = self._app.callback(*args, **kwargs)

        def decorator(func):
            safe = _safe(func, getattr(func, "__qualname__", "callback"))

            @functools.wraps(func)
            def capped(*a, **kw):
                return safe(*_cap_pattern_lists(a), **kw)

            return register(capped)

        return decorator

    def __getattr__(self, name: str):
        return getattr(self._app, name)

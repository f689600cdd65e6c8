"""The search state of the map page (the ``SEARCH_STATE`` store): query, mode, filters, sort,
removed chips, number of results shown; built, checked and edited by pure functions.

A state is a plain dict ``{"q", "mode", "filters", "sort", "ignore", "k"}``, or None when
nothing is searched nor filtered. The browser keeps it and may send anything back: every
function here takes what it is given as untrusted and returns a checked state. What changes it:

========================  =============================================================
action                    edit
========================  =============================================================
``more``                  « 10 de plus »: ``k`` + :data:`STEP_K` (at most :data:`MAX_K`)
``clear``                 « Retirer tous les filtres »: no filter, first ``k``
``slot``                  a chip of what the query was understood to name: ignored
``filter``                a filter chip: that filter removed
``facets``                a checkbox of the filter panel: the filters as checked
========================  =============================================================
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from components.search_results import FACET_ORDER, MAX_K, SORT_OPTIONS, STEP_K

FILTER_KEYS = FACET_ORDER  # the keys of models.serve.filters.FILTER_KEYS (tests/test_search_state.py)
SORTS = tuple(o["value"] for o in SORT_OPTIONS)
DEFAULT_K = 20  # results first shown (AppSettings.n_results), then « 10 de plus » up to MAX_K
RANGE_KEYS = ("year", "modified")
MAX_FILTER_CHARS = 600
MAX_IGNORED = 10
MAX_SLOT_CHARS = 80
ACTIONS = ("more", "clear", "slot", "filter", "facets")


def first_k(n_results) -> int:
    """The number of results a new search shows (the setting, within 1 … :data:`MAX_K`).

    >>> first_k(20), first_k(500), first_k(None)
    (20, 100, 20)
    """
    return max(1, min(MAX_K, int(n_results or DEFAULT_K)))


def make_state(q, mode, filters, sort, ignore, k) -> dict | None:
    """A search state, or None when there is nothing to show (no query, no filter).

    >>> s = make_state("eau", "hybrid", {"format": "csv", "x": "1"}, "odd", ["a"], 500)
    >>> s["filters"], s["sort"], s["ignore"], s["k"]
    ({'format': 'csv'}, 'relevance', ['a'], 20)
    >>> make_state("", "hybrid", {}, "recent", [], 20) is None
    True
    """
    filters = {str(key): str(v)[:MAX_FILTER_CHARS] for key, v in (filters or {}).items()
               if key in FILTER_KEYS and v not in (None, "")}
    if not q and not filters:
        return None
    ignore = [str(x)[:MAX_SLOT_CHARS] for x in (ignore or []) if isinstance(x, str)][:MAX_IGNORED]
    return {"q": q or "", "mode": mode, "filters": filters,
            "sort": sort if isinstance(sort, str) and sort in SORTS else "relevance",
            "ignore": ignore if q else [],
            "k": k if isinstance(k, int) and not isinstance(k, bool) and 1 <= k <= MAX_K else DEFAULT_K}


def read_state(state, *, clean: Callable[[str], str], modes: Sequence[str], default_mode: str | None,
               k: int) -> dict | None:
    """A state posted by the browser, checked: query cleaned by ``clean`` (the search's own
    cleaning and cap), known mode (else ``default_mode``), filter values as short strings
    (validated against the build by the search), known sort; ``k`` when it has none.

    >>> read_state({"q": " eau ", "mode": "x", "filters": {"year": 3}}, clean=str.strip,
    ...            modes=["hybrid"], default_mode="hybrid", k=20)["mode"]
    'hybrid'
    >>> read_state("nope", clean=str.strip, modes=[], default_mode=None, k=20) is None
    True
    """
    if not isinstance(state, dict):
        return None
    q = clean(state["q"] if isinstance(state.get("q"), str) else "")
    mode = state.get("mode") if state.get("mode") in modes else default_mode
    filters = state.get("filters") if isinstance(state.get("filters"), dict) else {}
    filters = {key: v for key, v in filters.items() if isinstance(v, str)}
    ignore = state.get("ignore") if isinstance(state.get("ignore"), list) else []
    return make_state(q, mode, filters, state.get("sort"), ignore, state.get("k", k))


def _year(value) -> int | None:
    """A checkbox's year: an int, or four ASCII digits (not « ²⁰²⁰ », not 5,000 digits)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value if abs(value) <= 9999 else None
    s = str(value).strip()
    return int(s) if s.isascii() and s.isdigit() and len(s) <= 4 else None


def facet_filter_value(key: str, vals: list) -> str | None:
    """The filter parameter of checked facet values (None: no filter on ``key``): years become
    a range « 2015-2020 », « a des réutilisations » a flag, others values joined by « | ».

    >>> facet_filter_value("year", [2020, "2015", "x"]), facet_filter_value("format", ["csv", "json"])
    ('2015-2020', 'csv|json')
    """
    if not vals:
        return None
    if key in RANGE_KEYS:
        ys = [y for y in (_year(v) for v in vals) if y is not None and y >= 1000]
        return f"{min(ys)}-{max(ys)}" if ys else None
    if key == "has_reuses":
        return "1"
    return "|".join(str(v) for v in vals)[:MAX_FILTER_CHARS]


def checked_values(key: str, active, options: list) -> list:
    """The checkboxes of ``key`` that the panel draws checked for an active filter value.

    >>> checked_values("year", (2015, 2016), [2014, 2015, 2016]), checked_values("format", None, ["csv"])
    ([2015, 2016], [])
    """
    if active is None:
        return []
    if key in RANGE_KEYS:
        return [v for v in options if isinstance(v, int) and active[0] <= v <= active[1]]
    if key == "has_reuses":
        return [v for v in options if v == "1"]
    return [v for v in options if v in active]


def _checkable(vals) -> list:
    return [v for v in (vals or []) if isinstance(v, str | int) and not isinstance(v, bool)]


def facet_filters(filters: dict, facets: list[tuple], active: dict) -> dict:
    """The filters once the panel's checkboxes are read: ``facets`` is ``[(key, values checked,
    options)]``; a key whose checkboxes are as drawn for ``active`` (the filters the search
    understood, :meth:`Explorer.clean_filters`) keeps its filter.

    >>> facet_filters({"format": "csv"}, [("year", [2020], [{"value": 2020}])], {"format": ["csv"]})
    {'format': 'csv', 'year': '2020-2020'}
    """
    out = dict(filters)
    for key, vals, opts in facets:
        if key not in FILTER_KEYS or not isinstance(vals, list | type(None)):
            continue
        vals = _checkable(vals)
        opt_values = [o.get("value") for o in (opts or []) if isinstance(o, dict)]
        if set(map(str, vals)) == set(map(str, checked_values(key, active.get(key), opt_values))):
            continue  # as drawn: nothing changed for this key
        out[key] = facet_filter_value(key, vals)
    return {key: v for key, v in out.items() if v}


def edit_state(cur: dict, action: str, *, key=None, facets: list[tuple] = (), active: dict | None = None,
               k: int = DEFAULT_K) -> dict | None:
    """The state after ``action`` (module table) on the checked state ``cur`` (``cur`` itself for
    an unknown action; None: nothing left to show). ``key``: the chip's key; ``facets``,
    ``active``: see :func:`facet_filters`; ``k``: the number of results a new search shows.

    >>> cur = make_state("eau", "hybrid", {"format": "csv"}, "relevance", [], 20)
    >>> edit_state(cur, "more")["k"], edit_state(cur, "filter", key="format")["filters"]
    (30, {})
    >>> edit_state(cur, "slot", key="period:2020")["ignore"], edit_state(cur, "clear", k=20)["filters"]
    (['period:2020'], {})
    """
    new = dict(cur)
    if action == "more":
        new["k"] = min(MAX_K, cur["k"] + STEP_K)
    elif action == "clear":
        new["filters"], new["k"] = {}, k
    elif action == "slot":
        new["ignore"], new["k"] = sorted({*cur["ignore"], str(key)[:MAX_SLOT_CHARS]})[:MAX_IGNORED], k
    elif action == "filter":
        new["filters"], new["k"] = {f: v for f, v in cur["filters"].items() if f != key}, k
    elif action == "facets":
        new["filters"], new["k"] = facet_filters(cur["filters"], list(facets), active or {}), k
    else:
        return cur
    return make_state(new["q"], new["mode"], new["filters"], new["sort"], new["ignore"], new["k"])


def browse_filters(facets: list[tuple]) -> dict:
    """The filters of the whole catalogue's panel (the « Filtres » tab before any search):
    ``facets`` is ``[(key, values checked)]``.

    >>> browse_filters([("format", ["csv", True]), ("nope", ["x"]), ("year", "2020")])
    {'format': 'csv'}
    """
    out = {}
    for key, vals in facets:
        if key in FILTER_KEYS and isinstance(vals, list):
            out[key] = facet_filter_value(key, _checkable(vals))
    return out


def submitted_state(cur: dict | None, q: str, mode, sort, k: int) -> dict | None:
    """The state after the search box, the mode or the sort changed (the filters kept; the
    removed chips and the number shown kept for the same query).

    >>> submitted_state({"q": "eau", "filters": {"format": "csv"}, "ignore": ["a"], "k": 30}, "eau",
    ...                 "hybrid", "recent", 20)["k"]
    30
    """
    cur = cur or {}
    same_q = q == cur.get("q")
    return make_state(q, mode, cur.get("filters", {}), sort, cur.get("ignore", []) if same_q else [],
                      cur.get("k", k) if same_q else k)

"""Callbacks of the guided tour (components/tour.py).

Data flow::

    « Visite de l'étude » / « Ma visite » / ◀ ▶ ✕ (and the keys, assets/40-tour.js) ──> TOUR_ACTIVE
    TOUR_ACTIVE ──> caption bar, page (TABS), search (SEARCH_STATE), comparison, TOUR_VIEW
    TOUR_VIEW ──(browser)──> the map's zoom, full screen
    « Ajouter cette vue » ──(browser: the map's zoom)──> TOUR_CAPTURE ──> TOUR_MINE (local store)
    « Télécharger (JSON) » ──> download;  « Charger une visite » ──> validated ──> TOUR_MINE
"""

from __future__ import annotations

import base64
import binascii
import json

from dash import ClientsideFunction, Input, Output, State, ctx, dcc, no_update

from callbacks.common import Wiring
from components import compare_page as cp
from components import ids
from components import tour as T
from components.labels import clean_text
from models.core.jsonsafe import json_depth

wiring = Wiring()
CLOSED_CLASS, OPEN_CLASS = "tour-overlay d-none", "tour-overlay"


def register(app, services) -> None:
    wiring.register(app, services)


def parse_tour_file(contents: str | None) -> list[dict]:
    """A dcc.Upload ``contents`` (data URL, base64) -> steps; TourError (French) if unusable.
    Here, not in components/tour.py: its nesting guard is models.core.jsonsafe (the layers of
    docs/ARCHITECTURE.md keep components free of models)."""
    if not isinstance(contents, str) or "," not in contents:
        raise T.TourError(T.NO_FILE)
    raw = contents.split(",", 1)[1]
    if len(raw) > T.MAX_FILE_BYTES * 4 // 3 + 4:
        raise T.TourError(T.TOO_BIG)
    try:
        data = base64.b64decode(raw, validate=True)
        if json_depth(data) > T.MAX_DEPTH:  # the decoder recurses: 30,000 « [ » are a RecursionError
            raise T.TourError(T.TOO_DEEP)
        obj = json.loads(data.decode("utf-8"))
    except (binascii.Error, UnicodeDecodeError):
        raise T.TourError(T.NOT_TEXT) from None
    except json.JSONDecodeError as exc:
        raise T.TourError(T.unreadable_json(exc.lineno, exc.colno)) from None
    return T.validate_tour(obj)


def _steps(value) -> list[dict]:
    try:
        return T.validate_tour(value) if value else []
    except T.TourError:
        return []


def _position(active) -> tuple[list[dict], int]:
    """(steps, index) of the TOUR_ACTIVE store, checked."""
    steps = _steps(active["steps"])
    return steps, active.get("i") if isinstance(active.get("i"), int) else 0


@wiring.callback(Output(ids.TOUR_ACTIVE, "data"), Output(ids.TOUR_MESSAGE, "children"),
                 Input(ids.TOUR_START_DEFAULT, "n_clicks"), Input(ids.TOUR_START_MINE, "n_clicks"),
                 Input(ids.TOUR_PREV, "n_clicks"), Input(ids.TOUR_NEXT, "n_clicks"),
                 Input(ids.TOUR_CLOSE, "n_clicks"), State(ids.TOUR_ACTIVE, "data"),
                 State(ids.TOUR_MINE, "data"), prevent_initial_call=True)
def navigate(services, _d, _m, _p, _n, _c, active, mine):
    trigger = ctx.triggered_id
    if not ctx.triggered or not ctx.triggered[0]["value"]:
        return no_update, no_update
    if trigger == ids.TOUR_START_DEFAULT:
        return {"steps": T.DEFAULT_TOUR, "i": 0}, ""
    if trigger == ids.TOUR_START_MINE:
        steps = _steps(mine)
        return ({"steps": steps, "i": 0}, "") if steps else (no_update, T.EMPTY_MINE)
    if not isinstance(active, dict) or not active.get("steps"):
        return None, no_update
    steps, i = _position(active)
    if trigger == ids.TOUR_CLOSE or (trigger == ids.TOUR_NEXT and i >= len(steps) - 1):
        return None, ""
    i = max(0, min(len(steps) - 1, i + (1 if trigger == ids.TOUR_NEXT else -1)))
    return {"steps": steps, "i": i}, no_update


@wiring.callback(Output(ids.TOUR_OVERLAY, "className"), Output(ids.TOUR_STEP_COUNT, "children"),
                 Output(ids.TOUR_STEP_TITLE, "children"), Output(ids.TOUR_STEP_CAPTION, "children"),
                 Output(ids.TABS, "active_tab", allow_duplicate=True),
                 Output(ids.SEARCH_STATE, "data", allow_duplicate=True),
                 Output(ids.SEARCH_INPUT, "value", allow_duplicate=True),
                 Output(cp.INPUT, "value", allow_duplicate=True),
                 Output(cp.BUTTON, "n_clicks", allow_duplicate=True),
                 Output(ids.TOUR_VIEW, "data"),
                 Input(ids.TOUR_ACTIVE, "data"), State(cp.BUTTON, "n_clicks"), prevent_initial_call=True)
def show_step(services, active, compare_clicks):
    closed = (CLOSED_CLASS, "", "", "", *[no_update] * 5, {"active": False})
    if not isinstance(active, dict) or not active.get("steps"):
        return closed
    steps, i = _position(active)
    if not steps or not 0 <= i < len(steps):
        return closed
    step, max_chars = steps[i], services.explorer.max_query_chars
    page = step["page"]
    search = search_text = compare_text = compare_n = no_update
    if page == ids.MAP_PAGE:
        q = clean_text(step.get("query"), max_chars)
        mode = step.get("mode") if step.get("mode") in services.modes else services.default_mode
        search, search_text = ({"q": q, "mode": mode} if q and mode else None), q
    if page == ids.COMPARE_PAGE and step.get("compare"):
        compare_text, compare_n = clean_text(step["compare"], max_chars), (compare_clicks or 0) + 1
    view = {"active": True, "page": page, "view": step.get("view"), "i": i}
    return (OPEN_CLASS, T.step_count(i, len(steps), page), step["title"], step.get("caption", ""), page,
            search, search_text, compare_text, compare_n, view)


wiring.clientside(ClientsideFunction(namespace="tour", function_name="show"),
                  Output(ids.TOUR_SHOWN, "data"), Input(ids.TOUR_VIEW, "data"), prevent_initial_call=True)
wiring.clientside(ClientsideFunction(namespace="tour", function_name="capture"),
                  Output(ids.TOUR_CAPTURE, "data"), Input(ids.TOUR_ADD, "n_clicks"),
                  prevent_initial_call=True)


@wiring.callback(Output(ids.TOUR_MINE, "data"), Output(ids.TOUR_MESSAGE, "children", allow_duplicate=True),
                 Input(ids.TOUR_CAPTURE, "data"), State(ids.TABS, "active_tab"),
                 State(ids.SEARCH_STATE, "data"), State(ids.TOUR_TITLE, "value"),
                 State(ids.TOUR_MINE, "data"), prevent_initial_call=True)
def add_view(services, capture, tab, search, title, mine):
    if not isinstance(capture, dict):
        return no_update, no_update
    steps = _steps(mine)
    if len(steps) >= T.MAX_STEPS:
        return no_update, T.TOO_MANY
    search = search if isinstance(search, dict) else {}
    q = clean_text(search.get("q"), services.explorer.max_query_chars)
    step = T.new_step(title, q, len(steps), tab)
    if q:
        step.update(query=q, mode=search.get("mode") if isinstance(search.get("mode"), str) else None)
    if isinstance(capture.get("x"), list) and isinstance(capture.get("y"), list):
        step["view"] = {"x": capture["x"], "y": capture["y"]}
    try:
        steps.append(T.validate_step({k: v for k, v in step.items() if v is not None}, len(steps) + 1))
    except T.TourError as exc:
        return no_update, str(exc)
    return steps, T.view_added(len(steps))


@wiring.callback(Output(ids.TOUR_DOWNLOAD, "data"),
                 Output(ids.TOUR_MESSAGE, "children", allow_duplicate=True),
                 Input(ids.TOUR_DOWNLOAD_BUTTON, "n_clicks"), State(ids.TOUR_MINE, "data"),
                 prevent_initial_call=True)
def download(services, n_clicks, mine):
    steps = _steps(mine)
    if not n_clicks:
        return no_update, no_update
    if not steps:
        return no_update, T.NOTHING_TO_DOWNLOAD
    return dcc.send_string(T.tour_json(steps), T.DOWNLOAD_NAME, type="application/json"), ""


@wiring.callback(Output(ids.TOUR_MINE, "data", allow_duplicate=True),
                 Output(ids.TOUR_MESSAGE, "children", allow_duplicate=True),
                 Input(ids.TOUR_UPLOAD, "contents"), prevent_initial_call=True)
def upload(services, contents):
    try:
        steps = parse_tour_file(contents)
    except T.TourError as exc:
        return no_update, T.refused(exc)
    return steps, T.loaded(len(steps))

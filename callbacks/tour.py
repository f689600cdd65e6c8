"""Callbacks of the guided tour (components/tour.py).

Data flow::

    « Visite de l'étude » / « Ma visite » / ◀ ▶ ✕ (and the keys, assets/40-tour.js) ──> TOUR_ACTIVE
    TOUR_ACTIVE ──> caption bar, page (TABS), search (SEARCH_STATE), comparison, TOUR_VIEW
    TOUR_VIEW ──(browser)──> the map's zoom, full screen
    « Ajouter cette vue » ──(browser: the map's zoom)──> TOUR_CAPTURE ──> TOUR_MINE (local store)
    « Télécharger (JSON) » ──> download;  « Charger une visite » ──> validated ──> TOUR_MINE
"""

from __future__ import annotations

import base64
import binascii
import json

from dash import ClientsideFunction, Input, Output, State, ctx, dcc, no_update

from components import compare_page as cp
from components import ids
from components.labels import clean_text
from components.tour import (
    DEFAULT_TOUR,
    MAX_DEPTH,
    MAX_FILE_BYTES,
    MAX_STEPS,
    TourError,
    tour_json,
    validate_step,
    validate_tour,
)
from models.core.jsonsafe import json_depth


def parse_tour_file(contents: str | None) -> list[dict]:
    """A dcc.Upload ``contents`` (data URL, base64) -> steps; TourError (French) if unusable.
    Here, not in components/tour.py: its nesting guard is models.core.jsonsafe (the layers of
    docs/ARCHITECTURE.md keep components free of models)."""
    if not isinstance(contents, str) or "," not in contents:
        raise TourError("Aucun fichier reçu.")
    raw = contents.split(",", 1)[1]
    if len(raw) > MAX_FILE_BYTES * 4 // 3 + 4:
        raise TourError("Fichier trop gros pour une visite (200 ko au plus).")
    try:
        data = base64.b64decode(raw, validate=True)
        if json_depth(data) > MAX_DEPTH:  # the decoder recurses: 30,000 « [ » are a RecursionError
            raise TourError(f"Fichier trop imbriqué pour une visite ({MAX_DEPTH} niveaux au plus).")
        obj = json.loads(data.decode("utf-8"))
    except (binascii.Error, UnicodeDecodeError):
        raise TourError("Ce fichier n'est pas un texte JSON (UTF-8).") from None
    except json.JSONDecodeError as exc:
        raise TourError(f"JSON illisible (ligne {exc.lineno}, colonne {exc.colno}).") from None
    return validate_tour(obj)



PAGE_NAMES = {"carte": "Carte", "themes": "Thèmes", "producteurs": "Producteurs",
              "territoires": "Territoires", "comparer": "Comparer", "qualite": "Qualité de la recherche"}


def _steps(value) -> list[dict]:
    try:
        return validate_tour(value) if value else []
    except TourError:
        return []


def register(app, services) -> None:
    exp = services.explorer

    @app.callback(Output(ids.TOUR_ACTIVE, "data"), Output(ids.TOUR_MESSAGE, "children"),
                  Input(ids.TOUR_START_DEFAULT, "n_clicks"), Input(ids.TOUR_START_MINE, "n_clicks"),
                  Input(ids.TOUR_PREV, "n_clicks"), Input(ids.TOUR_NEXT, "n_clicks"),
                  Input(ids.TOUR_CLOSE, "n_clicks"), State(ids.TOUR_ACTIVE, "data"),
                  State(ids.TOUR_MINE, "data"), prevent_initial_call=True)
    def navigate(_d, _m, _p, _n, _c, active, mine):
        trigger = ctx.triggered_id
        if not ctx.triggered or not ctx.triggered[0]["value"]:
            return no_update, no_update
        if trigger == ids.TOUR_START_DEFAULT:
            return {"steps": DEFAULT_TOUR, "i": 0}, ""
        if trigger == ids.TOUR_START_MINE:
            steps = _steps(mine)
            if not steps:
                return no_update, "Votre visite est vide : ajoutez des vues ou chargez un fichier."
            return {"steps": steps, "i": 0}, ""
        if not isinstance(active, dict) or not active.get("steps"):
            return None, no_update
        steps = _steps(active["steps"])
        i = active.get("i") if isinstance(active.get("i"), int) else 0
        if trigger == ids.TOUR_CLOSE or (trigger == ids.TOUR_NEXT and i >= len(steps) - 1):
            return None, ""
        i = max(0, min(len(steps) - 1, i + (1 if trigger == ids.TOUR_NEXT else -1)))
        return {"steps": steps, "i": i}, no_update

    @app.callback(Output(ids.TOUR_OVERLAY, "className"), Output(ids.TOUR_STEP_COUNT, "children"),
                  Output(ids.TOUR_STEP_TITLE, "children"), Output(ids.TOUR_STEP_CAPTION, "children"),
                  Output(ids.TABS, "active_tab", allow_duplicate=True),
                  Output(ids.SEARCH_STATE, "data", allow_duplicate=True),
                  Output(ids.SEARCH_INPUT, "value", allow_duplicate=True),
                  Output(cp.INPUT, "value", allow_duplicate=True),
                  Output(cp.BUTTON, "n_clicks", allow_duplicate=True),
                  Output(ids.TOUR_VIEW, "data"),
                  Input(ids.TOUR_ACTIVE, "data"), State(cp.BUTTON, "n_clicks"), prevent_initial_call=True)
    def show_step(active, compare_clicks):
        closed = ("tour-overlay d-none", "", "", "", *[no_update] * 5, {"active": False})
        if not isinstance(active, dict) or not active.get("steps"):
            return closed
        steps = _steps(active["steps"])
        i = active.get("i") if isinstance(active.get("i"), int) else 0
        if not steps or not 0 <= i < len(steps):
            return closed
        step = steps[i]
        page = step["page"]
        count = f"Étape {i + 1} sur {len(steps)} · {PAGE_NAMES.get(page, page)}"
        search = search_text = compare_text = compare_n = no_update
        if page == "carte":
            q = clean_text(step.get("query"), exp.max_query_chars)
            mode = step.get("mode") if step.get("mode") in services.modes else services.default_mode
            search = {"q": q, "mode": mode} if q and mode else None
            search_text = q
        if page == "comparer" and step.get("compare"):
            compare_text = clean_text(step["compare"], exp.max_query_chars)
            compare_n = (compare_clicks or 0) + 1
        view = {"active": True, "page": page, "view": step.get("view"), "i": i}
        return ("tour-overlay", count, step["title"], step.get("caption", ""), page, search, search_text,
                compare_text, compare_n, view)

    app.clientside_callback(ClientsideFunction(namespace="tour", function_name="show"),
                            Output(ids.TOUR_SHOWN, "data"), Input(ids.TOUR_VIEW, "data"),
                            prevent_initial_call=True)
    app.clientside_callback(ClientsideFunction(namespace="tour", function_name="capture"),
                            Output(ids.TOUR_CAPTURE, "data"), Input(ids.TOUR_ADD, "n_clicks"),
                            prevent_initial_call=True)

    @app.callback(Output(ids.TOUR_MINE, "data"), Output(ids.TOUR_MESSAGE, "children", allow_duplicate=True),
                  Input(ids.TOUR_CAPTURE, "data"), State(ids.TABS, "active_tab"),
                  State(ids.SEARCH_STATE, "data"), State(ids.TOUR_TITLE, "value"),
                  State(ids.TOUR_MINE, "data"), prevent_initial_call=True)
    def add_view(capture, tab, search, title, mine):
        if not isinstance(capture, dict):
            return no_update, no_update
        steps = _steps(mine)
        if len(steps) >= MAX_STEPS:
            return no_update, f"Une visite compte au plus {MAX_STEPS} étapes."
        search = search if isinstance(search, dict) else {}
        q = clean_text(search.get("q"), exp.max_query_chars)
        step = {"title": clean_text(title, 120) or (f"« {q} »" if q else f"Vue {len(steps) + 1}"),
                "caption": f"Recherche « {q} »." if q else "",
                "page": tab if isinstance(tab, str) else "carte"}
        if q:
            step.update(query=q, mode=search.get("mode") if isinstance(search.get("mode"), str) else None)
        if isinstance(capture.get("x"), list) and isinstance(capture.get("y"), list):
            step["view"] = {"x": capture["x"], "y": capture["y"]}
        try:
            steps.append(validate_step({k: v for k, v in step.items() if v is not None}, len(steps) + 1))
        except TourError as exc:
            return no_update, str(exc)
        return steps, f"Vue ajoutée : votre visite compte {len(steps)} étape{'s' if len(steps) > 1 else ''}."

    @app.callback(Output(ids.TOUR_DOWNLOAD, "data"),
                  Output(ids.TOUR_MESSAGE, "children", allow_duplicate=True),
                  Input(ids.TOUR_DOWNLOAD_BUTTON, "n_clicks"), State(ids.TOUR_MINE, "data"),
                  prevent_initial_call=True)
    def download(n_clicks, mine):
        steps = _steps(mine)
        if not n_clicks:
            return no_update, no_update
        if not steps:
            return no_update, "Votre visite est vide : rien à télécharger."
        return dcc.send_string(tour_json(steps), "visite-catalogue.json", type="application/json"), ""

    @app.callback(Output(ids.TOUR_MINE, "data", allow_duplicate=True),
                  Output(ids.TOUR_MESSAGE, "children", allow_duplicate=True),
                  Input(ids.TOUR_UPLOAD, "contents"), prevent_initial_call=True)
    def upload(contents):
        try:
            steps = parse_tour_file(contents)
        except TourError as exc:
            return no_update, f"Visite refusée : {exc}"
        plural = "s" if len(steps) > 1 else ""
        return steps, f"Visite chargée : {len(steps)} étape{plural}. « Ma visite » la lance."

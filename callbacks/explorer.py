"""Callbacks of the "Carte" page: URL <-> state, search, highlight, selection, details, cloud.

Data flow (each arrow one callback)::

    URL ──> search box, mode, SEARCH_STATE, SELECTED   (on load, back/forward)
    button / Enter / mode ──> SEARCH_STATE
    SEARCH_STATE ──> results list, facets + MAP_HIGHLIGHT ──> Patch of the map's overlay trace
                 └─> MAP_FILTER (filter bitmask) ──(browser, assets/30-map-mask.js, with the
                     year filter of callbacks/map_tools.py)──> points outside the filters fade
    map click / result / similar ──> SELECTED ──> details + Patch of the map's star + cloud topic
    SEARCH_STATE, SELECTED ──> URL
"""

from __future__ import annotations

import base64
import logging

import dash_bootstrap_components as dbc
import numpy as np
from dash import ALL, ClientsideFunction, Input, Output, Patch, State, ctx, dcc, no_update

from callbacks import guard
from callbacks.urlstate import build_url_search, parse_url_search
from components import ids
from components.cloud import visualize_wordcloud
from components.details import details_panel, map_tooltip, placeholder
from components.figures import empty_figure
from components.labels import clean_text, mode_label, spelling_replaced, spelling_suggestion
from components.map import (
    HIGHLIGHT_TRACE,
    QUERY_TRACE,
    SELECTED_TRACE,
    highlight_trace,
    query_trace,
    read_highlight,
    row_from_point,
    selected_trace,
)
from components.search_results import (
    MAX_K,
    STEP_K,
    catalogue_filter_panel,
    chips,
    filter_panel,
    map_filter_note,
    no_result,
    nothing_fits_note,
    results_block,
)
from models.core.store import ArtifactError
from models.serve.cards import card
from models.serve.filters import FACET_DEPTH, FILTER_KEYS, ascii_int, params_to_raw
from models.serve.search import clean_query

log = logging.getLogger(__name__)

NO_SEARCH = "Saisissez une recherche pour lister les jeux de données les plus proches."
EMPTY_HIGHLIGHT = {"label": "", "rows": []}


# ---- plain-data helpers (services -> what the builders take) ------------------------
def hit_items(services, hits) -> list[dict]:
    return [{"row": h.row, **d} for h, d in zip(hits, services.explorer.hits_as_dicts(hits), strict=True)]


def topic_cloud(services, topic):
    label = services.explorer.topic_label(topic)
    if label is None:
        return empty_figure("Choisissez un thème pour afficher son nuage de mots.", height=374)
    return visualize_wordcloud(services.explorer.topic_terms(topic), f"Thème {int(topic) + 1}\u202f: {label}",
                               width=760, height=330)


DEFAULT_K = 20  # results first shown (AppSettings.n_results), then « 10 de plus » up to 100
SORT_LABELS = {"relevance": "pertinence", "recent": "plus récents d'abord",
               "popular": "plus populaires d'abord"}
FILTER_TITLES = {"producer": "Producteur", "territory": "Territoire", "year": "Créé",
                 "modified": "Mis à jour", "format": "Format", "licence": "Licence",
                 "frequency": "Fréquence", "topic": "Thème", "has_reuses": "Réutilisations"}
# the map's base trace fades the points outside the filters: the server sends a bitmask (≤ 9 KB
# for 70,500 datasets, base64) or the row list when shorter, never the map
def catalogue_facets(explorer) -> dict | None:
    """The whole catalogue's filters with counts (the « Filtres » tab before any search), None
    when they cannot be counted (the tab then only explains itself)."""
    try:
        return explorer.catalogue_facets
    except Exception:  # a help, not a page: a damaged column never stops the app
        log.exception("whole-catalogue filters unavailable")
        return None


def encode_mask(mask) -> dict | None:
    """The filter mask for the map: ``{"n", "count", "bits"}`` (little-endian bitmask, base64) or
    ``{"n", "count", "rows"}`` when the row list is shorter; None without filter."""
    if mask is None:
        return None
    mask = np.asarray(mask, dtype=bool)
    count = int(mask.sum())
    rows = np.flatnonzero(mask)
    if count * 7 < len(mask) // 6:  # ~7 characters a row in JSON vs 8 rows a byte in base64
        return {"n": len(mask), "count": count, "rows": [int(r) for r in rows]}
    bits = base64.b64encode(np.packbits(mask, bitorder="little").tobytes()).decode("ascii")
    return {"n": len(mask), "count": count, "bits": bits}


def make_state(q, mode, filters, sort, ignore, k) -> dict | None:
    """A search state, or None when there is nothing to show (no query, no filter)."""
    filters = {str(key): str(v)[:600] for key, v in (filters or {}).items()
               if key in FILTER_KEYS and v not in (None, "")}
    if not q and not filters:
        return None
    return {"q": q or "", "mode": mode, "filters": filters,
            "sort": sort if isinstance(sort, str) and sort in SORT_LABELS else "relevance",
            "ignore": [str(x)[:80] for x in (ignore or []) if isinstance(x, str)][:10] if q else [],
            "k": k if isinstance(k, int) and not isinstance(k, bool) and 1 <= k <= MAX_K else DEFAULT_K}


def facet_filter_value(key: str, vals: list) -> str | None:
    """The filter parameter of checked facet values (None: no filter on ``key``): years become
    a range « 2015-2020 », « a des réutilisations » a flag, others values joined by « | »."""
    if not vals:
        return None
    if key in ("year", "modified"):
        ys = [y for y in (ascii_int(v, 4) for v in vals) if y is not None and y >= 1000]  # not « ²⁰²⁰ »
        return f"{min(ys)}-{max(ys)}" if ys else None
    if key == "has_reuses":
        return "1"
    return "|".join(str(v) for v in vals)[:600]


def checked_values(key: str, active, options: list) -> list:
    """The checkboxes of ``key`` that the panel draws checked for an active filter value."""
    if active is None:
        return []
    if key in ("year", "modified"):
        return [v for v in options if isinstance(v, int) and active[0] <= v <= active[1]]
    if key == "has_reuses":
        return [v for v in options if v == "1"]
    return [v for v in options if v in active]


def register(app, services) -> None:
    exp = services.explorer
    first_k = max(1, min(MAX_K, int(services.n_results or DEFAULT_K)))

    def valid_state(state) -> dict | None:
        """A state posted by the browser, checked: query cleaned and capped, known mode, filter
        values as short strings (validated against the build by the search), known sort."""
        if not isinstance(state, dict):
            return None
        q = clean_query(state["q"] if isinstance(state.get("q"), str) else "", exp.max_query_chars)
        mode = state.get("mode") if state.get("mode") in services.modes else services.default_mode
        filters = state.get("filters") if isinstance(state.get("filters"), dict) else {}
        filters = {k: v for k, v in filters.items() if isinstance(v, str)}
        ignore = state.get("ignore") if isinstance(state.get("ignore"), list) else []
        return make_state(q, mode, filters, state.get("sort"), ignore, state.get("k", first_k))

    def filter_value_label(key, value) -> str:
        cat = exp.catalogue
        if key in ("year", "modified", "has_reuses"):
            return cat.value_label(key, value)
        return ", ".join(cat.value_label(key, v) for v in value[:3]) + (" …" if len(value) > 3 else "")

    def catalogue_filters():
        return catalogue_filter_panel(catalogue_facets(exp))

    coords = np.asarray(exp.coords, dtype=np.float64)
    titles = exp.datasets["title"]
    ds_ids = exp.datasets["id"]

    def parse(search):
        return parse_url_search(search, modes=services.modes, default_mode=services.default_mode,
                                max_query_chars=exp.max_query_chars,
                                is_known_id=lambda i: exp.row_of(i) is not None)

    @app.callback(Output(ids.SEARCH_INPUT, "value"), Output(ids.SEARCH_MODE, "value"),
                  Output(ids.SEARCH_SORT, "value"),
                  Output(ids.SEARCH_STATE, "data"), Output(ids.SELECTED, "data"),
                  Input(ids.URL, "search"), State(ids.SEARCH_STATE, "data"), State(ids.SELECTED, "data"))
    def url_to_state(search, current, selected):
        st = parse(search)
        new = make_state(st["q"], st["mode"], st["filters"], st["sort"], st["ignore"], first_k)
        cur = valid_state(current)
        same = new == (dict(cur, k=first_k) if cur else None)
        return (no_update if same else st["q"], no_update if same or not st["mode"] else st["mode"],
                no_update if same else st["sort"],
                no_update if same else new, no_update if st["id"] == selected else st["id"])

    @app.callback(Output(ids.SEARCH_STATE, "data", allow_duplicate=True),
                  Input(ids.SEARCH_BUTTON, "n_clicks"), Input(ids.SEARCH_INPUT, "n_submit"),
                  Input(ids.SEARCH_MODE, "value"), Input(ids.SEARCH_SORT, "value"),
                  State(ids.SEARCH_INPUT, "value"), State(ids.SEARCH_STATE, "data"),
                  prevent_initial_call=True)
    def submit(_clicks, _submits, mode, sort, text, current):
        q = clean_query(guard.as_text(text), exp.max_query_chars)
        mode = guard.as_choice(mode, services.modes, services.default_mode)
        cur = valid_state(current) or {}
        filters = cur.get("filters", {})
        same_q = q == cur.get("q")
        new = make_state(q, mode, filters, sort, cur.get("ignore", []) if same_q else [],
                         cur.get("k", first_k) if same_q else first_k)
        if new == (cur or None) or (ctx.triggered_id in (ids.SEARCH_MODE, ids.SEARCH_SORT) and new is None):
            return no_update
        return new

    @app.callback(Output(ids.SEARCH_STATE, "data", allow_duplicate=True),
                  Input({"type": ids.FACET, "key": ALL}, "value"),
                  Input({"type": ids.SLOT_CHIP, "key": ALL}, "n_clicks"),
                  Input({"type": ids.FILTER_CHIP, "key": ALL}, "n_clicks"),
                  Input({"type": ids.MORE_RESULTS, "key": ALL}, "n_clicks"),
                  Input({"type": ids.CLEAR_FILTERS, "key": ALL}, "n_clicks"),
                  State({"type": ids.FACET, "key": ALL}, "options"),
                  State(ids.SEARCH_STATE, "data"), prevent_initial_call=True)
    def edit_state(facet_values, _slot_clicks, _filter_clicks, _more, _clear, facet_options, current):
        """Facet checkboxes, chips, « 10 de plus » and « retirer tous les filtres » edit the state."""
        cur = valid_state(current)
        trig = ctx.triggered_id
        if cur is None or trig is None:
            return no_update
        value = ctx.triggered[0]["value"] if ctx.triggered else None
        new = dict(cur)
        kind = trig.get("type") if isinstance(trig, dict) else None
        if kind == ids.MORE_RESULTS:
            if not value:
                return no_update
            new["k"] = min(MAX_K, cur["k"] + STEP_K)
        elif kind == ids.CLEAR_FILTERS:
            if not value:
                return no_update
            new["filters"], new["k"] = {}, first_k
        elif isinstance(trig, dict) and trig.get("type") == ids.SLOT_CHIP:
            if not value:
                return no_update
            new["ignore"] = sorted({*cur["ignore"], str(trig.get("key"))[:80]})[:10]
            new["k"] = first_k
        elif isinstance(trig, dict) and trig.get("type") == ids.FILTER_CHIP:
            if not value:
                return no_update
            new["filters"] = {k: v for k, v in cur["filters"].items() if k != trig.get("key")}
            new["k"] = first_k
        elif isinstance(trig, dict) and trig.get("type") == ids.FACET:
            keys = [i.get("id", {}).get("key") if isinstance(i, dict) and isinstance(i.get("id"), dict)
                    else None for i in (ctx.inputs_list[0] if isinstance(ctx.inputs_list[0], list) else [])]
            filters = dict(cur["filters"])
            clean, _ = exp.clean_filters(params_to_raw(filters))
            for key, vals, opts in zip(keys, facet_values or [], facet_options or [], strict=False):
                if key not in FILTER_KEYS or not isinstance(vals, (list, type(None))):
                    continue
                vals = [v for v in (vals or []) if isinstance(v, (str, int)) and not isinstance(v, bool)]
                opt_values = [o.get("value") for o in (opts or []) if isinstance(o, dict)]
                if set(map(str, vals)) == set(map(str, checked_values(key, clean.get(key), opt_values))):
                    continue  # as drawn: nothing changed for this key
                filters[key] = facet_filter_value(key, vals)
            new["filters"] = {k: v for k, v in filters.items() if v}
            new["k"] = first_k
        else:
            return no_update
        new = make_state(new["q"], new["mode"], new["filters"], new["sort"], new["ignore"], new["k"])
        return no_update if new == cur else new

    @app.callback(Output(ids.SEARCH_STATE, "data", allow_duplicate=True),
                  Input({"type": ids.CATALOGUE_FACET, "key": ALL}, "value"),
                  State(ids.SEARCH_STATE, "data"), prevent_initial_call=True)
    def browse_catalogue(values, current):
        """A filter of the whole catalogue (the « Filtres » tab before any search) starts
        browsing it. Once a search or a filter is active that panel is gone or being replaced:
        what it sends then is ignored (a shared link's filters are never undone by it)."""
        if valid_state(current) is not None or not isinstance(values, list):
            return no_update
        items = ctx.inputs_list[0] if isinstance(ctx.inputs_list[0], list) else []
        filters = {}
        for item, vals in zip(items, values, strict=False):
            cid = item.get("id") if isinstance(item, dict) else None
            key = cid.get("key") if isinstance(cid, dict) else None
            if key in FILTER_KEYS and isinstance(vals, list):
                vals = [v for v in vals if isinstance(v, (str, int)) and not isinstance(v, bool)]
                filters[key] = facet_filter_value(key, vals)
        return make_state("", services.default_mode, filters, "relevance", [], first_k) or no_update

    @app.callback(Output(ids.RESULTS, "children"), Output(ids.RESULTS_HEADER, "children"),
                  Output(ids.MAP_HIGHLIGHT, "data", allow_duplicate=True),
                  Output(ids.SEARCH_CHIPS, "children"), Output(ids.FILTERS_PANEL, "children"),
                  Output(ids.FILTERS_TAB, "label"), Output(ids.SEARCH_MESSAGES, "children"),
                  Output(ids.MAP_FILTER, "data"), Output(ids.MAP_FILTER_NOTE, "children"),
                  Input(ids.SEARCH_STATE, "data"), prevent_initial_call=True)
    def run_search(state):
        # any client can post this state: every value is checked again (valid_state)
        st = valid_state(state)
        if st is None:  # nothing searched, nothing filtered: the whole catalogue's filters
            return (None, NO_SEARCH, EMPTY_HIGHLIGHT, None, catalogue_filters(), "Filtres", None, None, "")
        try:
            res = exp.search_result(st["q"], mode=st["mode"], k=st["k"],
                                    filters=params_to_raw(st["filters"]), sort=st["sort"],
                                    ignore_slots=tuple(st["ignore"]))
        except (ArtifactError, ValueError) as exc:
            log.warning("search %r (mode %s) failed: %s", st["q"][:80], st["mode"], exc)
            return (dbc.Alert("La recherche a échoué pour ce mode\u00a0; essayez un autre mode.",
                              color="warning"), "", EMPTY_HIGHLIGHT, None, no_update, "Filtres", None,
                    None, "")
        q, mode = res.query, res.mode
        cards = [card(exp, h.row, query=q, why=w, score=h.score, rank=i, versions=h.versions)
                 for i, (h, w) in enumerate(zip(res.hits, res.why, strict=True), 1)]
        n_f = len(res.filters)
        if q:
            total = str(res.total) if res.total < FACET_DEPTH else "plus de 1\u202f000"
            order = ", " + SORT_LABELS[res.sort] if res.sort != "relevance" else ""
            header = (f"{len(res.hits)} jeux de données pour «\u00a0{clean_text(q, 80)}\u00a0» "
                      f"(sur {total} trouvés, mode {mode_label(mode)}{order})")
        else:
            header = (f"{res.total} jeux de données correspondent aux filtres "
                      f"({'les plus récents' if res.sort == 'recent' else 'les plus consultés'} d'abord)")
        if mode == "word" and q:
            words = services.explorer.query_words(q, k=6)
            if words:
                header += " · mots voisins\u00a0: " + ", ".join(clean_text(w, 30) for w, _ in words)
        empty = no_result(
            "Aucun jeu de données ne correspond à la recherche avec ces filtres. Retirez un filtre "
            "ou élargissez la période." if n_f
            else "Aucun résultat\u00a0: essayez d'autres mots ou un autre mode.", has_filters=bool(n_f))
        body = results_block(cards, total=res.total, k=st["k"], empty=empty)
        slots = ([{"key": s.key, "label": s.label, "kind": s.kind} for s in res.understanding.slots]
                 if res.understanding is not None else [])
        fchips = [(k, f"{FILTER_TITLES[k]}\u00a0: {filter_value_label(k, v)}")
                  for k, v in res.filters.items()]
        facets = {k: [(f.value, f.label, f.count) for f in vals] for k, vals in res.facets.items()}
        messages = [dbc.Alert(clean_text(m, 200), color="warning", className="small py-1 mb-1")
                    for m in res.errors[:5]]
        spelled = res.spelling  # the search's spelling, with its suggestion
        if spelled is not None and (spelled.changes or spelled.suggestion):
            before, linked, after = (spelling_replaced(q, spelled.original) if spelled.changes
                                     else spelling_suggestion(spelled.suggestion))
            href = build_url_search(spelled.verbatim if spelled.changes else spelled.suggestion,
                                    st["mode"], None, filters=st["filters"], sort=st["sort"])
            messages.insert(0, dbc.Alert([before, dcc.Link(linked, href=href, className="spelling-link"),
                                          after], color="info", className="small py-1 mb-1 spelling-note"))
        if res.assessment is not None and not res.assessment.fits:
            messages.insert(0, dbc.Alert(nothing_fits_note(q), color="secondary",
                                         className="small py-1 mb-1 nothing-fits"))
        messages = messages or None
        highlight = {"label": f"Recherche\u00a0: {q}" if q else "Filtres",
                     "rows": [h.row for h in res.hits]}
        if q:
            try:
                placed = services.explorer.place_query(q)
            except Exception:  # the marker is a bonus: never fail the search for it
                log.exception("placing the query on the map failed")
                placed = None
            if placed:
                highlight["query"] = {"x": placed["x"], "y": placed["y"], "text": q}
        return (body, header, highlight, chips(slots, fchips), filter_panel(facets, res.filters),
                f"Filtres ({n_f})" if n_f else "Filtres", messages, encode_mask(res.mask),
                map_filter_note(res.n_filtered, exp.n))

    @app.callback(Output(ids.MAP, "figure", allow_duplicate=True), Input(ids.MAP_HIGHLIGHT, "data"),
                  prevent_initial_call=True)
    def highlight_map(data):
        h = read_highlight(data, exp.n)
        rows = h["rows"]
        patch = Patch()
        patch["data"][HIGHLIGHT_TRACE] = highlight_trace(coords[rows], rows, titles.iloc[rows].tolist(),
                                                         clean_text(h["label"], 60))
        q = h["query"]
        patch["data"][QUERY_TRACE] = query_trace(q[:2] if q else None, clean_text(q[2] if q else "", 80))
        return patch

    @app.callback(Output(ids.SELECTED, "data", allow_duplicate=True), Input(ids.MAP, "clickData"),
                  Input({"type": ids.RESULT_ITEM, "row": ALL}, "n_clicks"),
                  Input({"type": ids.SIMILAR_ITEM, "row": ALL}, "n_clicks"), prevent_initial_call=True)
    def select(click, _results, _similar):
        trigger, row = ctx.triggered_id, None
        if trigger == ids.MAP:
            row = row_from_point(guard.first_point(click), exp.n)
        elif guard.clicked_pattern(trigger, ctx.triggered):  # n_clicks 0/None: item just drawn
            row = guard.as_row(trigger.get("row"), exp.n)
        return no_update if row is None else str(ds_ids.iat[row])

    @app.callback(Output(ids.DETAILS, "children"), Output(ids.MAP, "figure", allow_duplicate=True),
                  Output(ids.TOPIC_DROPDOWN, "value"), Input(ids.SELECTED, "data"), prevent_initial_call=True)
    def show_details(dataset_id):
        row = exp.row_of(dataset_id) if isinstance(dataset_id, str) else None
        patch = Patch()
        if row is None:
            patch["data"][SELECTED_TRACE] = selected_trace()
            return placeholder(), patch, no_update
        topic = exp.topic_of_rows([row])[0]
        label = exp.topic_label(topic) if topic >= 0 else None
        patch["data"][SELECTED_TRACE] = selected_trace(coords[row], row, titles.iat[row])
        panel = details_panel(exp.dataset(row), hit_items(services, exp.similar(row)), topic_label=label)
        return panel, patch, (topic if label else no_update)

    @app.callback(Output(ids.SIDE_TABS, "active_tab"), Input(ids.SEARCH_STATE, "data"),
                  Input(ids.SELECTED, "data"), prevent_initial_call=True)
    def side_tab(_state, selected):
        # one callback, so a shared link (search + dataset, both set at once) always opens the
        # dataset's card; a new search alone shows the results, a new selection its card
        if ids.SELECTED in {t.split(".")[0] for t in ctx.triggered_prop_ids} and selected:
            return "fiche"
        if not _state:  # nothing searched (a page just opened): the tab the person chose stays
            return no_update  # (a lasso made while the page loads keeps its « Sélection » tab)
        return "resultats"

    @app.callback(Output(ids.CLOUD, "figure"), Input(ids.TOPIC_DROPDOWN, "value"), prevent_initial_call=True)
    def show_cloud(topic):
        return topic_cloud(services, guard.as_int(topic, 0))

    @app.callback(Output(ids.URL, "search"), Input(ids.SEARCH_STATE, "data"), Input(ids.SELECTED, "data"),
                  State(ids.URL, "search"), prevent_initial_call=True)
    def state_to_url(state, selected, current):
        st = valid_state(state) or {}
        selected = guard.as_key(selected)
        search = build_url_search(st.get("q"), st.get("mode"), selected, filters=st.get("filters"),
                                  sort=st.get("sort"), ignore=st.get("ignore"))
        return no_update if search == guard.as_text(current) else search

    # region labels: placed in the browser at every zoom (assets/20-map-labels.js)
    app.clientside_callback(ClientsideFunction(namespace="mapLabels", function_name="update"),
                            Output(ids.MAP_LABELS_STATE, "data"), Input(ids.MAP, "relayoutData"),
                            Input(ids.MAP_LABELS_TOGGLE, "value"), Input(ids.MAP_LABELS, "data"))

    @app.callback(Output(ids.MAP_TOOLTIP, "show"), Output(ids.MAP_TOOLTIP, "bbox"),
                  Output(ids.MAP_TOOLTIP, "children"), Input(ids.MAP, "hoverData"), prevent_initial_call=True)
    def tooltip(hover):
        point = guard.first_point(hover)
        row = row_from_point(point, exp.n) if point.get("curveNumber") == 0 else None
        if row is None:
            return False, no_update, no_update
        topic = exp.topic_of_rows([row])[0]
        record = {"title": titles.iat[row], "organization": exp.datasets["organization"].iat[row]}
        label = exp.topic_label(topic) if topic >= 0 else None
        return True, guard.as_dict(point.get("bbox")), map_tooltip(record, label)

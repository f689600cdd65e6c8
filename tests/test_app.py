"""The assembled app through Flask's test client: layout, callbacks as the browser calls them."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest

from app import create_app, main
from components import ids
from components.labels import plotly_text
from components.map import BASE_TRACE, FIRST_LEGEND_TRACE, HIGHLIGHT_TRACE, LEGEND_LABEL_CHARS, SELECTED_TRACE
from models.core.config import AppSettings
from tests.builders import with_description
from tests.uihelpers import HOSTILE, Dash, all_of, arr, find, patched, strings


def layout_of(client) -> dict:
    r = client.get("/_dash-layout")
    assert r.status_code == 200
    return r.get_json()


def test_index_and_layout(client, explorer):
    r = client.get("/")
    assert r.status_code == 200
    assert b"Explorateur du catalogue" in r.data
    lay = layout_of(client)
    fig = find(lay, ids.MAP)["props"]["figure"]
    assert len(arr(fig["data"][BASE_TRACE]["x"])) == explorer.n
    codes = arr(fig["data"][BASE_TRACE]["marker"]["color"])
    np.testing.assert_array_equal(codes, explorer.topics.default.dominant)
    labels = {plotly_text(label, LEGEND_LABEL_CHARS) for label in explorer.topics.default.table["label"]}
    assert {t["name"] for t in fig["data"][FIRST_LEGEND_TRACE:]} == labels
    assert find(lay, ids.SEARCH_INPUT)["props"]["maxLength"] == explorer.max_query_chars
    modes = find(lay, ids.SEARCH_MODE)["props"]
    assert [o["value"] for o in modes["options"]] and modes["value"] in [o["value"] for o in modes["options"]]
    assert find(lay, ids.MAP_HIGHLIGHT) and find(lay, ids.SELECTED) and find(lay, ids.URL)
    for path in ("/assets/00-bootstrap.min.css", "/assets/10-app.css", "/assets/plotly-locale-fr.js"):
        assert path.split("/")[-1].encode() in r.data
        assert client.get(path).status_code == 200


def test_initial_map_payload_is_small(client, explorer):
    raw = client.get("/_dash-layout").data
    layout = json.loads(raw)
    escaping = len(raw) / len(json.dumps(layout, separators=(",", ":")))  # plotly writes "/" as \u002f
    fig = find(layout, ids.MAP)["props"]["figure"]
    size = len(json.dumps(fig, separators=(",", ":"))) * escaping
    base = fig["data"][BASE_TRACE]
    arrays = sum(len(json.dumps(a)) for a in (base["x"], base["y"], base["marker"]["color"])) * escaping
    per_point = arrays / explorer.n  # base64 of float32 x, y and uint8 colour: 12 bytes + escapes
    assert per_point < 16, per_point
    estimate_70k = size - arrays + per_point * 70_500  # the rest (legend, layout) does not grow
    assert estimate_70k < 1_500_000, estimate_70k


def test_create_app_twice(built_root, explorer):
    a = create_app(AppSettings(artifacts=built_root), explorer=explorer)
    b = create_app(AppSettings(artifacts=built_root), explorer=explorer)
    assert a is not b and a.server is not b.server
    for x in (a, b):
        c = x.server.test_client()
        assert c.get("/").status_code == 200
        assert len(c.get("/_dash-dependencies").get_json()) == len(a.callback_map)


def test_search_returns_20_results_and_patches_the_overlay(dash, explorer, app):
    services_mode = find(layout_of(dash.client), ids.SEARCH_MODE)["props"]["value"]
    state = {"q": "vacances scolaires", "mode": services_mode}
    resp = dash.call({f"{ids.SEARCH_STATE}.data": state})
    results = resp[ids.RESULTS]["children"]
    items = all_of(results, lambda n: isinstance(n.get("props", {}).get("id"), dict)
                   and n["props"]["id"].get("type") == ids.RESULT_ITEM)
    assert len(items) == 20
    expected = explorer.search("vacances scolaires", mode=services_mode, k=20)
    assert [i["props"]["id"] for i in items] == [{"type": ids.RESULT_ITEM, "row": h.row} for h in expected]
    first_title = explorer.datasets["title"].iloc[expected[0].row]
    assert first_title in strings(items[0])
    assert "20 jeux de données pour «\u00a0vacances scolaires\u00a0»" in resp[ids.RESULTS_HEADER]["children"]
    highlight = resp[ids.MAP_HIGHLIGHT]["data"]
    assert highlight["label"] == "Recherche\u00a0: vacances scolaires"
    assert highlight["rows"] == [h.row for h in expected]

    # the search draws its overlay in the same response (one request), marked so that the browser
    # does not ask the server again; a Patch of the overlay trace only, never the whole figure
    assert highlight["drawn"] is True
    patch = resp[ids.MAP]["figure"]
    gate = [d for d in dash.deps if [i["id"] for i in d["inputs"]] == [ids.MAP_HIGHLIGHT]
            and d["output"].startswith(f"{ids.MAP_HIGHLIGHT_DRAW}.")]
    assert len(gate) == 1 and gate[0].get("clientside_function") is not None  # runs in the browser
    # the same Patch the server draws for another page's highlight (through MAP_HIGHLIGHT_DRAW)
    assert dash.call({f"{ids.MAP_HIGHLIGHT_DRAW}.data": highlight})[ids.MAP]["figure"] == patch
    assert patch["__dash_patch_update"] == "__dash_patch_update"
    assert {tuple(op["location"][:1]) for op in patch["operations"]} == {("data",)}  # traces only
    op = patched(patch, HIGHLIGHT_TRACE)
    assert op["operation"] == "Assign"
    trace = op["params"]["value"]
    assert trace["customdata"] == highlight["rows"] and len(trace["x"]) == 20
    coords = explorer.records.coords[highlight["rows"]]
    np.testing.assert_allclose(trace["x"], coords[:, 0], atol=1e-4)
    np.testing.assert_allclose(trace["y"], coords[:, 1], atol=1e-4)
    assert len(json.dumps(patch)) < 10_000


def test_search_edge_cases(dash):
    resp = dash.call({f"{ids.SEARCH_STATE}.data": None})
    assert resp[ids.MAP_HIGHLIGHT]["data"] == {"label": "", "rows": []}
    assert resp[ids.RESULTS]["children"] is None
    # a state posted with an unknown mode is searched in the default mode
    bad = dash.call({f"{ids.SEARCH_STATE}.data": {"q": "budget", "mode": "no-such-mode"}})
    assert "mode Hybride" in bad[ids.RESULTS_HEADER]["children"]
    # other pages may write any rows: out-of-range and junk rows are dropped
    junk = {"label": "<b>x</b>", "rows": [0, -1, 10**9, "3", 2.5, 1]}
    value = patched(dash.call({f"{ids.MAP_HIGHLIGHT_DRAW}.data": junk})[ids.MAP]["figure"], HIGHLIGHT_TRACE)
    value = value["params"]["value"]
    assert value["customdata"] == [0, 1] and value["name"] == "&lt;b&gt;x&lt;/b&gt;"


def test_submit_cleans_and_caps_the_query(dash, explorer):
    long = "vacances\x00\x1b " + "x" * 10_000
    mode_key = f"{ids.SEARCH_MODE}.value"
    inputs = {f"{ids.SEARCH_BUTTON}.n_clicks": 1, f"{ids.SEARCH_INPUT}.n_submit": 0, mode_key: "semantic",
              f"{ids.SEARCH_SORT}.value": "relevance"}
    resp = dash.call(inputs, {f"{ids.SEARCH_INPUT}.value": long, f"{ids.SEARCH_STATE}.data": None},
                     changed=[f"{ids.SEARCH_BUTTON}.n_clicks"])
    state = resp[ids.SEARCH_STATE]["data"]
    assert state["mode"] == "semantic" and state["q"].startswith("vacances x")
    assert len(state["q"]) == explorer.max_query_chars
    # same search again, or a mode change with an empty box: nothing to do
    assert dash.call(inputs, {f"{ids.SEARCH_INPUT}.value": long, f"{ids.SEARCH_STATE}.data": state},
                     changed=[f"{ids.SEARCH_BUTTON}.n_clicks"]) is None
    assert dash.call(inputs, {f"{ids.SEARCH_INPUT}.value": "", f"{ids.SEARCH_STATE}.data": None},
                     changed=[mode_key]) is None


def test_url_sets_the_view_and_the_view_sets_the_url(dash, explorer):
    ds_id = str(explorer.datasets["id"].iloc[3])
    resp = dash.call({f"{ids.URL}.search": f"?q=vacances%00&mode=evil&id={ds_id}"},
                     {f"{ids.SEARCH_STATE}.data": None, f"{ids.SELECTED}.data": None})
    mode = find(layout_of(dash.client), ids.SEARCH_MODE)["props"]["value"]
    assert resp[ids.SEARCH_INPUT]["value"] == "vacances"
    assert resp[ids.SEARCH_STATE]["data"] == {"q": "vacances", "mode": mode, "filters": {},
                                              "sort": "relevance", "ignore": [], "k": 20}
    assert resp[ids.SELECTED]["data"] == ds_id
    # an unknown id and a bare URL select nothing
    resp = dash.call({f"{ids.URL}.search": "?id=%3Cscript%3E"},
                     {f"{ids.SEARCH_STATE}.data": None, f"{ids.SELECTED}.data": ds_id})
    assert resp[ids.SELECTED]["data"] is None and ids.SEARCH_STATE not in resp
    url = dash.call({f"{ids.SEARCH_STATE}.data": {"q": "été & plage", "mode": "semantic"},
                     f"{ids.SELECTED}.data": ds_id}, {f"{ids.URL}.search": ""})
    assert url[ids.URL]["search"] == f"?q=%C3%A9t%C3%A9+%26+plage&mode=semantic&id={ds_id}"
    # already there: no update, so no loop
    assert dash.call({f"{ids.SEARCH_STATE}.data": {"q": "été & plage", "mode": "semantic"},
                      f"{ids.SELECTED}.data": ds_id}, {f"{ids.URL}.search": url[ids.URL]["search"]}) is None


def test_click_selects_and_details_show(dash, explorer):
    inputs = {f"{ids.MAP}.clickData": {"points": [{"curveNumber": BASE_TRACE, "pointIndex": 5}]},
              json.dumps({"row": ["ALL"], "type": ids.RESULT_ITEM}, separators=(",", ":")) + ".n_clicks": [],
              json.dumps({"row": ["ALL"], "type": ids.SIMILAR_ITEM}, separators=(",", ":")) + ".n_clicks": []}
    dash.spec(list(inputs))  # the select callback
    resp = dash.call(inputs)
    ds_id = str(explorer.datasets["id"].iloc[5])
    assert resp[ids.SELECTED]["data"] == ds_id

    resp = dash.call({f"{ids.SELECTED}.data": ds_id})
    details = resp[ids.DETAILS]["children"]
    assert explorer.datasets["title"].iloc[5] in strings(details)
    assert "Jeux de données similaires" in strings(details)
    similar = [n["props"]["id"]["row"] for n in
               all_of(details, lambda n: isinstance(n.get("props", {}).get("id"), dict))]
    assert similar == [h.row for h in explorer.records.similar(5)]
    assert patched(resp[ids.MAP]["figure"], SELECTED_TRACE)["params"]["value"]["customdata"] == [5]
    assert resp[ids.TOPIC_DROPDOWN]["value"] == int(explorer.topics.default.dominant[5])
    both = {f"{ids.SEARCH_STATE}.data": {"q": "x", "mode": "semantic"}, f"{ids.SELECTED}.data": ds_id}
    tab = dash.call(both, changed=list(both))[ids.SIDE_TABS]["active_tab"]
    assert tab == "fiche"  # a shared link with a dataset opens its card
    assert dash.call(both, changed=[f"{ids.SEARCH_STATE}.data"])[ids.SIDE_TABS]["active_tab"] == "resultats"
    # a page just opened (nothing searched, nothing selected): the tab is left as it is, so a
    # lasso made while the page loads keeps its « Sélection » tab
    nothing = {f"{ids.SEARCH_STATE}.data": None, f"{ids.SELECTED}.data": None}
    resp = dash.call(nothing, changed=list(nothing))
    assert not resp or ids.SIDE_TABS not in resp  # no update


def test_topic_cloud_callback(dash, explorer):
    fig = dash.call({f"{ids.TOPIC_DROPDOWN}.value": 1})[ids.CLOUD]["figure"]
    words = fig["data"][0]["text"]
    assert words[0] == explorer.topics.default.terms(1)[0][0]
    assert fig["layout"]["title"]["text"].startswith("Thème 2\u202f: ")
    empty = dash.call({f"{ids.TOPIC_DROPDOWN}.value": 999})[ids.CLOUD]["figure"]
    assert empty["layout"]["meta"]["empty"] is True


@pytest.fixture(scope="module")
def hostile_app(built_root, explorer):
    """The same build, with row 0 rewritten by an attacker."""
    df = explorer.datasets.copy()
    df.loc[0, "title"] = HOSTILE
    df.loc[0, "organization"] = '<img src=x onerror="window.__xss=3">'
    df.loc[0, "url"] = "javascript:alert(1)"
    df["tags"] = [np.array(["<script>alert(4)</script>"], dtype=object), *df["tags"].iloc[1:]]
    text = HOSTILE + "\n[clic](javascript:alert(1))\n" + "lorem ipsum " * 150_000
    exp = with_description(explorer, 0, text, datasets=df)
    return create_app(AppSettings(artifacts=built_root), explorer=exp), exp


def test_details_escape_hostile_catalogue_text(hostile_app):
    app, exp = hostile_app
    dash = Dash(app.server.test_client())
    resp = dash.call({f"{ids.SELECTED}.data": str(exp.datasets["id"].iloc[0])})
    details = resp[ids.DETAILS]["children"]
    # catalogue text only ever reaches the page as text children (React escapes them) ...
    assert HOSTILE in strings(details)
    # ... or as Markdown without HTML, script/img/javascript removed, the 1.8 MB cut short
    (md,) = all_of(details, lambda n: n.get("type") == "Markdown")
    assert md["props"]["dangerously_allow_html"] is False
    for bad in ("<script", "onerror", "javascript:"):
        assert bad not in md["props"]["children"]
    assert len(md["props"]["children"]) <= 4000 and "(tronqué)" in strings(details)
    assert not all_of(details, lambda n: n.get("type") in ("A", "Script", "Iframe", "Img"))
    assert not all_of(details, lambda n: n.get("props", {}).get("dangerously_allow_html") is True)
    raw = json.dumps(resp)
    assert "javascript:alert" not in raw
    # the search results list shows the hostile title as text too
    out = dash.call({f"{ids.MAP_HIGHLIGHT_DRAW}.data": {"label": HOSTILE, "rows": [0]}})
    value = patched(out[ids.MAP]["figure"], HIGHLIGHT_TRACE)["params"]["value"]
    assert "<script" not in json.dumps(value)


def test_importing_app_loads_nothing_and_server_needs_env(monkeypatch):
    import app as app_module

    monkeypatch.delenv("EXPLORER_ARTIFACTS", raising=False)
    assert app_module._server is None
    with pytest.raises(AttributeError, match="EXPLORER_ARTIFACTS"):
        _ = app_module.server


def test_main_exits_cleanly_without_artifacts(tmp_path, caplog, capsys):
    with caplog.at_level(logging.ERROR, logger="app"):
        code = main(["--artifacts", str(tmp_path / "missing"), "--port", "8999"])
    assert code == 2
    assert any("cannot start" in r.getMessage() and "no artifacts" in r.getMessage() for r in caplog.records)
    assert "Traceback" not in capsys.readouterr().err
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "manifest.json").write_text("{not json")
    assert main(["--artifacts", str(tmp_path / "broken")]) == 2
    import gc

    assert gc.isenabled()  # off while loading, on again when the start fails


def test_hover_tooltip_names_the_dataset(dash, explorer):
    bbox = {"x0": 1, "x1": 2, "y0": 3, "y1": 4}
    resp = dash.call({f"{ids.MAP}.hoverData": {"points": [{"curveNumber": BASE_TRACE, "pointIndex": 2,
                                                            "bbox": bbox}]}})
    assert resp[ids.MAP_TOOLTIP]["show"] is True and resp[ids.MAP_TOOLTIP]["bbox"] == bbox
    assert explorer.datasets["title"].iloc[2] in strings(resp[ids.MAP_TOOLTIP]["children"])
    off = dash.call({f"{ids.MAP}.hoverData": {"points": [{"curveNumber": HIGHLIGHT_TRACE, "pointIndex": 0}]}})
    assert off[ids.MAP_TOOLTIP]["show"] is False


def test_the_page_is_served_before_the_search_warms_up_and_a_search_never_waits_twice(
        built_root, monkeypatch):
    """``python app.py`` serves the page once the layout exists (``create_app(warm=False)``) and
    warms the search in a thread (:func:`app.warm_in_background`): the spelling vocabulary and
    the assistant are built after the page's first 200, once, even with a search racing the
    warm-up, whose results are those of a warm app."""
    import app as app_module
    from models.serve import spelling
    from models.serve.explorer import Explorer
    from tests.fake_encoders import FakeEncoder

    built = []
    real = spelling.SpellingCorrector.from_build.__func__

    def counting(cls, *a, **kw):
        built.append(1)
        return real(cls, *a, **kw)

    monkeypatch.setattr(spelling.SpellingCorrector, "from_build", classmethod(counting))
    monkeypatch.setattr(app_module, "limit_threads", lambda n: None)
    monkeypatch.setattr(app_module, "release_memory", lambda: None)  # no gc.freeze in the test process
    settings = AppSettings(artifacts=built_root)
    exp = Explorer.load(built_root, encoder=FakeEncoder(64))
    a = create_app(settings, explorer=exp, warm=False)
    assert a.server.test_client().get("/").status_code == 200
    assert built == [] and "assistant" not in vars(exp)  # nothing of the warm-up yet

    thread = app_module.warm_in_background(a, settings)
    racing = [h.row for h in exp.search("qualité de l'eau potable", mode="hybrid", k=10)]
    thread.join(timeout=120)
    assert not thread.is_alive()
    assert built == [1] and "assistant" in vars(exp)
    assert racing == [h.row for h in exp.search("qualité de l'eau potable", mode="hybrid", k=10)]
    warm = Explorer.load(built_root, encoder=FakeEncoder(64))
    create_app(settings, explorer=warm)  # the default: warm before returning (gunicorn, a switch)
    assert built == [1, 1] and "assistant" in vars(warm)
    assert racing == [h.row for h in warm.search("qualité de l'eau potable", mode="hybrid", k=10)]


def test_no_cyclic_collection_while_loading_then_on_again(monkeypatch):
    """prepare_process turns the collector off while the build loads (its ~450,000 objects would
    trigger collections that cost ~40 % of some steps), after_start turns it back on."""
    import gc

    import pyarrow

    import app as app_module

    monkeypatch.setattr(app_module, "limit_threads", lambda n: None)
    settings = AppSettings()
    pool = pyarrow.default_memory_pool()
    try:
        app_module.prepare_process(settings)
        assert not gc.isenabled()
        app_module.after_start(settings)
        assert gc.isenabled()
    finally:
        gc.enable()
        gc.unfreeze()
        pyarrow.set_memory_pool(pool)


def test_a_failing_warm_up_still_turns_the_collector_back_on(monkeypatch, caplog):
    """The collector is off from prepare_process until the warm-up thread ends: whatever the
    warm-up raises, the thread turns it back on (else the process would never collect again)."""
    import gc

    import app as app_module

    def broken(app):
        raise RuntimeError("boom")

    monkeypatch.setattr(app_module, "warm_app", broken)
    monkeypatch.setattr(app_module, "limit_threads", lambda n: None)
    gc.disable()
    try:
        with caplog.at_level(logging.ERROR, logger="app"):
            app_module.warm_in_background(None, AppSettings()).join(timeout=60)
        assert gc.isenabled()
        assert any("warm-up failed" in r.getMessage() for r in caplog.records)
    finally:
        gc.enable()
        gc.unfreeze()

"""The pure parts the callbacks wire: the map page's search state (components.search_state), the
map's wire formats (components.map), the page builders' doctests, and the wiring itself
(callbacks.common.Wiring) on a bare Dash app."""

from __future__ import annotations

import base64
import doctest

import dash
import numpy as np
import pytest
from dash import Input, Output, html

from callbacks.common import Wiring, bind
from components import (
    ask_page,
    fair_view,
    producers_page,
    search_results,
    search_state,
    territories_page,
    topics_page,
)
from components import map as map_builders
from components import search_state as ss
from components.map import encode_mask, highlight_store, read_highlight
from models.serve.filters import FILTER_KEYS
from models.serve.ranking import SORTS


@pytest.mark.parametrize("module", [search_state, search_results, map_builders, ask_page, producers_page,
                                    topics_page, territories_page, fair_view])
def test_builder_doctests(module):
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0


def test_the_state_knows_the_search_keys_and_sorts():
    assert set(ss.FILTER_KEYS) == set(FILTER_KEYS) and set(ss.SORTS) == set(SORTS)


def state(q="eau", filters=None, ignore=(), k=20):
    return ss.make_state(q, "hybrid", filters or {}, "relevance", list(ignore), k)


def test_make_and_read_state_check_everything():
    assert ss.make_state("", "hybrid", {"format": ""}, "recent", [], 20) is None
    s = ss.make_state("eau", "hybrid", {"format": "x" * 700, "nope": "1"}, "recent", ["a" * 100, 3], True)
    assert s["filters"] == {"format": "x" * 600} and s["ignore"] == ["a" * 80] and s["k"] == 20
    assert ss.make_state("", "hybrid", {"format": "csv"}, "recent", ["a"], 30)["ignore"] == []
    read = ss.read_state({"q": "  eau  ", "mode": "nope", "filters": {"format": "csv", "year": 2020},
                          "sort": "popular", "ignore": "x"}, clean=str.strip, modes=["keyword"],
                         default_mode="hybrid", k=30)
    assert read == {"q": "eau", "mode": "hybrid", "filters": {"format": "csv"}, "sort": "popular",
                    "ignore": [], "k": 30}
    assert ss.first_k(0) == 20 and ss.first_k(-5) == 1


def test_edit_state_actions():
    cur = state(filters={"format": "csv", "year": "2015-2020"}, k=20)
    assert ss.edit_state(cur, "more")["k"] == 30
    assert ss.edit_state(dict(cur, k=ss.MAX_K), "more") == dict(cur, k=ss.MAX_K)  # unchanged
    assert ss.edit_state(dict(cur, k=50), "clear", k=20) == dict(cur, filters={}, k=20)
    assert ss.edit_state(cur, "slot", key="period:2020")["ignore"] == ["period:2020"]
    assert ss.edit_state(cur, "filter", key="year")["filters"] == {"format": "csv"}
    assert ss.edit_state(cur, "unknown") is cur
    # the last filter of a browse without query: nothing left to show
    assert ss.edit_state(state(q="", filters={"format": "csv"}), "filter", key="format") is None


def test_edit_state_reads_the_facet_checkboxes():
    cur = state(filters={"format": "csv", "year": "2015-2016"})
    active = {"format": ["csv"], "year": (2015, 2016)}
    years = [{"value": 2014}, {"value": 2015}, {"value": 2016}]
    as_drawn = [("format", ["csv"], [{"value": "csv"}]), ("year", [2015, 2016], years)]
    assert ss.edit_state(cur, "facets", facets=as_drawn, active=active) == cur
    wider = [("format", ["csv", "json", True], [{"value": "csv"}]), ("year", [2014, 2016], years),
             ("nope", ["x"], []), ("has_reuses", ["1"], [{"value": "1"}])]
    new = ss.edit_state(cur, "facets", facets=wider, active=active)
    assert new["filters"] == {"format": "csv|json", "year": "2014-2016", "has_reuses": "1"}
    unticked = ss.edit_state(cur, "facets", facets=[("format", [], [{"value": "csv"}])], active=active)
    assert unticked["filters"] == {"year": "2015-2016"}
    assert ss.facet_filter_value("year", ["²⁰²⁰", 20200, "999"]) is None


def test_browse_and_submit():
    assert ss.browse_filters([("year", [2019, "2021"]), ("format", "csv")]) == {"year": "2019-2021"}
    cur = state(filters={"format": "csv"}, ignore=["a"], k=40)
    assert ss.submitted_state(cur, "eau", "keyword", "recent", 20) == dict(cur, mode="keyword", sort="recent")
    new = ss.submitted_state(cur, "pluie", "hybrid", "relevance", 20)
    assert new == dict(cur, q="pluie", ignore=[], k=20)
    assert ss.submitted_state(None, "", "hybrid", "relevance", 20) is None


def decode(payload: dict) -> np.ndarray:
    if "rows" in payload:
        out = np.zeros(payload["n"], dtype=bool)
        out[payload["rows"]] = True
        return out
    bits = np.frombuffer(base64.b64decode(payload["bits"]), dtype=np.uint8)
    return np.unpackbits(bits, bitorder="little")[:payload["n"]].astype(bool)


@pytest.mark.parametrize("density", [0.0, 0.001, 0.02, 0.5, 1.0])
def test_the_map_filter_mask_round_trips(density):
    rng = np.random.default_rng(3)
    mask = rng.random(70_513) < density
    payload = encode_mask(mask)
    assert payload["count"] == int(mask.sum()) and np.array_equal(decode(payload), mask)
    assert ("rows" in payload) == (payload["count"] * 7 < len(mask) // 6)
    assert encode_mask(None) is None


def test_the_highlight_store_round_trips():
    data = highlight_store("Recherche\u00a0: eau", [5, 2], "eau", {"x": 1.5, "y": -2.0})
    assert read_highlight(data, 10) == {"rows": [5, 2], "label": "Recherche\u00a0: eau",
                                        "query": (1.5, -2.0, "eau")}
    assert "query" not in highlight_store("Filtres", [1], "", {"x": 0, "y": 0})
    assert "query" not in highlight_store("x", [1], "eau", None)


def test_wiring_registers_closures_dash_accepts():
    wiring = Wiring()
    seen = []

    @wiring.callback(Output("out", "children"), Input("in", "value"))
    def echo(services, value):
        """Echo."""
        seen.append(services)
        return f"{services['name']}:{value}"

    wiring.callback(Output("never", "children"), Input("in", "n_clicks"),
                    when=lambda app, services: False)(echo)
    wiring.clientside("function (v) { return v; }", Output("copy", "children"), Input("in", "value"))
    app = dash.Dash(__name__)
    app.layout = html.Div([html.Div(id=i) for i in ("in", "out", "never", "copy")])
    services = {"name": "s"}
    wiring.register(app, services)
    outputs = set(app.callback_map)
    assert "out.children" in outputs and "copy.children" in outputs and "never.children" not in outputs
    assert echo(services, 1) == "s:1"  # the function stays callable with any services
    with app.server.test_client() as client:
        resp = client.post("/_dash-update-component", json={
            "output": "out.children", "outputs": {"id": "out", "property": "children"},
            "inputs": [{"id": "in", "property": "value", "value": "x"}], "changedPropIds": ["in.value"]})
    assert resp.status_code == 200 and "s:x" in resp.get_data(as_text=True)
    bound = bind(echo, services)
    assert bound.__name__ == "echo" and bound.__doc__ == "Echo." and not hasattr(bound, "__wrapped__")

"""The search UI of the "Carte" page through the callback endpoint (as dash-renderer calls it):
filters with counts, chips, sort, « 10 de plus », filters in the URL, the map fade, bad input."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest
from plotly.utils import PlotlyJSONEncoder

from components import ids
from tests.uihelpers import all_of, find, strings


def state(q="", filters=None, **kw):
    return {
        "q": q,
        "mode": "hybrid",
        "filters": filters or {},
        "sort": "relevance",
        "ignore": [],
        "k": 20,
        **kw,
    }


def search(dash, st):
    return dash.call({f"{ids.SEARCH_STATE}.data": st})


def result_rows(resp) -> list[int]:
    items = all_of(
        resp[ids.RESULTS]["children"],
        lambda n: (
            isinstance(n.get("props", {}).get("id"), dict) and n["props"]["id"].get("type") == ids.RESULT_ITEM
        ),
    )
    return [i["props"]["id"]["row"] for i in items]


def facet_options(resp, key) -> list[dict]:
    node = find(resp[ids.FILTERS_PANEL]["children"], {"type": ids.FACET, "key": key})
    return node["props"]["options"] if node else []


def decode(mask_store, n) -> np.ndarray:
    if mask_store.get("rows") is not None:
        m = np.zeros(n, dtype=bool)
        m[mask_store["rows"]] = True
        return m
    bits = np.frombuffer(base64.b64decode(mask_store["bits"]), dtype=np.uint8)
    return np.unpackbits(bits, bitorder="little")[:n].astype(bool)


def test_filter_with_counts_and_map_fade(dash, explorer):
    cat = explorer.catalogue
    resp = search(dash, state("données"))
    opts = facet_options(resp, "format")
    assert opts and all(o["label"].endswith(")") for o in opts)  # « CSV (12) »
    fmt = opts[0]["value"]
    count = int(opts[0]["label"].rsplit("(", 1)[1].rstrip(")"))
    resp = search(dash, state("données", {"format": fmt}))
    rows = result_rows(resp)
    assert rows and all(cat.format_bits[r] & (1 << cat.format_names.index(fmt)) for r in rows)
    assert len(rows) == min(20, count)
    # the map: a bitmask (or the rows) of the filtered datasets, small, and the count stated
    store = resp[ids.MAP_FILTER]["data"]
    assert store["count"] == int(cat.mask({"format": [fmt]}).sum())
    np.testing.assert_array_equal(decode(store, explorer.n), cat.mask({"format": [fmt]}))
    assert len(json.dumps(store)) <= 20_000 * explorer.n / 70_575 + 200  # ≤ 20 KB at 70,575 rows
    assert "correspond" in resp[ids.MAP_FILTER_NOTE]["children"]
    assert resp[ids.FILTERS_TAB]["label"] == "Filtres (1)"
    chip = find(resp[ids.SEARCH_CHIPS]["children"], {"type": ids.FILTER_CHIP, "key": "format"})
    assert chip is not None
    # no filter: the fade is cleared
    assert search(dash, state("données"))[ids.MAP_FILTER]["data"] is None


def test_one_fading_for_filters_and_years(dash):
    """The search filters' mask and the year filter fade the map through one browser function
    (assets/30-map-mask.js), so the two combine instead of overwriting each other."""
    readers = [d for d in dash.deps if {"id": ids.MAP_FILTER, "property": "data"} in d["inputs"]]
    assert len(readers) == 1
    fn = readers[0]["clientside_function"]
    assert fn == {"namespace": "mapTime", "function_name": "update"}
    assert {"id": ids.MAP_TIME_DATA, "property": "data"} in readers[0]["inputs"]
    # nothing else touches the base trace's fading
    assert not [d for d in dash.deps if d.get("clientside_function") is None
                and d["output"].startswith(ids.MAP + ".")
                and {"id": ids.MAP_FILTER, "property": "data"} in d["inputs"]]


def test_first_open_filters_browse_the_whole_catalogue(dash, explorer, app):
    """Before any search the « Filtres » tab holds the whole catalogue's counts; a click on one
    starts browsing it (and the map fades what it leaves out). Once a search is active, that
    panel's late messages never undo its filters (a shared link's filters stay)."""
    layout = app.layout() if callable(app.layout) else app.layout
    panel = find(json.loads(json.dumps(layout, cls=PlotlyJSONEncoder)), ids.FILTERS_PANEL)
    node = find(panel, {"type": ids.CATALOGUE_FACET, "key": "format"})
    assert node is not None, "no format filter before a search"
    opt = node["props"]["options"][0]
    value, count = opt["value"], int(opt["label"].rsplit("(", 1)[1].rstrip(")"))
    assert count == int(explorer.catalogue.mask({"format": [value]}).sum())  # the whole catalogue
    # clearing a search brings the same panel back
    resp = search(dash, None)
    assert find(resp[ids.FILTERS_PANEL]["children"], {"type": ids.CATALOGUE_FACET, "key": "format"})
    # a click with no search yet: a state that browses, and the map's mask
    fmt_id = {"type": ids.CATALOGUE_FACET, "key": "format"}
    pattern = json.dumps({"key": ["ALL"], "type": ids.CATALOGUE_FACET}, separators=(",", ":"))

    spec = dash.spec([f"{pattern}.value"], [f"{ids.SEARCH_STATE}.data"])

    def click(values, current):
        body = {"output": spec["output"], "outputs": {"id": ids.SEARCH_STATE, "property": "data"},
                "inputs": [[{"id": fmt_id, "property": "value", "value": values}]],
                "state": [{"id": ids.SEARCH_STATE, "property": "data", "value": current}],
                "changedPropIds": [json.dumps(fmt_id, sort_keys=True, separators=(",", ":")) + ".value"]}
        r = dash.client.post("/_dash-update-component", json=body)
        assert r.status_code in (200, 204), r.data[:500]
        return {} if r.status_code == 204 else (r.get_json()["response"] or {})

    st = click([value], None)[ids.SEARCH_STATE]["data"]
    assert st["q"] == "" and st["filters"] == {"format": value}
    resp = search(dash, st)
    assert len(result_rows(resp)) == min(20, count)
    assert resp[ids.MAP_FILTER]["data"]["count"] == count
    # a search is active (e.g. from a shared link): the stale whole-catalogue panel is ignored
    assert click([], state("données", {"format": value})) == {}


def test_browse_without_query(dash, explorer):
    lic = explorer.catalogue.counts("licence", np.arange(explorer.n))[0]
    resp = search(dash, state("", {"licence": lic.value}))
    rows = result_rows(resp)
    assert len(rows) == min(20, lic.count)
    pri = explorer.engine.prior[rows]
    assert list(pri) == sorted(pri, reverse=True)  # most popular first
    assert "correspondent aux filtres" in resp[ids.RESULTS_HEADER]["children"]


def test_facet_click_chip_removal_more_and_clear(dash, explorer):
    st = state("données")
    resp = search(dash, st)
    opts = facet_options(resp, "licence")
    facet_in = json.dumps({"key": ["ALL"], "type": ids.FACET}, separators=(",", ":"))
    slot_in = json.dumps({"key": ["ALL"], "type": ids.SLOT_CHIP}, separators=(",", ":"))
    filt_in = json.dumps({"key": ["ALL"], "type": ids.FILTER_CHIP}, separators=(",", ":"))
    more_in = json.dumps({"key": ["ALL"], "type": ids.MORE_RESULTS}, separators=(",", ":"))
    clear_in = json.dumps({"key": ["ALL"], "type": ids.CLEAR_FILTERS}, separators=(",", ":"))
    more_id = {"type": ids.MORE_RESULTS, "key": "more"}
    clear_id = {"type": ids.CLEAR_FILTERS, "key": "clear"}

    spec = dash.spec(
        [
            f"{facet_in}.value",
            f"{slot_in}.n_clicks",
            f"{filt_in}.n_clicks",
            f"{more_in}.n_clicks",
            f"{clear_in}.n_clicks",
        ],
        [f"{facet_in}.options", f"{ids.SEARCH_STATE}.data"],
    )

    def edit(values, changed, options=None, more=None, clear=None, state_=None):
        """POST the callback as dash-renderer does (pattern inputs: lists of {id, property, value})."""
        body = {
            "output": spec["output"],
            "outputs": {"id": ids.SEARCH_STATE, "property": "data"},
            "inputs": [
                values,
                [],
                [],
                [{"id": more_id, "property": "n_clicks", "value": more}] if more is not None else [],
                [{"id": clear_id, "property": "n_clicks", "value": clear}] if clear is not None else [],
            ],
            "state": [options or [], {"id": ids.SEARCH_STATE, "property": "data", "value": state_ or st}],
            "changedPropIds": changed,
        }
        r = dash.client.post("/_dash-update-component", json=body)
        assert r.status_code in (200, 204), r.data[:500]
        return None if r.status_code == 204 else (r.get_json()["response"] or None)

    # a dash pattern input arrives as a list of {id, property, value}
    facet_values = [
        {"id": {"type": ids.FACET, "key": "licence"}, "property": "value", "value": [opts[0]["value"]]}
    ]
    facet_opts = [{"id": {"type": ids.FACET, "key": "licence"}, "property": "options", "value": opts}]
    changed = [json.dumps({"key": "licence", "type": ids.FACET}, separators=(",", ":")) + ".value"]
    new = edit(facet_values, changed, facet_opts)[ids.SEARCH_STATE]["data"]
    assert new["filters"] == {"licence": opts[0]["value"]}
    # drawn as it is (nothing checked, no filter): no update, so no loop
    same = [{"id": {"type": ids.FACET, "key": "licence"}, "property": "value", "value": []}]
    assert edit(same, changed, facet_opts) is None
    more_changed = [json.dumps(more_id, sort_keys=True, separators=(",", ":")) + ".n_clicks"]
    more = edit(same, more_changed, facet_opts, more=1)[ids.SEARCH_STATE]["data"]
    assert more["k"] == 30
    # « Retirer tous les filtres » (the way back from an empty result)
    clear_changed = [json.dumps(clear_id, sort_keys=True, separators=(",", ":")) + ".n_clicks"]
    filtered = dict(st, filters={"year": "2015", "modified": "2001"})
    cleared = edit(same, clear_changed, facet_opts, clear=1, state_=filtered)[ids.SEARCH_STATE]["data"]
    assert cleared["filters"] == {} and cleared["q"] == "données"
    # a hostile client: junk in the pattern values is ignored, never a server error
    year_id = {"type": ids.FACET, "key": "year"}
    junk = [{"id": year_id, "property": "value", "value": ["<b>", {"$ne": 1}, True]}]
    year_changed = [json.dumps({"key": "year", "type": ids.FACET}, separators=(",", ":")) + ".value"]
    edit(junk, year_changed, facet_opts)
    # an item whose id is not of the pattern: refused before any callback runs (issue 23), a 400
    with pytest.raises(AssertionError, match="invalide"):
        edit([*junk, {"id": "nope", "property": "value", "value": 3}], year_changed, facet_opts)


def test_place_chip_removable_and_why_shown(dash, explorer):
    cat = explorer.catalogue
    t = cat.territories
    vals = [
        fv for fv in cat.counts("territory", np.arange(cat.n), top=200) if fv.value.startswith("commune:")
    ]
    assert vals, "the fixture names no commune"
    name = str(t["names"][t["pos"][vals[0].value]])
    resp = search(dash, state(f"données {name}"))
    chips = all_of(
        resp[ids.SEARCH_CHIPS]["children"], lambda n: isinstance(n.get("props", {}).get("id"), dict)
    )
    keys = [c["props"]["id"]["key"] for c in chips]
    assert f"territory:{vals[0].value}" in keys
    text = " ".join(strings(resp[ids.RESULTS]["children"]))
    assert "Pourquoi ce résultat" in text
    # removed: the state says so and the chip is gone
    resp2 = search(dash, state(f"données {name}", ignore=[f"territory:{vals[0].value}"]))
    chips2 = all_of(
        resp2[ids.SEARCH_CHIPS]["children"], lambda n: isinstance(n.get("props", {}).get("id"), dict)
    )
    assert f"territory:{vals[0].value}" not in [c["props"]["id"]["key"] for c in chips2]


@pytest.mark.parametrize(
    "filters, expect",
    [
        ({"producer": "no-such-producer"}, "inconnu"),
        ({"year": "demain"}, "pas une année"),
        ({"colour": "rouge"}, "filtre inconnu"),
        ({"territory": "<script>alert(1)</script>"}, "inconnu"),
    ],
)
def test_unknown_filter_values_in_the_url(dash, filters, expect):
    search_str = "?q=donn%C3%A9es&" + "&".join(f"{k}={v}" for k, v in filters.items())
    resp = dash.call(
        {f"{ids.URL}.search": search_str}, {f"{ids.SEARCH_STATE}.data": None, f"{ids.SELECTED}.data": None}
    )
    st = resp[ids.SEARCH_STATE]["data"]
    out = search(dash, st)
    msgs = (
        " ".join(strings(out[ids.SEARCH_MESSAGES]["children"]))
        if out[ids.SEARCH_MESSAGES]["children"]
        else ""
    )
    if "colour" in filters:
        assert "colour" not in st["filters"]  # never even reaches the search
    else:
        assert expect in msgs
    assert result_rows(out)  # the search itself still runs
    assert not all_of(
        out, lambda n: n.get("type") == "Markdown" or n.get("props", {}).get("dangerously_allow_html")
    )


def test_contradictory_filters_give_a_french_message_and_a_way_back(dash):
    out = search(dash, state("données", {"year": "2015", "modified": "2001"}))
    assert result_rows(out) == []
    text = " ".join(strings(out[ids.RESULTS]["children"]))
    assert "Aucun jeu de données ne correspond" in text
    assert find(out[ids.RESULTS]["children"], {"type": ids.CLEAR_FILTERS, "key": "clear"}) is not None
    assert "Aucun jeu de données" in out[ids.MAP_FILTER_NOTE]["children"]


def test_long_and_html_queries_with_filters(dash, explorer):
    long = "<img src=x onerror=alert(1)> " + "budget " * 2_000
    out = search(dash, state(long, {"has_reuses": "1"}))
    assert out[ids.RESULTS_HEADER]["children"].count("budget") <= 20
    for node in all_of(out, lambda n: n.get("type") == "Markdown"):
        assert "onerror" not in json.dumps(node)
    # the snippet highlights are text (html.Mark children), never raw HTML
    marks = all_of(out[ids.RESULTS]["children"], lambda n: n.get("type") == "Mark")
    assert all(isinstance(m["props"]["children"], str) for m in marks)
    assert not all_of(out, lambda n: n.get("props", {}).get("dangerously_allow_html"))

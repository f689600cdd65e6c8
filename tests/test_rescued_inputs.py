"""The 14 errors issue 23 found caught only by the last-resort net (a 204, no French word): each
now gets a French message or a clean refusal, and the net (``callbacks.guard.RESCUES``) is never
reached. Also the coercers of digits: ASCII only, bounded length."""

from __future__ import annotations

import base64
import json

import plotly.graph_objects as go
import pytest

from callbacks import guard
from components import ids
from components.map_image import image_figure
from components.tour import MAX_DEPTH
from models.serve.filters import ascii_int, parse_year_range
from tests.uihelpers import strings

FACET = json.dumps({"key": ["ALL"], "type": ids.FACET}, separators=(",", ":"))
SLOT = json.dumps({"key": ["ALL"], "type": ids.SLOT_CHIP}, separators=(",", ":"))
FILTER = json.dumps({"key": ["ALL"], "type": ids.FILTER_CHIP}, separators=(",", ":"))
MORE = json.dumps({"key": ["ALL"], "type": ids.MORE_RESULTS}, separators=(",", ":"))
CLEAR = json.dumps({"key": ["ALL"], "type": ids.CLEAR_FILTERS}, separators=(",", ":"))


@pytest.fixture()
def no_rescue():
    before = sum(guard.RESCUES.values())
    yield
    assert sum(guard.RESCUES.values()) == before, dict(guard.RESCUES)


def _upload(text: str) -> str:
    return "data:application/json;base64," + base64.b64encode(text.encode()).decode()


@pytest.mark.parametrize("text", ["[" * 1_000 + "]" * 1_000, '{"a":' * 30_000 + "1" + "}" * 30_000,
                                  '{"steps": ' + "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1) + "}"])
def test_deep_tour_upload_is_refused_in_french(dash, no_rescue, text):
    resp = dash.call({f"{ids.TOUR_UPLOAD}.contents": _upload(text)})
    message = resp[ids.TOUR_MESSAGE]["children"]
    assert message.startswith("Visite refusée") and "trop imbriqué" in message
    assert ids.TOUR_MINE not in resp  # nothing loaded


@pytest.mark.parametrize("sort", [{"a": 1}, ["recent"], [], {}])
def test_sort_of_any_type_in_the_search_state(dash, explorer, no_rescue, sort):
    state = {"q": "eau", "mode": "keyword", "filters": {}, "sort": sort, "ignore": [], "k": 10}
    # the four callbacks that read a search state
    results = dash.call({f"{ids.SEARCH_STATE}.data": state})
    assert results[ids.RESULTS]["children"]  # searched, by relevance
    url = dash.call({f"{ids.SEARCH_STATE}.data": state, f"{ids.SELECTED}.data": None},
                    {f"{ids.URL}.search": ""})
    assert url[ids.URL]["search"] == "?q=eau&mode=keyword"  # no sort written
    same = dash.call({f"{ids.URL}.search": "?q=eau&mode=keyword"},
                     {f"{ids.SEARCH_STATE}.data": state, f"{ids.SELECTED}.data": None})
    assert same is None  # the URL's search is the state's (its sort read as « relevance »): no update
    submitted = dash.call({f"{ids.SEARCH_BUTTON}.n_clicks": 1, f"{ids.SEARCH_INPUT}.n_submit": 0,
                           f"{ids.SEARCH_MODE}.value": "keyword", f"{ids.SEARCH_SORT}.value": sort},
                          {f"{ids.SEARCH_INPUT}.value": "eau", f"{ids.SEARCH_STATE}.data": None})
    assert submitted[ids.SEARCH_STATE]["data"]["sort"] == "relevance"


@pytest.mark.parametrize("year", ["²⁰²⁰", "٢٠٢٠", "２０２０", "2" * 5_000, "20²0"])
def test_non_ascii_digits_as_a_facet_year_add_no_filter(dash, no_rescue, year):
    state = {"q": "eau", "mode": "keyword", "filters": {}, "sort": "relevance", "ignore": [], "k": 10}
    fid = {"type": ids.FACET, "key": "year"}
    body_inputs = {f"{FACET}.value": [{"id": fid, "property": "value", "value": [year]}],
                   f"{SLOT}.n_clicks": [], f"{FILTER}.n_clicks": [], f"{MORE}.n_clicks": [],
                   f"{CLEAR}.n_clicks": []}
    spec = dash.spec(list(body_inputs), [f"{FACET}.options", f"{ids.SEARCH_STATE}.data"])
    body = {"output": spec["output"], "outputs": {"id": ids.SEARCH_STATE, "property": "data"},
            "inputs": list(body_inputs.values()),
            "state": [[{"id": fid, "property": "options", "value": [{"label": "2020", "value": 2020}]}],
                      {"id": ids.SEARCH_STATE, "property": "data", "value": state}],
            "changedPropIds": [json.dumps(fid, sort_keys=True, separators=(",", ":")) + ".value"]}
    r = dash.client.post("/_dash-update-component", json=body)
    assert r.status_code in (200, 204), r.data[:300]
    if r.status_code == 200:  # a state without a year filter
        assert "year" not in r.get_json()["response"][ids.SEARCH_STATE]["data"]["filters"]


@pytest.mark.parametrize("colour", ["k²", "k" + "1" * 5_000, "k٤", "k", "k-1", {"k": 4}, ["k4"]])
def test_non_ascii_or_huge_map_colouring_is_ignored(app, explorer, dash, no_rescue, colour):
    assert explorer.topics.map_colouring(colour) is None
    if any(s["inputs"] == [{"id": ids.MAP_COLOUR, "property": "value"}] for s in dash.deps):
        assert dash.call({f"{ids.MAP_COLOUR}.value": colour},
                         {f"{ids.MAP_HIGHLIGHT}.data": None, f"{ids.SELECTED}.data": None}) is None


def test_map_colouring_still_accepts_its_models(explorer):
    k = explorer.topics.ks()[0]
    assert explorer.topics.map_colouring(f"k{k}") is not None


@pytest.mark.parametrize("labels", [True, {"x": 1}, "abc", 3, [True, None, "x", [1, 2], {"x": "nan", "y": 1},
                                                              {"x": 1e400, "y": 0, "text": "a"}]])
def test_image_labels_of_any_shape(labels):
    fig = image_figure(go.Figure(), {"x": [0, 1], "y": [0, 1], "labels": labels})
    assert fig.layout.annotations == ()
    good = image_figure(go.Figure(), {"labels": [{"x": 1, "y": 2, "text": "Paris"}]})
    assert [a.text for a in good.layout.annotations] == ["Paris"]


def test_unknown_topic_in_the_url_is_said_in_french(dash, explorer, no_rescue):
    """« ?q=eau&topic=%C2%B2 » searched and said « inconnu, ignoré », not « La recherche a échoué »."""
    st = dash.call({f"{ids.URL}.search": "?q=eau&mode=keyword&topic=%C2%B2"},
                   {f"{ids.SEARCH_STATE}.data": None, f"{ids.SELECTED}.data": None})[ids.SEARCH_STATE]["data"]
    resp = dash.call({f"{ids.SEARCH_STATE}.data": st})
    texts = " ".join(strings(resp[ids.SEARCH_MESSAGES]["children"]))
    assert "inconnu, ignoré" in texts and "²" in texts
    assert "a échoué" not in " ".join(strings(resp[ids.RESULTS]["children"]))
    assert resp[ids.RESULTS]["children"]


def test_ascii_int_and_year_ranges():
    assert [ascii_int(v) for v in ("12", " 7 ", "-3", 4, "²", "٣", "３", "1e3", "", "-", True, 1.0)] == \
        [12, 7, -3, 4, None, None, None, None, None, None, None, None]
    assert ascii_int("9" * 10) is None and ascii_int(10**12) is None and ascii_int("9" * 9) == 999_999_999
    assert parse_year_range("2018-2022") == (2018, 2022) and parse_year_range([2022, "2018"]) == (2018, 2022)
    for bad in ("²⁰²⁰", ["²⁰²⁰"], "٢٠٢٠", ["２０２０"], True, ["2" * 5000], "2" * 5000):
        assert parse_year_range(bad) is None, bad


# ---- the quality page's uploads ------------------------------------------------------------------

def _quality_upload(dash, text: str, filename):
    from components import quality_page as qp

    contents = "data:text/csv;base64," + base64.b64encode(text.encode()).decode()
    out = dash.call({f"{qp.FILE}.value": None, f"{qp.UPLOAD}.contents": contents},
                    {f"{qp.UPLOAD}.filename": filename}, changed=[f"{qp.UPLOAD}.contents"])
    return out, " ".join(strings(out[qp.STATUS]["children"])) if qp.STATUS in out else ""


@pytest.mark.parametrize("filename", ["x" * 252 + ".csv", None, 3, ["a.csv"], {"name": "a.csv"}, "", "a.exe"])
def test_upload_filename_too_long_or_not_a_string_is_refused(dash, no_rescue, filename):
    from components import quality_page as qp

    out, status = _quality_upload(dash, "query,expected\neau,unknown-id\n", filename)
    assert status.startswith("Fichier refusé") and qp.RESULT not in out
    assert ("nom de fichier invalide" in status) or ("doit être un CSV" in status)


def test_a_255_character_csv_name_is_accepted(dash, no_rescue):
    from components import quality_page as qp

    out, _ = _quality_upload(dash, "query,expected\neau,unknown-id\n", "x" * 251 + ".csv")
    assert out[qp.RESULT]["data"]["metrics"]


def test_bare_carriage_returns_in_a_quality_csv():
    """A bare « \r » ends a row (old Mac files), inside quotes it stays in the cell; never
    Python's English « new-line character seen in unquoted field »."""
    from models.serve.evaluate import RelevanceFileError, parse_relevance

    assert [(q.query, q.expected) for q in parse_relevance("query,params,expected\reau,,abc\r")] == \
        [("eau", ["abc"])]
    assert [q.query for q in parse_relevance('query,params,expected\n"eau\rfroide",,abc\n')] == ["eau froide"]
    with pytest.raises(RelevanceFileError, match="ligne 3 : ni requête ni paramètres"):
        parse_relevance("query,params,expected\neau\r,,abc\n")


def test_csv_errors_are_said_in_french(monkeypatch):
    """Whatever the csv module raises (its text is English) becomes a French sentence."""
    import csv

    from models.serve import evaluate

    def broken(*a, **k):
        raise csv.Error("new-line character seen in unquoted field")

    monkeypatch.setattr(evaluate, "_parse_relevance", broken)
    with pytest.raises(evaluate.RelevanceFileError) as err:
        evaluate.parse_relevance("query,params,expected\n")
    assert str(err.value).startswith("CSV illisible à la ligne") and "newline" not in str(err.value)

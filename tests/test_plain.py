"""components.plain: the result cards written as the JSON Dash sends are valid Dash components
and serialise exactly as the components would."""

from __future__ import annotations

import json

import dash_bootstrap_components as dbc
import plotly.io.json as pj
import pytest
from dash import html
from dash.development.base_component import Component
from hypothesis import given, settings
from hypothesis import strategies as st

from components import ids, plain
from components.search_results import result_card, results_block, versions_block

LIBRARIES = {plain.HTML: html, plain.DBC: dbc}
HOSTILE = '<img src=x onerror=alert(1)> « Données » & </div>'


def as_component(value):
    """A plain node (and its children) as the Dash component it stands for: the constructor
    refuses a prop the component does not have."""
    if isinstance(value, list):
        return [as_component(v) for v in value]
    if isinstance(value, dict) and set(value) == {"props", "type", "namespace"}:
        props = dict(value["props"])
        if "children" in props:
            props["children"] = as_component(props["children"])
        return getattr(LIBRARIES[value["namespace"]], value["type"])(**props)
    return value


def sent(value) -> object:
    """What Dash sends for ``value`` (components or plain nodes), parsed back."""
    return json.loads(pj.to_json_plotly(value))


def same_as_components(tree) -> None:
    component = as_component(tree)
    assert isinstance(component, Component)
    assert sent(component) == sent(tree)


TEXT = st.one_of(st.none(), st.text(max_size=40), st.just(HOSTILE), st.just(""))
VERSION = st.fixed_dictionaries({"title": TEXT, "last_modified": TEXT,
                                  "url": st.sampled_from(["", "https://www.data.gouv.fr/d/x",
                                                          "javascript:alert(1)", None])})
CARD = st.fixed_dictionaries(
    {"row": st.integers(0, 10**6), "title": TEXT, "organization": TEXT, "last_modified": TEXT,
     "frequency": TEXT, "coverage": TEXT, "territories": st.lists(st.text(max_size=10), max_size=3),
     "declared_zones": TEXT, "formats": st.lists(st.sampled_from(["csv", "json", HOSTILE]), max_size=3),
     "licence": TEXT, "views": st.integers(0, 10**7), "reuses": st.integers(0, 99),
     "followers": st.integers(0, 99),
     "url": st.sampled_from(["https://www.data.gouv.fr/d/x", "javascript:alert(1)", "", None])},
    optional={"rank": st.integers(1, 100), "quality": st.integers(0, 100), "freshness": TEXT,
              "snippet": st.lists(st.tuples(st.text(max_size=20), st.booleans()), max_size=5),
              "why": st.lists(st.text(max_size=20), max_size=3), "n_versions": st.integers(0, 12),
              "versions": st.lists(VERSION, max_size=4)})


@settings(max_examples=200, deadline=None)
@given(CARD)
def test_any_card_is_the_json_of_valid_components(card):
    same_as_components(result_card(card))


def test_a_full_card_reads_as_before():
    card = {"row": 7, "rank": 2, "title": HOSTILE, "organization": None, "last_modified": "1er mars 2025",
            "frequency": "annuelle", "coverage": "2019 – 2024", "territories": ["Lyon"], "formats": ["csv"],
            "licence": "Licence Ouverte", "views": "1 200", "reuses": 3, "followers": 1, "quality": 81,
            "freshness": "en retard", "snippet": [("piscines", True), (" de ", False)],
            "why": ["titre", "lieu"], "url": "https://www.data.gouv.fr/datasets/x", "n_versions": 5,
            "versions": [{"title": "Piscines 2023", "last_modified": "2 mars 2024",
                          "url": "https://www.data.gouv.fr/datasets/y"}]}
    tree = result_card(card)
    same_as_components(tree)
    item = as_component(tree)
    assert item.id == {"type": ids.RESULT_ITEM, "row": 7} and "result-card" in item.class_name
    text = json.dumps(sent(tree), ensure_ascii=False)
    assert HOSTILE.replace('"', '\\"') in text  # a text node (React escapes it), never parsed as HTML
    for shown in ("Producteur inconnu", "1 200 vues", "qualité des métadonnées 81/100",
                  "Pourquoi ce résultat", "5 autres versions", "… et 4 de plus", "Piscines 2023"):
        assert shown in text, shown
    links = [c for c in _walk(item) if isinstance(c, html.A)]
    assert [a.href for a in links] == ["https://www.data.gouv.fr/datasets/x", "https://www.data.gouv.fr/datasets/y"]
    assert all(a.rel == "noopener noreferrer" for a in links)


def test_unsafe_links_are_dropped():
    tree = result_card({"row": 1, "title": "t", "url": "javascript:alert(1)", "n_versions": 1,
                        "versions": [{"title": "v", "url": "data:text/html,x"}]})
    assert not [c for c in _walk(as_component(tree)) if isinstance(c, html.A)]


def test_the_results_block_mixes_components_and_plain_cards():
    block = results_block([{"row": 1, "title": "a"}, {"row": 2, "title": "b"}], total=50, k=20)
    out = sent(block)
    items = out["props"]["children"][0]["props"]["children"]
    assert [i["props"]["id"]["row"] for i in items] == [1, 2]
    assert sent(as_component(json.loads(json.dumps(out)))) == out


@pytest.mark.parametrize("n", [1, 3])
def test_versions_block(n):
    tree = versions_block({"n_versions": n, "versions": [{"title": "v1", "url": ""}]})
    same_as_components(tree)
    assert isinstance(as_component(tree), html.Details)


def _walk(c):
    yield c
    children = getattr(c, "children", None)
    for ch in children if isinstance(children, list) else [children]:
        if isinstance(ch, Component):
            yield from _walk(ch)


def _shown_text(children) -> str:
    """What a browser shows of text children: strings as they are, a ``Mark``'s text inside."""
    return "".join(c if isinstance(c, str) else _shown_text([c["props"]["children"]]) for c in children)


WORDS = st.lists(st.sampled_from(["prix", "des", "carburants", "piscines", "de", "la", "ville", "« Lyon »",
                                  "l'eau", "2024"]), min_size=1, max_size=60)


@settings(max_examples=200, deadline=None)
@given(WORDS, st.sampled_from(["prix carburants", "piscine", "eau ville", "des"]))
def test_a_snippet_shows_the_description_words_with_their_spaces(words, query):
    """The highlighted words sit between text pieces: each piece keeps its spaces, so « prix des
    carburants » never reads « Prixdescarburants »."""
    from components.search_results import snippet_children
    from models.serve.cards import query_stems, snippet_pieces

    text = " ".join(words)
    pieces = snippet_pieces(text, query_stems(query), width=80)
    shown = _shown_text(snippet_children(pieces))
    assert shown == "".join(t for t, _ in pieces)
    assert shown.strip(" …") in text


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["Rennes", "budget", "de", "la", "ville", "écoles", "voirie", "2015"]),
                min_size=0, max_size=80), st.integers(0, 80))
def test_a_place_query_s_snippet_shows_its_topic(words, at):
    """« piscines à Rennes »: the snippet is centred on « piscines » (the topic, its focus), not
    on the first « Rennes » — a place the card's title and territory already show; both are
    highlighted where the window holds them."""
    from models.serve.cards import query_stems, snippet_pieces

    words = [*words[:at], "piscines", *words[at:]]
    stems = query_stems("piscines Rennes")
    pieces = snippet_pieces(" ".join(words), stems, width=60, focus=query_stems("piscines") & stems)
    assert ("piscines", True) in pieces
    assert all(hl == (t.strip(" ,.").lower() in ("piscines", "rennes")) for t, hl in pieces if hl)

"""The service layer shared by the CLI, the JSON API and the MCP server (models/serve/service.py)."""

from __future__ import annotations

import json
import re

import pytest

from models.core.text import keyword_terms
from models.serve.cards import SNIPPET_CHARS, query_words
from models.serve.service import (
    CatalogueService,
    InvalidInput,
    NotFound,
    cli_payload,
    decode_state,
    encode_state,
)


@pytest.fixture(scope="module")
def svc(explorer):
    return CatalogueService(explorer)


def first_id(explorer) -> str:
    return str(explorer.datasets["id"].iat[0])


def test_search_is_the_explorer_search(svc, explorer):
    out = svc.search("transport", k=5)
    res = explorer.engine.search_result("transport", k=5, facets=False)
    assert [r["id"] for r in out["results"]] == [explorer.datasets["id"].iat[h.row] for h in res.hits]
    assert set(out["results"][0]) == {"id", "title", "organization", "score", "why", "versions"}
    assert out["total"] == res.total and out["messages"] == []


def test_search_details_add_url_and_snippet(svc):
    out = svc.search("transport", k=3, details=True)
    r = out["results"][0]
    assert r["url"].startswith("https://") and isinstance(r["snippet"], str)


def test_search_facets_and_dropped_filters(svc):
    out = svc.search("", filters={"format": ["csv"]}, facets=True, k=3)
    assert out["results"] and "format" in out["facets"]
    assert all(len(pair) == 2 for pair in out["facets"]["format"])
    detailed = svc.search("", filters={"format": ["csv"]}, facets=True, k=3, details=True)
    assert [v[:2] for v in detailed["facets"]["format"]] == out["facets"]["format"]
    bad = svc.search("eau", filters={"year": "pas une année"}, k=3)
    assert bad["messages"], "an unusable filter is dropped with a French message"


def test_cli_search_prints_the_service_payload(svc, built_root, capsys):
    from models.cli import main

    for extra, facets in (([], False), (["--facets"], True)):
        assert main(["search", "--artifacts", str(built_root), "--k", "4", "--json",
                     "--filter", "format=csv", *extra, "données"]) == 0
        printed = json.loads(capsys.readouterr().out)
        expected = cli_payload(svc.search("données", k=4, filters={"format": ["csv"]}, facets=facets), facets)
        assert printed == json.loads(json.dumps(expected, ensure_ascii=False))


def test_dataset_card(svc, explorer):
    d = svc.dataset(first_id(explorer))
    assert d["id"] == first_id(explorer) and d["title"] == explorer.datasets["title"].iat[0]
    assert d["url"].startswith("https://")
    assert isinstance(d["territories"], list) and isinstance(d["formats"], list)
    assert 0 <= d["quality"]["score"] <= 100
    assert d["topic"] is None or isinstance(d["topic"]["label"], str)
    json.dumps(d)  # plain data


@pytest.mark.parametrize("bad", ["nope", "", None, 12, "x" * 10_000])
def test_unknown_ids_are_not_found(svc, bad):
    with pytest.raises(NotFound) as e:
        svc.dataset(bad)
    assert e.value.code == "introuvable" and "\u202f»" in e.value.message
    with pytest.raises(NotFound):
        svc.similar(bad)
    with pytest.raises(NotFound):
        svc.producer(bad)
    with pytest.raises(NotFound):
        svc.territory_datasets(bad)


def test_similar_is_the_explorer_neighbours(svc, explorer):
    out = svc.similar(first_id(explorer), k=3)
    ids = explorer.datasets["id"]
    assert [r["id"] for r in out["results"]] == [ids.iat[h.row] for h in explorer.records.similar(0)[:3]]
    with pytest.raises(InvalidInput):
        svc.similar(first_id(explorer), k=0)


def test_ask_state_round_trip_equals_the_assistant_dialogue(svc, explorer):
    a1 = svc.ask("Où sont les données sur les transports ?")
    a2 = svc.ask("et en Bretagne ?", a1["state"])
    r1 = explorer.assistant.ask("Où sont les données sur les transports ?")
    r2 = explorer.assistant.ask("et en Bretagne ?", r1["state"])
    assert a2["answer"] == r2["reply"]
    assert [d["id"] for d in a2["datasets"]] == [c["id"] for c in r2["cards"]]
    assert decode_state(a2["state"]) == r2["state"]
    assert set(a1) >= {"answer", "datasets", "slots", "clarify", "state"}


@pytest.mark.parametrize("token", ["%%%", "e30", "W10", "bm90IGpzb24", "x" * 9000, 5])
def test_bad_states_are_refused(token):
    if token == "e30":  # "{}": a valid but empty state is a new dialogue
        assert decode_state(token)["turns"] == 0
        return
    with pytest.raises(InvalidInput):
        decode_state(token)


def test_state_codec_round_trips():
    from models.serve.assistant import new_state

    st = new_state() | {"topic": "écoles « primaires »", "turns": 3}
    assert decode_state(encode_state(st)) == st


def test_producers_paged_and_sorted(svc, explorer):
    p1 = svc.producers(page=1, per_page=5)
    assert len(p1["producers"]) == min(5, p1["total"]) and p1["total"] == len(explorer.producers)
    by_name = svc.producers(per_page=100, sort="name")["producers"]
    from models.core.text import fold

    names = [fold(p["name"], elisions=False) for p in by_name]
    assert len(names) == min(100, p1["total"]) and names == sorted(names)
    sizes = [p["n_datasets"] for p in svc.producers(per_page=100)["producers"]]
    assert sizes == sorted(sizes, reverse=True)
    with pytest.raises(InvalidInput):
        svc.producers(sort="pire")
    with pytest.raises(InvalidInput):
        svc.producers(page=0)
    one = svc.producer(p1["producers"][0]["id"])
    assert one["n_datasets"] == p1["producers"][0]["n_datasets"] and one["datasets"]


def test_territory_datasets(svc, explorer):
    terr = explorer.territories
    top = terr.most_named(1)
    assert top, "the test build names territories"
    out = svc.territory_datasets(top[0]["value"], per_page=5)
    assert out["total"] == len(terr.datasets(top[0]["value"])) and len(out["datasets"]) <= 5
    name = terr.entity(top[0]["value"])["name"]
    assert svc.find_territory(name) is not None
    assert svc.find_territory("zzzzqqq") is None


def test_topics_and_catalogue(svc, explorer):
    t = svc.topics()
    assert t["k"] == len(explorer.topics.default.table) > 0
    assert sum(x["n_datasets"] for x in t["topics"]) == int((explorer.topics.default.dominant >= 0).sum())
    c = svc.catalogue()
    assert c["n_datasets"] == explorer.n and c["build_id"] and c["n_topics"] == t["k"]
    assert "hybrid" in c["modes"] and len(c["export_date"]) == 10


def reference_snippet(text: str, query: str, width: int = SNIPPET_CHARS) -> list[tuple[str, bool]]:
    """The cards' snippet as first written (every word of the text scanned): the reference
    the fast scan of :func:`models.serve.cards.snippet_pieces` must equal."""
    text = " ".join(str(text or "").split())
    if not text:
        return []
    stems = {t for w in query_words(query) for t in keyword_terms(w)}
    tokens = list(re.finditer(r"[^\W_][\w'’-]*", text))
    hits = []
    for m in tokens:
        ts = keyword_terms(m.group(0))
        if ts and ts[-1] in stems:
            hits.append(m.span())
    start = 0
    if hits:
        start = max(0, hits[0][0] - width // 3)
        sp = text.rfind(" ", 0, start)
        start = sp + 1 if start and sp >= 0 else start
    end = min(len(text), start + width)
    if end < len(text):
        sp = text.rfind(" ", start, end)
        end = sp if sp > start else end
    pieces: list[tuple[str, bool]] = []
    if start > 0:
        pieces.append(("… ", False))
    pos = start
    for a, b in hits:
        if a < start or b > end:
            continue
        if a > pos:
            pieces.append((text[pos:a], False))
        pieces.append((text[a:b], True))
        pos = b
    if pos < end:
        pieces.append((text[pos:end], False))
    if end < len(text):
        pieces.append((" …", False))
    return pieces


def test_fast_snippet_equals_the_cards_snippet(explorer):
    from models.serve.cards import query_stems, snippet, snippet_pieces

    n = 0
    for query in ("transport", "données publiques", "eau potable commune", "budget", "zzz", ""):
        stems = query_stems(query)
        for row in range(0, explorer.n, 3):
            text = explorer.records.description_text(row)
            assert snippet_pieces(text, stems) == reference_snippet(text, query) == snippet(text, query), \
                (query, row)
            n += bool(stems)
    assert n > 200


def test_a_page_of_cards_holds_each_rows_own_values(explorer):
    """``cards`` reads every column once for a whole page: each card still shows its own row's
    values, in the order asked, with its family's versions (and the same card alone)."""
    from models.core import french
    from models.serve.cards import card, cards

    ds = explorer.datasets
    hits = [h for q in ("transport", "budget", "eau") for h in explorer.search(q, k=20)]
    rows = [h.row for h in hits][::-1]  # any order, a row may come twice
    rows.append(rows[0])
    # 0 to 2 versions a card, and one card with more than the 20 listed
    vers = [tuple(rows[i + 1:i + 1 + i % 3]) for i in range(len(rows))]
    vers[1] = tuple(range(25))
    page = cards(explorer, rows, query="transport", versions=vers, ranks=list(range(1, len(rows) + 1)))
    assert [c["row"] for c in page] == rows and [c["rank"] for c in page] == list(range(1, len(rows) + 1))
    for c, row, vs in zip(page, rows, vers, strict=True):
        assert c["id"] == str(ds["id"].iat[row]) and c["title"] == str(ds["title"].iat[row] or "")
        assert c["organization"] == str(ds["organization"].iat[row] or "")
        assert c["views"] == french.integer(ds["views"].iat[row], missing="0")
        assert [v["id"] for v in c["versions"]] == [str(ds["id"].iat[v]) for v in list(vs)[:20]]
        assert c["n_versions"] == len(vs)
        assert card(explorer, row, query="transport", versions=vs, rank=c["rank"]) == c

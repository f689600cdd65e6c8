"""Search modes: French keyword normalisation, BM25F behaviour, hybrid fusion, word2vec,
the Explorer's dispatch and the query's place on the map."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.core.text import joined_pairs, keyword_terms, light_stem
from models.pipeline.keyword_index import BM25Params
from models.serve.keyword import KeywordSearcher
from models.serve.search import (
    MODES,
    HybridParams,
    hybrid_scores,
    popularity_prior,
    ranks_of,
    rrf_fuse,
)

# ---- normalisation -------------------------------------------------------------------------


def test_elision_and_accents():
    assert keyword_terms("l'éducation") == keyword_terms("education")
    assert keyword_terms("d’Île-de-France") == ["ile", "franc"]  # "de" is a stop word
    assert keyword_terms("Annuaire de l'Éducation") == ["annuair", "education"]
    assert keyword_terms("qu'élèves") == keyword_terms("eleves")


def test_plurals_and_feminines_meet():
    for a, b in [("départements", "département"), ("codes postaux", "code postal"),
                 ("élus", "élu"), ("publiées", "publié"), ("réseaux", "réseau"), ("jeux", "jeu"),
                 ("émissions polluantes", "emission polluant"), ("gares", "GARE"),
                 ("associations", "association"), ("bibliothèques", "bibliotheque")]:
        assert keyword_terms(a) == keyword_terms(b), (a, b)


def test_acronyms_and_numbers_are_kept():
    assert keyword_terms("DVF") == ["dvf"]
    assert keyword_terms("SIRENE") == keyword_terms("sirene")
    assert keyword_terms("Base SIRENE des entreprises") == ["base", "siren", "entrepris"]
    assert keyword_terms("RNA, COG et AMD") == ["rna", "cog", "amd"]
    assert keyword_terms("loi de finances 2016") == keyword_terms("Loi de finance 2016")
    assert keyword_terms("loi de finances 2016")[-1] == "2016"
    assert light_stem("bus") == "bus" and light_stem("plu") == "plu"


def test_stop_words_and_questions():
    assert keyword_terms("Où sont les musées ?") == keyword_terms("musée")
    assert len(keyword_terms("Où sont les musées ?")) == 1
    assert keyword_terms("Combien de lits y a-t-il dans les hôpitaux ?") == ["lit", "hopital"]
    assert keyword_terms("") == [] and keyword_terms(None) == []


def test_joined_pairs():
    assert "opendamir" in joined_pairs("Open Damir : base complète")
    assert all(not t[0].isdigit() for t in joined_pairs("PLF 2016"))


# ---- BM25F ---------------------------------------------------------------------------------

def _frame(rows):
    return pd.DataFrame([{"title": t, "acronym": "", "tags": tags, "organization": org,
                          "description_text": d} for t, tags, org, d in rows])


DOCS = _frame([
    ("Base officielle des codes postaux", ["code-postal"], "La Poste", "Correspondance commune."),
    ("Liste des gares", ["gares", "sncf"], "SNCF", "Les gares de voyageurs du réseau ferré."),
    ("Horaires des trains", ["sncf"], "SNCF", "Horaires théoriques des trains et des gares."),
    ("Répertoire national des élus", ["elus", "rne"], "Ministère de l'Intérieur",
     "Les élus municipaux, départementaux et régionaux."),
    ("Budget", [], "Ville", "Le budget primitif de la ville, les postes de dépense."),
])


def test_bm25_ranks_title_matches_first_and_ignores_unknown_words():
    ks = KeywordSearcher.from_frame(DOCS)
    sc = ks.scores("gares")
    assert np.argmax(sc) == 1  # title + tag + description beat description only
    assert sc[2] > 0 and sc[0] == 0 and sc[4] == 0
    assert np.argmax(ks.scores("code postal")) == 0
    assert np.argmax(ks.scores("répertoire des élus")) == 3
    assert not ks.scores("zzzqqq").any()


def test_bm25_field_weights_matter():
    # "sncf" is the producer of rows 1 and 2 and a tag of both: same fields, so equal-ish;
    # with the producer weight alone, a producer match still scores
    only_producer = BM25Params(weights={"title": 0, "tags": 0, "producer": 1, "description": 0})
    ks = KeywordSearcher.from_frame(DOCS, only_producer)
    sc = ks.scores("poste")
    assert sc[0] > 0 and sc[4] == 0  # "postes" in row 4's description is not a producer


def test_bm25_idf_rare_term_outweighs_common():
    ks = KeywordSearcher.from_frame(DOCS)
    sc = ks.scores("sncf horaires")
    assert np.argmax(sc) == 2


# ---- hybrid fusion -------------------------------------------------------------------------

def test_rrf_agreement_wins_and_union_is_kept():
    a = {1: 1, 2: 2, 3: 3}
    b = {1: 1, 4: 2, 2: 3}
    fused = rrf_fuse([a, b], [1.0, 1.0], k=60)
    assert max(fused, key=fused.get) == 1
    assert set(fused) == {1, 2, 3, 4}
    assert fused[2] > fused[3] and fused[2] > fused[4]  # in both lists beats in one
    assert fused[1] == pytest.approx(2 / 61)
    assert rrf_fuse([a], [1.0], k=60, prior=np.zeros(5), prior_weight=0.0)[1] == pytest.approx(1 / 61)


def test_rrf_is_symmetric_and_weights_shift():
    a, b = {1: 1, 2: 2}, {2: 1, 1: 2}
    f = rrf_fuse([a, b], [1.0, 1.0])
    assert f[1] == pytest.approx(f[2])
    f = rrf_fuse([a, b], [2.0, 1.0])
    assert f[1] > f[2]


def test_rrf_popularity_factor_multiplies():
    f = rrf_fuse([{1: 1, 2: 2}], [1.0], k=60, prior=np.array([0.0, 0.0, 1.0]), prior_weight=1.0)
    assert f[1] == pytest.approx(1 / 61) and f[2] == pytest.approx(2 / 62)


@pytest.mark.parametrize("method", ["mix", "rrf"])
def test_hybrid_identical_lists_keep_their_order(method):
    kw = np.array([0.0, 3.0, 2.0, 1.0, 0.0])
    sem = np.array([0.1, 0.9, 0.8, 0.7, 0.2])
    sc = hybrid_scores(kw, sem, None, HybridParams(method=method, popularity=0.0))
    assert list(np.argsort(-sc)[:3]) == [1, 2, 3]
    assert np.isfinite(sc).sum() == 5  # the union of both candidate lists
    # a zero keyword score is not a keyword candidate
    assert ranks_of(kw, 10, positive_only=True) == {1: 1, 2: 2, 3: 3}


def test_hybrid_agreement_beats_one_sided_and_union_is_kept():
    kw = np.array([5.0, 0.0, 4.0, 0.0])  # row 0 best for keywords, row 2 close second
    sem = np.array([0.2, 0.9, 0.85, 0.1])  # row 1 best for meaning, row 2 close second
    sc = hybrid_scores(kw, sem, None, HybridParams(keyword_weight=0.5, popularity=0.0))
    assert np.argmax(sc) == 2  # good in both beats best in one
    assert np.isfinite(sc[[0, 1, 2, 3]]).all()


def test_hybrid_popularity_breaks_near_ties_but_does_not_invent_matches():
    kw = np.array([2.0, 2.1, 0.0, 0.0])
    sem = np.array([0.80, 0.80, 0.10, 0.0])
    prior = np.array([1.0, 0.0, 1.0, 1.0])
    params = HybridParams(keyword_weight=0.8, popularity=3.0, depth=2)
    sc = hybrid_scores(kw, sem, prior, params)
    assert np.argmax(sc) == 0  # popular near-tie wins
    assert not np.isfinite(sc[3])  # a popular dataset outside both candidate lists stays out
    assert np.argmax(hybrid_scores(kw, sem, prior, HybridParams(popularity=0.0, depth=2))) == 1


def test_hybrid_keyword_max_calibrates_partial_matches():
    # the keyword match covers a small part of what the query could match: the semantic
    # favourite wins once the keyword score is read against the query's best possible score
    kw = np.array([1.0, 0.0])
    sem = np.array([0.70, 0.90])
    p = HybridParams(keyword_weight=0.6, popularity=0.0)
    assert np.argmax(hybrid_scores(kw, sem, None, p)) == 0  # relative: 1.0 is "the best"
    assert np.argmax(hybrid_scores(kw, sem, None, p, keyword_max=10.0)) == 1


def test_keyword_max_score_bounds_every_score():
    ks = KeywordSearcher.from_frame(DOCS)
    for q in ("gares sncf", "code postal", "horaires trains gares", "répertoire des élus"):
        assert ks.scores(q).max() <= ks.max_score(q) + 1e-6
    # an unknown word makes the query harder to satisfy: the bound grows by the rarest idf
    assert ks.max_score("gares zzzqqq") == pytest.approx(ks.max_score("gares") + ks.max_idf)


def test_popularity_prior_in_unit_range():
    df = pd.DataFrame({"views": [0, 10, 1000], "reuses": [0, 0, 5], "followers": [0, 1, 2]})
    p = popularity_prior(df)
    assert p[0] == 0 and p[2] == pytest.approx(1.0) and 0 < p[1] < 1


# ---- Explorer ------------------------------------------------------------------------------

def test_modes_listed():
    assert MODES == ("keyword", "semantic", "hybrid", "word")


@pytest.mark.parametrize("mode", MODES)
def test_explorer_every_mode_finds_a_title(explorer, mode):
    row = 7
    title = explorer.datasets["title"].iat[row]
    hits = explorer.search(title, mode=mode, k=10)
    assert hits, mode
    assert row in [h.row for h in hits], (mode, title)
    assert all(np.isfinite(h.score) for h in hits)
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)


def test_explorer_rejects_unknown_mode_and_empty_query(explorer):
    with pytest.raises(ValueError):
        explorer.search("budget", mode="nope")
    assert explorer.search("   ", mode="hybrid") == []


def test_keyword_mode_returns_only_matches(explorer):
    assert explorer.search("zzzqqqxx", mode="keyword") == []
    assert explorer.search("zzzqqqxx", mode="word") == []


def test_tag_filter(explorer):
    tags = explorer.datasets["tags"]
    tag = next(t for ts in tags for t in ts if sum(t in set(x) for x in tags) >= 2)
    for mode in ("keyword", "hybrid"):
        hits = explorer.search("", mode=mode, k=50, tag=tag)
        assert hits and all(tag in set(tags.iat[h.row]) for h in hits)
    hits = explorer.search("données", mode="semantic", k=50, tag=tag)
    assert all(tag in set(tags.iat[h.row]) for h in hits)


def test_search_modes_shares_work(explorer):
    out = explorer.engine.search_modes("budget commune", modes=("keyword", "semantic", "hybrid"), k=5)
    assert set(out) == {"keyword", "semantic", "hybrid"}
    assert out["hybrid"][0].row in {h.row for h in out["keyword"][:5] + out["semantic"][:5]}


def test_query_words(explorer):
    word = explorer.engine.word.words[5]
    near = explorer.engine.query_words(word, k=5)
    assert len(near) == 5 and word not in [w for w, _ in near]
    assert all(-1.0 <= s <= 1.0 for _, s in near)
    assert explorer.engine.query_words("") == []


def test_place_query_lies_among_its_neighbours(explorer):
    title = explorer.datasets["title"].iat[3]
    placed = explorer.engine.place_query(title, k=10)
    xy = explorer.records.coords[placed["rows"]]
    assert xy[:, 0].min() - 1e-6 <= placed["x"] <= xy[:, 0].max() + 1e-6
    assert xy[:, 1].min() - 1e-6 <= placed["y"] <= xy[:, 1].max() + 1e-6
    assert explorer.engine.place_query("") is None


def test_weighted_position_nearest_weighs_most():
    from models.serve.engine import weighted_position

    coords = np.array([[0.0, 0.0], [10.0, 0.0], [10.0, 10.0]])
    xy = weighted_position(np.array([0.9, 0.5, 0.4]), coords)
    assert np.linalg.norm(xy - coords[0]) < np.linalg.norm(xy - coords[1])
    assert np.allclose(weighted_position(np.array([0.5]), coords[:1]), coords[0])


def test_query_encoder_threads_limited(monkeypatch):
    import sys
    import types

    from models.serve.explorer import limit_torch_threads

    calls = []
    fake = types.SimpleNamespace(get_num_threads=lambda: 2, set_num_threads=calls.append)
    monkeypatch.setitem(sys.modules, "torch", fake)
    limit_torch_threads(1)
    assert calls == [1]

"""Spelling correction of search queries against the catalogue's own words
(:mod:`models.serve.spelling`): what is corrected, what never is, and the search and the results
page with a typo — on a small dictionary, then on the fixture build (200 sample rows)."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from components import ids
from models.serve.spelling import SpellingCorrector
from tests.uihelpers import strings

WORDS = {"circulation": 500, "accidents": 900, "route": 800, "siret": 40, "sert": 1, "liste": 1600,
         "lite": 3, "bibliothèques": 80, "polluants": 30, "polluantes": 25, "élus": 90}


@pytest.fixture(scope="module")
def speller():
    known = set(WORDS) | {"de", "la", "des"}
    return SpellingCorrector(list(WORDS), list(WORDS.values()),
                             df_of=lambda w: 100 if w.lower() in known else 0)


@pytest.mark.parametrize("typed, meant", [
    ("accidents de la cicrulation", "accidents de la circulation"),  # two letters swapped
    ("accidnets de la route", "accidents de la route"),
    ("siert", "siret"),  # a frequent word rather than the first one found (« sert »)
    ("Lste des élus", "Liste des élus"),  # a capital stays
    ("bilbiotheques", "bibliothèques"),  # accents come back
])
def test_corrects_unknown_words_to_frequent_catalogue_words(speller, typed, meant):
    c = speller.correct(typed)
    assert c.text == meant and c.changed and c.original == typed


@pytest.mark.parametrize("query", [
    "polluants", "polluantes",  # known words are never changed, even if close to others
    'accidents de la "cicrulation"', "accidents de la « cicrulation »",  # quoted: as typed
    "SIERT", "cicrulation2024", "rte",  # acronyms, words with digits, words of 3 letters
    "zzzzzzzz",  # nothing close
])
def test_leaves_known_quoted_and_protected_words(speller, query):
    assert speller.correct(query).changes == []


def test_protected_spans_and_two_edits_at_most(speller):
    q = "cicrulation à Cicrulation-les-Bains"
    c = speller.correct(q, protected=[(q.index("Cicrulation-"), len(q))])
    assert c.text == "circulation à Cicrulation-les-Bains"
    assert speller.correct("cirulaton").text == "circulation"  # two edits, long word
    assert speller.correct("ciruaton").changes == []  # three: no guess


def test_a_typo_frequent_in_the_catalogue_is_not_corrected():
    """« lite » is rarer than « liste » but frequent enough on its own: kept."""
    sp = SpellingCorrector(["liste", "lite"], [1600, 400], df_of=lambda w: 0)
    assert sp.correct("lite").changes == []
    assert sp.correct("lsite").text == "liste"


# ---- on the fixture build ----------------------------------------------------------------------
def _frequent_title_word(explorer) -> str:
    counts = Counter()
    for title in explorer.datasets["title"].fillna(""):
        counts.update({w.lower() for w in re.findall(r"[^\W\d_]{8,}", title)})
    word, n = counts.most_common(1)[0]
    assert n >= 10, counts.most_common(5)
    return word


def _typo(word: str) -> str:
    return word[:3] + word[4] + word[3] + word[5:]  # two inner letters swapped


def test_search_with_a_typo_finds_what_the_word_finds(explorer):
    word = _frequent_title_word(explorer)
    typo = _typo(word)
    assert explorer.spell(typo).text == word
    assert ([h.row for h in explorer.search(typo, mode="keyword", k=10)]
            == [h.row for h in explorer.search(word, mode="keyword", k=10)])
    res = explorer.search_result(typo, mode="hybrid", k=10)
    assert res.corrections == [(typo, word)] and res.query == word
    clean = explorer.search_result(word, mode="hybrid", k=10)
    assert [h.row for h in res.hits] == [h.row for h in clean.hits]
    exact = explorer.search_result(f'"{typo}"', mode="keyword", k=10)
    assert exact.corrections == [] and exact.hits == []  # quoted: searched as typed, nothing


def test_results_page_says_what_was_corrected(dash, explorer):
    word = _frequent_title_word(explorer)
    typo = _typo(word)
    out = dash.call({f"{ids.SEARCH_STATE}.data": {"q": f"{typo} <b>x</b>", "mode": "hybrid", "filters": {},
                                                  "sort": "relevance", "ignore": [], "k": 10}})
    text = " ".join(strings(out[ids.SEARCH_MESSAGES]["children"]))
    assert f"Orthographe corrigée\u202f: «\u202f{typo}\u202f» → «\u202f{word}\u202f»" in text
    assert "guillemets" in text
    assert word in out[ids.RESULTS_HEADER]["children"]
    assert "<b>" not in text  # the tags are not words: never echoed as HTML


def test_a_typo_the_catalogue_repeats_is_corrected_a_rare_word_is_not():
    """« assocaitions » is in a few datasets (the catalogue's own typo), « associations » in
    hundreds of titles: corrected. A word in 20 datasets or more is a word: kept."""
    df = {"assocaitions": 4, "associatons": 25}
    sp = SpellingCorrector(["associations"], [395], df_of=lambda w: df.get(w.lower(), 0))
    assert sp.correct("assocaitions").text == "associations"
    assert sp.correct("associatons").changes == []
    few = SpellingCorrector(["associations"], [30], df_of=lambda w: df.get(w.lower(), 0))
    assert few.correct("assocaitions").changes == []  # 30 < 10 × 4: not sure enough

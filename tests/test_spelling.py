"""Spelling of search queries against the catalogue's own words (:mod:`models.serve.spelling`):
real words are never changed, an unknown word is suggested when the query finds something as
typed and replaced only when it finds nothing, and the search and the results page say so — on a
small dictionary, then on the fixture build (200 sample rows)."""

from __future__ import annotations

import itertools
import re
import time
import unicodedata
from collections import Counter
from urllib.parse import parse_qs

import pytest

from components import ids
from models.serve.spelling import MAX_LOOKUPS, SpellingCorrector, catalogue_words

WORDS = {"circulation": 500, "accidents": 900, "route": 800, "siret": 40, "sert": 12, "liste": 1600,
         "bibliothèques": 80, "polluants": 30, "polluantes": 25, "élus": 90}
CATALOGUE = set(WORDS) | {"de", "la", "des"}


def in_catalogue(words):
    """``df_of`` of a catalogue holding ``words`` (in 100 datasets each)."""
    known = {w.lower() for w in words}
    return lambda w: 100 if w.lower() in known else 0


@pytest.fixture(scope="module")
def speller():
    return SpellingCorrector(list(WORDS), list(WORDS.values()), df_of=in_catalogue(CATALOGUE))


@pytest.fixture(scope="module")
def lexicon():
    from models.core.geo import french_lexicon

    return french_lexicon()  # simplemma's French forms, accents folded


# ---- the held-out corruptions: real words the old correction replaced ---------------------------
# the wrong targets are frequent catalogue words within one or two edits of the typed words
TARGETS = {"Cigal": 300, "jeux": 900, "inspire": 40, "brute": 60, "secteurs": 400, "recharge": 80,
           "Beaux": 50}


@pytest.mark.parametrize("query, word, why", [
    ("Ciqual", "Ciqual", "catalogue"),  # the nutrition table's own name, in its title
    ("table de composition Ciqual", "Ciqual", "name"),
    ("Open Beauty Facts", "Beauty", "name"),  # a capital after the first word: a name
    ("open beauty facts", "beauty", "catalogue"),
    ("je veux des données", "veux", "french"),
    ("qualité de l'air que l'on respire", "respire", "french"),
    ("surface de forêt brûlé", "brûlé", "french"),
    ("forêt brule", "brule", "french"),  # accents folded
    ("docteurs", "docteurs", "french"),
    ("bornes pour recharger", "recharger", "french"),
])
def test_real_words_are_never_changed(lexicon, query, word, why):
    catalogue = {"ciqual", "beauty", "open", "facts", "table", "composition", "données", "forêt",
                 "bornes", "surface", "qualité", "air"}
    sp = SpellingCorrector(list(TARGETS), list(TARGETS.values()), df_of=in_catalogue(catalogue),
                           lexicon=lexicon)
    c = sp.correct(query)
    assert (c.text, c.changes, c.suggestion) == (query, [], None)
    # what keeps the word: without that reason the tempting target would be taken
    bare = SpellingCorrector(list(TARGETS), list(TARGETS.values()),
                             df_of=in_catalogue(catalogue if why == "french" else catalogue - {word.lower()}),
                             lexicon=frozenset() if why == "french" else lexicon)
    out = bare.correct(query.replace(word, word.lower()) if why == "name" else query)
    assert out.changes or out.suggested, out


# ---- suggestion or replacement -----------------------------------------------------------------
@pytest.mark.parametrize("typed, meant", [
    ("accidents de la cicrulation", "accidents de la circulation"),  # two letters swapped
    ("accidnets de la route", "accidents de la route"),
    ("liste des élsu", "liste des élus"),
    ("Lste des élus", "Liste des élus"),  # a capital stays
    ("siert liste", "siret liste"),  # a frequent word rather than the first one found (« sert »)
])
def test_a_typo_in_a_query_that_finds_something_is_suggested(speller, typed, meant):
    c = speller.correct(typed)
    assert c.text == typed and c.changes == [] and not c.changed  # searched as typed
    assert c.suggestion == meant and c.suggested and c.original == typed


@pytest.mark.parametrize("typed, meant", [
    ("cicrulation", "circulation"),
    ("bilbiotheques", "bibliothèques"),  # accents come back
    ("la cicrulation", "la circulation"),  # stop words find nothing
    ("cirulaton", "circulation"),  # two edits, long word
])
def test_a_query_of_unknown_words_is_replaced_and_keeps_the_original(speller, typed, meant):
    c = speller.correct(typed)
    assert c.text == meant and c.changed and c.original == typed and c.suggestion is None
    assert c.changes == [(w, m) for w, m in zip(typed.split(), meant.split(), strict=True) if w != m]
    assert c.verbatim == re.sub(r"\w{5,}", lambda m: f'"{m.group(0)}"', typed)
    assert speller.correct(c.verbatim).text == c.verbatim  # the link « chercher plutôt » keeps it


@pytest.mark.parametrize("query", [
    "polluants", "polluantes",  # known words are never changed, even if close to others
    'accidents de la "cicrulation"', "accidents de la « cicrulation »",  # quoted: as typed
    "SIERT", "cicrulation2024", "rte", "CicRulation",  # acronyms, digits, 3 letters, brands
    "zzzzzzzz",  # nothing close
    "ciruaton",  # three edits: no guess
])
def test_leaves_known_quoted_and_protected_words(speller, query):
    c = speller.correct(query)
    assert (c.text, c.changes, c.suggestion) == (query, [], None)


def test_protected_spans_places_and_names(speller):
    q = "cicrulation à Cicrulation-les-Bains"
    c = speller.correct(q, protected=[(q.index("Cicrulation-"), len(q))])
    assert c.text == "circulation à Cicrulation-les-Bains" and c.changes == [("cicrulation", "circulation")]
    assert speller.correct("liste cicrulation").suggestion == "liste circulation"
    named = SpellingCorrector(list(WORDS), list(WORDS.values()), df_of=in_catalogue(CATALOGUE),
                              is_name=lambda w: w.lower() == "cicrulation")  # a place of the gazetteer
    assert named.correct("liste cicrulation").suggestion is None


def test_a_word_any_dataset_holds_is_never_corrected():
    """« assocaitions » is in 4 datasets (the catalogue's own typo), « associations » in hundreds
    of titles: the word is kept, the datasets holding it are found as typed."""
    df = {"assocaitions": 4}
    sp = SpellingCorrector(["associations"], [395], df_of=lambda w: df.get(w.lower(), 0))
    assert sp.correct("assocaitions").text == "assocaitions"
    assert sp.correct("associatons").text == "associations"
    rare = SpellingCorrector(["associations"], [9], df_of=lambda w: 0)  # fewer than 10 titles
    assert rare.correct("associatons").changes == []


def test_the_closest_form_of_a_frequent_stem_with_its_accents():
    """« départements » is in 3 titles, « département » in 400: the stem is frequent, the form
    closest to the typo wins; tags without accents count for the accented title word, a title
    written decomposed (NFD) gives its words whole."""
    sp = SpellingCorrector(["départements", "département", "finance", "financé"],
                           [3, 400, 30, 5], df_of=in_catalogue({"contours", "loi"}))
    assert sp.correct("contours déppartements").suggestion == "contours départements"
    assert sp.correct("contours déppartement").suggestion == "contours département"
    assert sp.correct("loi de finanre").suggestion == "loi de finance"  # the frequent spelling
    titles = ["Bibliothe\u0300ques de Lyon"] * 5 + ["De\u0301livrance des visas"] * 10
    words, counts = catalogue_words(titles, [["bibliotheques", "culture"]] * 15)
    assert dict(zip(words, counts, strict=True))["bibliothèques"] == 20  # 5 titles, 15 tag lists
    from_titles = SpellingCorrector(words, counts, df_of=lambda w: 0)
    assert from_titles.correct("bilbiotheques").text == "bibliothèques"
    assert from_titles.correct("Délivrnce").text == "Délivrance"
    rare = SpellingCorrector(["départements", "département"], [3, 6], df_of=lambda w: 0)
    assert rare.correct("déppartements").changes == []  # 9 titles: not a word to bet on


def test_linear_and_bounded_in_the_query(speller, monkeypatch):
    calls = []
    real = SpellingCorrector.closest
    monkeypatch.setattr(SpellingCorrector, "closest", lambda self, w: calls.append(w) or real(self, w))
    unknown = ["".join(p) for p in itertools.islice(itertools.product("qwxk", repeat=6), 400)]
    q = " ".join(["cicrulation", *unknown, "cicrulation", "accidnets"])
    t0 = time.perf_counter()
    c = speller.correct(q)
    assert time.perf_counter() - t0 < 1.0
    assert len(calls) == MAX_LOOKUPS  # one fuzzy search per distinct unknown word, a few at most
    assert c.changes == [("cicrulation", "circulation")]  # the words after them stay
    assert c.text == q.replace("cicrulation", "circulation", 1)


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


def _other_word(explorer, word: str) -> str:
    """Another word of the titles, not close to ``word``."""
    counts = Counter()
    for title in explorer.datasets["title"].fillna(""):
        counts.update({w.lower() for w in re.findall(r"[^\W\d_]{6,}", title)} - {word})
    return next(w for w, _ in counts.most_common() if w[:3] != word[:3])


def test_search_with_only_a_typo_searches_the_word_and_says_so(explorer):
    word = _frequent_title_word(explorer)
    typo = _typo(word)
    c = explorer.engine.spell(typo)
    assert c.text == word and c.verbatim == f'"{typo}"'
    assert ([h.row for h in explorer.search(typo, mode="keyword", k=10)]
            == [h.row for h in explorer.search(word, mode="keyword", k=10)])
    res = explorer.engine.search_result(typo, mode="hybrid", k=10)
    assert res.corrections == [(typo, word)] and res.query == word
    clean = explorer.engine.search_result(word, mode="hybrid", k=10)
    assert [h.row for h in res.hits] == [h.row for h in clean.hits]
    exact = explorer.engine.search_result(f'"{typo}"', mode="keyword", k=10)
    assert exact.corrections == [] and exact.hits == []  # quoted: searched as typed, nothing


def test_search_with_a_typo_and_a_known_word_runs_as_typed(explorer):
    word = _frequent_title_word(explorer)
    other = _other_word(explorer, word)
    typed = f"{other} {_typo(word)}"
    c = explorer.engine.spell(typed)
    assert c.text == typed and c.changes == [] and c.suggestion == f"{other} {word}"
    res = explorer.engine.search_result(typed, mode="keyword", k=10)
    assert res.query == typed and res.corrections == [] and res.hits  # « other » finds datasets


def test_titles_of_the_build_are_never_changed(explorer):
    titles = explorer.datasets["title"].fillna("").tolist()
    titles += [unicodedata.normalize("NFD", t) for t in titles]  # as some producers write them
    touched = [t for t in titles if (c := explorer.engine.spell(t)).changes or c.suggestion]
    assert touched == []


def _notice(out) -> tuple[str, dict, str] | None:
    """The spelling notice of the results page: (text, link props, text), None without one."""
    alerts = [a for a in out[ids.SEARCH_MESSAGES]["children"] or []
              if "spelling-note" in a["props"].get("className", "")]
    if not alerts:
        return None
    (alert,) = alerts
    before, link, after = alert["props"]["children"]
    assert isinstance(before, str) and isinstance(after, str) and link["type"] == "Link"
    return before, link["props"], after


def _search(dash, q: str) -> dict:
    return dash.call({f"{ids.SEARCH_STATE}.data": {"q": q, "mode": "hybrid", "filters": {"format": "csv"},
                                                   "sort": "relevance", "ignore": [], "k": 10}})


def test_results_page_offers_the_typed_query_after_a_replacement(dash, explorer):
    word = _frequent_title_word(explorer)
    typo = _typo(word)
    out = _search(dash, f"{typo} <b>x</b>")
    before, link, after = _notice(out)
    assert before + link["children"] + after == (
        f"Résultats pour «\u202f{word} <b>x</b>\u202f». Chercher plutôt «\u202f{typo} <b>x</b>\u202f»")
    assert "dangerously_allow_html" not in str(out)  # the tags are plain text, never HTML
    params = parse_qs(link["href"].lstrip("?"))
    assert params["q"] == [f'"{typo}" <b>x</b>'] and params["mode"] == ["hybrid"]
    assert params["format"] == ["csv"]  # the same search otherwise
    assert word in out[ids.RESULTS_HEADER]["children"]
    again = _search(dash, params["q"][0])  # the link: searched as typed, no notice
    assert _notice(again) is None and typo in again[ids.RESULTS_HEADER]["children"]


def test_results_page_suggests_and_searches_as_typed(dash, explorer):
    word = _frequent_title_word(explorer)
    other = _other_word(explorer, word)
    typed = f"{other} {_typo(word)}"
    out = _search(dash, typed)
    before, link, after = _notice(out)
    assert before + link["children"] + after == f"Vouliez-vous dire «\u202f{other} {word}\u202f»\u202f?"
    assert parse_qs(link["href"].lstrip("?"))["q"] == [f"{other} {word}"]
    assert typed in out[ids.RESULTS_HEADER]["children"]  # the query searched is the typed one


def test_results_page_says_nothing_for_a_query_of_real_words(dash, explorer):
    word = _frequent_title_word(explorer)
    assert _notice(_search(dash, f"{_other_word(explorer, word)} {word}")) is None

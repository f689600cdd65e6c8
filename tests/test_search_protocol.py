"""The adoption protocol (paired tests over every labelled query) and one result per family."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.core.families import FAMILY_COSINE, family_keys, group_ranked
from models.core.significance import decide, paired_bootstrap, reciprocal_ranks, sign_flip_p


# ---- significance -------------------------------------------------------------------------------
def test_sign_flip_is_exact_on_small_sets_and_symmetric():
    # 3 non-zero differences, all positive: 2 of the 8 sign patterns are as extreme
    assert sign_flip_p([0.5, 0.2, 0.1, 0.0]) == pytest.approx(2 / 8)
    assert sign_flip_p([0.5, 0.2, 0.1]) == sign_flip_p([-0.5, -0.2, -0.1])
    # Monte Carlo above 16 differences: a consistent gain is detected, pure noise is not
    rng = np.random.default_rng(1)
    assert sign_flip_p(np.abs(rng.normal(size=60))) < 0.001
    assert sign_flip_p(rng.normal(size=60)) > 0.05


def test_bootstrap_interval_brackets_the_mean_and_narrows_with_n():
    rng = np.random.default_rng(2)
    small, large = rng.normal(0.1, 1, 20), rng.normal(0.1, 1, 2000)
    s, l_ = paired_bootstrap(small), paired_bootstrap(large)
    assert s["lo"] <= s["mean"] <= s["hi"] and l_["lo"] <= l_["mean"] <= l_["hi"]
    assert (l_["hi"] - l_["lo"]) < (s["hi"] - s["lo"]) / 5


def test_a_gain_living_in_one_small_file_is_not_adopted():
    big_a = np.full(150, 0.8)
    small_a, small_b = np.zeros(20), np.r_[np.full(3, 1.0), np.zeros(17)]  # +0.15 on 3 of 20 queries
    v = decide({"big": (big_a, big_a.copy()), "small": (small_a, small_b)})
    assert not v["adopt"] and "not significant" in v["reason"]
    assert v["files"]["small"]["diff"] == pytest.approx(0.15)


def test_a_trade_of_one_file_for_another_is_not_adopted():
    a1, b1 = np.zeros(100), np.r_[np.full(80, 0.5), np.zeros(20)]  # a large gain here
    a2, b2 = np.ones(30), np.r_[np.full(12, 0.0), np.ones(18)]  # a sure loss there
    v = decide({"gains": (a1, b1), "loses": (a2, b2)})
    assert v["pooled"]["diff"] > 0 and v["pooled"]["p_permutation"] < 0.05
    assert not v["adopt"] and v["files"]["loses"]["loses_beyond_noise"]
    assert "loses" in v["reason"]


def test_a_consistent_gain_is_adopted_with_its_interval():
    a = np.zeros(80)
    b = np.r_[np.full(40, 0.5), np.zeros(40)]
    v = decide({"x": (a[:40], b[:40]), "y": (a[40:], b[40:])})
    # file y does not change at all: no loss
    assert v["adopt"] and v["pooled"]["ci95"][0] > 0 and v["pooled"]["better"] == 40


def test_reciprocal_ranks_cut_at_k():
    assert reciprocal_ranks([1, 4, 10, 11, None]).tolist() == [1.0, 0.25, 0.1, 0.0, 0.0]


# ---- families -----------------------------------------------------------------------------------
def test_family_keys_ignore_years_places_and_small_words_but_not_the_producer():
    titles = ["Budget primitif 2019 - Commune de Cénac", "Budget primitif 2021 - Commune de Lignan",
              "Budget primitif 2021", "Budget supplémentaire 2021", "2021"]
    keys = family_keys(titles, ["p", "p", "q", "p", "p"], [["cenac"], ["lignan"], [], [], []])
    assert keys[0] == keys[1]  # years and the places found in the titles removed
    assert keys[1] != keys[2]  # another producer
    assert keys[1] != keys[3]  # another word
    assert len(set(family_keys(["2021", "2022"], ["p", "p"]).tolist())) == 2  # nothing left: no family


def test_group_ranked_needs_the_same_key_and_close_vectors():
    emb = np.array([[1, 0, 0], [0.95, np.sqrt(1 - 0.95 ** 2), 0], [0, 0, 1], [1, 0, 0]], dtype=np.float32)
    keys = np.array([5, 5, 5, 6])
    cards = group_ranked([0, 1, 2, 3], keys, emb)
    assert cards == [(0, [1]), (2, []), (3, [])]  # row 2: same key, far vector → its own card
    assert group_ranked([0, 1, 2, 3], keys, emb, threshold=0.99) == [(0, []), (1, []), (2, []), (3, [])]
    assert group_ranked([1, 0, 2, 3], keys, emb, limit=2) == [(1, [0]), (2, [])]


def test_group_ranked_is_bounded_on_a_flood_of_look_alike_titles():
    rng = np.random.default_rng(0)
    emb = rng.normal(size=(5000, 16)).astype(np.float32)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    cards = group_ranked(np.arange(5000), np.zeros(5000, dtype=np.int64), emb, limit=10)
    assert len(cards) == 10  # every row read, each compared with at most MAX_LEADERS leaders


def _group_ranked_one_row_at_a_time(rows, keys, emb, threshold, limit):
    """The plain walk group_ranked stands for (every row compared with its key's leaders)."""
    from models.core.families import MAX_LEADERS

    leaders, cards, pos = {}, [], {}
    for r in rows:
        key = int(keys[r])
        for lead in leaders.get(key, ())[:MAX_LEADERS]:
            if float(np.dot(emb[r], emb[lead])) >= threshold:
                cards[pos[lead]][1].append(r)
                break
        else:
            leaders.setdefault(key, []).append(r)
            pos[r] = len(cards)
            cards.append((r, []))
    return cards if limit is None else cards[:limit]


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 10_000), st.integers(0, 60), st.integers(1, 12), st.sampled_from([None, 1, 5]),
       st.sampled_from([0.0, 0.5, 0.9]))
def test_group_ranked_equals_the_plain_walk(seed, n, n_keys, limit, threshold):
    rng = np.random.default_rng(seed)
    emb = rng.normal(size=(80, 4)).astype(np.float32)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    keys = rng.integers(0, n_keys, size=80)
    rows = rng.permutation(80)[:n].tolist()
    assert group_ranked(rows, keys, emb, threshold=threshold, limit=limit) == \
        _group_ranked_one_row_at_a_time(rows, keys, emb, threshold, limit)


def test_the_build_keeps_the_family_keys_the_app_would_compute(built_root, tmp_path, monkeypatch):
    """family_keys.npy (the ``families`` step) holds the keys computed from the titles,
    producers and title places; the app reads them (no computation at start), and computes
    them for a build that kept them with another version of the code, or none."""
    import json
    import shutil

    import numpy as np

    from models.core import families
    from models.core.store import load_artifacts, resolve_build_dir
    from models.serve import engine

    arts = load_artifacts(built_root)
    kept = arts.npy("family_keys.npy", mmap=False)
    fresh = families.dataset_family_keys(arts.datasets, arts.parquet("territories.parquet"))
    assert np.array_equal(kept, fresh) and len(kept) == len(arts.datasets)
    assert arts.manifest["parameters"]["families"] == {"version": families.FAMILY_KEYS_VERSION}

    def never(*a, **kw):
        raise AssertionError("computed although the build kept them")

    monkeypatch.setattr(engine, "dataset_family_keys", never)
    assert np.array_equal(engine.build_family_keys(arts), fresh)
    monkeypatch.undo()

    old = tmp_path / "old"
    shutil.copytree(resolve_build_dir(built_root), old)
    manifest = json.loads((old / "manifest.json").read_text())
    manifest["parameters"]["families"]["version"] = families.FAMILY_KEYS_VERSION - 1
    np.save(old / "family_keys.npy", np.zeros(len(kept), dtype=np.int64))  # stale keys
    manifest["files"]["family_keys.npy"]["bytes"] = (old / "family_keys.npy").stat().st_size
    (old / "manifest.json").write_text(json.dumps(manifest))
    assert np.array_equal(engine.build_family_keys(load_artifacts(old)), fresh)


def test_search_shows_one_card_per_family(explorer):
    keys, emb = explorer.engine.family_keys, explorer.artifacts.embeddings
    assert len(keys) == explorer.n
    for q in ("budget", "eau", "transport", "population", "élections"):
        hits = explorer.search(q, k=20)
        for i, a in enumerate(hits):
            for b in hits[i + 1:]:
                assert not (keys[a.row] == keys[b.row] and float(emb[a.row] @ emb[b.row]) >= FAMILY_COSINE)
            for v in a.versions:
                assert keys[v] == keys[a.row]
        off = explorer.engine.with_params(families=0).search(q, k=20)
        assert all(not h.versions for h in off)
        # the families only fold rows: the cards are the first rows of each family, in order
        flat = [h.row for h in off]
        assert [h.row for h in hits][:3] == [r for r in flat if not any(r in h.versions for h in hits)][:3]


def test_with_params_is_a_view_that_leaves_the_engine_alone(explorer):
    before = explorer.engine.search_params
    view = explorer.engine.with_params(smooth_long=0.0, families=0)
    assert view.search_params.smooth_long == 0.0 and view.search_params.families == 0
    assert explorer.engine.search_params == before
    assert view.keyword is explorer.engine.keyword  # loaded indexes are shared, not reloaded


def test_evaluate_finds_an_expected_dataset_among_a_cards_versions(explorer):
    from models.serve.evaluate import LabelledQuery, evaluate

    keys = explorer.engine.family_keys
    fam = next(k for k in np.unique(keys) if (keys == k).sum() >= 2)  # the sample's look-alike titles
    rows = np.flatnonzero(keys == fam)
    title = str(explorer.datasets["title"].iat[int(rows[0])])
    loose = explorer.engine.with_params(family_cosine=-1.0)  # the fake encoder's vectors are not semantic
    hits = loose.search(title, k=10)
    grouped = next((h for h in hits if h.versions), None)
    assert grouped is not None, f"no family grouped for {title!r}"
    member = str(explorer.datasets["id"].iat[grouped.versions[0]])
    res = evaluate(loose, [LabelledQuery(title, "", [member])], ["hybrid"], k=10)
    rank = res["per_query"][0]["ranks"]["hybrid"]
    assert rank == [h.row for h in hits].index(grouped.row) + 1


def test_protocol_compares_two_settings_on_every_set(explorer, tmp_path):
    from models.serve.protocol import compare

    ids = explorer.datasets["id"]
    titles = explorer.datasets["title"]
    f = tmp_path / "own.csv"
    f.write_text("query,params,expected\n" + "".join(
        f"\"{titles.iat[i]}\",,{ids.iat[i]}\n" for i in range(0, 40, 4)), encoding="utf-8")
    dialogues = [{"id": "d", "turns": [{"user": str(titles.iat[3]), "expected": [str(ids.iat[3])]}]}]
    engine = explorer.engine
    same = compare(engine, engine.with_params(), assistant=explorer.assistant, files=[f],
                   dialogues=dialogues)
    assert set(same["files"]) == {"own", "dialogues"} and same["pooled"]["n"] == 11
    assert not same["adopt"] and same["pooled"]["changed"] == 0
    worse = compare(engine, engine.with_params(alpha_short=0.0, alpha_long=0.0, beta_short=50.0,
                                               beta_long=50.0),
                    assistant=explorer.assistant, files=[f], dialogues=dialogues)
    assert not worse["adopt"] and worse["pooled"]["diff"] <= 0


# ---- the results page ---------------------------------------------------------------------------
def _page(dash, q: str) -> dict:
    from components import ids

    return dash.call({f"{ids.SEARCH_STATE}.data": {"q": q, "mode": "hybrid", "filters": {},
                                                   "sort": "relevance", "ignore": [], "k": 10}})


def test_results_page_folds_a_family_under_its_best_member(dash, explorer, monkeypatch):
    from dataclasses import replace

    from components import ids
    from tests.uihelpers import all_of, text

    keys = explorer.engine.family_keys
    fam = next(k for k in np.unique(keys) if (keys == k).sum() >= 2)
    title = str(explorer.datasets["title"].iat[int(np.flatnonzero(keys == fam)[0])])
    engine = explorer.engine
    monkeypatch.setattr(engine, "search_params", replace(engine.search_params, family_cosine=-1.0))
    out = _page(dash, title)
    body = out[ids.RESULTS]["children"]
    details = all_of(body, lambda n: isinstance(n, dict) and n.get("type") == "Details")
    assert details, "no family folded under a card"
    summary = text(details[0]).split("…")[0]
    assert "autre version" in summary
    monkeypatch.setattr(engine, "search_params", replace(engine.search_params, families=0))
    assert not all_of(_page(dash, title)[ids.RESULTS]["children"],
                      lambda n: isinstance(n, dict) and n.get("type") == "Details")


def test_results_page_says_when_nothing_fits(dash, monkeypatch):
    from components import ids
    from models.serve import confidence
    from tests.uihelpers import text

    out = _page(dash, "budget")
    assert "Aucun jeu ne répond exactement" not in text(out.get(ids.SEARCH_MESSAGES) or "")
    monkeypatch.setattr(confidence, "assess", lambda *a, **k: confidence.Assessment(0.05, False, False))
    out = _page(dash, "budget <i>x</i>")
    note = text(out[ids.SEARCH_MESSAGES]["children"])
    assert ("Aucun jeu ne répond exactement à «\u00a0budget <i>x</i>\u00a0»\u202f; "
            "voici les plus proches.") in note
    assert out[ids.RESULTS]["children"]  # the nearest results are still shown


def test_the_assistant_answers_once_per_family(explorer):
    from models.serve.assistant_eval import turn_rank

    keys = explorer.engine.family_keys
    fam = next(k for k in np.unique(keys) if (keys == k).sum() >= 2)
    title = str(explorer.datasets["title"].iat[int(np.flatnonzero(keys == fam)[0])])
    loose = explorer.engine.with_params(family_cosine=-1.0)  # the fake encoder's vectors are not semantic
    res = explorer.assistant.with_engine(loose).ask(title)
    ranked = [explorer.records.row_of(i) for i in res["ranking"]]
    assert len({int(keys[r]) for r in ranked}) == len(ranked)  # no two members of one family
    grouped = [(i, v) for i, v in zip(res["ranking"], res["ranking_versions"], strict=True) if v]
    assert grouped, f"no family grouped for {title!r}"
    leader, versions = grouped[0]
    assert all(keys[explorer.records.row_of(v)] == keys[explorer.records.row_of(leader)] for v in versions)
    turn = {"ranking": res["ranking"], "ranking_versions": res["ranking_versions"], "expected": [versions[0]]}
    assert turn_rank(turn) == res["ranking"].index(leader) + 1  # found at its card's rank
    flat = explorer.assistant.with_engine(explorer.engine.with_params(families=0)).ask(title)
    assert not any(flat["ranking_versions"])

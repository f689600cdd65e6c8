"""Answer confidence and off-topic requests (:mod:`models.serve.confidence`, the assistant's
replies): the wording detector on the committed lists, the fitted model file, and the
assistant on the 200-row fixture build (fake encoder) with a model fitted on that build."""

from __future__ import annotations

import dataclasses
import glob
import json
import logging
import math
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from models.core.french import NNBSP
from models.serve.confidence import (
    FEATURES,
    PARAMS_PATH,
    ConfidenceModel,
    assess,
    confidence_features,
    load_model,
    off_topic_kind,
    off_topic_wording,
)
from tests.conftest import SHARED

DATA = Path(__file__).resolve().parent / "data"
TRAIN = pd.read_csv(DATA / "offtopic.csv")
HELDOUT = pd.read_csv(DATA / "offtopic-heldout.csv")
KINDS = ("translation", "arithmetic", "creative", "recipe", "general", "chitchat", "code", "advice")


def labelled_queries() -> list[str]:
    files = sorted(glob.glob(str(SHARED / "relevance" / "*.csv")))
    assert files, f"missing shared data: {SHARED / 'relevance'}"
    return sorted({q for f in files for q in pd.read_csv(f)["query"].dropna()})


def dialogue_turns() -> list[str]:
    lines = (DATA / "dialogues.jsonl").read_text(encoding="utf-8").splitlines()
    return [t["user"] for line in lines if line.strip() for t in json.loads(line)["turns"]]


# ---- the lists ---------------------------------------------------------------------------------
def test_prompt_lists_are_big_varied_and_disjoint():
    for df in (TRAIN, HELDOUT):
        assert list(df.columns) == ["prompt", "kind"] and set(df["kind"]) <= {"off_topic", "no_data", "data"}
        assert df["prompt"].str.strip().astype(bool).all() and not df["prompt"].duplicated().any()
    off = TRAIN[TRAIN["kind"] == "off_topic"]["prompt"]
    assert len(off) >= 40 and (TRAIN["kind"] == "no_data").sum() >= 10 and len(HELDOUT) >= 20
    assert {off_topic_kind(p) for p in off} == set(KINDS)  # every kind of request is there
    assert not set(TRAIN["prompt"]) & set(HELDOUT["prompt"])
    assert not set(TRAIN["prompt"]) & set(labelled_queries())


# ---- the wording detector ----------------------------------------------------------------------
@pytest.mark.parametrize("prompt", HELDOUT[HELDOUT["kind"] == "off_topic"]["prompt"].tolist())
def test_every_heldout_off_topic_prompt_is_worded_off_topic(prompt):
    assert off_topic_kind(prompt) in KINDS


def test_no_labelled_query_dialogue_turn_or_data_question_is_worded_off_topic():
    data = TRAIN[TRAIN["kind"] != "off_topic"]["prompt"].tolist() + \
        HELDOUT[HELDOUT["kind"] != "off_topic"]["prompt"].tolist()
    texts = labelled_queries() + dialogue_turns() + data
    assert len(texts) > 150
    assert [(t, off_topic_kind(t)) for t in texts if off_topic_kind(t)] == []


@pytest.mark.parametrize("text, kind", [
    ("Traduis 'bonjour' en anglais", "translation"), ("Écris un poème sur la mer", "creative"),
    ("Combien font 12 fois 8 ?", "arithmetic"), ("Bonjour !", "chitchat"),
    ("Combien de passagers prennent l'avion ?", None), ("Quel est le prix de l'essence ?", None),
    ("Combien gagnent les Français ?", None), ("Où sont les musées ?", None),
    ("population 2010-2020", None), ("personnes de 65 ans et plus", None), ("code postal", None),
    ("recettes fiscales des communes", None), ("Qui a été élu président de la République ?", None),
])
def test_wording_examples(text, kind):
    assert off_topic_kind(text) == kind


def test_wording_is_bounded_on_hostile_input():
    for text in ("écris " * 50_000, "1 + " * 50_000, "a" * 200_000, "qui a " * 40_000 + "écrit"):
        t0 = time.perf_counter()
        off_topic_kind(text)
        assert time.perf_counter() - t0 < 0.2
    assert off_topic_kind("x " * 300 + "Combien font 12 fois 8 ?") is None  # past the 500 characters read


# ---- the fitted model file ---------------------------------------------------------------------
def test_committed_model_loads_and_is_monotone_in_the_best_cosine():
    m = load_model()
    assert m is not None and m.features == FEATURES and 0 < m.threshold < m.off_topic_threshold < 1
    assert m.model_id and m.meta["cv"]["brier"] < m.meta["cv"]["brier_base_rate"]  # better than a constant
    i = FEATURES.index("best_cosine")
    grid = np.linspace(m.mean[i] - 4 * m.scale[i], m.mean[i] + 4 * m.scale[i], 41)
    probs = [m.probability([c if k == i else m.mean[k] for k in range(len(FEATURES))]) for c in grid]
    assert np.all(np.diff(probs) >= 0) and probs[-1] - probs[0] > 0.5


def test_missing_or_broken_model_means_unknown(tmp_path, caplog, explorer):
    broken = tmp_path / "broken.json"
    broken.write_text('{"features": ["best_cosine"]}')
    with caplog.at_level(logging.WARNING, logger="models.serve.confidence"):
        assert load_model(tmp_path / "missing.json") is None and load_model(broken) is None
    assert "answer confidence" in caplog.text
    a = assess(explorer.engine, "Combien font 12 fois 8 ?", model=None)
    assert math.isnan(a.score) and a.fits and not a.off_topic


def test_a_model_fitted_for_another_embedding_model_is_not_used(explorer, fixture_model):
    other = dataclasses.replace(fixture_model, model_id="another-model@128")
    assert math.isnan(assess(explorer.engine, "Combien font 12 fois 8 ?", model=other).score)
    assert not math.isnan(assess(explorer.engine, "Combien font 12 fois 8 ?", model=fixture_model).score)


# ---- on the fixture build ----------------------------------------------------------------------
def title_queries(explorer, n: int = 80) -> list[str]:
    titles = explorer.datasets["title"].fillna("").tolist()
    return [" ".join(t.split()[:4]) for t in titles[:n] if len(t.split()) >= 2]


@pytest.fixture(scope="module")
def fixture_model(explorer):
    """The confidence fitted on the fixture (its titles' words answered, the training prompts
    that are off-topic or without data not), as ``scripts/tools/fit_confidence.py`` does."""
    from scripts.tools.fit_confidence import fit_logistic

    pos = title_queries(explorer)
    neg = TRAIN[TRAIN["kind"] != "data"]["prompt"].tolist()
    x = np.array([confidence_features(explorer.engine, q) for q in pos + neg])
    y = np.array([1.0] * len(pos) + [0.0] * len(neg))
    m = fit_logistic(x, y)
    return dataclasses.replace(m, model_id=explorer.artifacts.manifest["model"]["id"])


@pytest.fixture(scope="module")
def asst(explorer, fixture_model):
    a = explorer.assistant.with_params()
    a.confidence_model = fixture_model
    return a


def test_features_are_what_they_say(explorer):
    q = title_queries(explorer)[0]
    x = confidence_features(explorer.engine, q)
    sims = explorer.engine.semantic_sims(q)
    assert x[0] == pytest.approx(float(sims.max()), abs=1e-6)
    assert x[1] == pytest.approx(float(sims.max() - np.sort(sims)[-100]), abs=1e-6)
    assert x[2] == 1.0 and 0.0 < x[3] <= 1.0
    assert confidence_features(explorer.engine, "zzqxw vvbnm")[2:].tolist() == [0.0, 0.0]


def test_heldout_off_topic_prompts_are_off_topic_and_titles_fit(explorer, fixture_model):
    off = HELDOUT[HELDOUT["kind"] == "off_topic"]["prompt"].tolist()
    missed = [p for p in off if not assess(explorer.engine, p, model=fixture_model).off_topic]
    assert missed == []
    fits = [assess(explorer.engine, q, model=fixture_model).fits for q in title_queries(explorer, 200)[80:]]
    assert np.mean(fits) >= 0.8  # titles not fitted on


def test_off_topic_wording_with_a_confident_answer_is_not_off_topic(explorer, fixture_model):
    sure = dataclasses.replace(fixture_model, bias=50.0)  # the catalogue answers everything
    a = assess(explorer.engine, "Pourquoi les loyers augmentent-ils ?", model=sure)
    assert a.kind == "general" and a.fits and not a.off_topic
    unsure = dataclasses.replace(fixture_model, bias=-50.0)
    assert assess(explorer.engine, "Pourquoi les loyers augmentent-ils ?", model=unsure).off_topic


@pytest.mark.parametrize("prompt", ["Combien font 12 fois 8 ?", "Calcule 17 + 26", "Bonjour !",
                                    "Merci, au revoir !", "Quel âge as-tu ?", "Tu es un robot ?"])
def test_strong_wording_is_off_topic_whatever_the_confidence(explorer, fixture_model, prompt):
    sure = dataclasses.replace(fixture_model, bias=50.0)
    assert off_topic_wording(prompt)[1]
    a = assess(explorer.engine, prompt, model=sure)
    assert a.off_topic and not a.fits


@pytest.mark.parametrize("prompt", ["Traduis 'bonjour' en anglais", "Écris un poème sur la mer",
                                    "Combien font 12 fois 8 ?", "Raconte-moi une blague"])
def test_off_topic_reply_has_no_cards_and_says_what_the_assistant_does(asst, prompt):
    res = asst.ask(prompt)
    assert res["cards"] == [] and res["ranking"] == [] and res["off_topic"] in KINDS
    assert "jeux de données" in res["reply"] and "data.gouv.fr" in res["reply"]
    assert "J'ai trouvé" not in res["reply"] and f"«{NNBSP}" in res["reply"]  # an example to ask
    assert res["state"]["topic"] == ""
    json.dumps(res)


def test_off_topic_turn_keeps_the_conversation(asst, explorer):
    q = title_queries(explorer)[0]
    first = asst.ask(q)
    off = asst.ask("Combien font 12 fois 8 ?", first["state"])
    assert off["cards"] == [] and off["state"]["topic"] == first["state"]["topic"]
    more = asst.ask("et plutôt en CSV", off["state"])
    assert more["state"]["topic"] == first["state"]["topic"]


def test_off_topic_reply_offers_the_subject_when_the_catalogue_has_it(asst, explorer, fixture_model):
    word = next(q.split()[0] for q in title_queries(explorer)
                if len(q.split()[0]) > 5 and assess(explorer.engine, q.split()[0], model=fixture_model).fits)
    res = asst.ask(f"Écris un poème sur {word}")
    assert res["cards"] == [] and f"Si vous cherchez des données sur {word}" in res["reply"]


def test_low_confidence_says_so_and_keeps_the_nearest_cards(asst, explorer):
    q = title_queries(explorer)[1]
    low = asst.with_params()
    low.confidence_model = dataclasses.replace(asst.confidence_model, threshold=1.01)  # nothing fits
    res = low.ask(q)
    assert res["reply"].startswith(f"Aucun jeu ne répond exactement à «{NNBSP}")
    assert res["reply"].endswith(f"{NNBSP}» ; les plus proches{NNBSP}:".replace(" ;", f"{NNBSP};"))
    assert res["cards"] and 0.0 <= res["confidence"] <= 1.0
    high = asst.with_params()
    high.confidence_model = dataclasses.replace(asst.confidence_model, threshold=0.0)  # all fits
    res2 = high.ask(q)
    assert res2["reply"].startswith("J'ai trouvé") and [c["id"] for c in res2["cards"]] == \
        [c["id"] for c in res["cards"]]


def test_confidence_off_is_the_behaviour_before(explorer, asst):
    off = explorer.assistant.with_params(confidence=False)
    assert off.confidence_model is None
    res = off.ask("Combien font 12 fois 8 ?")
    assert "off_topic" not in res and res["confidence"] is None
    assert res["reply"].startswith(("J'ai trouvé", "Je n'ai trouvé aucun"))


def test_the_committed_model_is_not_applied_to_the_fake_encoder_build(explorer):
    """The fixture is embedded by the fake encoder: the e5 coefficients would mean nothing."""
    res = explorer.assistant.ask(title_queries(explorer)[0])
    assert res["confidence"] is None and res["reply"].startswith(("J'ai trouvé", "Je n'ai pas trouvé"))


def test_committed_params_file_is_the_module_default():
    assert PARAMS_PATH.name == "confidence_params.json" and PARAMS_PATH.parent.name == "serve"
    assert ConfidenceModel.from_dict(json.loads(PARAMS_PATH.read_text())) == load_model()

"""Freshness (models.core.freshness): the rules against the hand labels, the statuses on
constructed rows, the service (counts, producers), the « fraîcheur » filter, the late card and
the command line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from models.core import freshness as fr
from tests.conftest import SAMPLE

LABELS = Path(__file__).parent / "data" / "freshness-labels.csv"
EXPORT = pd.Timestamp("2026-01-16T05:52:49")  # the sample's export (file name)
BAR = 0.90


def _labelled():
    lab = pd.read_csv(LABELS, dtype=str, keep_default_na=False)
    df = pd.read_csv(SAMPLE, sep=";", dtype=str, keep_default_na=False).set_index("id")
    return lab, df.loc[lab["id"]].reset_index()


def test_the_labels_are_enough_and_well_formed():
    lab, rows = _labelled()
    assert len(lab) >= 150 and lab["id"].is_unique
    assert set(lab["status"]) == set(fr.STATUSES)
    assert (lab["reason"].str.len() > 0).all()
    assert len(rows) == len(lab)


def test_rules_agree_with_the_hand_labels():
    lab, rows = _labelled()
    got = fr.assess(rows, EXPORT)["status"].to_numpy()
    agree = got == lab["status"].to_numpy()
    assert agree.mean() >= BAR, lab[~agree]
    held = (lab["set"] == "controle").to_numpy()  # labelled after the rules were written
    assert held.sum() >= 40 and agree[held].mean() >= BAR


def test_reasons_and_badges_follow_french_typography():
    from tests.test_ui_text import typography_errors

    _, rows = _labelled()
    out = fr.assess(rows, EXPORT)
    for text in [*out["reason"], *out["badge"]]:
        assert not typography_errors(text), text


def _one(freq, created, modified, title="Un jeu", description=""):
    df = pd.DataFrame([{"frequency": freq, "created_at": created, "last_modified": modified,
                        "title": title, "description": description}])
    return fr.assess(df, EXPORT).iloc[0]


def test_statuses_on_constructed_rows():
    assert _one("monthly", "2020-01-01", "2026-01-01")["status"] == "a_jour"
    late = _one("monthly", "2020-01-01", "2023-12-01")
    assert late["status"] == "en_retard"
    assert late["badge"] == "En retard de 2 ans (mise à jour mensuelle annoncée)"
    never = _one("annual", "2019-03-01", "2019-03-05")
    assert never["status"] == "jamais_mis_a_jour" and "depuis sa création en 2019" in never["badge"]
    # a daily dataset modified the next day was updated once: late, not « never »
    assert _one("daily", "2025-06-03", "2025-06-04")["status"] == "en_retard"
    for f in ("punctual", "irregular", "unknown", "notPlanned", "", "never", "other", "bogus"):
        r = _one(f, "2010-01-01", "2010-01-01")
        assert r["status"] == "sans_frequence" and r["badge"] == ""
    gone = _one("annual", "2015-01-01", "2016-01-01", description="Ce jeu ne sera plus mis à jour.")
    assert gone["status"] == "sans_frequence" and "archivé" in gone["reason"]
    assert _one("annual", "2015-01-01", "2016-01-01", title="[Archivé] Crimes")["status"] == "sans_frequence"
    # « Archives départementales » is a producer, not a notice
    assert _one("annual", "2015-01-01", "2016-01-01",
                title="Archives départementales : entrées")["status"] == "en_retard"


def test_grace_grows_with_the_period_and_bad_dates_do_not_crash():
    periods = sorted(set(fr.PERIODS.values()))
    graces = [fr.grace_days(p) for p in periods]
    assert all(g > p for g, p in zip(graces, periods, strict=True))
    assert graces == sorted(graces)
    assert _one("monthly", "n'importe quoi", "")["status"] == "sans_frequence"
    assert _one("weekly", None, "2026-01-10")["status"] == "a_jour"
    assert fr.assess(pd.DataFrame(), EXPORT).empty


def test_duration_words():
    assert fr.duration_fr(1.2) == "1 jour"
    assert fr.duration_fr(10) == "10 jours"
    assert fr.duration_fr(35) == "5 semaines"
    assert fr.duration_fr(250) == "8 mois"
    assert fr.duration_fr(800) == "2 ans"


def test_counts_and_late_share():
    st = ["a_jour", "en_retard", "jamais_mis_a_jour", "sans_frequence", "en_retard"]
    assert fr.counts(st) == {"a_jour": 1, "en_retard": 2, "jamais_mis_a_jour": 1, "sans_frequence": 1}
    assert fr.late_share(st) == pytest.approx(0.75)
    assert fr.late_share(["sans_frequence"]) is None


# ---- on the shared small build ------------------------------------------------------------
def test_service_counts_producers_and_filter(explorer):
    svc = explorer.freshness
    s = svc.summary()
    assert s["n"] == explorer.n and sum(s["counts"].values()) == explorer.n
    bp = svc.by_producer()
    assert int(bp["late"].sum()) == s["counts"]["en_retard"] + s["counts"]["jamais_mis_a_jour"]
    assert ((bp["late_share"] >= 0) & (bp["late_share"] <= 1)).all()
    cat = explorer.catalogue
    counts = {f.value: f.count for f in cat.counts("freshness", np.arange(cat.n))}
    for status, n in counts.items():
        clean, errors = explorer.engine.clean_filters({"freshness": [status]})
        assert not errors and int(cat.mask(clean).sum()) == n == s["counts"][status]
    _, errors = explorer.engine.clean_filters({"freshness": ["pourri"]})
    assert errors and "inconnu" in errors[0]
    hits = explorer.search("données", mode="keyword", k=20, filters={"freshness": "en_retard"})
    st = svc.table["status"].to_numpy()
    assert all(st[h.row] == "en_retard" for h in hits)


def test_a_late_dataset_says_so_on_its_card(explorer):
    from components.search_results import result_card
    from models.serve.cards import card

    late = explorer.freshness.late_rows()
    assert len(late)
    c = card(explorer, int(late[0]))
    assert c["freshness"].startswith(("En retard de", "Jamais mis à jour"))
    assert "annoncée)" in c["freshness"]
    assert c["freshness"] in str(result_card(c))
    fresh = np.flatnonzero(explorer.freshness.table["status"].to_numpy() == "a_jour")
    if len(fresh):
        assert card(explorer, int(fresh[0]))["freshness"] == ""


def test_cli_freshness(built_root, explorer, capsys, caplog):
    from models.cli import main

    assert main(["freshness", "--artifacts", str(built_root), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out["counts"]) == set(fr.STATUSES) and sum(out["counts"].values()) == explorer.n
    pid = explorer.producers.table["producer_id"].iat[0]
    assert main(["freshness", "--artifacts", str(built_root), "--json", "--producer", pid]) == 0
    one = json.loads(capsys.readouterr().out)
    assert one["producer"]["id"] == pid and one["n"] == len(explorer.producers.rows(0))
    assert main(["freshness", "--artifacts", str(built_root), "--producer", "nope"]) == 2
    assert "producteur «\u202fnope\u202f» inconnu dans ce catalogue" in caplog.text


def test_the_map_can_be_coloured_by_freshness(app, client, explorer):
    from components import ids
    from components.topics import FRESHNESS_COLOUR, map_colour_options
    from tests.uihelpers import call

    models = [{"k": 10, "default": True}]
    assert map_colour_options(models, 0) == []  # unchanged without the flag
    assert [o["value"] for o in map_colour_options(models, 0, freshness=True)] == ["k10", FRESHNESS_COLOUR]
    codes, labels, sizes, legend = explorer.freshness.map_colouring()
    assert len(codes) == explorer.n and sum(sizes) == explorer.n and labels[0] == "À jour"
    out = call(app, client, f"{ids.MAP}.figure", {f"{ids.MAP_COLOUR}.value": FRESHNESS_COLOUR},
               {f"{ids.MAP_HIGHLIGHT}.data": None, f"{ids.SELECTED}.data": None})
    fig = out[ids.MAP]["figure"]
    assert fig["layout"]["legend"]["title"]["text"] == legend
    names = {t.get("name") for t in fig["data"]}
    assert set(labels) <= names

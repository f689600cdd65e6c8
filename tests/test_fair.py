"""FAIR score in the MQA's shape (models.core.fair, models.serve.fair): points add up, the
to-do list's gains are what the fixes really bring, producers are ranked within their kind,
the CSV and the command line."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.core import fair
from models.serve.fair import producer_kind
from tests.conftest import SAMPLE

FORMATS = ["", "csv", "pdf", "esri shapefile (shp)", "xlsx,pdf", "json,csv", "zip", "bin", "ogc api features",
           "html", "vnd.ms-excel", "geojson,shp"]
LICENCES = ["", "License Not Specified", "Licence Ouverte / Open Licence version 2.0",
            "Open Data Commons Open Database License (ODbL)", "Other (Attribution)",
            "Creative Commons CCZero"]
DATES = ["", "2020-05-01T10:00:00", "pas une date", "2026-01-15T00:00:00.123000"]

row = st.fixed_dictionaries({
    "tags": st.one_of(st.none(), st.lists(st.sampled_from(["eau", "air", " ", "transport"]), max_size=3)),
    "spatial_zones": st.sampled_from(["", "fr:commune:31555", "fr:pays:fr"]),
    "temporal_start": st.sampled_from(["", "2019-01-01"]),
    "temporal_end": st.sampled_from(["", "2020-12-31"]),
    "resources_count": st.integers(min_value=0, max_value=4),
    "resources_formats": st.sampled_from(FORMATS),
    "license": st.sampled_from(LICENCES),
    "organization_id": st.sampled_from(["", "534fff8ea3a7292c64a77f02"]),
    "created_at": st.sampled_from(DATES),
    "last_modified": st.sampled_from(DATES),
})
frames = st.lists(row, min_size=1, max_size=25).map(pd.DataFrame)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames)
def test_points_sum_to_dimensions_and_total(df):
    s = fair.score(df)
    dims = [f"dim:{d}" for d in fair.DIMENSIONS]
    for d in fair.DIMENSIONS:
        keys = [i.key for i in fair.INDICATORS if i.dimension == d]
        assert (s[keys].sum(axis=1) == s[f"dim:{d}"]).all()
    assert (s[dims].sum(axis=1) == s["points"]).all()
    assert (s[[i.key for i in fair.INDICATORS]].sum(axis=1) == s["points"]).all()
    assert ((s["points"] >= 0) & (s["points"] <= fair.MAX_POINTS)).all()
    for i in fair.INDICATORS:  # an indicator scores all its points or none
        assert set(s[i.key].unique()) <= {0, i.points}
    summ = fair.summary(s)
    assert summ["points"] == pytest.approx(sum(d["points"] for d in summ["dimensions"]), abs=0.05)
    assert summ["rating"] == fair.rating(s["points"].mean())


def _check_todo(df):
    before = fair.score(df)
    items = fair.todo(before)
    for it in items:
        fix = next(f for f in fair.FIXES if f.key == it["key"])
        label = {str(i): i for i in df.index}
        rows = [label[i] for i in it["ids"]]
        after = fair.score(fair.apply_fix(df, fix, rows))
        assert after["points"].mean() - before["points"].mean() == pytest.approx(it["gain"], abs=1e-9)
        assert it["n"] == len(rows) and (after.loc[rows, list(fix.indicators)] > 0).all().all()
    gains = [it["gain"] for it in items]
    assert gains == sorted(gains, reverse=True)
    return items


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames)
def test_todo_gain_is_the_score_after_the_fix(df):
    _check_todo(df)


def test_todo_on_the_sample_and_its_labels():
    df = pd.read_csv(SAMPLE, sep=";", dtype=str, keep_default_na=False).rename(columns={
        "spatial.zones": "spatial_zones", "temporal_coverage.start": "temporal_start",
        "temporal_coverage.end": "temporal_end"}).set_index("id")
    df["tags"] = df["tags"].map(lambda s: [t for t in s.split(",") if t])
    items = _check_todo(df)
    assert len(items) >= 4
    kw = next(it for it in items if it["key"] == "keywords")
    n = f"{kw['n']:,}".replace(",", "\u202f")
    assert kw["label"].startswith(f"Ajouter des mots-clés à {n} jeux\u202f: +")
    assert kw["label"].endswith("points") or kw["label"].endswith("point")


def test_ratings_are_the_mqa_shares():
    assert fair.MAX_POINTS + sum(x[2] for x in fair.LEFT_OUT) == fair.MQA_MAX
    assert fair.rating(fair.MAX_POINTS) == "Excellent" and fair.rating(0) == "Bad"
    lo = dict((name, v) for v, name in fair.THRESHOLDS)
    assert lo["Excellent"] == pytest.approx(fair.MAX_POINTS * 351 / 405)
    assert fair.rating(lo["Good"] - 0.01) == "Sufficient" and fair.rating(lo["Good"]) == "Good"
    assert {k for _, k, _, _ in fair.LEFT_OUT} >= {"access_url_status", "download_url_status"}


def test_producer_kinds():
    assert producer_kind("Ville de Paris") == "commune"
    assert producer_kind("Mairie de Cannes") == "commune"
    assert producer_kind("Ministère de l'intérieur") == "ministère"
    assert producer_kind("Département de Loire-Atlantique") == "département"
    assert producer_kind("Région Bretagne") == "région"
    assert producer_kind("Rennes Métropole") == "intercommunalité"
    assert producer_kind("DREAL Grand Est") == "service de l'État"
    assert producer_kind("SNCF") == "entreprise"
    assert producer_kind("jean-dupont", "utilisateur") == "utilisateur"
    assert producer_kind("Communauté de Communes du Pays Fertois") == "intercommunalité"
    assert producer_kind("Pays de Landerneau-Daoulas") == "intercommunalité"
    assert producer_kind("Air Pays de la Loire") != "intercommunalité"
    assert producer_kind("Seine-Saint-Denis - Le Département") == "département"
    assert producer_kind("Cour des comptes") == "établissement public"
    assert producer_kind("Collectivité de Corse") == "région"


# ---- on the shared small build ------------------------------------------------------------
def test_service_producers_rank_csv(explorer):
    svc = explorer.fair
    s = svc.summary()
    assert s["n"] == explorer.n and 0 <= s["points"] <= fair.MAX_POINTS
    prods = svc.producers
    has = prods[prods["n"] > 0]
    # ranks run 1..of within each kind; the best points get rank 1
    for _kind, g in has.groupby("kind"):
        assert g["rank"].min() == 1 and g["rank"].max() <= len(g) and (g["of"] == len(g)).all()
        assert g.loc[g["rank"] == 1, "points"].iloc[0] == pytest.approx(g["points"].max())
    # a producer's mean equals the mean of its datasets' points
    pid = has.sort_values("n").iloc[-1]["producer_id"]
    one = svc.summary(pid)
    rows = explorer.producers.rows(explorer.producers.index_of(pid))
    assert one["points"] == pytest.approx(svc.scored["points"].iloc[rows].mean(), abs=0.01)
    text = svc.csv(pid)
    table = pd.read_csv(io.StringIO(text))
    assert len(table) == len(rows) and {"id", "titre", "points", "rating", "keywords"} <= set(table.columns)
    dims = [c for c in table.columns if c.startswith("dimension_")]
    assert (table["points"] == table[dims].sum(axis=1)).all()
    todo = svc.todo(pid)
    ids = set(explorer.datasets["id"].astype(str).to_numpy()[rows])
    assert all(set(it["ids"]) <= ids for it in todo)
    with pytest.raises(ValueError, match="inconnu"):
        svc.summary("nope")
    sp = svc.spearman()
    assert sp["n"] > 0 and -1 <= sp["spearman"] <= 1


def test_cli_fair(built_root, explorer, capsys, caplog):
    from models.cli import main

    assert main(["fair", "--artifacts", str(built_root), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["n"] == explorer.n and out["score"]["max"] == fair.MAX_POINTS
    assert [d["key"] for d in out["dimensions"]] == list(fair.DIMENSIONS)
    assert out["todo"] and all(it["ids"] for it in out["todo"])
    assert len(out["left_out"]) == len(fair.LEFT_OUT)
    pid = explorer.producers.table["producer_id"].iat[0]
    assert main(["fair", "--artifacts", str(built_root), "--json", "--producer", pid]) == 0
    one = json.loads(capsys.readouterr().out)
    assert one["producer"]["id"] == pid and one["producer"]["rank"] >= 1
    assert main(["fair", "--artifacts", str(built_root), "--producer", "nope"]) == 2
    assert "producteur «\u202fnope\u202f» inconnu dans ce catalogue" in caplog.text
    assert np.isfinite(one["score"]["points"])
    assert main(["fair", "--artifacts", str(built_root), "--json", "--max-ids", "2"]) == 0
    capped = json.loads(capsys.readouterr().out)
    assert all(len(it["ids"]) <= 2 for it in capped["todo"])
    assert main(["fair", "--artifacts", str(built_root), "--csv", "--producer", pid]) == 0
    table = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert len(table) == one["n"] and "points" in table
    assert main(["fair", "--artifacts", str(built_root), "--csv"]) == 2
    assert "--csv demande --producer" in caplog.text

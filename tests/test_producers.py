"""Producers: aggregates over the whole export (archived included), centroids, near-duplicates,
similar producers, quality lists and findability — on a tiny crafted export and the shared build."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest

from models.core.text import fold
from models.pipeline.ingest import read_catalog
from models.pipeline.producers import NO_ORG, OWNER_PREFIX, aggregate_producers
from tests.conftest import SAMPLE
from tests.fake_encoders import FakeEncoder

WATER = {"title": "Qualité de l'eau des rivières du bassin",
         "description": "Mesures de la qualité de l'eau des rivières du bassin versant, "
                        "prélèvements et analyses physico-chimiques par station de mesure."}
LAKES = {"title": "Qualité de l'eau des lacs du bassin",
         "description": "Mesures de la qualité de l'eau des lacs du bassin versant, "
                        "prélèvements et analyses par station de mesure."}
BUDGET = {"title": "Budget primitif de la commune",
          "description": "Comptes administratifs, budget primitif et finances communales."}
TREES = {"title": "Inventaire des arbres d'alignement",
         "description": "Arbres de la ville : essence, hauteur, date de plantation."}
OA = {"organization": "Agence de l'eau Adour-Garonne", "organization_id": "org-a"}
OB = {"organization": "Syndicat des eaux du bassin", "organization_id": "org-b"}
OC = {"organization": "Commune de Trifouilly", "organization_id": "org-c"}
OD = {"organization": "Syndicat dissous", "organization_id": "org-d"}  # archived datasets only
ARCHIVED = {"archived": "2024-05-01T00:00:00"}

# id, producer, text, extra fields
CRAFTED = [
    ("a1", OA, WATER, {"metric.views": "100", "metric.reuses": "2", "metric.followers": "3",
                       "frequency": "annual", "last_modified": "2025-06-01T00:00:00",
                       "tags": "eau,rivière", "license": "Licence Ouverte",
                       "spatial.zones": "France", "temporal_coverage.start": "2020-01-01"}),
    ("a2", OA, WATER, {"metric.views": "50", "frequency": "monthly",
                       "last_modified": "2024-01-01T00:00:00", "license": "License Not Specified"}),
    ("a3", OA, LAKES, {**ARCHIVED, "metric.views": "1000", "metric.reuses": "7"}),
    ("a4", OA, BUDGET, {**ARCHIVED, "metric.followers": "4"}),
    ("b1", OB, WATER, {"metric.views": "10"}),
    ("b2", OB, LAKES, {"metric.views": "20"}),
    ("c1", OC, BUDGET, {"metric.views": "5", "last_modified": "2026-01-10T00:00:00"}),
    ("u1", {"owner": "jean-dupont"}, TREES, {"metric.views": "1"}),
    ("n1", {}, TREES, {**ARCHIVED, "metric.views": "9"}),
    ("n2", {}, BUDGET, {"metric.views": "3"}),
    ("d1", OD, TREES, {**ARCHIVED, "metric.views": "0"}),
]


def _write_crafted(path) -> None:
    with open(SAMPLE, newline="", encoding="utf-8") as fh:
        header = next(csv.reader(fh, delimiter=";"))
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=";", quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    w.writerow(header)
    for ds_id, producer, text, extra in CRAFTED:
        rec = {c: "" for c in header}
        rec.update({"id": ds_id, "archived": "False", "created_at": "2020-01-01T00:00:00",
                    "last_modified": "2025-12-01T00:00:00", **producer, **text, **extra})
        w.writerow([rec[c] for c in header])
    path.write_text(buf.getvalue(), encoding="utf-8")


@pytest.fixture(scope="module")
def crafted_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("crafted") / "crafted.csv"
    _write_crafted(path)
    return path


@pytest.fixture(scope="module")
def crafted_explorer(crafted_csv, tmp_path_factory):
    from models.core.config import BuildSettings
    from models.pipeline.steps import STEPS, run_build
    from models.serve.explorer import Explorer

    root = tmp_path_factory.mktemp("crafted-artifacts")
    wanted = ("ingest", "embeddings", "neighbours", "umap", "producers")
    steps = [s for s in STEPS if s[0] in wanted]
    assert [s[0] for s in steps] == list(wanted)
    run_build(BuildSettings(catalog=str(crafted_csv), out=root, model="fake-64",
                            show_progress=False), encoder=FakeEncoder(64), steps=steps)
    return Explorer.load(root, encoder=FakeEncoder(64))


def _by_id(prod):
    return prod.set_index("producer_id")


def test_ingest_counts_archived_rows_per_producer(crafted_csv):
    df, rep = read_catalog(crafted_csv)
    assert sorted(df["id"]) == ["a1", "a2", "b1", "b2", "c1", "n2", "u1"]
    arch = rep.archived_frame()
    assert rep.archived_dropped == len(arch) == 4
    assert sorted(arch["organization_id"]) == ["", "org-a", "org-a", "org-d"]
    assert arch["views"].sum() == 1009  # metrics are kept for the aggregates
    assert "archived_rows" not in rep.as_dict()  # not copied into the manifest


def test_aggregates_include_archived(crafted_csv):
    df, rep = read_catalog(crafted_csv)
    prod, centroids, of_row = aggregate_producers(df, rep.archived_frame(), None)
    p = _by_id(prod)
    assert p.loc["org-a", ["n_active", "n_archived", "n_total"]].tolist() == [2, 2, 4]
    assert p.loc["org-a", "views"] == 1150  # 100 + 50 + archived 1000
    assert p.loc["org-a", "reuses"] == 9 and p.loc["org-a", "followers"] == 7
    assert p.loc["org-a", "organization"] == "Agence de l'eau Adour-Garonne"
    assert p.loc["org-b", ["n_active", "n_archived"]].tolist() == [2, 0]
    # no organisation: the owner, else one "(sans organisation)" group
    assert p.loc[OWNER_PREFIX + "jean-dupont", ["kind", "n_active", "organization_id"]].tolist() == \
        ["utilisateur", 1, ""]
    assert p.loc[NO_ORG, ["kind", "n_active", "n_archived", "views"]].tolist() == ["aucun", 1, 1, 12]
    # sorted by active datasets, then total
    assert prod["producer_id"].tolist()[:2] == ["org-a", "org-b"]
    assert prod["n_active"].sum() == len(df) and prod["n_archived"].sum() == 4
    assert p.loc["org-d", ["n_active", "n_archived", "n_in_build"]].tolist() == [0, 1, 0]
    assert prod["producer_id"].iat[-1] == "org-d"
    # row -> producer
    assert len(of_row) == len(df)
    assert [prod["producer_id"].iat[i] for i in of_row] == \
        ["org-a", "org-a", "org-b", "org-b", "org-c", OWNER_PREFIX + "jean-dupont", NO_ORG]
    assert centroids.shape == (len(prod), 0)


def test_a_build_with_archived_rows_kept_counts_them_too(crafted_csv):
    df, _ = read_catalog(crafted_csv, include_archived=True)
    prod, _, of_row = aggregate_producers(df, None, None)
    p = _by_id(prod)
    assert p.loc["org-a", ["n_active", "n_archived", "n_in_build"]].tolist() == [2, 2, 4]
    assert len(of_row) == len(df) == 11


def test_centroids_are_normalised_means(crafted_csv):
    df, rep = read_catalog(crafted_csv)
    emb = FakeEncoder(64).encode(df["title"].tolist(), kind="passage")
    prod, centroids, of_row = aggregate_producers(df, rep.archived_frame(), emb)
    assert centroids.dtype == np.float32 and centroids.shape == (len(prod), 64)
    for i in range(len(prod)):
        members = emb[of_row == i]
        if len(members):
            mean = members.mean(axis=0)
            np.testing.assert_allclose(centroids[i], mean / np.linalg.norm(mean), atol=1e-5)
            assert of_row[prod["medoid_row"].iat[i]] == i
        else:
            assert not centroids[i].any() and prod["medoid_row"].iat[i] == -1


def test_build_writes_producer_artifacts(crafted_explorer):
    arts = crafted_explorer.artifacts
    for name in ("producers.parquet", "producer_centroids.npy", "producer_of_row.npy"):
        assert arts.has(name)
    prod = arts.parquet("producers.parquet")
    assert arts.npy("producer_centroids.npy").shape[0] == len(prod)
    assert arts.npy("producer_of_row.npy").shape == (crafted_explorer.n,)
    params = arts.manifest["parameters"]["producers"]
    assert params["n_archived"] == 4
    assert params["export_date"].startswith("2026-01-10")  # newest last_modified, not today
    P = crafted_explorer.producers
    assert P.archived_known and P.as_of.year == 2026
    a = P.index_of("org-a")
    s = P.summary(a)
    assert (s["n_active"], s["n_archived"], s["views"]) == (2, 2, 1150)
    assert sorted(crafted_explorer.datasets["id"].to_numpy()[P.rows(a)]) == ["a1", "a2"]


def test_options_filter_typed_text(crafted_explorer):
    P = crafted_explorer.producers
    labels = [o["label"] for o in P.options("eau")]
    # "Syndicat des eaux…" and "Agence de l'eau…" contain the word; accents and case ignored
    assert labels[0].startswith("Agence de l'eau") or labels[0].startswith("Syndicat")
    assert {o["value"] for o in P.options("EAU")} == {"org-a", "org-b"}
    assert [o["value"] for o in P.options("trifou")] == ["org-c"]
    assert [o["value"] for o in P.options("commune de")] == ["org-c"]
    assert P.options("zzz") == []
    assert [o["value"] for o in P.options("zzz", keep="org-b")] == ["org-b"]
    assert len(P.options("", limit=3)) == 3
    assert P.options("", limit=1)[0] == {"label": "Agence de l'eau Adour-Garonne (2 jeux)",
                                         "value": "org-a"}
    assert fold("Île-de-France") == "ile-de-france"


def test_producer_with_archived_datasets_only(crafted_explorer):
    P = crafted_explorer.producers
    d = P.index_of("org-d")
    assert P.options("dissous") == [{"label": "Syndicat dissous (aucun jeu actif, 1 archivé)",
                                     "value": "org-d"}]
    assert len(P.rows(d)) == 0 and P.datasets(d).empty and P.quality(d).empty
    assert P.near_duplicates(d).empty and P.similar_producers(d).empty
    assert P.neighbourhood(d) is None and P.topic_mix(d) is None
    assert not P.centroids[d].any()
    # nobody lists it among similar producers (it has no centroid)
    assert "org-d" not in set(P.similar_producers(P.index_of("org-a"), k=20)["producer_id"])


def test_near_duplicates_own_and_other_producers(crafted_explorer):
    P = crafted_explorer.producers
    ids = crafted_explorer.datasets["id"].to_numpy()
    dup = P.near_duplicates(P.index_of("org-a"), threshold=0.95)
    pairs = {(ids[r.row_a], ids[r.row_b], r.same_producer) for r in dup.itertuples()}
    # a1 and a2 (same text) once, and each with b1 (same text, another producer)
    assert pairs == {("a1", "a2", True), ("a1", "b1", False), ("a2", "b1", False)}
    assert (dup["score"] >= 0.95).all() and dup["score"].is_monotonic_decreasing
    assert set(dup.loc[~dup.same_producer, "organization_b"]) == {"Syndicat des eaux du bassin"}
    # the commune's budget has the same text as a dataset without organisation
    dup_c = P.near_duplicates(P.index_of("org-c"), threshold=0.95)
    assert dup_c[["organization_b", "producer_b"]].values.tolist() == [[NO_ORG, NO_ORG]]
    assert P.near_duplicates(P.index_of(OWNER_PREFIX + "jean-dupont"), threshold=0.95).empty
    # a lower threshold finds more (the lakes dataset of org-b shares most words)
    assert len(P.near_duplicates(P.index_of("org-a"), threshold=0.3)) > len(dup)


def test_similar_producers_ordering(crafted_explorer):
    P = crafted_explorer.producers
    a = P.index_of("org-a")
    sim = P.similar_producers(a, k=10)
    assert sim["producer_id"].iat[0] == "org-b"  # shares the water datasets
    assert "org-a" not in set(sim["producer_id"])
    assert sim["similarity"].is_monotonic_decreasing
    s = dict(zip(sim["producer_id"], sim["similarity"], strict=True))
    assert s["org-b"] > s["org-c"]
    np.testing.assert_allclose(s["org-b"], float(P.centroids[a] @ P.centroids[P.index_of("org-b")]),
                               rtol=1e-5)
    nb = P.neighbourhood(a, k=3)
    assert nb["producers"]["is_self"].tolist() == [True, False, False, False]
    assert len(nb["datasets"]) == 2 and np.isfinite(nb["datasets"][["x", "y"]].to_numpy()).all()


def test_quality_list_of_a_producer(crafted_explorer):
    P = crafted_explorer.producers
    q = P.quality(P.index_of("org-a"))
    assert q["id"].tolist() == ["a2"]  # a1 has nothing to fix
    a2 = q.iloc[0]
    assert a2["row"] == crafted_explorer.records.row_of("a2")
    assert any("« mensuelle »" in r for r in a2["reasons"])
    assert any("Licence non précisée" in r for r in a2["reasons"])
    assert a2["reasons"][0] == "Aucun mot-clé" and len(a2["reasons"]) == 5
    # tags 10 + licence 20 + territory 10 + temporal 10 + stale 25 taken off 100
    assert a2["score"] == 25
    listing = P.datasets(P.index_of("org-a")).set_index("id")
    assert listing.loc["a1", "score"] == 100 and listing.index.tolist() == ["a1", "a2"]  # by views
    assert P.mean_score(P.index_of("org-a")) == 62.5
    ov = P.quality_overview(P.index_of("org-a")).set_index("rule")
    assert ov.loc["stale", "producer"] == 0.5 and ov.loc["license", "producer"] == 0.5


def test_findability_with_k(crafted_explorer):
    P = crafted_explorer.producers
    row = crafted_explorer.records.row_of("c1")
    f = P.findability(row, ["budget primitif commune", "  "], k=2)
    sem = f[f["mode"] == "semantic"]
    assert sem["source"].tolist() == ["titre", "requête"]
    assert sem["rank"].notna().all() and (sem["rank"] <= 2).all()
    row_a1 = crafted_explorer.records.row_of("u1")
    f = P.findability(row_a1, ["budget primitif commune"], k=1)
    miss = f[(f["mode"] == "semantic") & (f["source"] == "requête")].iloc[0]
    assert miss["rank"] is None or np.isnan(miss["rank"])
    assert miss["status"] == "non trouvé (au-delà de 1)"


def test_shared_build_has_producers(explorer):
    from models.serve import search

    P = explorer.producers
    assert P.archived_known
    assert P.table["n_active"].sum() == explorer.n
    assert P.table["n_archived"].sum() == explorer.artifacts.manifest["catalog"]["archived_dropped"]
    norms = np.linalg.norm(P.centroids, axis=1)
    np.testing.assert_allclose(norms[P.table["n_in_build"].to_numpy() > 0], 1.0, atol=1e-5)
    f = P.findability(0, [])
    assert f["mode"].tolist() == list(search.MODES)
    sem = f[f["mode"] == "semantic"].iloc[0]
    assert sem["rank"] is not None and sem["rank"] <= 100
    assert set(f["status"]).issubset(
        {*(f"rang {i}" for i in range(1, 101)), "non trouvé (au-delà de 100)", "mode indisponible"})

"""What the build's ``serving`` step keeps for the app's start (models/core/serving.py): the
tables equal what the app computes without them, and a stale, damaged or missing file only
costs the start its time."""

from __future__ import annotations

import json
import logging
import shutil

import pandas as pd
import pytest

from models.core import serving
from models.core.freshness import DESCRIPTION_HEAD
from models.core.spelling_words import vocabulary
from models.core.store import load_artifacts, resolve_build_dir
from models.core.territory_entities import gazetteer_from_entities, gazetteer_tables
from models.serve.explorer import Explorer
from tests.test_pipeline import build_with_garbage, build_without


def computed(arts, name: str) -> pd.DataFrame:
    """The table as the app computes it without the step's file."""
    ds, d = arts.datasets, arts.descriptions
    if name == "quality":
        places = arts.parquet("territories.parquet", columns=["row"])
        return serving.quality_table(ds, description_chars=d.text_chars(), places=places,
                                     as_of=serving.export_date(arts.manifest, ds))
    if name == "freshness":
        return serving.freshness_table(ds, as_of=serving.naive_export_date(arts.manifest, ds),
                                       heads=d.text_heads(DESCRIPTION_HEAD))
    if name.startswith("gazetteer"):
        ents, aliases = gazetteer_tables(gazetteer_from_entities(arts.parquet("territory_entities.parquet")))
        return ents if name == "gazetteer_entities" else aliases
    if name == "declared":
        return serving.declared_table(gazetteer_from_entities(arts.parquet("territory_entities.parquet")), ds)
    return vocabulary(ds["title"].fillna("").astype(str).tolist(), ds["tags"].tolist())


@pytest.mark.parametrize("name", sorted(serving.FILES))
def test_the_kept_tables_equal_the_computed_ones(built_root, name):
    arts = load_artifacts(built_root)
    assert arts.manifest["parameters"]["serving"]["version"] == serving.code_version()
    kept = serving.read(arts, name)
    assert kept is not None and len(kept) > 0
    fresh = computed(arts, name)
    if name in ("spelling", "declared") or name.startswith("gazetteer"):  # read back as plain lists
        assert [[list(v) if hasattr(v, "__len__") and not isinstance(v, str) else v for v in r]
                for r in kept.values.tolist()] == fresh.values.tolist()
    else:
        pd.testing.assert_frame_equal(kept, fresh)
    if name == "quality":  # None where a rule passes (not NaN, which is true), lists of reasons
        assert kept["description"].map(lambda v: v is None or isinstance(v, str)).all()
        assert kept["reasons"].map(lambda v: isinstance(v, list)).all()


def test_the_kept_gazetteer_is_the_one_built_from_the_entities(explorer):
    from models.serve.territories import load_gazetteer

    arts = explorer.artifacts
    kept = load_gazetteer(arts)  # from the serving step's tables
    built = gazetteer_from_entities(arts.parquet("territory_entities.parquet"))
    for attr in ("entities", "aliases", "trie", "lexical", "always_weak", "postcodes", "dept_region"):
        assert getattr(kept, attr) == getattr(built, attr), attr
    assert list(kept.aliases) == list(built.aliases)  # the same order: the same scans
    assert [e.code for e in kept.lookup("Paris")] == [e.code for e in built.lookup("Paris")] != []


def test_the_speller_and_the_pages_are_the_same_with_or_without_the_files(built_root, tmp_path, explorer):
    """A build made before the step (no files) serves the same quality scores, freshness and
    spelling corrections, computed at start."""
    old = build_without(resolve_build_dir(built_root), tmp_path / "old", *serving.FILES.values())
    other = Explorer.load(old)
    assert all(serving.read(other.artifacts, n) is None for n in serving.FILES)
    pd.testing.assert_frame_equal(other.producers.assessed(), explorer.producers.assessed())
    pd.testing.assert_frame_equal(other.freshness.table, explorer.freshness.table)
    assert other.territories.gazetteer.aliases == explorer.territories.gazetteer.aliases
    ta, tb = other.catalogue.territories, explorer.catalogue.territories  # declared zones resolved at start
    for key in ("direct_rows", "direct_ents", "direct_src", "rows", "ents"):
        assert ta[key].tolist() == tb[key].tolist(), key
    a, b = other.engine.speller, explorer.engine.speller
    assert a.words == b.words and a.counts.tolist() == b.counts.tolist()
    word = max(b.words, key=len)
    typo = word[:2] + word[3] + word[2] + word[4:]  # two letters swapped
    assert a.correct(typo) == b.correct(typo)


def test_files_of_other_code_or_damaged_are_computed_again(built_root, tmp_path, caplog):
    src = resolve_build_dir(built_root)
    stale = tmp_path / "stale"
    shutil.copytree(src, stale)
    m = json.loads((stale / "manifest.json").read_text())
    m["parameters"]["serving"]["version"] = "0" * 16
    (stale / "manifest.json").write_text(json.dumps(m))
    with caplog.at_level(logging.INFO, logger="models.core.serving"):
        assert serving.read(load_artifacts(stale), "quality") is None
    assert "other code" in caplog.text

    bad = build_with_garbage(src, tmp_path / "bad", serving.FILES["freshness"])
    arts = load_artifacts(bad)
    with caplog.at_level(logging.WARNING, logger="models.core.serving"):
        assert serving.read(arts, "freshness") is None
    assert "unreadable" in caplog.text
    exp = Explorer.load(bad)  # the app computes it: same statuses as the kept table
    kept = serving.read(load_artifacts(src), "freshness")
    assert exp.freshness.table["status"].tolist() == kept["status"].tolist()


def build_with_quality(src, dst, table: pd.DataFrame):
    """A copy of build ``src`` at ``dst`` whose ``quality.parquet`` is ``table`` (its size in the
    manifest updated: only the serving step's own checks can refuse it)."""
    name = serving.FILES["quality"]
    shutil.copytree(src, dst)
    table.to_parquet(dst / name)
    m = json.loads((dst / "manifest.json").read_text())
    m["files"][name]["bytes"] = (dst / name).stat().st_size
    (dst / "manifest.json").write_text(json.dumps(m))
    return dst


def test_a_table_of_another_length_is_not_used(built_root, tmp_path, caplog):
    src = resolve_build_dir(built_root)
    short = build_with_quality(src, tmp_path / "short", serving.read(load_artifacts(src), "quality").head(3))
    with caplog.at_level(logging.WARNING, logger="models.core.serving"):
        assert serving.read(load_artifacts(short), "quality") is None
    assert "3 rows for" in caplog.text


def test_a_table_with_other_columns_is_not_used(built_root, tmp_path, caplog):
    """A readable file whose columns are not those the step recorded (a damaged or replaced
    file) is computed again: the pages never meet a table without the columns they read."""
    src = resolve_build_dir(built_root)
    arts = load_artifacts(src)
    recorded = arts.manifest["parameters"]["serving"]["columns"]
    assert recorded["quality"] == list(serving.read(arts, "quality").columns)
    odd = build_with_quality(src, tmp_path / "odd", serving.read(arts, "quality").drop(columns=["score"]))
    with caplog.at_level(logging.WARNING, logger="models.core.serving"):
        assert serving.read(load_artifacts(odd), "quality") is None
    assert "not the" in caplog.text
    exp = Explorer.load(odd)  # the quality page's table, computed: its scores are there
    assert exp.producers.assessed()["score"].tolist() == serving.read(arts, "quality")["score"].tolist()


def test_the_territory_filter_is_built_without_the_gazetteer(built_root):
    """The declared zones come resolved in ``declared_zones.parquet``: the filter columns (the
    catalogue's facet counts, needed by the first page) no longer load the gazetteer (~0.5 s of
    the full catalogue's start); the declared pairs are there all the same."""
    exp = Explorer.load(built_root)
    t = exp.catalogue.territories
    assert "gazetteer" not in vars(exp.territories)  # the cached_property never ran
    assert int((t["direct_src"] == 1).sum()) == len(serving.read(exp.artifacts, "declared")) > 0


def test_a_kept_declared_row_outside_the_catalogue_is_dropped(built_root, tmp_path):
    """A declared-zones file whose rows run past the catalogue (damaged, or another build's)
    never indexes past the rows: those pairs are dropped, the others kept."""
    src = resolve_build_dir(built_root)
    name = serving.FILES["declared"]
    table = serving.read(load_artifacts(src), "declared")
    n = len(load_artifacts(src).datasets)
    bad = pd.concat([table, pd.DataFrame({"row": [n, n + 7, -1], "key": [table["key"].iat[0]] * 3})],
                    ignore_index=True)
    dst = tmp_path / "bad"
    shutil.copytree(src, dst)
    bad.to_parquet(dst / name)
    m = json.loads((dst / "manifest.json").read_text())
    m["files"][name]["bytes"] = (dst / name).stat().st_size
    (dst / "manifest.json").write_text(json.dumps(m))
    t = Explorer.load(dst).catalogue.territories
    declared = t["direct_src"] == 1
    assert int(declared.sum()) == len(table) and int(t["direct_rows"].max()) < n

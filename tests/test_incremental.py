"""Incremental builds: a changed description re-encodes that dataset only
(scripts/bench/incremental_check.py)."""

from __future__ import annotations

import importlib.util
import json
import shutil

import numpy as np

from models.core.config import REPO
from models.core.text import passage_text
from models.pipeline.embed import EmbeddingCache, _key, embed_passages
from models.pipeline.ingest import read_catalog
from tests.conftest import N_ROWS, SAMPLE
from tests.fake_encoders import FakeEncoder


def load_script():
    path = REPO / "scripts" / "bench" / "incremental_check.py"
    spec = importlib.util.spec_from_file_location("incremental_check", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class RecordingEncoder(FakeEncoder):
    def __init__(self, dim: int = 64) -> None:
        super().__init__(dim)
        self.texts: list[str] = []

    def encode(self, texts, **kw):
        self.texts += list(texts)
        return super().encode(texts, **kw)


def test_changed_export_is_deterministic(tmp_path):
    script = load_script()
    a = script.changed_export(SAMPLE, tmp_path / "a.csv.gz", fraction=0.05, seed=3, limit=100)
    b = script.changed_export(SAMPLE, tmp_path / "b.csv.gz", fraction=0.05, seed=3, limit=100)
    c = script.changed_export(SAMPLE, tmp_path / "c.csv.gz", fraction=0.05, seed=4, limit=100)
    assert a == b != c and len(a) == 5
    before, _ = read_catalog(SAMPLE, limit=100)
    after, _ = read_catalog(tmp_path / "a.csv.gz", limit=100)
    assert list(before["id"]) == list(after["id"])  # same rows, same order
    changed = before["description"] != after["description"]
    assert sorted(before.loc[changed, "id"]) == a
    for col in ("title", "tags", "organization", "archived"):  # nothing else moved
        assert before[col].astype(str).tolist() == after[col].astype(str).tolist(), col


def test_only_changed_rows_are_re_encoded(built_root, tmp_path):
    """The fixture build's cache holds its 200 passages: a rebuild of the same rows with 2% of
    the descriptions changed encodes exactly those."""
    script = load_script()
    cache = tmp_path / "cache"
    shutil.copytree(built_root / "cache" / "embeddings", cache)
    enc = RecordingEncoder(64)
    report = script.run_check(SAMPLE, tmp_path / "out", cache=cache, limit=N_ROWS, fraction=0.02, seed=1,
                              steps=["ingest", "embeddings"], encoder=enc, model="fake-64")
    assert report["changed"] == 4 and report["n_datasets"] == N_ROWS
    assert report["re_embedded"] == 4 and report["from_cache"] == N_ROWS - 4
    assert report["only_changed_re_embedded"] is True
    assert len(enc.texts) == 4 and all("[mise à jour 1-" in t for t in enc.texts)
    assert set(report["steps"]) == {"ingest", "embeddings"} and report["total_seconds"] >= 0
    text = script.format_report(report)
    assert "passages ré-encodés : 4" in text and "seulement les jeux modifiés" in text
    json.dumps(report)


def test_cache_keys_ending_with_a_nul_byte_are_found(tmp_path):
    """numpy's "S16" drops trailing NUL bytes: such keys (1 in 256) must still hit the cache."""
    enc = FakeEncoder(8)
    texts, i = [], 0
    while len(texts) < 3:  # passages whose cache key ends with b"\0"
        t = f"passage {i}"
        if _key(enc.model_id, t).endswith(b"\0"):
            texts.append(t)
        i += 1
    texts += ["autre passage", "encore un"]
    first, stats = embed_passages(texts, enc, tmp_path, show_progress=False)
    assert stats["encoded"] == 5
    again = FakeEncoder(8)
    second, stats = embed_passages(texts, again, tmp_path, show_progress=False)
    assert stats == {"total": 5, "cached": 5, "encoded": 0} and again.calls == 0
    np.testing.assert_array_equal(first, second)
    assert len(EmbeddingCache(tmp_path, enc.model_id, 8)) == 5


def test_passages_of_the_fixture_build_are_all_cached(built_root):
    """A rebuild of an unchanged export encodes nothing (none lost to the NUL-byte bug)."""
    df, _ = read_catalog(SAMPLE, limit=N_ROWS)
    passages = [passage_text(t, d) for t, d in zip(df["title"], df["description_text"], strict=True)]
    enc = FakeEncoder(64)
    cache = EmbeddingCache(built_root / "cache" / "embeddings", enc.model_id, 64)
    _, found = cache.lookup([_key(enc.model_id, p) for p in passages])
    assert found.all()

"""Faults of the embedding cache (issue 23): a shard truncated, corrupted (a flipped byte, its
checksum no longer matches), of the wrong shape or unreadable is detected, set aside, its passages
are encoded again, and the count is in the build's ``embedding_stats`` (the manifest); nothing
else is lost and the vectors equal a build without a cache."""

from __future__ import annotations

import numpy as np
import pytest

from models.pipeline.embed import EmbeddingCache, embed_passages
from tests.fake_encoders import FakeEncoder

TEXTS = [f"texte numéro {i} sur l'eau potable" for i in range(30)]


def _filled(tmp_path):
    enc = FakeEncoder(16)
    embed_passages(TEXTS, enc, tmp_path, flush_every=10, show_progress=False)  # 3 shards of 10
    return enc, EmbeddingCache(tmp_path, enc.model_id, 16).dir


def _truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _flip_a_vector_byte(path):
    data = bytearray(path.read_bytes())
    data[-7] ^= 0x55  # inside the last vector, header intact: only the checksum can tell
    path.write_bytes(bytes(data))


def _wrong_shape(path):
    np.save(path, np.zeros((3, 16), dtype=np.float32))


def _garbage(path):
    path.write_bytes(b"not a numpy file at all")


@pytest.mark.parametrize("damage, target", [(_truncate, "vecs"), (_truncate, "keys"),
                                            (_flip_a_vector_byte, "vecs"), (_wrong_shape, "vecs"),
                                            (_garbage, "keys"), (_garbage, "sum")])
def test_a_damaged_shard_is_detected_recomputed_and_counted(tmp_path, caplog, damage, target):
    enc, cache_dir = _filled(tmp_path)
    name = {"vecs": "vecs-00001.npy", "keys": "keys-00001.npy", "sum": "sum-00001.txt"}[target]
    damage(cache_dir / name)
    vecs, stats = embed_passages(TEXTS, FakeEncoder(16), tmp_path, show_progress=False)
    assert stats["cache_damaged"] == 1
    assert stats["cached"] == 20 and stats["encoded"] == 10  # only the damaged shard's passages
    np.testing.assert_allclose(vecs, enc.encode(TEXTS, kind="passage"), rtol=1e-6)
    assert (cache_dir / (name + ".damaged")).exists()  # set aside, not scanned again
    warnings = [r.getMessage() for r in caplog.records if "damaged" in r.getMessage()]
    assert len(warnings) == 1 and "00001" in warnings[0]
    # the next build finds a whole cache again
    again, stats = embed_passages(TEXTS, FakeEncoder(16), tmp_path, show_progress=False)
    assert stats == {"total": 30, "cached": 30, "encoded": 0}
    np.testing.assert_allclose(again, vecs, rtol=1e-6)


def test_a_whole_cache_has_a_checksum_per_shard(tmp_path):
    enc, cache_dir = _filled(tmp_path)
    assert sorted(p.name for p in cache_dir.glob("sum-*.txt")) == ["sum-00000.txt", "sum-00001.txt",
                                                                   "sum-00002.txt"]
    cache = EmbeddingCache(tmp_path, enc.model_id, 16)
    assert len(cache) == 30 and cache.damaged == []


def test_the_build_manifest_counts_damaged_shards(tmp_path):
    from models.core.store import read_manifest
    from models.pipeline.steps import run_build
    from tests.conftest import small_settings

    enc = FakeEncoder(64)
    first = run_build(small_settings(tmp_path, limit=40), encoder=enc)
    assert "cache_damaged" not in read_manifest(first)["embedding_stats"]
    cache_dir = EmbeddingCache(tmp_path / "cache" / "embeddings", enc.model_id, 64).dir
    shard = sorted(cache_dir.glob("vecs-*.npy"))[0]
    _flip_a_vector_byte(shard)
    second = run_build(small_settings(tmp_path, limit=40), encoder=FakeEncoder(64))
    stats = read_manifest(second)["embedding_stats"]
    assert stats["cache_damaged"] == 1 and stats["encoded"] > 0
    np.testing.assert_allclose(np.load(second / "embeddings.npy"), np.load(first / "embeddings.npy"),
                               rtol=1e-6)


@pytest.mark.parametrize("cache", [True, False])
def test_a_text_met_twice_is_encoded_once(tmp_path, cache):
    """Boilerplate descriptions repeat (46 % of the full catalogue's chunk passages): each distinct
    text is encoded once, with or without a cache, and every row gets its text's vector."""
    texts = ["eau potable", "air", "eau potable", "bruit", "air", "eau potable"]
    enc = FakeEncoder(16)
    vecs, stats = embed_passages(texts, enc, tmp_path if cache else None, show_progress=False)
    assert enc.calls == 3 and stats == {"total": 6, "cached": 0, "encoded": 3, "duplicates": 3,
                                        **{k: stats[k] for k in ("seconds", "passages_per_s")}}
    np.testing.assert_allclose(vecs, FakeEncoder(16).encode(texts, kind="passage"), rtol=1e-6)
    if cache:  # the next build finds every text in the cache
        again, stats = embed_passages(texts, FakeEncoder(16), tmp_path, show_progress=False)
        assert stats == {"total": 6, "cached": 6, "encoded": 0}
        np.testing.assert_array_equal(again, vecs)

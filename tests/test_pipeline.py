"""End-to-end build on 200 sample rows with a deterministic fake encoder."""

from __future__ import annotations

import json

import numpy as np
import pytest

from models.core.store import ArtifactError, load_artifacts, read_manifest, resolve_build_dir
from models.pipeline.embed import EmbeddingCache, embed_passages
from tests.conftest import N_ROWS, small_settings
from tests.fake_encoders import FakeEncoder


def test_build_artifacts_are_consistent(built_root):
    arts = load_artifacts(built_root, verify_hashes=True)
    m = arts.manifest
    assert m["n_datasets"] == N_ROWS == len(arts.datasets)
    assert arts.embeddings.shape == (N_ROWS, 64)
    np.testing.assert_allclose(np.linalg.norm(arts.embeddings, axis=1), 1.0, rtol=1e-5)
    assert arts.coords.shape == (N_ROWS, 2) and np.isfinite(arts.coords).all()
    assert arts.neighbours.shape == (N_ROWS, 10)
    assert not (arts.neighbours == np.arange(N_ROWS)[:, None]).any()  # never its own neighbour
    assert (np.diff(arts.neighbour_scores, axis=1) <= 1e-6).all()  # best first
    for step in ("ingest", "embeddings", "neighbours", "umap", "lda"):
        assert step in m["steps"]
    assert m["model"]["id"] == "fake-hash-64"
    assert m["versions"]["numpy"]
    assert m["catalog"]["rows_kept"] == N_ROWS


def test_neighbours_match_brute_force(built_root):
    arts = load_artifacts(built_root)
    sims = arts.embeddings @ arts.embeddings.T
    np.fill_diagonal(sims, -np.inf)
    for row in (0, 17, 123):
        expected = np.sort(sims[row])[::-1][:10]
        np.testing.assert_allclose(arts.neighbour_scores[row], expected, rtol=1e-5)


def test_lda_outputs(built_root):
    arts = load_artifacts(built_root)
    doc_topics = arts.npy("lda_doc_topics.npy")
    topics = arts.parquet("lda_topics.parquet")
    terms = arts.parquet("lda_terms.parquet")
    assert doc_topics.shape[0] == N_ROWS
    np.testing.assert_allclose(doc_topics.sum(axis=1), 1.0, atol=1e-3)
    assert len(topics) == doc_topics.shape[1]
    assert abs(topics.prevalence.sum() - 1) < 1e-6
    from models.core.text import STOP_WORDS

    assert not set(terms.term) & STOP_WORDS


def test_rebuild_reuses_embedding_cache_and_publishes_atomically(built_root, tmp_path):
    from models.pipeline.steps import run_build

    enc = FakeEncoder(64)
    first = run_build(small_settings(tmp_path, limit=60), encoder=enc)
    p1 = read_manifest(first)["parameters"]["passages"]["embedding"]
    assert p1["encoded"] > 0 and enc.calls == 60 + p1["encoded"]  # datasets + extra passages
    enc2 = FakeEncoder(64)
    second = run_build(small_settings(tmp_path, limit=80), encoder=enc2)
    m2 = read_manifest(second)
    p2 = m2["parameters"]["passages"]["embedding"]
    assert p2["cached"] > 0  # passages reused; a text met twice is encoded once
    assert p2["cached"] + p2["encoded"] + p2.get("duplicates", 0) == p2["total"]
    assert enc2.calls == 20 + p2["encoded"]  # only the new rows are encoded
    assert m2["embedding_stats"] == {"total": 80, "cached": 60, "encoded": 20,
                                     **{k: m2["embedding_stats"][k]
                                        for k in ("seconds", "passages_per_s")}}
    assert resolve_build_dir(tmp_path) == second.resolve()
    assert first.exists()  # previous build kept


def test_failed_build_leaves_previous_build_served(tmp_path):
    from models.pipeline.steps import STEPS, run_build

    good = run_build(small_settings(tmp_path, limit=40), encoder=FakeEncoder(64))

    def boom(ctx):
        raise RuntimeError("killed half-way")

    steps = [*STEPS[:3], ("boom", boom)]
    with pytest.raises(RuntimeError):
        run_build(small_settings(tmp_path, limit=50), encoder=FakeEncoder(64), steps=steps)
    assert resolve_build_dir(tmp_path) == good.resolve()
    assert not [p for p in (tmp_path / "builds").iterdir() if p.name.startswith(".tmp")]
    assert load_artifacts(tmp_path).n == 40


def test_manifest_refuses_other_schema_missing_or_damaged_files(built_root, tmp_path):
    import shutil

    src = resolve_build_dir(built_root)
    bad = tmp_path / "copy"
    shutil.copytree(src, bad)
    m = json.loads((bad / "manifest.json").read_text())
    m["schema_version"] = 999
    (bad / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(ArtifactError, match="schema version 999"):
        load_artifacts(bad)
    m["schema_version"] = 1
    (bad / "manifest.json").write_text(json.dumps(m))
    (bad / "umap.npy").unlink()
    with pytest.raises(ArtifactError, match="missing"):
        load_artifacts(bad)
    shutil.copy(src / "umap.npy", bad / "umap.npy")
    with open(bad / "neighbours.npy", "ab") as fh:
        fh.write(b"x")
    with pytest.raises(ArtifactError, match="damaged"):
        load_artifacts(bad)
    with pytest.raises(ArtifactError, match="no artifacts"):
        load_artifacts(tmp_path / "nowhere")
    with pytest.raises(ArtifactError, match="embedded with"):
        load_artifacts(src, expected_model="another-model")


def test_cache_survives_partial_shard(tmp_path):
    enc = FakeEncoder(16)
    texts = [f"texte numéro {i}" for i in range(30)]
    embed_passages(texts, enc, tmp_path, flush_every=10, show_progress=False)
    cache_dir = EmbeddingCache(tmp_path, enc.model_id, 16).dir
    # a shard whose keys were never committed (build killed mid-write) is ignored
    (cache_dir / "keys-00002.npy").unlink()
    vecs, stats = embed_passages(texts, FakeEncoder(16), tmp_path, show_progress=False)
    assert stats["cached"] == 20 and stats["encoded"] == 10
    np.testing.assert_allclose(vecs, enc.encode(texts, kind="passage"), rtol=1e-6)


def test_cli_search_json(built_root, capsys):
    from models.cli import main

    assert main(["search", "--artifacts", str(built_root), "--k", "5", "--json", "risques naturels"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 5
    # why: the card's reasons; versions: the other members of its family (near-identical datasets)
    assert set(rows[0]) == {"id", "title", "organization", "score", "why", "versions"}
    assert all(isinstance(r["versions"], list) for r in rows)
    assert isinstance(rows[0]["why"], list)
    assert rows[0]["score"] >= rows[-1]["score"]


def test_cli_reports_bad_artifacts(tmp_path, caplog):
    from models.cli import main

    assert main(["search", "--artifacts", str(tmp_path), "x"]) == 2
    assert "no artifacts" in caplog.text


def build_without(src, dst, *names: str):
    """A copy of build ``src`` at ``dst`` made before ``names`` existed (files and manifest entries gone)."""
    import shutil

    shutil.copytree(src, dst)
    m = json.loads((dst / "manifest.json").read_text())
    for name in names:
        (dst / name).unlink()
        del m["files"][name]
    (dst / "manifest.json").write_text(json.dumps(m))
    return dst


def build_with_garbage(src, dst, name: str):
    """A copy of build ``src`` at ``dst`` whose ``name`` is zeros of the same size (the manifest's
    size check passes; not an Arrow file)."""
    import shutil

    shutil.copytree(src, dst)
    (dst / name).write_bytes(b"\0" * (dst / name).stat().st_size)
    return dst


def test_descriptions_stay_on_disk_and_read_the_same(built_root, tmp_path):
    """The app's frame holds no description: they are memory-mapped from descriptions.arrow
    (~104 MiB less on the catalogue) and read per row, the same texts as datasets.parquet; a
    build made before that file existed serves them from its parquet the same way."""
    import pandas as pd

    src = resolve_build_dir(built_root)
    arts = load_artifacts(built_root)
    assert arts.descriptions.mapped and arts.has("descriptions.arrow")
    assert not {"description", "description_text"} & set(arts.datasets.columns)
    full = pd.read_parquet(src / "datasets.parquet", columns=["description", "description_text"])
    for row in range(N_ROWS):
        assert arts.descriptions.raw(row) == (full["description"].iat[row] or "")
        assert arts.descriptions.text(row) == (full["description_text"].iat[row] or "")
    chars = full["description_text"].fillna("").str.strip().str.len().to_numpy()
    assert arts.descriptions.text_chars().tolist() == chars.tolist()
    assert arts.descriptions.raw(N_ROWS + 5) == "" and arts.descriptions.text(-1) == ""

    before = load_artifacts(build_without(src, tmp_path / "old", "descriptions.arrow"))
    assert not before.descriptions.mapped
    assert not {"description", "description_text"} & set(before.datasets.columns)
    assert [before.descriptions.text(r) for r in range(N_ROWS)] == \
        [arts.descriptions.text(r) for r in range(N_ROWS)]
    assert before.descriptions.text_chars().tolist() == chars.tolist()

    with pytest.raises(ArtifactError, match=r"descriptions\.arrow"):
        load_artifacts(build_with_garbage(src, tmp_path / "bad", "descriptions.arrow"))


def test_the_row_table_is_memory_mapped_and_equals_the_parquet(built_root, tmp_path):
    """datasets.arrow (the columns of datasets.parquet but the descriptions, uncompressed Arrow):
    the app memory-maps it (~70 MiB less private memory on the catalogue) and gets the very frame
    pd.read_parquet gives, dtypes included; a build without it reads its parquet the same; a
    damaged one is refused naming the file."""
    import pandas as pd

    src = resolve_build_dir(built_root)
    arts = load_artifacts(built_root)
    assert arts.has("datasets.arrow")
    names = [c for c in pd.read_parquet(src / "datasets.parquet").columns
             if c not in ("description", "description_text")]
    expected = pd.read_parquet(src / "datasets.parquet", columns=names)
    pd.testing.assert_frame_equal(arts.datasets, expected)
    assert str(arts.datasets["title"].dtype) == "str" and len(arts.datasets) == N_ROWS

    pd.testing.assert_frame_equal(
        load_artifacts(build_without(src, tmp_path / "old", "datasets.arrow")).datasets, expected)

    with pytest.raises(ArtifactError, match=r"datasets\.arrow"):
        load_artifacts(build_with_garbage(src, tmp_path / "bad", "datasets.arrow"))


def test_the_build_keeps_the_french_lexicon_for_the_app(built_root):
    """territory_lexicon.npy (sorted 64-bit hashes, ~2 MiB) answers as the word set it was made
    from: the app loads it instead of decoding simplemma's dictionary at each start."""
    from models.core import geo

    arts = load_artifacts(built_root)
    saved = geo.Lexicon(arts.npy("territory_lexicon.npy", mmap=False))
    words = geo._lexicon_words()
    assert len(saved) == len(words) > 100_000
    assert all(w in saved for w in sorted(words)[::501])
    assert "orange" in saved and "plan" in saved
    assert "xqzvtw" not in saved and "" not in saved and None not in saved


def test_umap_is_compiled_in_the_background_of_a_large_build(tmp_path, monkeypatch):
    """A build that will run UMAP's approximate path starts compiling it in a thread before its
    first step, and the map step waits for that thread; a small one does not start it."""
    import threading
    import time

    from models.pipeline import steps
    from models.pipeline.steps import run_build

    events: list[str] = []
    started = threading.Event()

    def fake_warm_up(**kw):
        events.append("warm-up started")
        # done a second after ingest: later than the map step would start without waiting
        t = threading.Thread(target=lambda: (started.wait(5), time.sleep(1.0), events.append("warm-up done")))
        t.start()
        return t

    real_umap = steps.umap_2d

    def umap_after_warm_up(*a, **kw):
        events.append("umap")
        return real_umap(*a, **kw)

    def ingest_then_release(ctx, real=steps.STEP_BY_NAME["ingest"].run):
        real(ctx)
        started.set()  # the warm-up finishes while the steps after ingest run

    monkeypatch.setattr(steps, "warm_up", fake_warm_up)
    monkeypatch.setattr(steps, "umap_2d", umap_after_warm_up)
    order = [(n, ingest_then_release if n == "ingest" else fn) for n, fn in steps.STEPS]
    run_build(small_settings(tmp_path / "small", limit=40), encoder=FakeEncoder(64), steps=order)
    assert events == ["umap"]  # 40 rows: UMAP's exact path, nothing to compile ahead
    events.clear()
    monkeypatch.setattr(steps, "WARM_UP_ROWS", 30)
    run_build(small_settings(tmp_path / "large", limit=40), encoder=FakeEncoder(64), steps=order)
    assert events == ["warm-up started", "warm-up done", "umap"]

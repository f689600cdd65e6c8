"""Publish early, complete later: a large build is served once its map, search, similar datasets
and cards exist, then completed by the topics, clusters, map regions and passages; the same files
as a build made in one go; killed in between, the early build stays served and completes later."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from components.build_status import banner, pending_message
from models.core.store import read_manifest, verify_build
from models.pipeline import steps as pipeline
from models.pipeline.rerun import rerun_build
from models.pipeline.steps import EARLY_STEPS, STEPS, ordered_steps, publishes_early, run_build
from tests.conftest import small_settings
from tests.fake_encoders import FakeEncoder

LATE = [n for n, _ in STEPS if n not in EARLY_STEPS]


def files_of(build: Path) -> dict[str, str]:
    return {name: f["sha256"] for name, f in read_manifest(build)["files"].items()}


@pytest.fixture(scope="module")
def early_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("early")
    run_build(small_settings(root, publish_early=True), encoder=FakeEncoder(64))
    return root


def test_the_early_build_is_published_then_the_complete_one(early_root):
    complete = (early_root / "current").resolve()
    m = read_manifest(complete)
    assert "pending" not in m and set(m["steps"]) == {n for n, _ in STEPS}
    early = early_root / "builds" / m["published_early"]["build_id"]
    e = read_manifest(early)
    assert e["pending"]["steps"] == LATE  # what is still coming, in the order it runs
    assert set(e["steps"]) == set(EARLY_STEPS)
    assert 0 < m["published_early"]["seconds"] <= m["total_seconds"]
    for build in (early, complete):  # each one whole and consistent on its own
        n, problems = verify_build(build)
        assert problems == [] and n == len(read_manifest(build)["files"])
    early_files, complete_files = files_of(early), files_of(complete)
    assert early_files.items() <= complete_files.items()  # the complete build adds, never changes
    added = set(complete_files) - set(early_files)
    assert any(f.startswith("lda") for f in added) and "clusters.npy" in added
    assert any(f.startswith("passage") for f in added) and "hierarchy.parquet" in added
    # shared files are hard links, not copies
    assert (early / "embeddings.npy").stat().st_ino == (complete / "embeddings.npy").stat().st_ino


# not reproducible from one run to the next whatever the order: word2vec trains on 2 threads
# (gensim: exact repeats need one worker), the LDA summary records its timings
UNREPEATABLE = {"word_vectors.npy", "word_doc_vectors.npy", "lda_models.json"}


def test_early_publication_changes_no_file(early_root, built_root):
    """The early-first order gives the very same artifacts as the one-go build (fixture)."""
    one_go = (built_root / "current").resolve()
    assert read_manifest(one_go).get("published_early") is None  # 200 rows: not early by default
    early, ref = files_of((early_root / "current").resolve()), files_of(one_go)
    assert set(early) == set(ref)
    differ = {name for name in ref if early[name] != ref[name]}
    assert differ <= UNREPEATABLE, differ - UNREPEATABLE


def test_the_app_serves_the_early_build_and_says_what_is_coming(early_root):
    from app import create_app
    from models.core.config import AppSettings
    from models.serve.explorer import Explorer

    m = read_manifest((early_root / "current").resolve())
    early = early_root / "builds" / m["published_early"]["build_id"]
    exp = Explorer.load(early, encoder=FakeEncoder(64))
    assert exp.search("eau", mode="hybrid", k=5) and exp.records.similar(0)
    assert not exp.topics.default.available
    app = create_app(AppSettings(artifacts=early), explorer=exp)
    page = app.server.test_client().get("/_dash-layout").get_data(as_text=True)
    assert "Carte et recherche prêtes" in json.dumps(json.loads(page), ensure_ascii=False)
    children, cls = banner("b", "b", None, None, datetime.now(UTC), pending=read_manifest(early)["pending"])
    assert "les thèmes" in children[0] and "les passages" in children[0] and "d-none" not in cls
    assert banner("b", "b", None, None, datetime.now(UTC), pending=None)[1] == "d-none"


def test_killed_after_the_early_build_it_stays_served_and_completes(tmp_path, monkeypatch, built_root):
    def killed(ctx):
        raise KeyboardInterrupt  # stands for a SIGINT / kill during the LDA

    order = [(n, killed if n == "lda" else f) for n, f in STEPS]
    with pytest.raises(KeyboardInterrupt):
        run_build(small_settings(tmp_path, publish_early=True), encoder=FakeEncoder(64), steps=order)
    served = (tmp_path / "current").resolve()
    assert read_manifest(served)["pending"]["steps"] == LATE
    assert verify_build(served)[1] == []
    assert not list((tmp_path / "builds").glob(".tmp-*"))  # nothing half-written left behind
    final = rerun_build(tmp_path / "current", ["pending"], show_progress=False, encoder=FakeEncoder(64))
    m = read_manifest(final)
    assert "pending" not in m and (tmp_path / "current").resolve() == final.resolve()
    one_go = files_of((built_root / "current").resolve())
    completed = files_of(final)
    for name in ("clusters.npy", "hierarchy.parquet", "embeddings.npy", "umap.npy"):
        assert completed[name] == one_go[name], name
    with pytest.raises(ValueError, match="no pending steps"):
        rerun_build(tmp_path / "current", ["pending"], show_progress=False, encoder=FakeEncoder(64))


def test_when_a_build_publishes_early():
    s = small_settings(Path("/nonexistent"))
    assert not publishes_early(s, 200) and publishes_early(s, pipeline.EARLY_MIN_ROWS)
    s.publish_early = False
    assert not publishes_early(s, 10 ** 6)
    s.publish_early = True
    assert publishes_early(s, 10)
    names = [n for n, _ in ordered_steps()]
    assert names[:len(EARLY_STEPS)] == [n for n, _ in STEPS if n in EARLY_STEPS]
    assert sorted(names) == sorted(n for n, _ in STEPS)


def test_pending_message_is_french_and_bounded():
    assert pending_message(None) is None and pending_message({"steps": []}) is None
    assert pending_message({"steps": "lda"}) is None  # not a list: ignored, never a crash
    msg = pending_message({"steps": ["lda", "<script>", 3, "passages"]})
    assert msg.startswith("Carte et recherche prêtes\u202f;") and "<script>" not in msg
    assert pending_message({"steps": ["topic_tokens"]}).count("les dernières analyses") == 1

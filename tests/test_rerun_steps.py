"""Re-running named steps of a build (``python -m models build --from DIR/current --steps ...``)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from models.core.store import load_artifacts, read_manifest, resolve_build_dir
from models.pipeline.rerun import parse_overrides, plan, rerun_build
from models.pipeline.steps import STEPS

NAMES = [n for n, _ in STEPS]


@pytest.fixture
def root(built_root, tmp_path) -> Path:
    """A private copy of the fixture build's root (the session's build stays untouched)."""
    dst = tmp_path / "root"
    shutil.copytree(built_root, dst, symlinks=True)
    return dst


def test_plan_adds_the_steps_reading_what_is_re_run():
    assert plan(["lda"], NAMES) == ["lda", "topic_periods"]
    assert plan(["embeddings"], NAMES) == ["embeddings", "passages", "neighbours", "umap", "clusters",
                                              "hierarchy", "producers"]
    assert plan(["topic_tokens"], NAMES) == ["topic_tokens", "lda", "clusters", "hierarchy", "topic_periods"]
    assert plan(["umap"], NAMES) == ["umap", "hierarchy"]  # the map's regions follow the map
    assert parse_overrides(["map.neighbours=12"]) == {"map_neighbours": 12}
    assert plan(["ingest"], NAMES) == NAMES
    # a step this module does not know: always re-run
    assert plan(["lda"], [*NAMES, "future_step"]) == ["lda", "topic_periods", "future_step"]


def test_overrides_are_typed_and_checked():
    assert parse_overrides(["lda.k=10,20,30"]) == {"lda_ks": (10, 20, 30)}
    assert parse_overrides(["lda.k=20", "umap.min_dist=0.1"]) == {"lda_k": 20, "umap_min_dist": 0.1}
    assert parse_overrides(["lda.ks=4,6,seed=7"]) == {"lda_ks": (4, 6), "seed": 7}
    with pytest.raises(ValueError, match="unknown setting"):
        parse_overrides(["lda.kk=3"])
    with pytest.raises(ValueError, match="not a valid value"):
        parse_overrides(["seed=abc"])


def test_rerun_topics_with_other_ks_reuses_every_other_file(root, capsys):
    from models import cli

    old = resolve_build_dir(root)
    before = read_manifest(old)
    assert cli.main(["build", "--from", str(root / "current"), "--steps", "topics",
                     "--set", "lda.k=4,6", "--set", "lda.k=6", "--quiet"]) == 0
    new = Path(capsys.readouterr().out.strip().splitlines()[-1])
    assert new != old and resolve_build_dir(root) == new  # published, current switched
    m = read_manifest(new, verify_hashes=True)
    reused = m["reused"]
    # the topics and what reads them (each topic's words per period)
    assert reused["from_build"] == before["build_id"] and reused["steps_run"] == ["lda", "topic_periods"]
    assert reused["recomputed_for_state"] == ["topic_tokens"]
    assert "lda" not in reused["steps_reused"] and "embeddings" in reused["steps_reused"]
    lda_files = {f for f in m["files"] if f.startswith("lda")}
    assert {"lda/k4_doc_topics.npy", "lda/k6_doc_topics.npy"} <= lda_files
    assert not any(f.startswith("lda/k8") for f in m["files"])
    assert set(reused["files"]) == set(m["files"]) - lda_files - {"topic_periods.parquet"}
    periods = pd.read_parquet(new / "topic_periods.parquet")
    assert sorted(periods["k"].unique()) == [4, 6]  # re-made for the new K
    for f in reused["files"]:  # the very same bytes (hard links when possible)
        assert m["files"][f]["sha256"] == before["files"][f]["sha256"], f
    assert os.path.samefile(new / "embeddings.npy", old / "embeddings.npy")
    assert m["parameters"]["lda"]["ks"] == [4, 6] and m["topics"]["default_k"] == 6
    assert m["parameters"]["umap"] == before["parameters"]["umap"]
    assert m["model"] == before["model"] and m["n_datasets"] == before["n_datasets"]
    assert m["step_files"]["lda"] and set(m["step_files"]["embeddings"]) == {"embeddings.npy"}
    arts = load_artifacts(root)
    from models.serve.topics import TopicService

    assert TopicService(arts).ks() == [4, 6]


def test_rerun_embeddings_cascades_and_keeps_row_alignment(root):
    from tests.fake_encoders import FakeEncoder

    old = resolve_build_dir(root)
    new = rerun_build(root / "current", ["embeddings"], overrides={"model": "fake-32"},
                      show_progress=False, encoder=FakeEncoder(32))
    m = read_manifest(new)
    assert m["reused"]["steps_run"] == ["embeddings", "passages", "neighbours", "umap", "clusters",
                                        "hierarchy", "producers"]
    assert m["model"]["id"] == "fake-hash-32"
    arts = load_artifacts(new)
    assert arts.embeddings.shape == (arts.n, 32)
    assert np.load(new / "producer_centroids.npy").shape[1] == 32
    assert os.path.samefile(new / "keyword_data.npy", old / "keyword_data.npy")
    assert os.path.samefile(new / "lda_doc_topics.npy", old / "lda_doc_topics.npy")


def test_failed_rerun_leaves_current_and_no_temporary_folder(root):
    old = resolve_build_dir(root)

    def broken(ctx):
        raise RuntimeError("killed half-way")

    steps = [(n, broken if n == "clusters" else fn) for n, fn in STEPS]
    with pytest.raises(RuntimeError, match="half-way"):
        rerun_build(root / "current", ["clusters"], show_progress=False, step_list=steps)
    assert resolve_build_dir(root) == old
    assert not list((root / "builds").glob(".tmp-*"))


def test_bad_requests_are_one_clear_error(root, capsys):
    from models import cli

    assert cli.main(["build", "--from", str(root / "current"), "--steps", "nope"]) == 2
    assert cli.main(["build", "--steps", "lda"]) == 2
    assert cli.main(["build", "--from", str(root / "nowhere"), "--steps", "lda"]) == 2
    build_id = json.loads((root / "current" / "manifest.json").read_text())["build_id"]
    assert resolve_build_dir(root).resolve().name == build_id


def test_every_step_reads_only_what_an_earlier_step_provides():
    """The step declarations are the one source the re-run planner and the early publication
    trust: a step needing something no earlier step provides would silently read ``None``."""
    from models.pipeline.steps import STEP_BY_NAME, STEPS

    provided: set[str] = set()
    for step in STEPS:
        assert step.needs <= provided, (step.name, step.needs - provided)
        provided |= step.provides
    early_provides = set().union(*(s.provides for s in STEPS if s.early))
    for step in STEPS:
        if step.early:  # an early build is usable alone: nothing it runs waits on a late step
            assert step.needs <= early_provides, step.name
    assert len(STEP_BY_NAME) == len(STEPS)
    aliases = [a for s in STEPS for a in s.aliases]
    assert len(aliases) == len(set(aliases)) and not set(aliases) & set(STEP_BY_NAME)

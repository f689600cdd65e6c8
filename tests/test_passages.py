"""The passage index (build step ``passages``)."""

from __future__ import annotations

import itertools

import numpy as np

from models.pipeline.passages import (
    DATASET_VECTOR,
    NO_VECTOR,
    passage_spans,
    sentence_spans,
    split_passages,
)

TEXT = ("Ce jeu recense les piscines de Toulouse. Il donne les horaires d'ouverture ! "
        "Et les tarifs ? Les données sont mises à jour chaque mois. "
        + " ".join(f"mot{i}" for i in range(150)) + ". Fin du texte.")


def test_sentences_split_at_sentence_ends_only():
    spans = sentence_spans("Première phrase. Deuxième ! 3 piscines ? fin en minuscule. Dernière")
    got = ["Première phrase.", "Deuxième !", "3 piscines ? fin en minuscule.", "Dernière"]
    assert [("Première phrase. Deuxième ! 3 piscines ? fin en minuscule. Dernière")[a:b]
            for a, b in spans] == got


def test_passages_group_whole_sentences_and_cut_long_ones():
    spans = passage_spans(TEXT, words=12, max_words=40)
    texts = [TEXT[a:b] for a, b in spans]
    assert texts[0].startswith("Ce jeu recense") and texts[0].endswith("!")  # 7 + 5 words
    assert all(len(t.split()) <= 40 for t in texts)
    assert texts[-1].endswith("Fin du texte.")
    # in order, no overlap, nothing but spaces between them
    for (_a1, b1), (a2, _b2) in itertools.pairwise(spans):
        assert b1 < a2 and not TEXT[b1:a2].strip()
    assert passage_spans(TEXT, words=12, max_words=40, max_passages=2) == spans[:2]
    assert passage_spans("") == [] and passage_spans("   ") == []


def test_split_marks_which_passages_have_vectors():
    table, offsets, to_embed = split_passages([TEXT, "", "Une phrase."], words=12,
                                              max_embedded=2)
    assert offsets.tolist()[0] == 0 and offsets[-1] == len(table)
    first = table.iloc[offsets[0]:offsets[1]]
    assert first["vector"].tolist()[:3] == [DATASET_VECTOR, 0, 1]
    assert set(first["vector"].tolist()[3:]) == {NO_VECTOR}
    assert offsets[2] - offsets[1] == 0  # empty description: no passage
    assert table.iloc[offsets[2]]["vector"] == DATASET_VECTOR  # one passage: the dataset vector
    assert to_embed == [TEXT[a:b] for a, b in first[["start", "end"]].to_numpy()[1:3]]


def test_budget_gives_passage_1_of_the_most_viewed_first():
    table, offsets, to_embed = split_passages([TEXT, TEXT, TEXT, "Une phrase."], words=12,
                                              max_embedded=2, budget=4, priority=[1, 3, 2, 9])
    vec = {r: table["vector"].to_numpy()[offsets[r]:offsets[r + 1]].tolist() for r in range(4)}
    assert len(to_embed) == 4
    assert [v[1] >= 0 for v in (vec[0], vec[1], vec[2])] == [True, True, True]  # round 1: all
    assert vec[1][2] >= 0 and vec[0][2] == vec[2][2] == NO_VECTOR  # round 2: most viewed first
    assert vec[3] == [DATASET_VECTOR]
    none = split_passages([TEXT], words=12, max_embedded=2, budget=0)[0]
    assert set(none["vector"]) == {DATASET_VECTOR, NO_VECTOR}


def test_build_writes_a_consistent_passage_index(explorer):
    arts = explorer.artifacts
    m = arts.manifest["parameters"]["passages"]
    table = arts.parquet("passages.parquet")
    offsets = arts.npy("passage_offsets.npy")
    vecs = arts.npy("passage_embeddings.npy")
    assert len(offsets) == arts.n + 1 and offsets[-1] == len(table) == m["n_passages"]
    assert len(vecs) == m["n_vectors"] == int((table["vector"] >= 0).sum()) > 0
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-4)
    assert sorted(table["vector"][table["vector"] >= 0]) == list(range(len(vecs)))
    assert m["bytes"] > 0 and "embedding" in m
    assert m["n_vectors"] <= m["budget"] == round(m["budget_share"] * arts.n)
    for row in np.flatnonzero(np.diff(offsets) > 0)[:50]:
        part = table.iloc[offsets[row]:offsets[row + 1]]
        assert (part["row"] == row).all()
        d = arts.descriptions.text(int(row))
        assert all(0 <= a < b <= len(d) for a, b in part[["start", "end"]].to_numpy())
        assert part["vector"].iat[0] == DATASET_VECTOR

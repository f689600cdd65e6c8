"""Map labels at every zoom (models/pipeline/hierarchy.py, models/serve/map_labels.py,
assets/20-map-labels.js): the hierarchy, the payload, the page and the labels in the browser."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest

from models.core.text import STOP_WORDS, TOPIC_STOP_WORDS
from models.pipeline import hierarchy as h
from models.serve.map_labels import label_payload
from tests.map_page import open_map


# ---- hierarchy ------------------------------------------------------------------------------
def test_level_sizes_grow_from_broad_to_fine():
    assert h.level_sizes(70_575) == [30, 94, 292]
    for n in (200, 3000, 70_575):
        sizes = h.level_sizes(n)
        assert len(sizes) in (2, 3) and sizes == sorted(set(sizes))
    assert h.level_sizes(0) == []


def test_levels_nest_and_cover_every_row():
    rng = np.random.default_rng(0)
    centres = rng.normal(scale=20, size=(12, 2))
    xy = np.concatenate([c + rng.normal(size=(80, 2)) for c in centres])
    levels = h.fit_levels(xy, [4, 12, 30], seed=1)
    assert levels.shape == (len(xy), 3) and (levels >= 0).all()
    for li, k in enumerate([4, 12, 30]):
        assert len(np.unique(levels[:, li])) == k
        sizes = np.bincount(levels[:, li])
        assert (np.diff(sizes) <= 0).all()  # numbered by decreasing size
    for li in (1, 2):  # each region has exactly one parent
        pairs = {(c, p) for c, p in zip(levels[:, li], levels[:, li - 1], strict=True)}
        assert len(pairs) == len(np.unique(levels[:, li]))


def test_labels_are_written_words_without_stop_words_nor_verbs():
    titles = ["Élections municipales : résultats par bureau de vote",
              "Résultats des élections législatives", "Élections européennes résultats",
              "Unités urbaines", "Les unites urbaines"]
    texts = [*titles, "Les résultats sont générés par le ministère, générant des fichiers",
             "il faut générer les données"]
    surface = h.lemma_surface_forms(titles, texts)
    assert surface["élection"] == "élections"  # the written form, not the lemma
    assert surface.get("générer") == ""  # a verb (généré, générant seen): never a label word
    assert surface[h._count_forms(["unites"]).popitem()[0]] == "unités"  # accents restored
    ranked = [("le", 9.0), ("donnée", 8.0), ("élection", 5.0), ("générer", 4.5),
              ("électoral", 4.4), ("résultat", 4.0), ("notamment", 3.9), ("bureau", 3.0)]
    words = h.choose_words(ranked, surface)
    assert words == ["élections", "résultats", "bureau"]  # "électoral": same start as élections
    assert h.choose_words(ranked, surface, avoid={"élections"}) == ["résultats", "bureau"]


def test_producer_weighting_damps_one_producers_boilerplate():
    # region 0: 40 datasets of one producer all saying "opendatasoft", 8 producers saying "vélo"
    docs = [["opendatasoft", "compteur"]] * 40 + [["vélo", "piste"]] * 8 + [["eau"]] * 40
    labels = np.array([0] * 48 + [1] * 40)
    producers = np.array(["p"] * 40 + [f"q{i}" for i in range(8)] + ["r"] * 40, dtype=object)
    scores, classes, vocab = h.producer_weighted_tfidf(docs, labels, producers)
    row = dict(zip(vocab, scores[list(classes).index(0)], strict=True))
    assert row["vélo"] > row["opendatasoft"]  # 8 producers beat 40 look-alikes of one
    plain = Counter(w for d in docs[:48] for w in d)
    assert plain["opendatasoft"] > plain["vélo"]  # ... which plain counts would not say


def test_build_writes_the_hierarchy(built_root):
    from models.core.store import load_artifacts

    art = load_artifacts(built_root)
    frame = art.parquet("hierarchy.parquet")
    rows = art.npy("hierarchy_rows.npy")
    params = art.manifest["parameters"]["hierarchy"]
    assert list(frame.columns[:7]) == ["level", "cluster", "x", "y", "label", "size", "parent"]
    assert rows.shape == (art.n, frame["level"].nunique())
    assert params["per_level"] == frame.groupby("level").size().tolist()
    assert frame.groupby("level")["size"].sum().eq(art.n).all()  # every dataset, every level
    assert (frame.loc[frame["level"] == 0, "parent"] == -1).all()
    for li in range(1, rows.shape[1]):
        fine = frame[frame["level"] == li]
        parents = set(frame.loc[frame["level"] == li - 1, "cluster"])
        assert set(fine["parent"]) <= parents
    for label in frame["label"]:
        words = label.split(" · ")
        assert 1 <= len(words) <= 3
        assert not any(w in STOP_WORDS or w in TOPIC_STOP_WORDS for w in words), label
        assert not any(c.isdigit() for c in label)


def test_label_payload_is_compact_and_ordered(built_root):
    from models.core.store import load_artifacts

    frame = load_artifacts(built_root).parquet("hierarchy.parquet")
    p = label_payload(frame)
    assert p["levels"] == frame["level"].nunique() and len(p["label"]) == len(frame)
    keys = list(zip(p["level"], [-s for s in p["size"]], strict=True))
    assert keys == sorted(keys)  # by level, biggest first (the browser's greedy order)
    assert len(json.dumps(p)) < 200 * len(frame)
    assert label_payload(None) is None and label_payload(frame.iloc[:0]) is None


# ---- the page --------------------------------------------------------------------------------
def test_explorer_page_carries_labels_and_toggle(explorer):
    import plotly.graph_objects as go
    from dash import dcc

    from components import ids
    from components.explorer_page import build_explorer_page

    page = build_explorer_page(map_figure=go.Figure(), cloud_figure=go.Figure(), modes=[],
                               default_mode=None, topic_options=[], default_topic=None,
                               map_labels=explorer.map_labels)
    found = {}

    def walk(node):
        if hasattr(node, "id") and isinstance(getattr(node, "id", None), str):
            found[node.id] = node
        children = getattr(node, "children", None)
        for c in children if isinstance(children, list) else [children] if children is not None else []:
            walk(c)

    walk(page)
    assert isinstance(found[ids.MAP_LABELS], dcc.Store)
    assert found[ids.MAP_LABELS].data == explorer.map_labels
    assert found[ids.MAP_LABELS_TOGGLE].value is True


# ---- in the browser --------------------------------------------------------------------------
LABEL_BOXES = """
const g = document.querySelector('#map .js-plotly-plot');
if (!g || !g._fullLayout) { return null; }
const els = Array.from(g.querySelectorAll('.region-labels .region-label'));
return {level: g.dataset.labelLevel, count: g.dataset.labelCount,
        texts: els.map(e => e.textContent.replace(/\\s+/g, ' ').trim()),
        boxes: els.map(e => { const r = e.getBoundingClientRect();
                              return [r.left, r.top, r.right, r.bottom]; }),
        x: g._fullLayout.xaxis.range, y: g._fullLayout.yaxis.range};
"""


def overlapping(boxes) -> list:
    bad = []
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            if a[0] < b[2] - 0.5 and b[0] < a[2] - 0.5 and a[1] < b[3] - 0.5 and b[1] < a[3] - 0.5:
                bad.append((a, b))
    return bad


@pytest.mark.browser
def test_labels_change_with_zoom_without_overlap(dash_duo, app, explorer):

    from dash.testing.wait import until

    from components import ids

    open_map(dash_duo, app)
    state = lambda: dash_duo.driver.execute_script(LABEL_BOXES)  # noqa: E731
    until(lambda: (state() or {}).get("level") == "0" and int(state()["count"]) > 0, timeout=90)
    payload = explorer.map_labels
    by_level = {}
    for lvl, text in zip(payload["level"], payload["label"], strict=True):
        by_level.setdefault(lvl, set()).add(text.replace(" · ", " · "))

    seen = {}
    s = state()
    assert not overlapping(s["boxes"]) and len(s["boxes"]) == len(s["texts"])
    assert set(s["texts"]) <= {t.replace("<br>", " ") for t in by_level[0]} | _split_forms(by_level[0])
    seen[0] = set(s["texts"])
    # zoom in, step by step, around the biggest finest region, until the finest level shows
    finest = payload["levels"] - 1
    i = payload["level"].index(finest)
    cx, cy = payload["x"][i], payload["y"][i]
    x0, x1 = s["x"]
    y0, y1 = s["y"]
    for factor in 1.2 ** np.arange(1, 25):  # gently, so no level is skipped
        hx, hy = (x1 - x0) / factor / 2, (y1 - y0) / factor / 2
        dash_duo.driver.execute_script(
            "Plotly.relayout(document.querySelector('#map .js-plotly-plot'), "
            "{'xaxis.range': [arguments[0], arguments[1]], 'yaxis.range': [arguments[2], arguments[3]]});",
            cx - hx, cx + hx, cy - hy, cy + hy)
        left = cx - hx
        until(lambda left=left: abs(state()["x"][0] - left) < 1e-6 * max(1, abs(cx)) + 1e-9, timeout=30)
        until(lambda: state()["count"] == str(len(state()["texts"])), timeout=30)
        s = state()
        assert not overlapping(s["boxes"]), (factor, s)
        level = int(s["level"])
        seen.setdefault(level, set(s["texts"]))
        if level == finest:
            break
    assert sorted(seen) == list(range(payload["levels"]))  # every level shown in turn
    texts = list(seen.values())
    assert all(texts[i] != texts[j] for i in range(len(texts)) for j in range(i + 1, len(texts)))

    # the switch hides them, and brings them back
    dash_duo.find_element(f"#{ids.MAP_LABELS_TOGGLE}").click()
    until(lambda: state()["texts"] == [], timeout=30)
    dash_duo.find_element(f"#{ids.MAP_LABELS_TOGGLE}").click()
    until(lambda: len(state()["texts"]) > 0, timeout=30)
    assert dash_duo.get_logs() == []


def _split_forms(labels) -> set:
    """A long label shows on two lines: the same words, read back with a space."""
    out = set()
    for t in labels:
        words = t.split(" · ")
        if len(t) > 22 and len(words) > 1:
            out.add(words[0] + " " + " · ".join(words[1:]))
    return out

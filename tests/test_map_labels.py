"""Map labels at every zoom (models/pipeline/hierarchy.py, models/serve/map_labels.py,
assets/20-map-labels.js) and the map-quality measures (models/core/map_quality.py)."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pandas as pd
import pytest

from models.core.map_quality import blob_share, label_levels, map_neighbours, neighbour_preservation
from models.core.text import STOP_WORDS, TOPIC_STOP_WORDS
from models.pipeline import hierarchy as h
from models.serve.map_labels import label_payload


# ---- hierarchy ------------------------------------------------------------------------------
def test_level_sizes_grow_from_broad_to_fine():
    assert h.level_sizes(70_575) == [30, 94, 292]
    for n in (200, 3000, 70_575):
        sizes = h.level_sizes(n)
        assert len(sizes) in (2, 3) and sizes == sorted(set(sizes))
    assert h.level_sizes(0) == []


def open_map(dash_duo, app) -> None:
    """The app's « Carte » page in headless Chromium, the map drawn."""
    from components import ids
    from tests.test_browser import CHROMEDRIVER, CHROMIUM, free_port

    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip("needs chromium and chromedriver on PATH")  # a failure in CI (conftest)
    dash_duo.start_server(app, port=free_port())
    dash_duo.wait_for_element(f"#{ids.MAP} .js-plotly-plot", timeout=90)


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


# ---- map quality ---------------------------------------------------------------------------
def test_neighbour_preservation_and_blob_share():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(300, 2))
    b = rng.normal(size=(300, 2)) + 50  # far away: two separate masses
    xy = np.concatenate([a, b])
    idx, dist = map_neighbours(xy, 10)
    assert idx.shape == (600, 10) and not (idx == np.arange(600)[:, None]).any()
    assert neighbour_preservation(idx, idx) == 1.0
    shuffled = rng.permutation(600)
    assert neighbour_preservation(idx[shuffled], idx) < 0.05
    assert blob_share(idx, dist) == pytest.approx(0.5, abs=0.1)
    one = rng.uniform(size=(600, 2))  # one even mass
    assert blob_share(*map_neighbours(one, 10)) > 0.9
    assert label_levels(None) == {"levels": 0, "per_level": []}
    assert label_levels(pd.DataFrame({"level": [0, 0, 1, 1, 1]})) == {"levels": 2, "per_level": [2, 3]}


def test_map_quality_command(built_root, capsys):
    from models.cli import main

    assert main(["map-quality", "--artifacts", str(built_root), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert 0 <= out["neighbour_preservation@10"] <= 1 and 0 < out["blob_share"] <= 1
    assert out["labels"]["levels"] >= 2 and len(out["labels"]["per_level"]) == out["labels"]["levels"]
    assert out["labels"]["per_level"] == sorted(out["labels"]["per_level"])


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


# ---- time ---------------------------------------------------------------------------------
def test_year_payload_keeps_plausible_years_and_counts_the_others():
    import base64

    from models.serve.map_time import FIRST_PLAUSIBLE_YEAR, year_bounds, year_payload

    df = pd.DataFrame({"created_year": pd.array([3, 2015, None, 2030, 2020, 1995], dtype="Int16"),
                       "last_modified": ["2024-01-02T00:00:00", "2025-06-01", "", "2019-01-01",
                                         "0001-01-01", "2025-12-31"]})
    p = year_payload(df)
    assert p["first"] == FIRST_PLAUSIBLE_YEAR and p["last"] == 2025 and p["n"] == 6
    created = np.frombuffer(base64.b64decode(p["created"]), dtype=np.uint8)
    assert (created.astype(int) + FIRST_PLAUSIBLE_YEAR - 1).tolist()[1] == 2015
    assert created[[0, 2, 3]].tolist() == [0, 0, 0]  # year 3, unknown, after the export: left out
    assert p["left_out"] == {"created": 3, "modified": 2}
    assert year_bounds(df) == (1995, 2025) and (p["min"], p["max"]) == (1995, 2025)


@pytest.mark.browser
def test_year_filter_plays_and_fades(dash_duo, app, explorer):
    import re

    from dash.testing.wait import until

    from components import ids
    from models.serve.map_time import row_years

    open_map(dash_duo, app)
    from tests.test_browser import LIT_ALIGNED, LIT_POINTS

    js = ("const g = document.querySelector('#map .js-plotly-plot');"
          "const lit = (() => {" + LIT_POINTS + "})();"
          "return [g.dataset.maskKept, g.dataset.maskTotal, lit];")
    click = lambda sel: dash_duo.driver.execute_script(  # noqa: E731
        "arguments[0].scrollIntoView({block: 'center'}); arguments[0].click();", dash_duo.find_element(sel))
    click(f"#{ids.MAP_TIME_PLAY}")  # plays: the filter switches on
    until(lambda: "créés en" in dash_duo.find_element(f"#{ids.MAP_TIME_COUNT}").text, timeout=60)
    created = row_years(explorer.datasets, "created")
    seen, aligned = set(), []

    def check():
        text = dash_duo.find_element(f"#{ids.MAP_TIME_COUNT}").text
        num = r"([\d\s\u202f\u00a0]+)"
        m = re.match(num + " jeux de données sur " + num + r" · créés en (\d{4})", text)
        if not m:
            return False
        kept, year = int(re.sub(r"\D", "", m.group(1))), int(m.group(3))
        k, total, bright = dash_duo.driver.execute_script(js)
        if int(k) != kept or bright != kept:  # the frame is being drawn
            return False
        assert int(total) == explorer.n
        assert kept == int((created == year).sum())  # the datasets created that year stay bright
        # and they are drawn where plotly places them (its axes' own transform)
        checked, lit = dash_duo.driver.execute_script(LIT_ALIGNED)
        assert lit == checked
        aligned.append(checked)
        seen.add(year)
        return len(seen) >= 3 and sum(aligned) > 0

    until(check, timeout=60)  # the play moves on year after year
    click(f"#{ids.MAP_TIME_PLAY}")  # pause
    until(lambda: "Lecture" in dash_duo.find_element(f"#{ids.MAP_TIME_PLAY}").text, timeout=10)
    click(f"#{ids.MAP_TIME_ON}")  # off: nothing faded
    until(lambda: dash_duo.driver.execute_script(js)[2] == -1, timeout=30)
    assert dash_duo.get_logs() == []


def test_topic_years_are_clipped_and_the_rest_counted(explorer):
    from components.topics import visualize_topic_years, visualize_topics_over_time
    from models.serve.map_time import FIRST_PLAUSIBLE_YEAR

    svc = explorer.topics
    k = svc.default_k
    df = explorer.datasets.copy()
    y = svc.years(k, 0)
    assert y["year"].min() >= FIRST_PLAUSIBLE_YEAR and y["year"].max() <= y.attrs["last"]
    known = pd.to_numeric(df["created_year"], errors="coerce")
    inside = known.between(FIRST_PLAUSIBLE_YEAR, y.attrs["last"])
    assert y["datasets"].sum() == int(inside.sum()) and y.attrs["left_out"] == int((~inside).sum())
    fig = visualize_topic_years(y["year"], y["share"], y["datasets"], left_out=1234, first=1990, last=2026)
    note = fig.layout.annotations[0].text
    assert note.startswith("1\u202f234 jeux de données sans date de création plausible") and "1990" in note

    by_year = svc.topics_by_year(k, min_datasets=1)
    shares = by_year.drop(columns="datasets").to_numpy()
    assert np.allclose(shares.sum(axis=1), 1, atol=1e-3)  # a year's topics add up to 100 %
    assert by_year["datasets"].sum() + by_year.attrs["left_out"] == explorer.n
    fig = visualize_topics_over_time(by_year.index, shares, svc.labels(k), by_year["datasets"])
    assert len(fig.data) == k and all(t.stackgroup == "one" for t in fig.data)


# ---- selection panel -------------------------------------------------------------------------
def test_selection_summary_and_export(explorer):
    from models.serve.selection import EXPORT_COLUMNS, export_frame, summarize

    rows = [*range(0, 120, 2), 3, 3, "x", -1, 10_000, True]  # duplicates and junk ignored
    s = summarize(explorer, rows)
    assert s["n"] == 61
    assert sum(p["n"] for p in s["producers"]) <= 61
    assert s["producers"] == sorted(s["producers"], key=lambda p: -p["n"])
    assert sum(s["years"]["n"]) + s["years"]["left_out"] == 61
    shares = [t["share"] for t in s["topics"]]
    assert shares == sorted(shares, reverse=True) and sum(shares) <= 1 + 1e-9
    frame = export_frame(explorer.datasets, rows)
    assert list(frame.columns) == EXPORT_COLUMNS and len(frame) == 61
    assert frame["id"].tolist() == explorer.datasets["id"].iloc[[*range(0, 120, 2), 3]].tolist()
    hostile = explorer.datasets.iloc[:1].copy()
    hostile["title"] = "=HYPERLINK(\"http://x\")"
    assert export_frame(hostile, [0])["title"].iat[0].startswith("'=")  # no formula in a spreadsheet
    assert summarize(explorer, [])["n"] == 0


@pytest.mark.browser
def test_lasso_selection_exports_the_panels_rows(dash_duo, app, explorer):
    import re
    import time
    from pathlib import Path

    from dash.testing.wait import until

    from components import ids

    open_map(dash_duo, app)
    driver = dash_duo.driver
    # The selection as plotly reports a lasso: the points inside a diamond around the middle of
    # the map, sent through plotly's own "plotly_selected" event, which dcc.Graph turns into
    # selectedData. (A mouse-drawn lasso needs WebGL picking, which software WebGL in headless
    # Chromium loses once the page holds many WebGL plots; the path after the event is the same.)
    selected = driver.execute_script("""
        const g = document.querySelector('#map .js-plotly-plot');
        const t = g._fullData[0];
        const xs = t.x, ys = t.y;
        let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
        for (let i = 0; i < xs.length; i++) {
            x0 = Math.min(x0, xs[i]); x1 = Math.max(x1, xs[i]);
            y0 = Math.min(y0, ys[i]); y1 = Math.max(y1, ys[i]);
        }
        const cx = (x0 + x1) / 2, cy = (y0 + y1) / 2, rx = (x1 - x0) / 4, ry = (y1 - y0) / 4;
        const points = [];
        for (let i = 0; i < xs.length; i++) {
            if (Math.abs(xs[i] - cx) / rx + Math.abs(ys[i] - cy) / ry <= 1) {
                points.push({curveNumber: 0, pointNumber: i, pointIndex: i, x: xs[i], y: ys[i]});
            }
        }
        g.emit('plotly_selected', {points: points});
        return points.map(p => p.pointIndex);
    """)
    dash_duo.wait_for_element(f"#{ids.SELECTION_COUNT}", timeout=60)
    until(lambda: re.sub(r"\D", "", dash_duo.find_element(f"#{ids.SELECTION_COUNT}").text) != "", timeout=60)
    n = int(re.sub(r"\D", "", dash_duo.find_element(f"#{ids.SELECTION_COUNT}").text))
    assert 0 < n < explorer.n and n == len(selected)  # the panel counts what the map selected

    button = dash_duo.find_element(f"#{ids.SELECTION_EXPORT}")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'}); arguments[0].click();", button)
    target = Path(dash_duo.download_path) / "selection-carte.csv"
    until(lambda: target.exists() and target.stat().st_size > 0, timeout=60)
    time.sleep(0.5)  # the browser finishes writing
    frame = pd.read_csv(target, dtype=str, keep_default_na=False)
    assert list(frame.columns) == ["id", "title", "producer", "url", "created_at", "last_modified"]
    assert len(frame) == n  # the CSV holds exactly the panel's count
    assert set(frame["id"]) == set(explorer.datasets["id"].iloc[sorted(selected)])
    assert dash_duo.get_logs() == []


def test_selection_panel_builds(explorer):
    from components.selection import selection_panel
    from models.serve.selection import summarize

    panel = selection_panel(summarize(explorer, list(range(50))))
    text = str(panel)
    assert "selection-count" in text and "jeux de données sélectionnés" in text
    assert "Sélectionnez des jeux de données" in str(selection_panel(None))


# ---- image -----------------------------------------------------------------------------------
def test_image_figure_keeps_the_view_and_escapes_labels(explorer):
    from components.map import visualize_map
    from components.map_image import MIN_WIDTH_PX, image_figure, png_size

    base = visualize_map(explorer.records.coords)
    view = {"x": [0, 1], "y": [2, 3], "width": 900, "height": 600,
            "labels": [{"x": 0.5, "y": 2.5, "text": "eau\n<script>x</script>", "size": 15, "bold": True},
                       {"x": "bad"}]}
    fig = image_figure(base, view)
    assert list(fig.layout.xaxis.range) == [0, 1] and list(fig.layout.yaxis.range) == [2, 3]
    assert len(fig.layout.annotations) == 1
    assert fig.layout.annotations[0].text == "<b>eau<br>&lt;script&gt;x&lt;/script&gt;</b>"
    w, h, scale = png_size(view)
    assert (w, h) == (900, 600) and w * scale >= MIN_WIDTH_PX
    assert png_size({"width": "x"})[0] * png_size({"width": "x"})[2] >= MIN_WIDTH_PX


@pytest.mark.slow
def test_png_is_at_least_2000_px_wide(explorer):
    import struct

    from components.map import visualize_map
    from components.map_image import MIN_WIDTH_PX, image_figure, png_bytes, png_size

    view = {"width": 900, "height": 600, "labels": [{"x": 0, "y": 0, "text": "région", "size": 14}]}
    png = png_bytes(image_figure(visualize_map(explorer.records.coords), view), *png_size(view))
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    assert width >= MIN_WIDTH_PX and height >= 600


# ---- guided tour -----------------------------------------------------------------------------
def test_tour_validation_in_french():
    import base64

    from callbacks.tour import parse_tour_file
    from components.tour import DEFAULT_TOUR, TourError, tour_json, validate_tour

    steps = validate_tour({"steps": DEFAULT_TOUR})
    assert len(steps) == len(DEFAULT_TOUR) and steps[2]["query"] == "piscines à Toulouse"
    again = json.loads(tour_json(steps))
    assert validate_tour(again) == steps  # download -> upload gives the same tour
    ok = {"steps": [{"title": "Zoom", "page": "carte", "view": {"x": [0, 1], "y": [2, 3.5]}}]}
    assert validate_tour(ok)[0]["view"] == {"x": [0.0, 1.0], "y": [2.0, 3.5]}

    def data_url(text: str) -> str:
        return "data:application/json;base64," + base64.b64encode(text.encode()).decode()

    assert parse_tour_file(data_url(json.dumps(ok)))[0]["title"] == "Zoom"
    bad = {
        "{pas du json": "JSON illisible",
        json.dumps({"steps": []}): "liste d'étapes non vide",
        json.dumps({"steps": [{"title": ""}]}): "Étape 1",
        json.dumps({"steps": [{"title": "a", "page": "<script>"}]}): "page inconnue",
        json.dumps({"steps": [{"title": "a", "view": {"x": [0], "y": [1, 2]}}]}): "deux nombres",
        json.dumps([{"title": "a", "caption": 3}]): "légende",
    }
    for text, message in bad.items():
        with pytest.raises(TourError, match=message):
            parse_tour_file(data_url(text))
    with pytest.raises(TourError, match="pas un texte JSON"):
        parse_tour_file("data:application/json;base64,//79")
    with pytest.raises(TourError, match="Aucun fichier"):
        parse_tour_file(None)


@pytest.mark.browser
def test_tour_runs_end_to_end(dash_duo, app, explorer, tmp_path):

    from dash.testing.wait import until
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    from components import ids
    from components.tour import DEFAULT_TOUR

    open_map(dash_duo, app)
    driver = dash_duo.driver

    def click(sel):
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'}); arguments[0].click();",
                              dash_duo.find_element(sel))

    def overlay_text():
        el = dash_duo.find_element(f"#{ids.TOUR_OVERLAY}")
        return "" if "d-none" in (el.get_attribute("class") or "") else el.text

    def active_tab():
        return dash_duo.find_element(f"#{ids.TABS} .nav-link.active").text

    click(f"#{ids.TOUR_START_DEFAULT}")
    n = len(DEFAULT_TOUR)
    names = {"carte": "Carte", "themes": "Thèmes", "comparer": "Comparer", "territoires": "Territoires"}
    for i, step in enumerate(DEFAULT_TOUR):
        until(lambda i=i: f"Étape {i + 1} sur {n}" in overlay_text(), timeout=60)
        assert step["title"] in overlay_text()
        until(lambda step=step: active_tab() == names[step["page"]], timeout=30)
        if step.get("query"):  # the search ran: its results are listed
            until(lambda step=step: dash_duo.find_element(f"#{ids.SEARCH_INPUT}").get_attribute("value")
                  == step["query"], timeout=30)
            dash_duo.wait_for_element(f"#{ids.RESULTS} .dataset-item", timeout=60)
        if step.get("compare"):
            dash_duo.wait_for_element("#compare-columns .dataset-item", timeout=60)
        key = Keys.SPACE if i % 2 else Keys.ARROW_RIGHT  # both move on
        ActionChains(driver).send_keys(key).perform()
    until(lambda: overlay_text() == "", timeout=30)  # after the last step the tour closes

    # « Ajouter cette vue », then download it; a bad file is refused in French
    click(f"a[data-value='carte'], #{ids.TABS} .nav-link")
    until(lambda: active_tab() == "Carte", timeout=30)
    click(f"#{ids.TOUR_ADD}")
    dash_duo.wait_for_contains_text(f"#{ids.TOUR_MESSAGE}", "Vue ajoutée", timeout=30)
    bad = tmp_path / "visite.json"
    bad.write_text('{"steps": [{"title": "x", "page": "ailleurs"}]}', encoding="utf-8")
    dash_duo.find_element(f"#{ids.TOUR_UPLOAD} input[type=file]").send_keys(str(bad))
    dash_duo.wait_for_contains_text(f"#{ids.TOUR_MESSAGE}", "Visite refusée", timeout=30)
    assert "page inconnue" in dash_duo.find_element(f"#{ids.TOUR_MESSAGE}").text
    click(f"#{ids.TOUR_START_MINE}")  # the view added is still there: « Ma visite » plays it
    until(lambda: "Étape 1 sur 1" in overlay_text(), timeout=30)
    ActionChains(driver).send_keys(Keys.ESCAPE).perform()
    until(lambda: overlay_text() == "", timeout=30)
    assert dash_duo.get_logs() == []


def test_selection_callback_reads_row_ids_only(app, client, explorer):
    """The browser sends the lasso as row ids (a 20,000-point lasso stays far below the request
    limit); the panel counts the valid distinct ones; junk never breaks it."""
    from components import ids
    from tests.uihelpers import call, text

    out = f"{ids.SELECTION_PANEL}.children"
    rows = [3, 7, 7, 11, 10**9, -4, "12", None, True, 2.5]
    resp = call(app, client, out, {f"{ids.MAP_SELECTED_ROWS}.data": {"rows": rows}})
    assert resp[ids.MAP_SELECTION]["data"] == {"rows": [3, 7, 11]}
    assert "3" in text(resp[ids.SELECTION_PANEL]["children"]).split()
    for junk in (None, {}, {"rows": "x"}, {"rows": [None]}, [1, 2], "x" * 10_000):
        resp = call(app, client, out, {f"{ids.MAP_SELECTED_ROWS}.data": junk})
        assert resp[ids.MAP_SELECTION]["data"] is None
    big = {"rows": list(range(explorer.n)) * 3}  # longer than the catalogue: capped, deduplicated
    resp = call(app, client, out, {f"{ids.MAP_SELECTED_ROWS}.data": big})
    assert resp[ids.MAP_SELECTION]["data"]["rows"] == list(range(explorer.n))

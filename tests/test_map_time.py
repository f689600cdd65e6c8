"""The map's year filter and the topics' years (models/serve/map_time.py, assets/30-map-mask.js)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.map_page import open_map


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
    from tests.browser_helpers import LIT_ALIGNED, LIT_POINTS

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

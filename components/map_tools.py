"""Tools under and beside the map: the year filter with its play button (more to come).

Pure builders: the browser does the fading (assets/30-map-mask.js), callbacks/map_tools.py
the wiring."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from components import ids

KIND_OPTIONS = [{"label": "création", "value": "created"},
                {"label": "dernière modification", "value": "modified"}]


def year_marks(first: int, last: int) -> dict:
    """The slider's labelled years: every ``step`` years and both ends; a round year closer to
    an end than half a step is dropped (« 2025 » and « 2026 » side by side overlapped).

    Examples
    --------
    >>> list(year_marks(1990, 2026))
    [1990, 1995, 2000, 2005, 2010, 2015, 2020, 2026]
    >>> list(year_marks(2019, 2026)), list(year_marks(2024, 2026))
    ([2019, 2020, 2022, 2024, 2026], [2024, 2025, 2026])
    """
    step = 5 if last - first > 12 else 2 if last - first > 5 else 1
    marks = {y: str(y) for y in range(first, last + 1)
             if y % step == 0 and (y in (first, last) or min(y - first, last - y) * 2 >= step)}
    marks[first] = str(first)
    marks[last] = str(last)
    return dict(sorted(marks.items()))


def time_bar(first: int, last: int) -> html.Div:
    """Year filter: switch, date kind, range slider, play button, count of datasets kept."""
    return html.Div([
        dcc.Store(id=ids.MAP_TIME_DATA, data=None),
        html.Div([
            dbc.Switch(id=ids.MAP_TIME_ON, label="Filtrer par année", value=False,
                       class_name="small mb-0 me-3 text-nowrap"),
            dbc.RadioItems(id=ids.MAP_TIME_KIND, options=KIND_OPTIONS, value="created", inline=True,
                           class_name="small me-3"),
            dbc.Button("▶ Lecture", id=ids.MAP_TIME_PLAY, size="sm", color="secondary", outline=True,
                       n_clicks=0, title="Faire défiler les années", class_name="me-3 text-nowrap"),
            html.Span(id=ids.MAP_TIME_COUNT, className="small text-muted", **{"aria-live": "polite"}),
        ], className="d-flex align-items-center flex-wrap"),
        dcc.RangeSlider(id=ids.MAP_TIME_RANGE, min=first, max=last, step=1, value=[first, last],
                        marks=year_marks(first, last), allowCross=True, updatemode="drag",
                        tooltip={"placement": "bottom", "always_visible": False}),
    ], className="px-2 pt-2 map-time-bar")

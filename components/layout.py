"""The app shell: header, shared stores, and one tab per page.

Adding a page = appending ``(tab_id, French label, content)`` to the list in ``app.py`` (and a
``callbacks/<page>.py`` with ``register(app, services)``). The shell holds what pages share:
``dcc.Location`` (``ids.URL``), the map highlight store (``ids.MAP_HIGHLIGHT``) and the selected
dataset store (``ids.SELECTED``).
"""

from __future__ import annotations

from collections.abc import Sequence

import dash_bootstrap_components as dbc
from dash import dcc, html
from dash.development.base_component import Component

from components import ids
from components.labels import APP_TITLE

Page = tuple[str, str, Component]


def header(title: str = APP_TITLE, subtitle: str = "") -> html.Header:
    return html.Header(
        dbc.Container(
            [html.Div([html.Span("data.gouv.fr", className="brand-mark me-2"),
                       html.H1(title, className="h5 mb-0 d-inline")], className="d-flex align-items-center"),
             html.Div(subtitle, id=ids.COUNT, className="small text-white-50")],
            fluid=True, className="d-flex justify-content-between align-items-center py-2"),
        className="app-header mb-2")


def build_layout(pages: Sequence[Page], *, title: str = APP_TITLE, subtitle: str = "",
                 status=None) -> html.Div:
    """``pages``: (tab_id, French label, content); the first one is shown at start."""
    if not pages:
        raise ValueError("build_layout needs at least one page")
    tab_ids = [p[0] for p in pages]
    if len(set(tab_ids)) != len(tab_ids):
        raise ValueError(f"duplicate tab ids: {tab_ids}")
    return html.Div([
        dcc.Location(id=ids.URL, refresh=False),
        dcc.Store(id=ids.MAP_HIGHLIGHT, data={"label": "", "rows": []}),
        dcc.Store(id=ids.MAP_HIGHLIGHT_DRAW),
        dcc.Store(id=ids.SELECTED, data=None),
        header(title, subtitle),
        *([status] if status is not None else []),
        dbc.Container(
            dbc.Tabs([dbc.Tab(content, label=label, tab_id=tab_id, class_name="pt-3")
                      for tab_id, label, content in pages],
                     id=ids.TABS, active_tab=tab_ids[0]),
            fluid=True, className="pb-4"),
    ], className="app-root")

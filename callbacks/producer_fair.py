"""Callbacks of the producer page's FAIR and freshness section (wiring only: FairService and
FreshnessService -> builders in components/fair_view.py).

Data flow::

    producer ──> dimension chart, score, rating, rank among its kind, to-do list, freshness
    « Télécharger » ──> the producer's CSV (one line per dataset, points per indicator)
"""

from __future__ import annotations

import logging
import re

from dash import Input, Output, State, dcc, no_update

from callbacks import guard
from components import fair_view as fv
from components import producers_page as pp
from components.figures import empty_figure

log = logging.getLogger(__name__)
N_TODO = 8
N_LATE = 8


def register(app, services) -> None:
    exp = services.explorer

    def producer_id(value):
        value = guard.as_key(value)
        if not value or exp.producers.index_of(value) is None:
            return None
        return value

    @app.callback(Output(fv.CHART, "figure"), Output(fv.SECTION, "children"),
                  Input(pp.SELECT, "value"), prevent_initial_call=True)
    def show(value):
        pid = producer_id(value)
        if pid is None:
            return empty_figure(fv.CHOOSE, height=300), fv.freshness_block(None, None, [])
        fair, fresh = exp.fair, exp.freshness
        score = fair.summary(pid)
        if not score["n"]:
            return empty_figure(fv.CHOOSE, height=300), fv.freshness_block(None, None, [])
        catalogue = fair.summary()
        rank = fair.producer_rank(pid)
        todo = fair.todo(pid)[:N_TODO]
        ds = exp.datasets
        rows = fair.rows(pid)
        titles = dict(zip(ds["id"].astype(str).to_numpy()[rows],
                          ds["title"].fillna("").astype(str).to_numpy()[rows], strict=True))
        f_summary = fresh.summary(rows)
        late_rows = fresh.late_rows(rows)[:N_LATE]
        table = fresh.table
        late = [{"title": str(ds["title"].iat[r] or ""), "badge": str(table["badge"].iat[r])}
                for r in late_rows]
        name = str(exp.producers.table["organization"].iat[exp.producers.index_of(pid)])
        fig = fv.dimensions_figure(score["dimensions"], catalogue["dimensions"], name=name)
        panel = fv.fair_panel(score, rank, catalogue, todo, titles, f_summary,
                              fresh.summary()["late_share"], late)
        return fig, panel

    @app.callback(Output(fv.DOWNLOAD, "data"), Input(fv.CSV_BUTTON, "n_clicks"),
                  State(pp.SELECT, "value"), prevent_initial_call=True)
    def download(n_clicks, value):
        pid = producer_id(value)
        if not n_clicks or pid is None:
            return no_update
        slug = re.sub(r"[^a-z0-9]+", "-", pid.lower()).strip("-")[:40] or "producteur"
        return dcc.send_string(exp.fair.csv(pid), f"fair-{slug}.csv")

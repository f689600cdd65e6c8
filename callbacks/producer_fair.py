"""Callbacks of the producer page's FAIR and freshness section (wiring only: FairService and
FreshnessService -> builders in components/fair_view.py).

Data flow::

    producer ──> dimension chart, score, rating, rank among its kind, to-do list, freshness
    « Télécharger » ──> the producer's CSV (one line per dataset, points per indicator)
"""

from __future__ import annotations

from dash import Input, Output, State, dcc, no_update

from callbacks import guard
from callbacks.common import Wiring
from components import fair_view as fv
from components import producers_page as pp

wiring = Wiring()


def register(app, services) -> None:
    wiring.register(app, services)


def producer_id(services, value) -> str | None:
    """A producer id the build knows, else None."""
    value = guard.as_key(value)
    if not value or services.explorer.producers.index_of(value) is None:
        return None
    return value


def late_datasets(services, rows) -> list[dict]:
    """The most late datasets among ``rows``: their titles and freshness badges."""
    fresh, ds = services.explorer.freshness, services.explorer.datasets
    return [{"title": str(ds["title"].iat[r] or ""), "badge": str(fresh.table["badge"].iat[r])}
            for r in fresh.late_rows(rows)[:fv.N_LATE]]


@wiring.callback(Output(fv.CHART, "figure"), Output(fv.SECTION, "children"),
                 Input(pp.SELECT, "value"), prevent_initial_call=True)
def show(services, value):
    exp = services.explorer
    pid = producer_id(services, value)
    score = exp.fair.summary(pid) if pid is not None else None
    if score is None or not score["n"]:
        return fv.empty_view()
    catalogue, rows = exp.fair.summary(), exp.fair.rows(pid)
    ds = exp.datasets
    titles = dict(zip(ds["id"].astype(str).to_numpy()[rows],
                      ds["title"].fillna("").astype(str).to_numpy()[rows], strict=True))
    name = str(exp.producers.table["organization"].iat[exp.producers.index_of(pid)])
    fig = fv.dimensions_figure(score["dimensions"], catalogue["dimensions"], name=name)
    todo = exp.fair.todo(pid)[:fv.N_TODO]
    panel = fv.fair_panel(score, exp.fair.producer_rank(pid), catalogue, todo, titles,
                          exp.freshness.summary(rows), exp.freshness.summary()["late_share"],
                          late_datasets(services, rows))
    return fig, panel


@wiring.callback(Output(fv.DOWNLOAD, "data"), Input(fv.CSV_BUTTON, "n_clicks"),
                 State(pp.SELECT, "value"), prevent_initial_call=True)
def download(services, n_clicks, value):
    pid = producer_id(services, value)
    if not n_clicks or pid is None:
        return no_update
    return dcc.send_string(services.explorer.fair.csv(pid), fv.csv_name(pid))

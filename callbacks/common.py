"""Wiring shared by several pages: the declaration of a page's callbacks (:class:`Wiring`) and
the clicks that open a dataset's card on the map page.

A page module declares each callback once, at module level, as a short function whose first
argument is the app's :class:`callbacks.Services`::

    wiring = Wiring()

    @wiring.callback(Output(ids.X, "children"), Input(ids.Y, "value"))
    def show(services, value):
        return builder(services.explorer.something(guard.as_key(value)))

    def register(app, services):
        wiring.register(app, services)

``register`` hands Dash a closure per callback that passes ``services`` first (Dash calls a
callback with the values of its inputs and states, positionally, and reads nothing else of the
function); the function itself stays importable and testable with any ``services``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from dash import ALL, Input, Output, ctx, no_update

from callbacks import guard
from components import ids

MAP_TAB = ids.MAP_PAGE
# the outputs of a click that opens a dataset's card on the map page
OPEN_CARD = (Output(ids.SELECTED, "data", allow_duplicate=True),
             Output(ids.TABS, "active_tab", allow_duplicate=True))


def bind(func: Callable, services) -> Callable:
    """``func(services, *args)`` as the callback Dash calls with ``*args``; named as ``func``
    (the guard's warning lines name it), without ``__wrapped__`` (its signature is Dash's)."""
    def bound(*args, **kwargs):
        return func(services, *args, **kwargs)

    for name in ("__module__", "__name__", "__qualname__", "__doc__"):
        setattr(bound, name, getattr(func, name, None))
    return bound


@dataclass
class _Entry:
    target: Callable | str  # a Python function, or the JavaScript of a client-side callback
    deps: tuple
    options: dict
    when: Callable | None  # (app, services) -> bool: registered only when true
    clientside: bool = False


@dataclass
class Wiring:
    """The callbacks of one page, declared next to their functions, attached by :meth:`register`."""

    entries: list[_Entry] = field(default_factory=list)

    def callback(self, *deps, when: Callable | None = None, **options) -> Callable:
        """Declare a server-side callback (``deps``, ``options``: those of ``app.callback``);
        ``when(app, services)`` false: not registered (a page without the components)."""
        def declare(func: Callable) -> Callable:
            self.entries.append(_Entry(func, deps, options, when))
            return func

        return declare

    def clientside(self, function, *deps, when: Callable | None = None, **options) -> None:
        """Declare a client-side callback (``app.clientside_callback``)."""
        self.entries.append(_Entry(function, deps, options, when, clientside=True))

    def open_dataset_on(self, item_type: str) -> None:
        """A click on a dataset item ``{"type": item_type, "row": N}`` opens its card."""
        self.callback(*OPEN_CARD, Input({"type": item_type, "row": ALL}, "n_clicks"),
                      prevent_initial_call=True)(open_dataset)

    def open_from_grid_on(self, grid_id) -> None:
        """A click on a row of the grid ``grid_id`` (a string, or a pattern with ``ALL``) opens
        its dataset's card."""
        self.callback(*OPEN_CARD, Input(grid_id, "cellClicked"), prevent_initial_call=True)(open_from_grid)

    def register(self, app, services) -> None:
        for e in self.entries:
            if e.when is not None and not e.when(app, services):
                continue
            if e.clientside:
                app.clientside_callback(e.target, *e.deps, **e.options)
            else:
                app.callback(*e.deps, **e.options)(bind(e.target, services))


def dataset_id(services, row: int | None):
    """The id of the dataset at ``row`` (``no_update`` for None)."""
    return no_update if row is None else str(services.explorer.datasets["id"].iat[row])


def open_card(services, row: int | None) -> tuple:
    """(SELECTED, TABS) of a click that opens the card of ``row`` on the map page."""
    return (no_update, no_update) if row is None else (dataset_id(services, row), MAP_TAB)


def open_dataset(services, _clicks):
    """A click on a dataset item ``{"type": …, "row": N}`` opens its card on the map page."""
    trig = guard.clicked_pattern(ctx.triggered_id, ctx.triggered)  # None: a list re-rendered
    return open_card(services, guard.as_row(trig.get("row"), services.explorer.n) if trig else None)


def grid_row(cell, n: int) -> int | None:
    """The dataset a click on a list's grid opens (:mod:`components.data_grid`): ``cellClicked``
    carries the row's key (a row id, or "row_a:row_b" for a pair of near duplicates, whose second
    title opens ``row_b``); a click on the link column opens data.gouv.fr, not the card."""
    if not isinstance(cell, dict) or cell.get("colId") == "link":
        return None
    parts = str(cell.get("rowId") or "").split(":")
    pick = parts[1] if cell.get("colId") == "title_b" and len(parts) == 2 else parts[0]
    try:
        return guard.as_row(int(pick), n) if pick.isdigit() else None
    except ValueError:
        return None


def open_from_grid(services, _cells):
    """A click on a row of a dataset grid opens its card on the map page."""
    return open_card(services, grid_row(ctx.triggered[0]["value"] if ctx.triggered else None,
                                        services.explorer.n))

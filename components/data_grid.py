"""Lists of datasets as one dash-ag-grid each (pure builders, shared by the pages).

Why a grid and not a table of Dash components: Dash's renderer re-checks every component of the
layout at each update, anywhere in the app. A list of 200 datasets as ``html.Tr``/``Td``/``A`` is
~1,600 components (the Territoires page's list on first open), which made every update of the
whole app slower — the year slider's frame on the map among them (``scripts/bench/map_browser_bench.py``)
— and the largest producer's lists took 26.5 s to open (``scripts/bench/first_open.py``). A grid is one
component whatever its length.

Rows are dicts of plain values with a ``key`` (the row id sent back by ``cellClicked``, read by
:func:`callbacks.common.grid_row`); cells are shown as text (never HTML); the only Markdown is the
``link`` column, built by :func:`link_markdown` from a checked http(s) URL (the grid's Markdown
renderer escapes HTML).

Examples
--------
>>> grid = dataset_grid("mon-id", [TITLE_COLUMN], [{"key": "3", "title": "Piscines"}])
>>> grid.rowData[0]["key"]
'3'
"""

from __future__ import annotations

import dash_ag_grid as dag

from components import labels as texts
from components.details import safe_url
from components.labels import NO_TITLE, clean_text

PAGE_SIZE = 20
TITLE_CHARS = 140

TITLE_COL = {"flex": 1, "minWidth": 260, "wrapText": True, "autoHeight": True,
             "cellClass": "producers-list-title"}
TITLE_COLUMN = {"field": "title", "headerName": "Titre (ouvrir sa fiche)", **TITLE_COL}
LINK_COL = {"field": "link", "headerName": "", "width": 56, "cellRenderer": "markdown",
            "linkTarget": "_blank", "headerTooltip": "Voir sur data.gouv.fr"}


def dataset_grid(grid_id, columns: list[dict], rows: list[dict], class_name: str = "") -> dag.AgGrid:
    """A list of datasets, ``PAGE_SIZE`` a page, its row ids the rows' ``key``."""
    return dag.AgGrid(
        id=grid_id, columnDefs=columns, rowData=rows,
        getRowId="params.data.key",
        defaultColDef={"sortable": False, "resizable": True, "suppressHeaderMenuButton": True,
                       "filter": False, "wrapHeaderText": True, "autoHeaderHeight": True},
        dashGridOptions={"localeText": texts.AG_GRID_LOCALE, "domLayout": "autoHeight",
                         "pagination": len(rows) > PAGE_SIZE, "paginationPageSize": PAGE_SIZE,
                         "paginationPageSizeSelector": False, "suppressCellFocus": True,
                         "animateRows": False, "enableCellTextSelection": True},
        style={"width": "100%"}, className=f"dataset-grid {class_name}".strip())


def title_text(value, limit: int = TITLE_CHARS) -> str:
    return clean_text(value, limit) or NO_TITLE


def link_markdown(url) -> str:
    """The data.gouv.fr page of a row as a Markdown link for the grid's ``markdown`` renderer
    (which escapes HTML); ``""`` for a URL that is not plain http(s).

    >>> link_markdown("https://www.data.gouv.fr/fr/datasets/a(b)/")
    '[↗](https://www.data.gouv.fr/fr/datasets/a%28b%29/)'
    >>> link_markdown("javascript:alert(1)")
    ''
    """
    u = safe_url(url)
    if not u:
        return ""
    return "[↗](" + u.replace("(", "%28").replace(")", "%29").replace("[", "%5B").replace("]", "%5D") + ")"

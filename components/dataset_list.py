"""Clickable lists of datasets (search results, similar datasets)."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import html

from components.ids import RESULT_ITEM
from components.labels import NO_PRODUCER, NO_TITLE, clean_text
from models.core import french

TITLE_CHARS = 160


def dataset_list(items: list[dict], *, item_type: str = RESULT_ITEM, score_label: str = "score",
                 numbered: bool = True, empty_message: str = "Aucun résultat.") -> html.Div | dbc.ListGroup:
    """``items``: dicts with ``row``, ``title``, ``organization``, ``score``. Each item is a
    ``dbc.ListGroupItem`` with the pattern-matching id ``{"type": item_type, "row": row}``."""
    if not items:
        return html.Div(empty_message, className="text-muted small px-1")
    out = []
    for rank, item in enumerate(items, 1):
        head = [html.Span(clean_text(item.get("title"), TITLE_CHARS) or NO_TITLE, className="fw-semibold")]
        if numbered:
            head.insert(0, dbc.Badge(str(rank), color="danger", pill=True, className="me-2 rank-badge"))
        score = french.score(item.get("score"))
        out.append(dbc.ListGroupItem(
            [html.Div(head),
             html.Div([html.Span(clean_text(item.get("organization"), 100) or NO_PRODUCER),
                       html.Span(f" · {score_label} {score}" if score else "")],
                      className="small text-muted")],
            id={"type": item_type, "row": int(item["row"])}, action=True, n_clicks=0,
            class_name="py-2 dataset-item",
        ))
    return dbc.ListGroup(out, flush=True)

"""Dash components as the plain JSON they are sent as, for the hot path of every search.

A Dash component object costs ~19 µs to build (its constructor formats an error message for every
keyword, valid or not) and ~13 µs to serialise (``to_plotly_json`` per object, from the JSON
encoder's ``default`` hook): the 20 result cards of a search hold ~570 of them, ~18 ms of the
search callback's ~40 ms (``docs/measurements.md``). Written as the dicts Dash sends
(``{"props": …, "type": …, "namespace": …}``), the same cards cost ~2 ms and reach the browser as
the same JSON: dash-renderer cannot tell them apart. ``tests/test_plain.py`` rebuilds every node
as a real Dash component (which refuses an unknown prop) and checks the JSON is the same.

Only for what is built many times per request; everything else uses ``dash.html`` and ``dbc``.
Every text goes in as a string child or a prop, never as HTML: React escapes it as for a
component.

Examples
--------
>>> span("Producteur", className="text-muted")["props"]
{'children': 'Producteur', 'className': 'text-muted'}
>>> node("Badge", "1", namespace=DBC, pill=True)["type"]
'Badge'
"""

from __future__ import annotations

HTML = "dash_html_components"
DBC = "dash_bootstrap_components"


def node(type_: str, children=None, *, namespace: str = HTML, **props) -> dict:
    """The JSON of ``namespace.type_(children, **props)``: ``children`` when given, then the
    props in the order given (None values are sent as null, as a component sends them)."""
    if children is not None:
        props = {"children": children, **props}
    return {"props": props, "type": type_, "namespace": namespace}


def div(children=None, **props) -> dict:
    """``html.Div``."""
    return node("Div", children, **props)


def span(children=None, **props) -> dict:
    """``html.Span``."""
    return node("Span", children, **props)

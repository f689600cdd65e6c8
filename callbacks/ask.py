"""« Demander »: wiring of the assistant page (``components/ask_page.py``) to
``Explorer.assistant`` (``models/serve/assistant.py``). The dialogue state and the transcript
live in the browser tab (session ``dcc.Store``); nothing about the questions is logged."""

from __future__ import annotations

from dash import ALL, Input, Output, State, ctx, no_update

from callbacks.common import MAP_TAB, register_open_dataset
from components import ask_page as ap
from components import ids

MAX_STORED_TURNS = ap.MAX_HISTORY


def _highlight(turn: dict) -> dict | None:
    rows = [int(c["row"]) for c in turn.get("cards") or [] if isinstance(c.get("row"), int)]
    if not rows:
        return None
    topic = (turn.get("state") or {}).get("topic", "")
    return {"label": f"Demander\u202f: {topic}"[:120].replace("\u202f:", "\u202f:"), "rows": rows}


def register(app, services) -> None:
    def assistant():
        return services.explorer.assistant

    @app.callback(Output(ap.STATE, "data"), Output(ap.HISTORY, "data"), Output(ap.INPUT, "value"),
                  Output(ids.MAP_HIGHLIGHT, "data", allow_duplicate=True),
                  Output(ids.TABS, "active_tab", allow_duplicate=True),
                  Input(ap.SEND, "n_clicks"), Input(ap.INPUT, "n_submit"),
                  Input({"type": ap.CHOICE, "slot": ALL, "value": ALL, "label": ALL}, "n_clicks"),
                  Input(ap.RESTART, "n_clicks"), Input(ap.PENDING, "data"),
                  State(ap.INPUT, "value"), State(ap.STATE, "data"), State(ap.HISTORY, "data"),
                  prevent_initial_call=True)
    def turn(_send, _submit, _choices, _restart, pending, text, state, history):
        trig = ctx.triggered_id
        history = ap.clean_history(history)
        if trig == ap.RESTART:
            res = assistant().ask("recommencer", state)
            return res["state"], [], "", no_update, no_update
        choice = None
        if isinstance(trig, dict) and trig.get("type") == ap.CHOICE:
            if not (ctx.triggered and ctx.triggered[0].get("value")):
                return no_update, no_update, no_update, no_update, no_update  # buttons re-rendered
            value = trig.get("value") if isinstance(trig.get("value"), str) and trig.get("value") else None
            label = trig.get("label") if isinstance(trig.get("label"), str) else ""
            choice = {"slot": trig.get("slot"), "value": value, "label": label[:80]}
            history.append({"role": "user", "text": label[:80] or "Peu importe"})
            res = assistant().ask(None, state, choice=choice)
        else:
            if trig == ap.PENDING:
                if not isinstance(pending, dict) or not isinstance(pending.get("q"), str):
                    return no_update, no_update, no_update, no_update, no_update
                text = pending["q"]
            if not isinstance(text, str):
                text = ""
            history.append({"role": "user", "text": text[:500]})
            res = assistant().ask(text, state)
        if res.get("action") == "restart":
            return res["state"], [], "", no_update, no_update
        history.append(ap.history_entry(res))
        light = _highlight(res)
        tab = MAP_TAB if res.get("action") == "map" else no_update
        return res["state"], history[-MAX_STORED_TURNS:], "", light or no_update, tab

    @app.callback(Output(ap.TRANSCRIPT, "children"), Input(ap.HISTORY, "data"))
    def show(history):
        return ap.transcript(history)

    @app.callback(Output(ap.PENDING, "data"), Output(ids.TABS, "active_tab", allow_duplicate=True),
                  Input(ids.ASK_FROM_SEARCH, "n_clicks"), State(ids.SEARCH_INPUT, "value"),
                  prevent_initial_call=True)
    def from_search(n_clicks, text):
        if not n_clicks:
            return no_update, no_update
        text = text if isinstance(text, str) else ""
        if not text.strip():
            return no_update, ap.TAB_ID
        return {"q": text[:500], "n": int(n_clicks)}, ap.TAB_ID

    @app.callback(Output(ids.MAP_HIGHLIGHT, "data", allow_duplicate=True),
                  Input({"type": ap.CARD_MAP, "row": ALL}, "n_clicks"), State(ap.HISTORY, "data"),
                  prevent_initial_call=True)
    def card_lights_map(_clicks, history):
        """« Voir sur la carte » on a card: the map shows that turn's datasets, this one selected."""
        trig = ctx.triggered_id
        if not isinstance(trig, dict) or not (ctx.triggered and ctx.triggered[0].get("value")):
            return no_update
        row = trig.get("row")
        if not isinstance(row, int) or isinstance(row, bool):
            return no_update
        for h in reversed(ap.clean_history(history)):
            rows = [c["row"] for c in h.get("cards", []) if c["row"] < services.explorer.n]
            if row in rows:
                return {"label": "Demander", "rows": rows}
        return no_update

    register_open_dataset(app, services, ap.CARD_MAP)

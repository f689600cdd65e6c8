"""« Demander »: wiring of the assistant page (``components/ask_page.py``) to
``Explorer.assistant`` (``models/serve/assistant.py``). The dialogue state and the transcript
live in the browser tab (session ``dcc.Store``); nothing about the questions is logged."""

from __future__ import annotations

from dash import ALL, Input, Output, State, ctx, no_update

from callbacks.common import MAP_TAB, Wiring
from components import ask_page as ap
from components import ids

wiring = Wiring()
NOTHING = (no_update,) * 5


def register(app, services) -> None:
    wiring.register(app, services)


def _clicked() -> bool:
    return bool(ctx.triggered and ctx.triggered[0].get("value"))


def question(trig, pending, text) -> str | None:
    """The question a turn asks: the typed text, or what the map page sent (None: nothing)."""
    if trig == ap.PENDING:
        if not isinstance(pending, dict) or not isinstance(pending.get("q"), str):
            return None
        return pending["q"]
    return text if isinstance(text, str) else ""


def ask(services, trig, pending, text, state, history: list) -> dict | None:
    """The assistant's answer to a choice or a question (both appended to ``history``);
    None when there is nothing to ask (buttons re-rendered, nothing pending)."""
    assistant = services.explorer.assistant
    if isinstance(trig, dict) and trig.get("type") == ap.CHOICE:
        if not _clicked():
            return None  # buttons re-rendered
        choice = ap.read_choice(trig)
        history.append(ap.user_entry(choice["label"]))
        return assistant.ask(None, state, choice=choice)
    text = question(trig, pending, text)
    if text is None:
        return None
    history.append(ap.user_entry(text, question=True))
    return assistant.ask(text, state)


@wiring.callback(Output(ap.STATE, "data"), Output(ap.HISTORY, "data"), Output(ap.INPUT, "value"),
                 Output(ids.MAP_HIGHLIGHT, "data", allow_duplicate=True),
                 Output(ids.TABS, "active_tab", allow_duplicate=True),
                 Input(ap.SEND, "n_clicks"), Input(ap.INPUT, "n_submit"),
                 Input({"type": ap.CHOICE, "slot": ALL, "value": ALL, "label": ALL}, "n_clicks"),
                 Input(ap.RESTART, "n_clicks"), Input(ap.PENDING, "data"),
                 State(ap.INPUT, "value"), State(ap.STATE, "data"), State(ap.HISTORY, "data"),
                 prevent_initial_call=True)
def turn(services, _send, _submit, _choices, _restart, pending, text, state, history):
    trig = ctx.triggered_id
    history = ap.clean_history(history)
    if trig == ap.RESTART:
        res = services.explorer.assistant.ask(ap.RESTART_WORD, state)
        return res["state"], [], "", no_update, no_update
    res = ask(services, trig, pending, text, state, history)
    if res is None:
        return NOTHING
    if res.get("action") == "restart":
        return res["state"], [], "", no_update, no_update
    history.append(ap.history_entry(res))
    light = ap.turn_highlight(res)
    tab = MAP_TAB if res.get("action") == "map" else no_update
    return res["state"], history[-ap.MAX_HISTORY:], "", light or no_update, tab


@wiring.callback(Output(ap.TRANSCRIPT, "children"), Input(ap.HISTORY, "data"))
def show(services, history):
    return ap.transcript(history)


@wiring.callback(Output(ap.PENDING, "data"), Output(ids.TABS, "active_tab", allow_duplicate=True),
                 Input(ids.ASK_FROM_SEARCH, "n_clicks"), State(ids.SEARCH_INPUT, "value"),
                 prevent_initial_call=True)
def from_search(services, n_clicks, text):
    if not n_clicks:
        return no_update, no_update
    text = text if isinstance(text, str) else ""
    if not text.strip():
        return no_update, ap.TAB_ID
    return {"q": text[:ap.MAX_QUESTION_CHARS], "n": int(n_clicks)}, ap.TAB_ID


@wiring.callback(Output(ids.MAP_HIGHLIGHT, "data", allow_duplicate=True),
                 Input({"type": ap.CARD_MAP, "row": ALL}, "n_clicks"), State(ap.HISTORY, "data"),
                 prevent_initial_call=True)
def card_lights_map(services, _clicks, history):
    """« Voir sur la carte » on a card: the map shows that turn's datasets, this one selected."""
    trig = ctx.triggered_id
    if not isinstance(trig, dict) or not _clicked():
        return no_update
    row = trig.get("row")
    if not isinstance(row, int) or isinstance(row, bool):
        return no_update
    return ap.card_highlight(ap.clean_history(history), row, services.explorer.n) or no_update


wiring.open_dataset_on(ap.CARD_MAP)

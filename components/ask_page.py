"""The « Demander » page: a conversation with the catalogue assistant (pure builders, no I/O).

The transcript is rebuilt from plain dicts (what ``callbacks/ask.py`` keeps in the browser):
``{"role": "user", "text": str}`` and ``{"role": "assistant", "reply": str, "notes": [str],
"cards": [card], "clarify": None | {...}, "producers": [...]}`` where a card is what
:meth:`models.serve.assistant.Assistant.card` returns. Every piece of catalogue text is a text
child (Dash escapes it): the extracted answer is a list of ``html.Strong`` / ``html.Mark`` /
strings, never HTML from the catalogue.
"""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from components.coverage_view import open_ask_button
from components.details import safe_url
from components.labels import NO_TITLE, clean_text, typo
from models.core import french

# ---- ids of this page ---------------------------------------------------------------------
INPUT = "ask-input"
SEND = "ask-send"
RESTART = "ask-restart"
TRANSCRIPT = "ask-transcript"
STATE = "ask-state"  # dcc.Store (session storage: one per browser tab): the dialogue state
HISTORY = "ask-history"  # dcc.Store (session storage): the turns shown in the transcript
PENDING = "ask-pending"  # dcc.Store: a question sent from the map's search box {"q", "n"}
STATUS = "ask-status"
# pattern-matching ids: {"type": CHOICE, "slot": str, "value": str, "label": str},
# {"type": CARD_MAP, "row": int}
CHOICE = "ask-choice"
CARD_MAP = "ask-card-map"

TAB_ID = "demander"
TITLE = "Posez votre question au catalogue"
INTRO = typo("Décrivez en français ce que vous cherchez : l'assistant répond avec les jeux de données "
             "qui conviennent et l'extrait de leur description qui répond le mieux. Vous pouvez "
             "préciser ensuite (« et à Lyon ? », « plutôt en CSV », « seulement depuis 2022 », "
             "« les plus récents », « qui les publie ? », « montre-les sur la carte », "
             "« autre chose ? »).")
PRIVACY = "Vos questions ne sont pas enregistrées\u202f: la conversation reste dans cet onglet."
PLACEHOLDER = "Par exemple\u202f: où sont les piscines à Toulouse\u202f?"
MAX_HISTORY = 40  # turns kept in the transcript (the oldest go first)


def build_ask_page(*, max_query_chars: int = 500, available: bool = True) -> html.Div:
    disabled = not available
    return html.Div([
        dcc.Store(id=STATE, storage_type="session", data=None),
        dcc.Store(id=HISTORY, storage_type="session", data=[]),
        dcc.Store(id=PENDING, data=None),
        dbc.Row(dbc.Col([
            html.H2(TITLE, className="h5"),
            html.P(INTRO, className="small text-muted mb-1"),
            html.P(PRIVACY, className="small text-muted"),
            dbc.Card(dbc.CardBody(dcc.Loading(html.Div(transcript([]), id=TRANSCRIPT,
                                                       className="ask-transcript"),
                                              type="dot", delay_show=300)),
                     className="shadow-sm mb-2"),
            dbc.Label("Votre question", html_for=INPUT, class_name="visually-hidden"),
            dbc.InputGroup([
                dbc.Input(id=INPUT, type="text", maxLength=max_query_chars, placeholder=PLACEHOLDER,
                          autocomplete="off", n_submit=0, disabled=disabled, debounce=False),
                dbc.Button("Demander", id=SEND, color="primary", n_clicks=0, disabled=disabled),
                dbc.Button("Recommencer", id=RESTART, color="secondary", outline=True, n_clicks=0),
            ]),
            html.Div(("" if available else
                      "L'assistant n'est pas disponible pour ce build (recherche indisponible)."),
                     id=STATUS, className="small text-danger mt-1"),
            *([open_ask_button()] if available else []),
        ], lg={"size": 10, "offset": 1})),
    ])


def transcript(history: list[dict] | None) -> list:
    """The conversation, oldest first; only the last turn's clarifying buttons are active."""
    history = clean_history(history)
    if not history:
        return [html.P("Aucune question pour l'instant.", className="text-muted small mb-0")]
    last_assistant = max((i for i, h in enumerate(history) if h.get("role") == "assistant"), default=-1)
    out = []
    for i, h in enumerate(history):
        if h.get("role") == "user":
            out.append(user_bubble(h.get("text", "")))
        elif h.get("role") == "assistant":
            out.append(assistant_turn(h, active=(i == last_assistant)))
    return out


def user_bubble(text: str) -> html.Div:
    return html.Div(html.Div(clean_text(text, 500), className="ask-user p-2 px-3"),
                    className="d-flex justify-content-end mb-2")


def assistant_turn(turn: dict, *, active: bool = True) -> html.Div:
    parts: list = [html.P(clean_text(turn.get("reply")), className="mb-1 ask-reply")]
    for note in turn.get("notes") or []:
        parts.append(html.P(clean_text(note), className="small text-muted mb-1"))
    prods = turn.get("producers") or []
    if prods:
        parts.append(html.Ul([html.Li(f"{clean_text(p.get('name'))} ({int(p.get('count', 0))})")
                              for p in prods], className="small mb-1"))
    clar = turn.get("clarify")
    if clar:
        parts.append(clarify_buttons(clar, active=active))
    cards = turn.get("cards") or []
    if cards:
        parts.append(html.Div([dataset_card(c, rank) for rank, c in enumerate(cards, 1)],
                              className="ask-cards"))
    return html.Div(parts, className="ask-assistant mb-3")


def clarify_buttons(clar: dict, *, active: bool = True) -> html.Div:
    slot = str(clar.get("slot", ""))
    buttons = [dbc.Button(clean_text(o.get("label"), 80),
                          id={"type": CHOICE, "slot": slot, "value": str(o.get("value", "")),
                              "label": clean_text(o.get("label"), 80)},
                          size="sm", color="primary", outline=True, className="me-1 mb-1",
                          disabled=not active, n_clicks=0)
               for o in (clar.get("options") or [])[:5]]
    buttons.append(dbc.Button(clean_text(clar.get("none") or "Peu importe"),
                              id={"type": CHOICE, "slot": slot, "value": "", "label": ""},
                              size="sm", color="secondary", outline=True, className="mb-1",
                              disabled=not active, n_clicks=0))
    return html.Div([html.P(clean_text(clar.get("question")), className="mb-1 fw-semibold small"),
                     html.Div(buttons)], className="ask-clarify mb-2")


def answer_text(answer: dict | None) -> html.Blockquote | None:
    """The extracted passage: the key sentence in ``Strong``, query words in ``Mark`` (text
    children only)."""
    if not answer:
        return None
    children = []
    for seg in answer.get("segments") or []:
        text = clean_text(seg.get("text")) if seg.get("text") else ""
        if not text:
            continue
        text = (" " if seg["text"][:1].isspace() else "") + text + (" " if seg["text"][-1:].isspace() else "")
        node = html.Mark(text) if seg.get("mark") else text
        children.append(html.Strong(node) if seg.get("strong") else node)
    if not children:
        return None
    return html.Blockquote(children, className="ask-answer small mb-1")


def dataset_card(c: dict, rank: int) -> dbc.Card:
    title = clean_text(c.get("title"), 200) or NO_TITLE
    url = safe_url(c.get("url"))
    head = html.A(title, href=url, target="_blank", rel="noopener noreferrer") if url else title
    facts = []
    if c.get("producer"):
        facts.append(clean_text(c["producer"], 120))
    date = french.short_date(c.get("last_update"))
    if date:
        facts.append(f"mis à jour le {date}")
    if c.get("territory"):
        src = " (déclaré)" if c.get("territory_source") == "déclaré" else ""
        facts.append(clean_text(c["territory"], 120) + src)
    formats = [dbc.Badge(clean_text(f, 30), color="light", text_color="dark", className="me-1")
               for f in (c.get("formats") or [])[:8]]
    body = [
        html.Div([html.Span(f"{rank}.", className="text-muted me-2"),
                  html.Span(head, className="fw-semibold")]),
        html.Div(" · ".join(facts), className="small text-muted"),
        html.Div(formats, className="my-1") if formats else None,
        answer_text(c.get("answer")),
        dbc.Button("Voir sur la carte", id={"type": CARD_MAP, "row": int(c.get("row", -1))},
                   size="sm", color="link", className="p-0", n_clicks=0),
    ]
    return dbc.Card(dbc.CardBody([b for b in body if b is not None], className="p-2"),
                    className="mb-2 ask-card")


def _str(x, n: int = 2000) -> str:
    return clean_text(x, n) if isinstance(x, str) else ""


def _segments(answer) -> list[dict]:
    segs = answer.get("segments") if isinstance(answer, dict) else None
    if not isinstance(segs, list):
        return []
    return [{"text": seg["text"][:2000], "strong": seg.get("strong") is True, "mark": seg.get("mark") is True}
            for seg in segs[:400] if isinstance(seg, dict) and isinstance(seg.get("text"), str)]


def _card(c) -> dict | None:
    if not isinstance(c, dict):
        return None
    row = c.get("row")
    if not isinstance(row, int) or isinstance(row, bool) or row < 0:
        return None
    fmts = c.get("formats") if isinstance(c.get("formats"), list) else []
    segs = _segments(c.get("answer"))
    return {"id": _str(c.get("id"), 64), "row": row, "title": _str(c.get("title"), 300),
            "producer": _str(c.get("producer"), 200), "last_update": _str(c.get("last_update"), 32),
            "territory": _str(c.get("territory"), 200),
            "territory_source": _str(c.get("territory_source"), 20),
            "formats": [_str(f, 30) for f in fmts[:12] if isinstance(f, str)],
            "url": _str(c.get("url"), 2000) or None, "answer": {"segments": segs} if segs else None}


def _clarify(c) -> dict | None:
    if not isinstance(c, dict) or not isinstance(c.get("options"), list):
        return None
    opts = [{"label": _str(o.get("label"), 80), "value": _str(o.get("value"), 200)}
            for o in c["options"][:5] if isinstance(o, dict)]
    return {"slot": _str(c.get("slot"), 20), "question": _str(c.get("question"), 300), "options": opts,
            "none": _str(c.get("none"), 40) or "Peu importe"}


def clean_history(data) -> list[dict]:
    """The transcript the browser sent back, validated (it comes from the client): unknown
    shapes dropped, sizes capped, the last :data:`MAX_HISTORY` turns kept."""
    out: list[dict] = []
    for h in (data if isinstance(data, list) else [])[-MAX_HISTORY:]:
        if not isinstance(h, dict):
            continue
        if h.get("role") == "user":
            out.append({"role": "user", "text": _str(h.get("text"), 500)})
        elif h.get("role") == "assistant":
            notes = h.get("notes") if isinstance(h.get("notes"), list) else []
            prods = h.get("producers") if isinstance(h.get("producers"), list) else []
            cards = h.get("cards") if isinstance(h.get("cards"), list) else []
            out.append({
                "role": "assistant", "reply": _str(h.get("reply"), 1000),
                "notes": [_str(n, 300) for n in notes[:5] if isinstance(n, str)],
                "cards": [c for c in (_card(x) for x in cards[:10]) if c is not None],
                "clarify": _clarify(h.get("clarify")),
                "producers": [{"name": _str(p.get("name"), 200),
                               "count": p["count"] if isinstance(p.get("count"), int) else 0}
                              for p in prods[:20] if isinstance(p, dict)],
            })
    return out


def history_entry(turn: dict) -> dict:
    """What the transcript keeps of an assistant turn (plain, small)."""
    keep = ("id", "row", "title", "producer", "last_update", "territory", "territory_source",
            "formats", "url", "answer")
    cards = [{k: c.get(k) for k in keep} for c in turn.get("cards") or []]
    for c in cards:
        if c.get("answer"):
            c["answer"] = {"segments": c["answer"].get("segments", [])}
    return {"role": "assistant", "reply": turn.get("reply", ""), "notes": list(turn.get("notes") or []),
            "cards": cards, "clarify": turn.get("clarify"), "producers": turn.get("producers") or []}


# ---- what a turn changes: the transcript, the map -------------------------------------------
RESTART_WORD = "recommencer"  # what « Recommencer » says to the assistant
ANY_CHOICE = "Peu importe"  # a clarifying question's button without a value
MAX_QUESTION_CHARS = 500
MAX_CHOICE_CHARS = 80
HIGHLIGHT_LABEL = "Demander"  # the map's legend for the datasets of an answer


def read_choice(trig: dict) -> dict:
    """The choice of a clarifying question's button (its pattern id ``{"type": CHOICE, "slot",
    "value", "label"}``, sent by the client): ``value`` None for « peu importe ».

    >>> read_choice({"type": CHOICE, "slot": "territory", "value": "", "label": "Peu importe"})
    {'slot': 'territory', 'value': None, 'label': 'Peu importe'}
    """
    value = trig.get("value") if isinstance(trig.get("value"), str) and trig.get("value") else None
    label = trig.get("label") if isinstance(trig.get("label"), str) else ""
    return {"slot": trig.get("slot"), "value": value, "label": label[:MAX_CHOICE_CHARS]}


def user_entry(text: str, *, question: bool = False) -> dict:
    """What the transcript keeps of what the person said: a question, or a button's label.

    >>> user_entry(""), user_entry("eau", question=True)
    ({'role': 'user', 'text': 'Peu importe'}, {'role': 'user', 'text': 'eau'})
    """
    if question:
        return {"role": "user", "text": text[:MAX_QUESTION_CHARS]}
    return {"role": "user", "text": text[:MAX_CHOICE_CHARS] or ANY_CHOICE}


def turn_highlight(turn: dict) -> dict | None:
    """The map's highlight of an answer: its datasets, named after the topic (None: no card).

    >>> turn_highlight({"cards": [{"row": 4}], "state": {"topic": "piscines"}})["label"] == (
    ...     "Demander\u202f: piscines")
    True
    """
    rows = [int(c["row"]) for c in turn.get("cards") or [] if isinstance(c.get("row"), int)]
    if not rows:
        return None
    topic = (turn.get("state") or {}).get("topic", "")
    return {"label": f"{HIGHLIGHT_LABEL}\u202f: {topic}"[:120], "rows": rows}


def card_highlight(history: list[dict], row: int, n: int) -> dict | None:
    """The map's highlight of « Voir sur la carte » on a card: the datasets of the latest turn
    that shows ``row`` (None: no such turn); ``n`` rows in the build."""
    for h in reversed(history):
        rows = [c["row"] for c in h.get("cards", []) if c["row"] < n]
        if row in rows:
            return {"label": HIGHLIGHT_LABEL, "rows": rows}
    return None

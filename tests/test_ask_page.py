"""The « Demander » page: builders (no HTML from the catalogue) and its callbacks through the
Flask test client, as dash-renderer calls them."""

from __future__ import annotations

import json

import pytest

from components import ask_page as ap
from components import ids
from tests.test_app import layout_of
from tests.uihelpers import HOSTILE, all_of, find, strings

CHOICE_PATTERN = json.dumps(
    {"label": ["ALL"], "slot": ["ALL"], "type": ap.CHOICE, "value": ["ALL"]}, separators=(",", ":")
)


def turn(
    dash, *, text=None, state=None, history=None, trigger=f"{ap.SEND}.n_clicks", choices=None, pending=None
):
    inputs = {
        f"{ap.SEND}.n_clicks": 1,
        f"{ap.INPUT}.n_submit": 0,
        f"{CHOICE_PATTERN}.n_clicks": choices or [],
        f"{ap.RESTART}.n_clicks": 0,
        f"{ap.PENDING}.data": pending,
    }
    st = {f"{ap.INPUT}.value": text, f"{ap.STATE}.data": state, f"{ap.HISTORY}.data": history or []}
    return dash.call(inputs, st, changed=[trigger])


def local_question(explorer):
    asst = explorer.assistant
    for row, key in sorted(asst.facts.best_territory.items()):
        if key.startswith("commune:"):
            words = [
                w for w in str(explorer.datasets["title"].iat[row]).split() if len(w) > 4 and w.isalpha()
            ]
            if len(words) >= 2:
                return f"{' '.join(words[:3])} à {explorer.territories.entity(key)['name']}"
    pytest.fail("no usable row in the fixture")


def test_page_is_in_the_app_and_reachable_from_the_search_box(client):
    lay = layout_of(client)
    tabs = find(lay, ids.TABS)
    assert "demander" in [t["props"]["tab_id"] for t in tabs["props"]["children"]]
    assert find(lay, ap.INPUT)["props"]["maxLength"] == 500
    assert find(lay, ap.STATE)["props"]["storage_type"] == "session"
    assert find(lay, ids.ASK_FROM_SEARCH) is not None


def test_search_box_sends_its_text_to_the_assistant(dash):
    resp = dash.call({f"{ids.ASK_FROM_SEARCH}.n_clicks": 1}, {f"{ids.SEARCH_INPUT}.value": "piscines"})
    assert resp[ap.PENDING]["data"] == {"q": "piscines", "n": 1}
    assert resp[ids.TABS]["active_tab"] == ap.TAB_ID


def test_a_turn_answers_lights_the_map_and_keeps_the_state_in_the_browser(dash, explorer):
    question = local_question(explorer)
    resp = turn(dash, text=question)
    state = resp[ap.STATE]["data"]
    history = resp[ap.HISTORY]["data"]
    assert state["topic"] and history[0] == {"role": "user", "text": question}
    cards = history[1]["cards"]
    assert cards and resp[ap.INPUT]["value"] == ""
    light = resp[ids.MAP_HIGHLIGHT]["data"]
    assert light["rows"] == [c["row"] for c in cards] and light["label"].startswith("Demander")
    # the transcript re-renders from the history store
    rendered = dash.call({f"{ap.HISTORY}.data": history})[ap.TRANSCRIPT]["children"]
    texts = strings(rendered)
    assert question in texts and cards[0]["title"] in texts
    links = all_of(
        rendered,
        lambda n: (
            isinstance(n.get("props", {}).get("id"), dict) and n["props"]["id"].get("type") == ap.CARD_MAP
        ),
    )
    assert len(links) == len(cards)
    # follow-up « montre-les sur la carte »: the map tab
    resp2 = turn(dash, text="montre-les sur la carte", state=state, history=history)
    assert resp2[ids.TABS]["active_tab"] == "carte"
    # « Recommencer »
    resp3 = turn(dash, text=None, state=state, history=history, trigger=f"{ap.RESTART}.n_clicks")
    assert resp3[ap.HISTORY]["data"] == [] and resp3[ap.STATE]["data"]["topic"] == ""


def test_clarifying_buttons_then_choice(dash, explorer):
    resp = turn(dash, text="données à Saint-Denis")
    history = resp[ap.HISTORY]["data"]
    clar = history[-1]["clarify"]
    assert clar and clar["options"]
    rendered = dash.call({f"{ap.HISTORY}.data": history})[ap.TRANSCRIPT]["children"]
    buttons = all_of(
        rendered,
        lambda n: (
            isinstance(n.get("props", {}).get("id"), dict) and n["props"]["id"].get("type") == ap.CHOICE
        ),
    )
    assert len(buttons) == len(clar["options"]) + 1  # + « Peu importe »
    assert "Peu importe" in strings(buttons[-1])
    pick = buttons[0]["props"]["id"]
    inputs = {
        f"{ap.SEND}.n_clicks": 1,
        f"{ap.INPUT}.n_submit": 0,
        f"{CHOICE_PATTERN}.n_clicks": [
            {"id": b["props"]["id"], "property": "n_clicks", "value": 1 if b["props"]["id"] == pick else 0}
            for b in buttons
        ],
        f"{ap.RESTART}.n_clicks": 0,
        f"{ap.PENDING}.data": None,
    }
    st = {f"{ap.INPUT}.value": "", f"{ap.STATE}.data": resp[ap.STATE]["data"], f"{ap.HISTORY}.data": history}
    body_changed = [json.dumps(pick, separators=(",", ":"), sort_keys=True) + ".n_clicks"]
    out = dash_call_with_pattern(dash, inputs, st, body_changed, pick)
    new_state = out[ap.STATE]["data"]
    assert new_state["slots"]["territory"]["value"] == pick["value"]
    assert out[ap.HISTORY]["data"][-2] == {"role": "user", "text": pick["label"]}


def dash_call_with_pattern(dash, inputs, state, changed, pick):
    spec = dash.spec(list(inputs), list(state))
    outputs = [
        {"id": p.partition(".")[0], "property": p.partition(".")[2]}
        for p in spec["output"].strip(".").split("...")
    ]
    body_inputs = []
    for key, value in inputs.items():
        cid, _, prop = key.rpartition(".")
        body_inputs.append(value if key.startswith("{") else {"id": cid, "property": prop, "value": value})
    body_state = [
        {"id": k.rpartition(".")[0], "property": k.rpartition(".")[2], "value": v} for k, v in state.items()
    ]
    body = {
        "output": spec["output"],
        "outputs": outputs,
        "inputs": body_inputs,
        "state": body_state,
        "changedPropIds": changed,
    }
    r = dash.client.post("/_dash-update-component", json=body)
    assert r.status_code == 200, r.data[:2000]
    return r.get_json()["response"]


def test_builders_keep_catalogue_text_as_text():
    card = {
        "id": "x",
        "row": 3,
        "title": HOSTILE,
        "producer": HOSTILE,
        "last_update": "2025-03-02",
        "territory": "Toulouse",
        "territory_source": "déclaré",
        "formats": ["CSV"],
        "url": "javascript:alert(1)",
        "answer": {
            "segments": [
                {"text": "Les ", "strong": False, "mark": False},
                {"text": "piscines", "strong": True, "mark": True},
                {"text": HOSTILE, "strong": True, "mark": False},
            ]
        },
    }
    node = ap.dataset_card(card, 1).to_plotly_json()
    blob = json.dumps(node, default=lambda o: o.to_plotly_json())
    assert "javascript:" not in blob  # the link is dropped, the title stays as text
    assert "dangerously" not in blob and "Markdown" not in blob
    texts = strings(json.loads(blob))
    assert any(HOSTILE in t for t in texts)  # shown as text, escaped by React
    marks = all_of(json.loads(blob), lambda n: n.get("type") == "Mark")
    assert [m["props"]["children"] for m in marks] == ["piscines"]
    strong = all_of(json.loads(blob), lambda n: n.get("type") == "Strong")
    assert len(strong) == 2 and "mis à jour le 02/03/2025" in " ".join(texts)


def test_transcript_only_the_last_clarification_is_active():
    clar = {
        "slot": "territory",
        "question": "Lequel ?",
        "options": [{"label": "A", "value": "commune:1"}],
        "none": "Peu importe",
    }
    hist = [
        {"role": "user", "text": "q1"},
        {"role": "assistant", "reply": "r1", "clarify": clar, "cards": []},
        {"role": "user", "text": "q2"},
        {"role": "assistant", "reply": "r2", "clarify": clar, "cards": []},
    ]
    blob = json.loads(
        json.dumps([c.to_plotly_json() for c in ap.transcript(hist)], default=lambda o: o.to_plotly_json())
    )
    buttons = all_of(blob, lambda n: isinstance(n.get("props", {}).get("id"), dict))
    assert [b["props"]["disabled"] for b in buttons] == [True, True, False, False]
    assert strings(ap.transcript([])[0].to_plotly_json())  # an empty state, in French

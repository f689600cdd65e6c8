"""« Demander »: the assistant on the small fixture build (fake encoder), its state, bad input,
the dialogue evaluation and the command line."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from models.core.french import NNBSP
from models.serve.assistant import (
    LOCAL,
    clean_state,
    display_topic,
    new_state,
    sanitise_question,
)
from models.serve.assistant_eval import evaluate_dialogues, metrics, read_dialogues, slot_matches

DIALOGUES = Path(__file__).resolve().parent / "data" / "dialogues.jsonl"


@pytest.fixture(scope="module")
def asst(explorer):
    return explorer.assistant


@pytest.fixture(scope="module")
def local_case(explorer, asst):
    """A row about a commune, a question made of its title words and that commune's name."""
    from models.core.text import keyword_terms

    terr = explorer.territories
    for row, key in sorted(asst.facts.best_territory.items()):
        if not key.startswith("commune:"):
            continue
        words = [w for w in str(explorer.datasets["title"].iat[row]).split()
                 if len(w) > 4 and w.isalpha() and keyword_terms(w)]
        name = terr.entity(key)["name"]
        if len(words) >= 2 and name.lower() not in " ".join(words).lower():
            return {"row": row, "key": key, "name": name, "topic": " ".join(words[:3])}
    pytest.fail("the fixture build has no dataset about a commune with a usable title")


def ask_all(asst, turns):
    state, out = None, []
    for t in turns:
        res = asst.ask(t, state)
        state = res["state"]
        out.append(res)
    return out


# ---- one turn --------------------------------------------------------------------------------
def test_a_question_with_a_place_finds_its_datasets(asst, local_case):
    res = asst.ask(f"{local_case['topic']} à {local_case['name']}")
    assert res["slots"]["territory"]["value"] == local_case["key"]
    ids = [c["row"] for c in res["cards"]]
    assert local_case["row"] in ids
    w = asst.territory_weights(local_case["key"])
    assert all(w[r] >= LOCAL or w[r] >= 0.2 for r in ids)  # the place, around/inside it, or national
    assert 1 <= len(res["cards"]) <= 5 and res["reply"].startswith(("J'ai trouvé", "Je n'ai pas trouvé"))
    assert f"«{NNBSP}" in res["reply"] and f"{NNBSP}»" in res["reply"]
    card = res["cards"][0]
    for key in ("id", "title", "producer", "last_update", "territory", "formats", "url", "answer"):
        assert key in card
    json.dumps(res)  # all of it JSON-able (it goes to the browser)


def test_extracted_answer_is_a_passage_with_its_key_sentence(asst, explorer, local_case):
    res = asst.ask(f"{local_case['topic']} à {local_case['name']}")
    answers = [c["answer"] for c in res["cards"] if c["answer"]]
    assert answers
    for c in res["cards"]:
        a = c["answer"]
        if not a:
            continue
        text = explorer.records.description_text(c["row"])
        assert a["passage"] == text[a["start"]:a["end"]]
        assert "".join(s["text"] for s in a["segments"]) == a["passage"]
        assert "".join(s["text"] for s in a["segments"] if s["strong"]) == a["sentence"]
        assert a["sentence"] and a["sentence"] in a["passage"]
        from models.core.text import keyword_terms

        terms = set(keyword_terms(local_case["topic"]))
        assert all(set(keyword_terms(s["text"])) <= terms for s in a["segments"] if s["mark"])


def test_rerank_formula_mixes_search_and_passage_scores(asst, local_case):
    st = new_state() | {"topic": local_case["topic"]}
    r0 = asst.with_params(passage_weight=0.0).rank(st)
    r1 = asst.with_params(passage_weight=1.0).rank(st)
    assert np.all(np.diff(r0["search"]) <= 1e-12)  # w = 0: the search order
    assert np.all(np.diff(r1["passage"]) <= 1e-12)  # w = 1: the passage order
    assert set(r0["rows"].tolist()) == set(r1["rows"].tolist())


# ---- follow-ups ------------------------------------------------------------------------------
def test_follow_ups_reuse_the_conversation(asst, explorer, local_case):
    other = next(k for k in asst.facts.best_territory.values()
                 if k.startswith("commune:") and k != local_case["key"])
    other_name = explorer.territories.entity(other)["name"]
    r1, r2, r3 = ask_all(asst, [f"{local_case['topic']} à {local_case['name']}",
                                f"et à {other_name} ?", "plutôt en CSV"])
    assert r2["state"]["topic"] == r1["state"]["topic"]  # only the territory changed
    assert r2["slots"]["territory"]["value"] == other
    assert r3["slots"]["territory"]["value"] == other and r3["slots"]["format"]["value"] == "csv"
    if "format" not in " ".join(r3["notes"]):  # the filter applied: every card offers CSV
        assert all("CSV" in c["formats"] for c in r3["cards"])


def test_commands_more_producers_map_recent_restart(asst, local_case):
    q1 = local_case["topic"]
    first, more = ask_all(asst, [q1, "autre chose ?"])
    if len(first["ranking"]) > 5:
        assert more["state"]["offset"] == 5
        assert not set(c["id"] for c in more["cards"]) & set(c["id"] for c in first["cards"])
    state = first["state"]
    for _ in range(12):  # past the reranked candidates: a French sentence, no wrap-around
        res = asst.ask("autre chose ?", state)
        state = res["state"]
    assert not res["cards"] and "pas d'autre jeu" in res["reply"]
    first, who = ask_all(asst, [q1, "qui les publie ?"])
    assert who["action"] == "producers"
    expected = Counter(c["producer"] or "producteur inconnu" for c in who["cards"])
    assert {p["name"]: p["count"] for p in who["producers"]} == dict(expected)
    assert f"{NNBSP}:" in who["reply"]
    _, shown = ask_all(asst, [q1, "montre-les sur la carte"])
    assert shown["action"] == "map" and shown["cards"]
    _, recent = ask_all(asst, [q1, "les plus récents"])
    best = max(c["score"] for c in recent["cards"])
    strong = [c for c in recent["cards"] if c["score"] >= 0.5 * best]
    dates = [c["last_update"] for c in strong]
    assert recent["state"]["sort"] == "recent" and recent["cards"][:len(strong)] == strong
    assert dates == sorted(dates, reverse=True)  # the strong answers, newest first
    _, again = ask_all(asst, [q1, "Recommencer"])
    assert again["action"] == "restart" and again["state"]["topic"] == "" and not again["cards"]


def test_clarifying_choice_and_peu_importe(asst, explorer):
    res = asst.ask("données à Saint-Denis")
    c = res["clarify"]
    assert c is not None and c["slot"] == "territory" and 2 <= len(c["options"]) <= 5
    assert c["none"] == "Peu importe" and "Saint-Denis" in c["question"]
    assert {o["value"].split(":")[0] for o in c["options"]} == {"commune"}
    pick = c["options"][0]
    res2 = asst.ask(None, res["state"], choice={"slot": "territory", **pick})
    assert res2["slots"]["territory"]["value"] == pick["value"] and res2["clarify"] is None
    res3 = asst.ask(None, res2["state"], choice={"slot": "territory", "value": None})
    assert "territory" not in res3["slots"] and "territory" in res3["state"]["asked"]


def test_open_slot_clarification_when_answers_disagree(asst, explorer):
    """Ten cities for one topic: the assistant asks which (once), and still shows 5 answers."""
    facts = asst.facts
    by_topic: dict[str, set] = {}
    for row, key in facts.best_territory.items():
        title = str(explorer.datasets["title"].iat[row]).split()
        if title and key.startswith("commune:"):
            by_topic.setdefault(title[0].lower(), set()).add(key)
    word = max(by_topic, key=lambda w: len(by_topic[w]))
    if len(by_topic[word]) < 3:
        pytest.fail(f"no topic word spread over 3 communes in the fixture ({word})")
    st = new_state() | {"topic": word}
    r = asst.rank(st)
    clar = asst.clarification(dict(st, asked=[], slots={}), r["rows"], None, True)
    keys = [facts.best_territory.get(int(x)) for x in r["rows"][:10]]
    local = [k for k in keys if k and not k.startswith("pays:")]
    should = (sum(1 for k in keys[:3] if k and not k.startswith("pays:")) >= 2 and len(local) >= 4
              and len(Counter(local)) >= 3 and Counter(local).most_common(1)[0][1] < len(local) / 2)
    asked_territory = clar is not None and clar["slot"] == "territory"
    assert asked_territory == should or clar["slot"] == "producer"
    if clar is not None and clar["slot"] == "territory":
        assert 1 <= len(clar["options"]) <= 5
        assert all(o["value"] in set(local) | set(facts.best_territory.values()) for o in clar["options"])


# ---- bad input -------------------------------------------------------------------------------
@pytest.mark.parametrize("question", ["", "   ", None, "?!?... ;;", "…"])
def test_empty_or_punctuation_gets_a_french_reply(asst, question):
    res = asst.ask(question)
    assert res["cards"] == [] and "question" in res["reply"].lower()
    assert res["reply"].endswith((".", "?")) and "Traceback" not in res["reply"]


def test_very_long_question_is_cut_and_answered(asst, local_case):
    res = asst.ask((local_case["topic"] + " ") * 2000)  # ~20,000 characters
    assert any("500 premiers caractères" in n for n in res["notes"])
    assert res["ms"] < 20_000
    # notes are French text like the reply: a narrow no-break space before « : » (U+202F)
    assert any("longue\u202f: je" in n for n in res["notes"]) and not any(" :" in n for n in res["notes"])


def test_unknown_place(asst, local_case):
    res = asst.ask(f"{local_case['topic']} à Zyxwvutville-sur-Qwerty")
    assert any("Zyxwvutville" in n for n in res["notes"]) and "territory" not in res["slots"]
    assert not any(" :" in n or " ?" in n for n in res["notes"])  # French typography (U+202F)
    res = asst.ask("à Zyxwvutville-sur-Qwerty")
    assert "Je ne connais pas le lieu" in res["reply"] and not res["cards"]


def test_html_and_script_are_plain_text(asst, local_case):
    text, _ = sanitise_question(f"<script>alert(1)</script><b>{local_case['topic']}</b>")
    assert "<" not in text and "alert" not in text and local_case["topic"].split()[0] in text
    res = asst.ask(f"<img src=x onerror=alert(1)> {local_case['topic']}")
    blob = json.dumps(res, ensure_ascii=False)
    assert "<img" not in blob and "onerror" not in res["state"]["topic"]


def test_state_from_the_browser_is_validated():
    assert clean_state(None) == new_state()
    assert clean_state({"v": 99, "topic": "x"}) == new_state()
    slots = {"territory": {"value": 3}, "period": {"value": [1, "a"]},
             "format": {"value": "csv", "label": "CSV"}, "hack": 1}
    bad = {"v": 1, "topic": ["not", "text"], "slots": slots,
           "offset": -5, "asked": ["territory", "rm -rf"], "results": ["a" * 1000, "ok"], "turns": "x"}
    st = clean_state(bad)
    assert st["topic"] == "" and set(st["slots"]) == {"format"} and st["offset"] == 0
    assert st["asked"] == ["territory"] and st["results"] == ["ok"] and st["turns"] == 0


def test_display_topic_drops_the_question_words():
    assert display_topic("Où sont les piscines ?") == "piscines"
    assert display_topic("Quel est le prix des carburants ?") == "prix des carburants"
    assert display_topic("liste des écoles") == "liste des écoles"


# ---- evaluation and command line ---------------------------------------------------------------
def test_slot_matching_rules():
    t = {"value": "commune:31555", "label": "Toulouse (commune)"}
    assert slot_matches("territory", t, "31555") and slot_matches("territory", t, "Toulouse")
    assert not slot_matches("territory", t, "69123") and not slot_matches("territory", None, "31555")
    assert slot_matches("period", {"value": [2022, 2026]}, [2022, 2026])
    assert not slot_matches("period", {"value": [2022, 2026]}, [2021, 2026])
    assert slot_matches("format", {"value": "csv"}, "CSV")
    assert slot_matches("producer", {"value": "abc", "label": "Météo-France"}, "Meteo-France")


def test_metrics_count_precision_recall_and_positions():
    played = [
        {"dialogue": "a", "position": 0, "ids": ["x", "y"], "ranking": ["x", "y"], "expected": ["y"],
         "slots": {"territory": {"value": "commune:1", "label": "A"}}, "labels": {"territory": "1"},
         "clarify": False, "ms": 1.0},
        {"dialogue": "a", "position": 1, "ids": ["z"], "ranking": ["z"], "expected": ["q"],
         "slots": {"territory": {"value": "commune:2", "label": "B"}}, "labels": {"territory": "3"},
         "clarify": True, "ms": 2.0},
        {"dialogue": "a", "position": 2, "ids": [], "ranking": [], "expected": None,
         "slots": {"format": {"value": "csv"}}, "labels": {}, "clarify": False, "ms": 3.0},
    ]
    m = metrics(played)
    assert m["success@1"] == 0.0 and m["success@5"] == 0.5 and m["mrr@10"] == 0.25
    assert m["slots"]["territory"] == {"precision": 0.5, "recall": 0.5, "f1": 0.5, "n": 2}
    assert m["slots"]["format"]["precision"] == 0.0 and m["clarifications"] == 1
    assert m["by_position"]["first"]["success@5"] == 1.0 and m["by_position"]["follow_up"]["n"] == 1


def test_dialogue_file_is_big_enough_and_well_formed():
    dialogues = read_dialogues(DIALOGUES)
    turns = [t for d in dialogues for t in d["turns"]]
    assert len(dialogues) >= 30 and len(turns) >= 80
    assert sum(len(d["turns"]) > 1 for d in dialogues) == len(dialogues)  # all multi-turn
    assert all(isinstance(t["user"], str) and t["user"] for t in turns)
    assert all(set(t.get("slots", {})) <= {"territory", "period", "producer", "format"} for t in turns)
    assert len({d["id"] for d in dialogues}) == len(dialogues)


@pytest.mark.slow
def test_dialogue_ids_exist_in_the_export_and_are_not_archived():
    from scripts.tools.check_dialogues import check
    from tests.conftest import FULL_EXPORT

    assert check(read_dialogues(DIALOGUES), FULL_EXPORT) == []


def test_evaluate_dialogues_on_the_fixture(asst, explorer, local_case):
    row_id = str(explorer.datasets["id"].iat[local_case["row"]])
    code = local_case["key"].split(":")[1]
    dialogues = [{"id": "d", "turns": [
        {"user": f"{local_case['topic']} à {local_case['name']}", "expected": [row_id],
         "slots": {"territory": code}},
        {"user": "plutôt en CSV", "slots": {"territory": code, "format": "csv"}},
        {"user": "autre chose ?"}]}]
    m = evaluate_dialogues(asst, dialogues)
    assert m["turns"] == 3 and m["scored"] == 1 and m["success@5"] == 1.0
    assert m["slots"]["territory"]["f1"] == 1.0 and m["slots"]["format"]["recall"] == 1.0


def test_cli_ask_and_evaluate_dialogues(built_root, tmp_path, capsys, local_case, monkeypatch):
    from models import cli
    from models.serve.explorer import Explorer
    from tests.fake_encoders import FakeEncoder

    real_load = Explorer.load
    monkeypatch.setattr(Explorer, "load", classmethod(lambda cls, path, **kw: real_load.__func__(
        cls, path, encoder=FakeEncoder(64))))
    assert cli.main(["ask", "--artifacts", str(built_root), "--json",
                     f"{local_case['topic']} à {local_case['name']}"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["cards"] and out["slots"]["territory"]["value"] == local_case["key"]
    f = tmp_path / "d.jsonl"
    f.write_text(json.dumps({"id": "x", "turns": [{"user": local_case["topic"], "slots": {}}]}) + "\n")
    assert cli.main(["evaluate-dialogues", "--artifacts", str(built_root), "--dialogues", str(f),
                     "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert list(out) == ["turns", "success@1", "success@5", "mrr@10", "slots", "clarifications"]
    assert set(out["slots"]) == {"territory", "period", "producer", "format"}
    assert set(out["slots"]["territory"]) == {"precision", "recall", "f1", "n"}
    assert cli.main(["evaluate-dialogues", "--artifacts", str(built_root), "--dialogues",
                     str(tmp_path / "missing.jsonl"), "--json"]) == 2

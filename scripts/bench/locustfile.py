"""Simulated visitors of the explorer, for locust (``pip install -e .[load]``; run through
``scripts/bench/load_test.py``, which starts gunicorn on 127.0.0.1 and samples its memory).

Each visitor opens the page (layout and callback list, as the browser does), then in a loop:
searches (the button, then the callbacks dash-renderer chains: results, map highlight, URL),
switches the search mode (the filter of the results), clicks a point of the map (selection,
then the dataset's card), opens a topic's word cloud, and through the JSON API (``/api/v1``, as a
notebook or an assistant would) searches with filters, opens a dataset's similar ones and holds a
two-turn « Demander » dialogue (the follow-up sends back the state). Every callback is posted exactly as
dash-renderer posts it, found by its inputs in ``/_dash-dependencies``. A response that is not
200 (or 204: nothing to update) or that is not JSON counts as a failure.

    locust -f scripts/bench/locustfile.py --headless -u 50 -r 5 -t 5m --host http://127.0.0.1:8050
"""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

from locust import HttpUser, between, task

RELEVANCE = Path(__file__).resolve().parents[3] / "shared" / "data" / "relevance"
FALLBACK_QUERIES = ["vacances scolaires", "qualité de l'air", "budget communal", "musées",
                    "accidents de la route", "population par commune", "élections", "transports"]


def _queries() -> list[str]:
    out: list[str] = []
    for f in sorted(RELEVANCE.glob("*.csv")):
        with open(f, encoding="utf-8") as fh:
            out += [r["query"] for r in csv.DictReader(fh) if r.get("query")]
    return sorted(set(out)) or FALLBACK_QUERIES


QUERIES = _queries()


def _names(items: list[dict]) -> list[str]:
    return [f"{i['id']}.{i['property']}" for i in items]


QUESTIONS = ["Quand est-ce que les enfants sont en vacances ?", "Où trouver la qualité de l'air à Lyon ?",
             "Je cherche les accidents de la route", "Quels sont les musées en France ?",
             "données sur les transports en commun"]
FOLLOW_UPS = ["et à Marseille ?", "plutôt en CSV", "les plus récents", "qui les publie ?"]


class Visitor(HttpUser):
    wait_time = between(1, 4)  # seconds a person reads before the next action

    def on_start(self) -> None:
        self.client.get("/", name="page /")
        self.client.get("/_dash-layout", name="layout")
        self.deps = self.client.get("/_dash-dependencies", name="dependencies").json()
        self.modes = ["hybrid", "keyword", "semantic"]
        self.state = None  # SEARCH_STATE store
        self.rows: list[int] = []  # rows of the last results

    # ---- posting a callback as dash-renderer does ---------------------------------------------
    def _spec(self, inputs: list[str], states: list[str] = ()) -> dict | None:
        """The callback with exactly these plain inputs (its pattern-matching ones aside) and states."""
        for d in self.deps:
            plain = [n for n in _names(d["inputs"]) if not n.startswith("{")]
            if plain == inputs and _names(d["state"]) == list(states):
                return d
        return None

    def callback(self, name: str, inputs: dict, state: dict | None = None) -> dict | None:
        spec = self._spec(list(inputs), list(state or {}))
        if spec is None:  # this build does not have that callback (e.g. another page layout)
            return None

        def items(declared: list[dict], values: dict) -> list:
            out = []
            for item in declared:
                if item["id"].startswith("{"):
                    out.append([])  # a pattern-matching input: no such item on the page now
                else:
                    key = f"{item['id']}.{item['property']}"
                    out.append({"id": item["id"], "property": item["property"], "value": values[key]})
            return out

        parts = spec["output"].strip(".").split("...")
        outputs = [dict(zip(("id", "property"), p.rsplit(".", 1), strict=True)) for p in parts]
        body = {"output": spec["output"], "outputs": outputs if len(outputs) > 1 else outputs[0],
                "inputs": items(spec["inputs"], inputs), "state": items(spec["state"], state or {}),
                "changedPropIds": [next(iter(inputs))]}
        with self.client.post("/_dash-update-component", json=body, name=name,
                              catch_response=True) as r:
            if r.status_code == 204:
                r.success()
                return {}
            if r.status_code != 200:
                r.failure(f"HTTP {r.status_code}")
                return None
            try:
                payload = r.json()["response"]
            except (ValueError, KeyError):
                r.failure("not a Dash JSON response")
                return None
            r.success()
            return payload

    # ---- what a visitor does --------------------------------------------------------------------
    def _search(self, q: str, mode: str, trigger: str) -> None:
        inputs = {"search-button.n_clicks": 1 if trigger == "button" else None,
                  "search-input.n_submit": None, "search-mode.value": mode,
                  "search-sort.value": "relevance"}
        out = self.callback(f"search ({trigger})", inputs,
                            {"search-input.value": q, "search-state.data": self.state})
        if not out:
            return
        self.state = out.get("search-state", {}).get("data", self.state)
        res = self.callback("results", {"search-state.data": self.state}) or {}
        highlight = res.get("map-highlight", {}).get("data")
        if highlight:
            self.rows = [int(r) for r in highlight.get("rows", [])]
            self.callback("map highlight", {"map-highlight.data": highlight})
        self.callback("url", {"search-state.data": self.state, "selected-dataset.data": None},
                      {"url.search": ""})

    @task(5)
    def search(self) -> None:
        self._search(random.choice(QUERIES), random.choice(self.modes), "button")

    @task(2)
    def change_mode(self) -> None:
        if self.state and self.state.get("q"):
            mode = random.choice([m for m in self.modes if m != self.state.get("mode")])
            self._search(self.state["q"], mode, "mode")

    @task(4)
    def click_map(self) -> None:
        if self.rows and random.random() < 0.6:  # a highlighted result
            point = {"curveNumber": 1, "customdata": random.choice(self.rows)}
        else:  # anywhere on the map
            point = {"curveNumber": 0, "pointIndex": random.randrange(200)}
        out = self.callback("map click", {"map.clickData": {"points": [point]}})
        selected = (out or {}).get("selected-dataset", {}).get("data")
        if selected:
            self.callback("dataset card", {"selected-dataset.data": selected})

    @task(1)
    def topic_cloud(self) -> None:
        self.callback("topic cloud", {"topic-dropdown.value": random.randrange(8)})

    # ---- the JSON API (the soak of issue 23: filters, similar, assistant turns) -------------------
    def _api(self, name: str, path: str, body: dict | None = None) -> dict | None:
        call = self.client.post(path, json=body, name=name, catch_response=True) if body is not None \
            else self.client.get(path, name=name, catch_response=True)
        with call as r:
            if r.status_code != 200:
                r.failure(f"HTTP {r.status_code}")
                return None
            try:
                data = r.json()
            except ValueError:
                r.failure("not JSON")
                return None
            r.success()
            return data

    @task(2)
    def api_filtered_search(self) -> None:
        from urllib.parse import urlencode

        params = {"q": random.choice(QUERIES), "k": 10,
                  **random.choice([{"format": "csv"}, {"year": "2018-2024"}, {"has_reuses": "oui"}, {}])}
        out = self._api("api search + filter", "/api/v1/search?" + urlencode(params))
        self.api_ids = [r["id"] for r in (out or {}).get("results", [])] or getattr(self, "api_ids", [])

    @task(2)
    def api_similar(self) -> None:
        ids = getattr(self, "api_ids", [])
        if ids:
            self._api("api similar", f"/api/v1/datasets/{random.choice(ids)}/similar?k=10")

    @task(2)
    def api_ask(self) -> None:
        first = self._api("api ask", "/api/v1/ask", {"question": random.choice(QUESTIONS)})
        if first and first.get("state"):
            self._api("api ask (follow-up)", "/api/v1/ask",
                      {"question": random.choice(FOLLOW_UPS), "state": first["state"]})

    @task(1)
    def reload_page(self) -> None:
        self.client.get("/", name="page /")
        self.client.get("/_dash-layout", name="layout")


if __name__ == "__main__":  # a quick look at the callbacks a visitor uses
    print(json.dumps({"queries": len(QUERIES)}))

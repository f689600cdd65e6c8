"""Benchmark of a build as the app serves it: ``python -m models bench --artifacts DIR [--json]``.

Starts ``python app.py --artifacts DIR --port <free port>`` on 127.0.0.1 as a subprocess (always
stopped, try/finally), then measures, over loopback HTTP only, what a browser would live through:

* ``start_s`` — process start to the first ``200`` on ``/`` (artifacts loaded, search modes probed;
  the rest of the search's warm-up runs in a thread once serving, ``app.warm_in_background``);
* ``first_search_s`` — process start to the first search answered (the page's layout fetched,
  then one search callback): what a person searching at once waits, warm-up included;
* ``map_payload_bytes`` — the initial map figure inside ``/_dash-layout`` (bytes as sent);
* ``map_labels_bytes`` — the map's region labels store (``map-labels``) inside ``/_dash-layout``,
  and ``map_with_labels_bytes`` the figure and the labels together (target ≤ 1.5 MB);
* ``highlight_payload_bytes`` — the map's overlay (a ``Patch``) that a search sends with its
  results, largest over the sequential queries;
* ``search_requests`` — the requests one search of the page costs (1: the overlay comes with the
  results);
* ``search_p50_ms`` / ``search_p95_ms`` — one search as the page runs it, sequentially over
  :data:`QUERIES`: ``POST /_dash-update-component`` of the search callback (body built from
  ``/_dash-dependencies``, as dash-renderer does), whose response carries the map's overlay; a
  highlight the search did not draw (``"drawn"`` missing) costs the overlay callback's request too,
  as in the browser;
* ``search_concurrent_p95_ms`` — the same with :data:`CLIENTS` concurrent clients (threads,
  bounded count and time), on other queries so that no query vector comes from the app's cache;
* ``filtered_search_p95_ms`` — the same search callback with two filters (``format=csv`` and
  ``modified=2020-…``: formats and years exist in every build) and its facet counts, then the
  overlay; ``filter_payload_bytes`` — the largest map-fade store it sent (the filter mask);
* ``facet_counts_p95_ms`` — the facet counts alone (every filter key) over a query's 1,000 best
  keyword candidates, in this process (``Explorer.catalogue.facets``), once the app is stopped;
* ``ask_p50_ms`` / ``ask_p95_ms`` — one « Demander » turn as the page runs it, sequentially over
  :data:`ASK_DIALOGUES` (a question, then its follow-up with the state the first turn returned):
  the turn callback (understanding, hybrid search with the slots, passage rerank, extraction),
  then the transcript callback that renders it;
* ``api_search_p95_ms`` / ``api_search_concurrent_p95_ms`` — ``GET /api/v1/search?q=…`` (the JSON
  API, :mod:`models.api`), sequentially over :data:`QUERIES` (prefixed by :data:`API_PREFIX`: no
  query vector from the app's cache), then with :data:`CLIENTS` concurrent clients;
* ``api_ask_p95_ms`` / ``api_ask_concurrent_p95_ms`` — ``POST /api/v1/ask`` turns of
  :data:`API_ASK_DIALOGUES` (the follow-up with the state the first turn returned), sequentially,
  then with :data:`CLIENTS` concurrent clients (first questions suffixed); the app runs with
  ``EXPLORER_API_RATE=0`` unless set (one address plays every client: the per-client limit
  would refuse them);
* ``coverage_p95_ms`` — ``GET /api/v1/coverage?q=…`` (« Où sont ces données ? »: every answer of
  the question counted per département and région), sequentially over :data:`QUERIES` (prefixed);
* ``rss_mb`` — resident memory of the app process (and children), MiB, after the searches;
  ``rss_anon_mb`` / ``rss_file_mb`` — the app process's private (anonymous) and file-backed
  resident memory apart (Linux; the file-backed pages — memory-mapped model weights, vectors,
  row table — are shared by gunicorn's workers and reclaimable);
* ``passages_per_s`` — the build's encoder, loaded in this process once the app is stopped,
  encoding ~200 catalogue passages (``None`` with ``skip_embedding``);
* ``n_datasets`` — from the manifest.

No Dash import here: the app is driven over HTTP like a browser. The component ids below are
those of ``components/ids.py`` (a test checks they agree).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from models.core.config import REPO
from models.core.store import read_manifest, resolve_build_dir

log = logging.getLogger(__name__)

BENCH_KEYS = ("start_s", "first_search_s", "map_payload_bytes", "map_labels_bytes", "map_with_labels_bytes",
              "highlight_payload_bytes", "search_requests", "search_p50_ms",
              "search_p95_ms", "search_concurrent_p95_ms", "filtered_search_p95_ms",
              "filter_payload_bytes", "facet_counts_p95_ms", "ask_p50_ms", "ask_p95_ms",
              "api_search_p95_ms", "api_search_concurrent_p95_ms", "api_ask_p95_ms",
              "api_ask_concurrent_p95_ms", "coverage_p95_ms", "rss_mb", "rss_anon_mb",
              "rss_file_mb", "passages_per_s", "n_datasets")

# targets on the full non-archived catalogue (~70,500 datasets): key -> (maximum, unit)
TARGETS = {
    "start_s": (20.0, "s"),
    "first_search_s": (25.0, "s"),
    "map_payload_bytes": (1_500_000, "o"),
    "map_with_labels_bytes": (1_500_000, "o"),
    "highlight_payload_bytes": (20_000, "o"),
    "search_p95_ms": (150.0, "ms"),
    "search_concurrent_p95_ms": (800.0, "ms"),
    "filtered_search_p95_ms": (150.0, "ms"),
    "filter_payload_bytes": (20_000, "o"),
    "facet_counts_p95_ms": (30.0, "ms"),
    "ask_p95_ms": (1500.0, "ms"),
    "api_search_p95_ms": (60.0, "ms"),
    "api_ask_p95_ms": (150.0, "ms"),
    "coverage_p95_ms": (300.0, "ms"),
    "rss_mb": (1536.0, "Mio"),
    "rss_anon_mb": (500.0, "Mio"),
}

LABELS = {
    "start_s": "démarrage jusqu'au premier 200 sur /",
    "first_search_s": "démarrage jusqu'à la première recherche servie",
    "map_payload_bytes": "figure initiale de la carte",
    "map_labels_bytes": "noms des régions de la carte",
    "map_with_labels_bytes": "carte et noms des régions",
    "highlight_payload_bytes": "surlignage des résultats sur la carte",
    "search_requests": "requêtes par recherche de la page",
    "search_p50_ms": "recherche p50 (séquentiel)",
    "search_p95_ms": "recherche p95 (séquentiel)",
    "search_concurrent_p95_ms": "recherche p95 (8 clients)",
    "filtered_search_p95_ms": "recherche + 2 filtres + comptes p95",
    "filter_payload_bytes": "masque des filtres pour la carte",
    "facet_counts_p95_ms": "comptes des filtres seuls p95",
    "ask_p50_ms": "tour de « Demander » p50",
    "ask_p95_ms": "tour de « Demander » p95",
    "api_search_p95_ms": "API : recherche p95 (séquentiel)",
    "api_search_concurrent_p95_ms": "API : recherche p95 (8 clients)",
    "api_ask_p95_ms": "API : question p95 (séquentiel)",
    "api_ask_concurrent_p95_ms": "API : question p95 (8 clients)",
    "coverage_p95_ms": "« Où sont ces données ? » p95 (API)",
    "rss_mb": "mémoire résidente de l'app",
    "rss_anon_mb": "mémoire privée de l'app (anonyme)",
    "rss_file_mb": "mémoire de l'app adossée à des fichiers",
    "passages_per_s": "débit d'encodage (passages/s)",
    "n_datasets": "jeux de données",
}

# component ids (components/ids.py)
MAP_ID = "map"
MAP_LABELS_ID = "map-labels"
SEARCH_STATE_ID = "search-state"
SEARCH_MODE_ID = "search-mode"
HIGHLIGHT_ID = "map-highlight"
HIGHLIGHT_DRAW_ID = "map-highlight-draw"
MAP_FILTER_ID = "map-filter"
BENCH_FILTERS = {"format": "csv", "modified": "2020-2100"}
# the « Demander » page (components/ask_page.py)
ASK_SEND_ID = "ask-send"
ASK_STATE_ID = "ask-state"
ASK_HISTORY_ID = "ask-history"
ASK_INPUT_ID = "ask-input"
ASK_TRANSCRIPT_ID = "ask-transcript"

# 50 varied French queries: short keywords, sentences, acronyms, places, typos, accents
QUERIES = [
    "vacances scolaires", "Quand est-ce que les enfants sont en vacances ?", "qualité de l'eau potable",
    "prix des carburants", "accidents de la route", "élections municipales résultats",
    "population par commune", "budget des collectivités", "horaires des transports en commun",
    "pistes cyclables", "bornes de recharge pour véhicules électriques", "défibrillateurs",
    "liste des écoles primaires", "restaurants scolaires menus", "qualité de l'air pollution",
    "consommation d'électricité par commune", "DVF demandes de valeurs foncières",
    "SIRENE entreprises", "cadastre parcelles", "plan local d'urbanisme", "risques naturels inondation",
    "arbres remarquables", "stationnement vélo Paris", "subventions aux associations",
    "marchés publics attribués", "hôpitaux et établissements de santé", "médecins généralistes",
    "prénoms des nouveau-nés", "délinquance et criminalité", "chômage par département",
    "logements sociaux", "permis de construire", "monuments historiques", "musées de France fréquentation",
    "bibliothèques", "équipements sportifs", "zones humides", "biodiversité espèces protégées",
    "déchets collecte et tri", "éclairage public", "trafic routier comptages", "Où se baigner cet été ?",
    "météo températures historiques", "agriculture bio surfaces", "aides PAC", "séismes",
    "festivals et événements culturels", "wifi public gratuit", "cantine bio", "radars automatiques",
]
# the concurrent phase: other queries (the app keeps the last query vectors), same variety
CONCURRENT_SUFFIXES = ["en Bretagne", "à Lyon", "2023", "par région", "en Occitanie", "données ouvertes",
                       "à Marseille", "historique"]
# « Demander »: (question, follow-up) pairs, every slot kind and command represented
ASK_DIALOGUES = [
    ("Où sont les piscines à Toulouse ?", "et à Lyon ?"),
    ("Quand sont les vacances scolaires ?", "et pour la zone B ?"),
    ("prix des carburants", "et en Bretagne ?"),
    ("données sur le covid", "par département"),
    ("défibrillateurs à Nantes", "qui les publie ?"),
    ("accidents de la route", "seulement depuis 2022"),
    ("qualité de l'air à Paris", "plutôt en CSV"),
    ("bornes de recharge pour véhicules électriques", "les plus récents"),
    ("horaires des bus à Rennes", "montre-les sur la carte"),
    ("liste des écoles", "autre chose ?"),
    ("résultats des élections législatives", "seulement ceux du ministère de l'Intérieur"),
    ("équipements sportifs à Saint-Denis", "et à Marseille ?"),
    ("budget de la commune de Grenoble", "plutôt en JSON"),
    ("Où se baigner cet été ?", "en Bretagne"),
    ("arbres remarquables", "à Paris"),
]
# the JSON API (models/api): its own queries and dialogues, so that none is in the app's caches
API_PREFIX = "fichier"
API_ASK_DIALOGUES = [
    ("Où trouver les menus des cantines scolaires ?", "et à Bordeaux ?"),
    ("stations de mesure de la qualité de l'air", "en Normandie"),
    ("Combien de naissances par commune ?", "seulement depuis 2020"),
    ("parkings relais", "plutôt en JSON"),
    ("Où sont les déchetteries ?", "et à Lille ?"),
    ("nombre de logements vacants", "par département"),
    ("subventions de l'État aux communes", "les plus récents"),
    ("localisation des pharmacies", "autre chose ?"),
]
CLIENTS = 8
PER_CLIENT = 8
CONCURRENT_DEADLINE_S = 180.0
N_PASSAGES = 200
N_ENCODER_PASSAGES = 2000


class BenchError(RuntimeError):
    """The benchmark could not run (the app did not start, a callback failed, ...)."""


# ---- HTTP, loopback only ------------------------------------------------------------------

class AppClient:
    """A tiny HTTP client for the app on 127.0.0.1 (no proxy, a fresh connection per request)."""

    def __init__(self, port: int, timeout: float = 60.0) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.timeout = timeout
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def request(self, path: str, body: dict | None = None) -> tuple[int, bytes]:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method="GET" if body is None else "POST",
                                     headers={"Content-Type": "application/json"} if body is not None else {})
        try:
            with self._opener.open(req, timeout=self.timeout) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def dependencies(self) -> list[dict]:
        """``/_dash-dependencies``: every callback of the app, as dash-renderer reads them."""
        status, raw = self.request("/_dash-dependencies")
        if status != 200:
            raise BenchError(f"/_dash-dependencies answered {status}")
        return json.loads(raw)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---- Dash's wire protocol, read from /_dash-dependencies -----------------------------------

def split_output(output: str) -> list[dict]:
    """``"..a.children...b.data@h.."`` or ``"map.figure@h"`` -> ``[{"id", "property"}, ...]``."""
    parts = output[2:-2].split("...") if output.startswith("..") else [output]
    out = []
    for part in parts:
        cut = part.rindex("}") + 1 if part.startswith("{") else part.index(".")
        cid, prop = part[:cut], part[cut + 1:]
        out.append({"id": json.loads(cid) if cid.startswith("{") else cid, "property": prop})
    return out


def _key(item: dict) -> str:
    cid = item["id"]
    return f"{cid if isinstance(cid, str) else json.dumps(cid, sort_keys=True)}.{item['property']}"


def find_callback(deps: list[dict], inputs: Sequence[str], output_contains: str) -> dict:
    """The callback whose inputs are exactly ``inputs`` (``"id.prop"``) and whose output string
    contains ``output_contains``."""
    found = [d for d in deps if [_key(i) for i in d["inputs"]] == list(inputs)
             and output_contains in d["output"]]
    if len(found) != 1:
        raise BenchError(f"expected one callback {list(inputs)} -> {output_contains}, found {len(found)}")
    return found[0]


def _is_pattern_list(dep: dict) -> bool:
    """An ``ALL``/``ALLSMALLER`` pattern-matching dependency (sent as a list of items)."""
    cid = dep["id"]
    if isinstance(cid, str) and cid.startswith("{"):
        cid = json.loads(cid)
    return isinstance(cid, dict) and any(v in (["ALL"], ["ALLSMALLER"]) for v in cid.values())


def callback_body(spec: dict, values: dict) -> dict:
    """The JSON body dash-renderer POSTs to ``/_dash-update-component`` for ``spec``, with
    ``values`` ({"id.prop": value}) for its inputs and state (missing: None). A pattern-matching
    dependency is the list of its matching items (``values`` may give them; none by default),
    and the trigger is the first input that is not one (the app refuses any other shape)."""
    outputs = split_output(spec["output"])

    def items(deps):
        return [values.get(_key(d), []) if _is_pattern_list(d)
                else {"id": d["id"], "property": d["property"], "value": values.get(_key(d))} for d in deps]

    inputs = items(spec["inputs"])
    return {"output": spec["output"], "outputs": outputs if len(outputs) > 1 else outputs[0],
            "inputs": inputs, "state": items(spec.get("state", [])),
            "changedPropIds": [_key(i) for i in spec["inputs"] if not _is_pattern_list(i)][:1]}


def find_component(node, component_id: str):
    if isinstance(node, dict):
        if node.get("props", {}).get("id") == component_id:
            return node
        for v in node.values():
            hit = find_component(v, component_id)
            if hit is not None:
                return hit
    elif isinstance(node, list):
        for v in node:
            hit = find_component(v, component_id)
            if hit is not None:
                return hit
    return None


def payload_bytes(obj, raw: bytes, whole) -> int:
    """Bytes ``obj`` takes inside the raw response ``raw`` (which decodes to ``whole``): compact
    JSON of ``obj`` scaled by the response's own escaping (plotly writes ``/`` as ``\\u002f``)."""
    compact = len(json.dumps(whole, separators=(",", ":")))
    scale = len(raw) / compact if compact else 1.0
    return round(len(json.dumps(obj, separators=(",", ":"))) * scale)


class SearchDriver:
    """Runs a search the way the map page does: the search callback, whose response carries the
    map's overlay; the overlay callback too when it does not (``self.requests``: the last
    search's requests)."""

    def __init__(self, client: AppClient) -> None:
        self.client = client
        deps = client.dependencies()
        self.search_spec = find_callback(deps, [f"{SEARCH_STATE_ID}.data"], f"{HIGHLIGHT_ID}.data")
        self.highlight_spec = find_callback(deps, [f"{HIGHLIGHT_DRAW_ID}.data"], f"{MAP_ID}.figure")
        self.requests = 0

    def search(self, query: str, mode: str | None, filters: dict | None = None) -> tuple[float, int]:
        """One search: (seconds, bytes of the map's overlay). With ``filters``, also the size
        of the map's filter mask (``self.last_filter_bytes``)."""
        t0 = time.perf_counter()
        st = {"q": query, "mode": mode}
        if filters:
            st["filters"] = filters
        body = callback_body(self.search_spec, {f"{SEARCH_STATE_ID}.data": st})
        status, raw = self.client.request("/_dash-update-component", body)
        if status != 200:
            raise BenchError(f"search callback answered {status} for {query!r}: {raw[:300]!r}")
        whole = json.loads(raw)
        response = whole["response"]
        self.last_filter_bytes = len(json.dumps(response.get(MAP_FILTER_ID, {}).get("data"),
                                                separators=(",", ":")))
        highlight = response[HIGHLIGHT_ID]["data"]
        if highlight.get("drawn") and MAP_ID in response:  # the overlay came with the results
            self.requests = 1
            seconds = time.perf_counter() - t0
            return seconds, payload_bytes(response[MAP_ID], raw, whole)
        body = callback_body(self.highlight_spec, {f"{HIGHLIGHT_DRAW_ID}.data": highlight})
        status, raw = self.client.request("/_dash-update-component", body)
        if status != 200:
            raise BenchError(f"overlay callback answered {status} for {query!r}: {raw[:300]!r}")
        self.requests = 2
        return time.perf_counter() - t0, len(raw)


class ApiDriver:
    """The JSON API ``/api/v1`` (models/api): a search, a dialogue of « ask » turns."""

    def __init__(self, client: AppClient) -> None:
        self.client = client

    def search(self, query: str, mode: str | None = None, *_ignored) -> tuple[float, int]:
        from urllib.parse import urlencode

        t0 = time.perf_counter()
        path = "/api/v1/search?" + urlencode({"q": query, "mode": mode or "hybrid"})
        status, raw = self.client.request(path)
        if status != 200:
            raise BenchError(f"GET /api/v1/search answered {status} for {query!r}: {raw[:300]!r}")
        return time.perf_counter() - t0, len(raw)

    def coverage(self, query: str) -> float:
        from urllib.parse import urlencode

        t0 = time.perf_counter()
        status, raw = self.client.request("/api/v1/coverage?" + urlencode({"q": query}))
        if status != 200:
            raise BenchError(f"GET /api/v1/coverage answered {status} for {query!r}: {raw[:300]!r}")
        return time.perf_counter() - t0

    def dialogue(self, turns) -> list[float]:
        times, state = [], None
        for text in turns:
            t0 = time.perf_counter()
            status, raw = self.client.request("/api/v1/ask", {"question": text, "state": state})
            if status != 200:
                raise BenchError(f"POST /api/v1/ask answered {status} for {text!r}: {raw[:300]!r}")
            times.append(time.perf_counter() - t0)
            state = json.loads(raw)["state"]
        return times

    def dialogues(self, pairs) -> list[float]:
        return [t for pair in pairs for t in self.dialogue(pair)]

    def concurrent_dialogues(self, pairs, clients: int, deadline_s: float) -> list[float]:
        times: list[float] = []
        errors: list[BaseException] = []
        lock = threading.Lock()
        stop_at = time.perf_counter() + deadline_s

        def client(i: int) -> None:
            for j in range(2):
                a, b = pairs[(2 * i + j) % len(pairs)]
                if time.perf_counter() > stop_at or errors:
                    return
                try:
                    dt = self.dialogue((f"{a} {CONCURRENT_SUFFIXES[i % len(CONCURRENT_SUFFIXES)]}", b))
                except BaseException as exc:  # reported once all threads are done
                    with lock:
                        errors.append(exc)
                    return
                with lock:
                    times.extend(dt)

        threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=max(stop_at - time.perf_counter(), 0) + 60)
        if errors:
            raise BenchError(f"a concurrent « ask » failed: {errors[0]}")
        return times


def api_measures(client: AppClient, queries: Sequence[str], *, clients: int, per_client: int,
                 deadline_s: float, ask_dialogues, pid: int | None = None) -> dict:
    """The ``api_*`` keys (module docstring); with ``pid``, the app's CPU time per request is logged
    (the latency to expect on an idle machine)."""
    api = ApiDriver(client)
    api.search("données publiques")  # warm-up (the blueprint's first request), not counted
    cpu0 = app_cpu_s(pid) if pid else 0.0
    seq = [api.search(f"{API_PREFIX} {q}")[0] for q in queries]
    if pid:
        log.info("API: the app's CPU time %.1f ms a search", 1000 * (app_cpu_s(pid) - cpu0) / len(seq))
    conc = concurrent_searches(api, [f"{API_PREFIX} {q}" for q in concurrent_queries(queries)], None,
                               clients=clients, per_client=per_client, deadline_s=deadline_s)
    out = {"api_search_p95_ms": percentile_ms(seq, 95),
           "api_search_concurrent_p95_ms": percentile_ms(conc, 95),
           "coverage_p95_ms": percentile_ms([api.coverage(f"{API_PREFIX} {q}") for q in queries], 95)}
    if ask_dialogues:
        cpu0 = app_cpu_s(pid) if pid else 0.0
        turns = api.dialogues(ask_dialogues)
        if pid:
            log.info("API: the app's CPU time %.1f ms an « ask » turn",
                     1000 * (app_cpu_s(pid) - cpu0) / len(turns))
        cturns = api.concurrent_dialogues(ask_dialogues, clients, deadline_s)
        out.update(api_ask_p95_ms=percentile_ms(turns, 95),
                   api_ask_concurrent_p95_ms=percentile_ms(cturns, 95))
    log.info("API: search p95 %s ms (%d), with %d clients %s ms (%d); ask p95 %s ms, with %d clients %s ms",
             out["api_search_p95_ms"], len(seq), clients, out["api_search_concurrent_p95_ms"], len(conc),
             out.get("api_ask_p95_ms"), clients, out.get("api_ask_concurrent_p95_ms"))
    return out


class AskDriver:
    """Runs « Demander » turns the way the page does: the turn callback, then the transcript."""

    def __init__(self, client: AppClient) -> None:
        self.client = client
        deps = client.dependencies()
        found = [d for d in deps if f"{ASK_STATE_ID}.data" in d["output"]
                 and any(_key(i) == f"{ASK_SEND_ID}.n_clicks" for i in d["inputs"])]
        if len(found) != 1:
            raise BenchError(f"expected one « Demander » turn callback, found {len(found)}")
        self.turn_spec = found[0]
        self.show_spec = find_callback(deps, [f"{ASK_HISTORY_ID}.data"], f"{ASK_TRANSCRIPT_ID}.children")

    def turn(self, text: str, state, history) -> tuple[float, dict, list]:
        t0 = time.perf_counter()
        values = {f"{ASK_SEND_ID}.n_clicks": 1, f"{ASK_INPUT_ID}.value": text,
                  f"{ASK_STATE_ID}.data": state, f"{ASK_HISTORY_ID}.data": history}
        body = callback_body(self.turn_spec, values)
        body["changedPropIds"] = [f"{ASK_SEND_ID}.n_clicks"]
        status, raw = self.client.request("/_dash-update-component", body)
        if status != 200:
            raise BenchError(f"« Demander » turn answered {status}: {raw[:300]!r}")
        resp = json.loads(raw)["response"]
        state, history = resp[ASK_STATE_ID]["data"], resp[ASK_HISTORY_ID]["data"]
        body = callback_body(self.show_spec, {f"{ASK_HISTORY_ID}.data": history})
        status, raw = self.client.request("/_dash-update-component", body)
        if status != 200:
            raise BenchError(f"« Demander » transcript answered {status}: {raw[:300]!r}")
        return time.perf_counter() - t0, state, history

    def dialogues(self, pairs) -> list[float]:
        times = []
        for pair in pairs:
            state, history = None, []
            for text in pair:
                dt, state, history = self.turn(text, state, history)
                times.append(dt)
        return times


# ---- the app subprocess -------------------------------------------------------------------

def start_app(artifacts: Path, port: int, log_file, timeout: float,
              models_dir: Path | None = None,
              query_encoder: str | None = None) -> tuple[subprocess.Popen, float]:
    """``python app.py`` on 127.0.0.1:port; returns the process and the seconds to the first 200."""
    cmd = [sys.executable, str(REPO / "app.py"), "--artifacts", str(artifacts),
           "--host", "127.0.0.1", "--port", str(port)]
    if models_dir is not None:
        cmd += ["--models-dir", str(models_dir)]
    if query_encoder:
        cmd += ["--query-encoder", query_encoder]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=log_file, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL,
                            env={**os.environ, "EXPLORER_API_RATE": os.environ.get("EXPLORER_API_RATE", "0")})
    client = AppClient(port, timeout=5.0)
    while True:
        if proc.poll() is not None:
            raise BenchError(f"the app exited with status {proc.returncode} before serving")
        try:
            if client.request("/")[0] == 200:
                return proc, time.perf_counter() - t0
        except OSError:
            pass
        if time.perf_counter() - t0 > timeout:
            raise BenchError(f"the app did not answer on / within {timeout:.0f} s")
        time.sleep(0.1)


def stop_app(proc: subprocess.Popen | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=15)


def rss_mib(pid: int) -> float:
    import psutil

    p = psutil.Process(pid)
    total = p.memory_info().rss
    for child in p.children(recursive=True):
        with contextlib.suppress(psutil.NoSuchProcess):
            total += child.memory_info().rss
    return total / 2**20


def app_cpu_s(pid: int) -> float:
    import psutil

    t = psutil.Process(pid).cpu_times()
    return t.user + t.system


def memory_parts(pid: int) -> dict[str, float | None]:
    """``{"rss_anon_mb", "rss_file_mb"}`` of process ``pid`` (Linux ``/proc``; None elsewhere):
    model weights, vectors and the row table are memory-mapped files, clean pages shared between
    processes and reclaimable; the anonymous part is the process's own."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return {"rss_anon_mb": None, "rss_file_mb": None}
    kb = {line.split(":")[0]: int(line.split()[1]) for line in status.splitlines()
          if line.startswith(("RssAnon", "RssFile"))}
    return {"rss_anon_mb": round(kb["RssAnon"] / 1024, 1) if "RssAnon" in kb else None,
            "rss_file_mb": round(kb["RssFile"] / 1024, 1) if "RssFile" in kb else None}


def memory_breakdown(pid: int) -> str:
    """Anonymous vs file-backed resident memory (Linux), one line for the log."""
    parts = memory_parts(pid)
    if parts["rss_anon_mb"] is None:
        return "n/a"
    return f"RssAnon {parts['rss_anon_mb']:.0f} MiB, RssFile {parts['rss_file_mb']:.0f} MiB"


def percentile_ms(seconds: Sequence[float], q: float) -> float | None:
    return round(float(np.percentile(np.asarray(seconds) * 1000.0, q)), 1) if len(seconds) else None


def concurrent_searches(driver: SearchDriver, queries: Sequence[str], mode: str | None, *,
                        clients: int, per_client: int, deadline_s: float) -> list[float]:
    """``clients`` threads, ``per_client`` searches each, stopped at ``deadline_s``."""
    times: list[float] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    stop_at = time.perf_counter() + deadline_s

    def client(i: int) -> None:
        for j in range(per_client):
            if time.perf_counter() > stop_at or errors:
                return
            q = queries[(i * per_client + j) % len(queries)]
            try:
                dt, _ = driver.search(q, mode)
            except BaseException as exc:  # reported once all threads are done
                with lock:
                    errors.append(exc)
                return
            with lock:
                times.append(dt)

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=max(stop_at - time.perf_counter(), 0) + 60)
    if errors:
        raise BenchError(f"a concurrent search failed: {errors[0]}")
    return times


def concurrent_queries(queries: Sequence[str]) -> list[str]:
    return [f"{q} {CONCURRENT_SUFFIXES[i % len(CONCURRENT_SUFFIXES)]}" for i, q in enumerate(queries)]


def embedding_throughput(build_dir: Path, manifest: dict, models_dir: Path, n: int = N_PASSAGES) -> float:
    """Passages/s of the build's encoder on ``n`` catalogue passages (no cache)."""
    import pandas as pd

    from models.core.encoders import load_encoder
    from models.core.text import passage_text

    m = manifest["model"]
    enc = load_encoder(m["name"], models_dir=models_dir, max_seq_length=m.get("max_seq_length", 128))
    df = pd.read_parquet(build_dir / "datasets.parquet", columns=["title", "description_text"])
    take = np.random.default_rng(0).permutation(len(df))[:n]
    passages = [passage_text(df["title"].iat[i], df["description_text"].iat[i]) for i in take]
    enc.encode(passages[:8], kind="passage")  # warm-up (first call allocates, JIT, ...)
    t0 = time.perf_counter()
    enc.encode(passages, kind="passage", batch_size=32)
    return round(len(passages) / (time.perf_counter() - t0), 1)


def encoder_pair(models_dir: Path, threads: int) -> dict:
    """``{"torch": e5 through sentence-transformers, "onnx-fp32": its exact float32 export,
    "onnx-int8": its int8 export, "torch-bf16": torch with bfloat16 products (where the processor
    has them)}``, all limited to ``threads`` threads (the ONNX folders are
    exported first if missing)."""
    import torch

    from models.core.encoders import (
        Bf16Encoder,
        SentenceTransformerEncoder,
        bf16_supported,
        resolve_model_path,
    )
    from models.core.onnx_encoder import SOURCE_MODEL, OnnxEncoder, ensure_onnx_model

    torch.set_num_threads(threads)
    path = resolve_model_path(SOURCE_MODEL, models_dir)
    out = {"torch": SentenceTransformerEncoder(path),
           "onnx-fp32": OnnxEncoder(ensure_onnx_model(models_dir, variant="fp32"), threads=threads),
           "onnx-int8": OnnxEncoder(ensure_onnx_model(models_dir), threads=threads)}
    if bf16_supported():  # else torch emulates bfloat16: nothing to compare
        out["torch-bf16"] = Bf16Encoder(path)
    return out


def encoder_comparison(artifacts: str | Path, *, models_dir: Path | None = None,
                       n: int = N_ENCODER_PASSAGES, threads: int | None = None,
                       chunk: int = 250) -> dict:
    """The torch e5 encoder and its ONNX exports side by side, in this process, on the same
    ``n`` catalogue passages of the build (random, seed 0), with the same number of threads
    (default: one per core). Chunks of ``chunk`` passages alternate between them, so that a
    change of load on the machine weighs on all alike. Fidelity of each export: cosine of each
    passage's vector with torch's (min, mean), largest per-component difference; speed: its
    ratio to torch in the same run."""
    import pandas as pd

    from models.core.text import passage_text

    build_dir = resolve_build_dir(artifacts)
    models_dir = Path(models_dir or build_dir.parent.parent / "models")
    threads = int(threads or os.cpu_count() or 1)
    encoders = encoder_pair(models_dir, threads)
    df = pd.read_parquet(build_dir / "datasets.parquet", columns=["title", "description_text"])
    take = np.random.default_rng(0).permutation(len(df))[:n]
    passages = [passage_text(df["title"].iat[i], df["description_text"].iat[i]) for i in take]
    vecs = {name: np.empty((len(passages), enc.dim), np.float32) for name, enc in encoders.items()}
    seconds = dict.fromkeys(encoders, 0.0)
    for enc in encoders.values():
        enc.encode(passages[:16], kind="passage")  # warm-up: allocations, first-run kernels
    for start in range(0, len(passages), chunk):
        part = passages[start:start + chunk]
        for name, enc in encoders.items():
            t0 = time.perf_counter()
            vecs[name][start:start + len(part)] = enc.encode(part, kind="passage", batch_size=32)
            seconds[name] += time.perf_counter() - t0
        log.info("encoders: %d / %d passages (%s)", start + len(part), len(passages), ", ".join(
            f"{name} {(start + len(part)) / max(seconds[name], 1e-9):.1f}/s" for name in encoders))
    out = {name: {"model_id": enc.model_id, "passages_per_s": round(len(passages) / seconds[name], 2),
                  "seconds": round(seconds[name], 1)} for name, enc in encoders.items()}
    for name in encoders:
        if name == "torch":
            continue
        cos = (vecs["torch"] * vecs[name]).sum(axis=1)
        out[name].update(min_cosine=round(float(cos.min()), 7), mean_cosine=round(float(cos.mean()), 7),
                         max_abs_diff=float(np.abs(vecs["torch"] - vecs[name]).max()),
                         speedup=round(seconds["torch"] / seconds[name], 2))
    return {"encoders": out, "n_passages": len(passages), "threads": threads,
            "build": str(build_dir)}


def run_bench(artifacts: str | Path, *, skip_embedding: bool = False, models_dir: Path | None = None,
              queries: Sequence[str] = QUERIES, clients: int = CLIENTS, per_client: int = PER_CLIENT,
              start_timeout: float = 600.0, deadline_s: float = CONCURRENT_DEADLINE_S,
              ask_dialogues: Sequence[Sequence[str]] = ASK_DIALOGUES,
              api_ask_dialogues: Sequence[Sequence[str]] = API_ASK_DIALOGUES,
              query_encoder: str | None = None) -> dict:
    """Every measurement of the module docstring, keys :data:`BENCH_KEYS`."""
    build_dir = resolve_build_dir(artifacts)
    manifest = read_manifest(build_dir)
    out: dict = dict.fromkeys(BENCH_KEYS)
    out["n_datasets"] = int(manifest["n_datasets"])
    port = free_port()
    proc = None
    with tempfile.TemporaryFile(mode="w+b") as app_log:
        try:
            proc, start_s = start_app(Path(artifacts), port, app_log, start_timeout, models_dir,
                                      query_encoder)
            out["start_s"] = round(start_s, 2)
            started = time.perf_counter() - start_s
            log.info("app started in %.1f s (pid %d, port %d)", start_s, proc.pid, port)
            client = AppClient(port)

            status, raw = client.request("/_dash-layout")
            if status != 200:
                raise BenchError(f"/_dash-layout answered {status}")
            layout = json.loads(raw)
            graph = find_component(layout, MAP_ID)
            if graph is None or "figure" not in graph.get("props", {}):
                raise BenchError(f"no figure with id {MAP_ID!r} in /_dash-layout")
            out["map_payload_bytes"] = payload_bytes(graph["props"]["figure"], raw, layout)
            labels = find_component(layout, MAP_LABELS_ID)
            out["map_labels_bytes"] = (payload_bytes(labels["props"].get("data"), raw, layout)
                                       if labels is not None else 0)
            out["map_with_labels_bytes"] = out["map_payload_bytes"] + out["map_labels_bytes"]
            log.info("initial layout: %d bytes, of which the map figure %d, its labels %d", len(raw),
                     out["map_payload_bytes"], out["map_labels_bytes"])
            mode_item = find_component(layout, SEARCH_MODE_ID)
            mode = (mode_item or {}).get("props", {}).get("value")

            driver = SearchDriver(client)
            driver.search("données publiques", mode)  # warm-up, not counted in the latencies
            out["first_search_s"] = round(time.perf_counter() - started, 2)
            driver.search("transport", mode)
            seq, sizes = [], []
            cpu0 = app_cpu_s(proc.pid)
            for q in queries:
                dt, size = driver.search(q, mode)
                seq.append(dt)
                sizes.append(size)
            out["search_p50_ms"] = percentile_ms(seq, 50)
            out["search_p95_ms"] = percentile_ms(seq, 95)
            out["highlight_payload_bytes"] = max(sizes)
            out["search_requests"] = driver.requests
            log.info("%d sequential searches (mode %s): p50 %.1f ms, p95 %.1f ms; the app's CPU time "
                     "%.1f ms a search (the latency to expect on an idle machine)", len(seq), mode,
                     out["search_p50_ms"], out["search_p95_ms"],
                     1000 * (app_cpu_s(proc.pid) - cpu0) / max(len(seq), 1))

            filt, fsizes = [], []
            cpu0 = app_cpu_s(proc.pid)
            for q in queries[:25]:  # other words: no query vector from the app's cache
                dt, _ = driver.search(f"liste {q}", mode, BENCH_FILTERS)
                filt.append(dt)
                fsizes.append(driver.last_filter_bytes)
            out["filtered_search_p95_ms"] = percentile_ms(filt, 95)
            out["filter_payload_bytes"] = max(fsizes) if fsizes else None
            log.info("%d searches with filters %s and counts: p95 %s ms, filter mask %s bytes; the app's "
                     "CPU time %.1f ms a search", len(filt), BENCH_FILTERS, out["filtered_search_p95_ms"],
                     out["filter_payload_bytes"], 1000 * (app_cpu_s(proc.pid) - cpu0) / max(len(filt), 1))

            conc = concurrent_searches(driver, concurrent_queries(queries), mode, clients=clients,
                                       per_client=per_client, deadline_s=deadline_s)
            out["search_concurrent_p95_ms"] = percentile_ms(conc, 95)
            log.info("%d searches with %d concurrent clients: p95 %s ms", len(conc), clients,
                     out["search_concurrent_p95_ms"])
            if ask_dialogues:
                asker = AskDriver(client)
                asker.dialogues([("piscines", "et à Lyon ?")])  # warm-up (lazy indexes), not counted
                turns = asker.dialogues(ask_dialogues)
                out["ask_p50_ms"] = percentile_ms(turns, 50)
                out["ask_p95_ms"] = percentile_ms(turns, 95)
                log.info("%d « Demander » turns: p50 %.1f ms, p95 %.1f ms", len(turns),
                         out["ask_p50_ms"], out["ask_p95_ms"])
            out.update(api_measures(client, queries, clients=clients, per_client=per_client,
                                    deadline_s=deadline_s, ask_dialogues=api_ask_dialogues, pid=proc.pid))
            out["rss_mb"] = round(rss_mib(proc.pid), 1)
            out.update(memory_parts(proc.pid))
            log.info("app memory: %s", memory_breakdown(proc.pid))
        except (BenchError, OSError) as exc:
            app_log.seek(0)
            tail = app_log.read()[-3000:].decode(errors="replace")
            log.error("app output (end):\n%s", tail)
            if isinstance(exc, OSError):
                raise BenchError(f"the app stopped answering: {exc}") from exc
            raise
        finally:
            stop_app(proc)
    out["facet_counts_p95_ms"] = facet_counts_ms(artifacts, queries)
    if not skip_embedding:
        models_dir = Path(models_dir or build_dir.parent.parent / "models")
        out["passages_per_s"] = embedding_throughput(build_dir, manifest, models_dir)
    return out


def facet_counts_ms(artifacts, queries: Sequence[str], depth: int = 1000) -> float | None:
    """p95 of the facet counts alone (every filter key) over each query's ``depth`` best keyword
    candidates, in this process (no encoder needed)."""
    from models.serve.explorer import Explorer
    from models.serve.search import top_k

    try:
        exp = Explorer.load(artifacts)
        cat = exp.catalogue
        cat.territories  # built once at load in the app, not counted  # noqa: B018
        times = []
        for q in queries:
            sc = exp.engine.mode_scores(q, "keyword")
            pool = top_k(sc, depth)
            pool = pool[np.isfinite(sc[pool])]
            t0 = time.perf_counter()
            cat.facets({None: pool})
            times.append(time.perf_counter() - t0)
        return percentile_ms(times, 95)
    except Exception as exc:  # a measurement, never a crash of the whole bench
        log.warning("facet counts not measured: %s", exc)
        return None


def format_table(result: dict) -> str:
    """The result as a French table, with the targets (on the full catalogue) beside."""
    lines = [f"{'mesure':<38}{'clé':<26}{'valeur':>12}  cible (catalogue complet)"]
    for key in BENCH_KEYS:
        value = result.get(key)
        shown = "-" if value is None else (f"{value:,}".replace(",", " ") if isinstance(value, int)
                                           else f"{value:.1f}")
        target = ""
        if key in TARGETS:
            limit, unit = TARGETS[key]
            ok = "" if value is None else (" ok" if value <= limit else " DÉPASSÉ")
            target = f"≤ {limit:,.0f} {unit}".replace(",", " ") + ok
        lines.append(f"{LABELS[key]:<38}{key:<26}{shown:>12}  {target}".rstrip())
    return "\n".join(lines)

"""What the user reads: French typography, no jargon, no English, on every page.

The rendered layout of ``create_app`` (the fixture build) is walked component by component, and so
are the outputs of the main callbacks (a producer, a territory, a comparison, a search, the quality
page). Every text a user can read is checked: children, placeholders, titles, tab and option labels,
the texts of the dropdowns and of the producers grid, the figures' titles, annotations, axis titles
and hover templates. Catalogue text (titles, producer and place names, topic words, labelled-file
names) is the publishers' and is left out of the checks.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

from components import compare_page as cp
from components import ids
from components import labels as texts
from components import producers_page as pp
from components import territories_page as tp
from models.core import french
from models.core.config import AppSettings
from tests import uihelpers
from tests.uihelpers import call

NBSP = "\u202f\u00a0"
# before these a narrow no-break space (or a no-break space) is due
PUNCT = re.compile(r"[:;?!](?=[\s»)\]]|$)")
JARGON = re.compile(r"\b(builds?|pipelines?|embeddings?|plongements?|artefacts?|artifacts?|datasets?)\b",
                    re.IGNORECASE)
ENGLISH = re.compile(r"\b(the|and|of|to|with|for|click|loading|select|search|results?|error|no|not|found|"
                     r"show|hide|clear|filters?|apply|reset|cancel|contains|equals|next|previous|first|"
                     r"last|more|none|selected|all|yes|open|close|submit|upload|drag|drop|browse|"
                     r"query|queries|page \d+ of)\b", re.IGNORECASE)
# technical names that are the names of things, not English prose
ALLOWED = ("query,params,expected", "word2vec", "data.gouv.fr", "python -m models build")
FIGURE_TEXT_KEYS = ("text", "hovertemplate", "name", "title")


ROOT = Path(__file__).resolve().parents[1]
# a string is French text when it has a French letter, typography, or a French function word
FRENCH_CHARS = re.compile(r"[À-ÿŒœ«»\u202f\u00a0’…]")
FRENCH_WORDS = re.compile(r"\b(le|la|les|des|du|de|un|une|et|est|sont|en|sur|pour|par|dans|aucun|aucune|au|"
                          r"aux|ce|cette|votre|vos|pas|ou|qui|que|jeu|jeux|données|thème|carte)\b",
                          re.IGNORECASE)
MAX_CALLBACK_LINES = 40


def typography_errors(text: str) -> list[str]:
    errors = []
    for m in PUNCT.finditer(text):
        i = m.start()
        if i > 0 and text[i - 1] not in NBSP and text[i - 1] not in "(«":
            errors.append(f"no narrow no-break space before {m.group()!r}")
    for m in re.finditer("«", text):
        if m.end() >= len(text) or text[m.end()] not in NBSP:
            errors.append("no narrow no-break space after «")
    for m in re.finditer("»", text):
        if m.start() == 0 or text[m.start() - 1] not in NBSP:
            errors.append("no narrow no-break space before »")
    return errors


class TextScan:
    """Collects every visible text of a serialised component tree and what is wrong with it."""

    def __init__(self, data_strings: set[str]) -> None:
        # longest first, so a title is removed before a word inside it
        self.data = sorted((s for s in data_strings if len(s) >= 3), key=len, reverse=True)
        self.errors: list[str] = []
        self.n_texts = 0

    def strip_data(self, text: str) -> str:
        for s in self.data:
            if s in text:
                text = text.replace(s, " ")
        if text.endswith("…"):  # a title cut by clean_text: drop the cut catalogue prefix
            head = text[:-1].rstrip()
            if any(s.startswith(head[-40:].lstrip()) for s in self.data if len(head) > 20):
                text = ""
        return text

    def check(self, text, where: str) -> None:
        if not isinstance(text, str) or not text.strip():
            return
        self.n_texts += 1
        text = re.sub(r"<[^>]+>", " ", text)  # plotly's <br>, <b>, <extra>
        text = re.sub(r"%\{[^}]*\}", "0", text)  # plotly's %{x:.1f}
        plain = self.strip_data(text)
        for allowed in ALLOWED:
            plain = plain.replace(allowed, " ")
        problems = typography_errors(plain)
        if JARGON.search(plain):
            problems.append(f"jargon {JARGON.search(plain).group()!r}")
        if ENGLISH.search(plain):
            problems.append(f"English {ENGLISH.search(plain).group()!r}")
        self.errors += [f"{where}: {p} in {text!r}" for p in problems]

    def figure(self, fig, where: str) -> None:
        if not isinstance(fig, dict):
            return

        def walk(node, path):
            if isinstance(node, dict):
                for k, v in node.items():
                    if k in FIGURE_TEXT_KEYS and isinstance(v, str):
                        self.check(v, f"{where} figure {path}.{k}")
                    elif k in ("text", "hovertext") and isinstance(v, list):
                        for x in v[:50]:
                            self.check(x, f"{where} figure {path}.{k}")
                    elif k not in ("geojson", "customdata", "x", "y", "z", "locations"):
                        walk(v, f"{path}.{k}")
            elif isinstance(node, list):
                for i, v in enumerate(node[:200]):
                    walk(v, f"{path}[{i}]")

        walk({"data": fig.get("data", []), "layout": fig.get("layout", {})}, "")

    def component(self, node, where: str = "") -> None:
        if isinstance(node, str):
            self.check(node, where)
        elif isinstance(node, list | tuple):
            for c in node:
                self.component(c, where)
        elif isinstance(node, dict) and "props" in node and "type" in node:
            props, kind = node["props"], node["type"]
            if kind == "Markdown":  # only a dataset's description (components.details), the publisher's
                return
            if {"result-snippet", "ask-answer"} & set(str(props.get("className", "")).split()):
                return  # an excerpt of a description (search results, the assistant's answers)
            here = f"{where}/{kind}#{props.get('id', '')}"
            self.component(props.get("children"), here)
            for key in ("placeholder", "title", "label", "help_text"):
                if isinstance(props.get(key), str):
                    self.check(props[key], f"{here}.{key}")
            if kind in ("Input", "Textarea") and isinstance(props.get("value"), str):
                self.check(props["value"], f"{here}.value")
            for opt in props.get("options") or []:
                if isinstance(opt, dict):
                    self.component(opt.get("label"), f"{here}.options")
            if kind == "Dropdown":
                if not isinstance(props.get("labels"), dict):
                    self.errors.append(f"{here}: a dcc.Dropdown without French labels (Dash shows English)")
                elif props.get("value") is None and not props.get("placeholder"):
                    self.errors.append(f"{here}: a dcc.Dropdown without placeholder (Dash shows English)")
                for v in (props.get("labels") or {}).values():
                    self.check(v, f"{here}.labels")
            if kind == "Slider":
                for v in (props.get("marks") or {}).values():
                    self.component(v, f"{here}.marks")
            if kind == "Graph":
                config = props.get("config") or {}
                if config.get("displayModeBar") is not False and config.get("locale") != "fr":
                    self.errors.append(f"{here}: a graph whose tool bar is not in French")
                self.figure(props.get("figure"), here)
            if kind == "AgGrid":
                for col in props.get("columnDefs") or []:
                    self.check(col.get("headerName"), f"{here}.columnDefs")
                locale = (props.get("dashGridOptions") or {}).get("localeText")
                if not isinstance(locale, dict) or not {"page", "of", "noRowsToShow"} <= set(locale):
                    self.errors.append(f"{here}: an AG Grid without French texts")
                for v in (locale or {}).values():
                    self.check(v, f"{here}.localeText")
            for key, value in props.items():  # components passed as other props (tab labels ...)
                if key != "children" and isinstance(value, dict) and "props" in value:
                    self.component(value, f"{here}.{key}")
        elif isinstance(node, dict):  # a callback's response {id: {prop: value}}; stores are not read
            for key, v in node.items():
                if key == "figure":
                    self.figure(v, f"{where}.figure")
                elif key not in ("data", "rows", "getRowsResponse"):
                    self.component(v, f"{where}.{key}")


def serialise(component) -> dict:
    return json.loads(json.dumps(component.to_plotly_json(), default=lambda o: o.to_plotly_json()))


@pytest.fixture(scope="module")
def data_strings(explorer) -> set[str]:
    return catalogue_strings(explorer)


def catalogue_strings(explorer) -> set[str]:
    """Text that comes from the catalogue or the data files, not from the app."""
    ds = explorer.datasets
    out: set[str] = set()
    for col in ("title", "organization", "acronym", "frequency", "license"):
        if col in ds:
            out |= {str(v).strip() for v in ds[col].dropna()}
    out |= {str(t) for tags in ds["tags"] for t in (tags if tags is not None else [])}
    out |= {str(v) for v in explorer.producers.table["organization"]}
    out |= {str(v) for v in explorer.territories.entities["name"]}
    for k in explorer.topics.ks():
        for label in explorer.topics.topics(k)["label"]:
            out |= {str(label), *str(label).split(" · ")}
    if explorer.topics.has_clusters:
        _, labels = explorer.topics.cluster_assignments()
        out |= {str(x) for x in labels}
    from callbacks.quality import labelled_files

    folder = AppSettings().relevance_dir
    out |= {str(f["label"]) for f in labelled_files(folder)}
    import pandas as pd

    for f in labelled_files(folder):  # the labelled queries are the file's, shown as they are
        out |= set(pd.read_csv(folder / f["value"], usecols=["query"])["query"].dropna().astype(str))
    from components.labels import clean_text

    return {clean_text(s, 10_000) for s in out if s}


def test_typography_checker_catches_what_it_should():
    assert typography_errors("Mode : hybride") and typography_errors("Mode: hybride")
    assert typography_errors("« vacances »") and typography_errors("Pourquoi ?")
    assert not typography_errors(texts.typo("Mode : « hybride » ; pourquoi ? Voilà !"))
    assert not typography_errors("http://x 10:30 (?)")
    scan = TextScan({"Titre : sous-titre"})
    scan.check("Titre : sous-titre", "data")  # catalogue text is the publisher's
    scan.check("Un jeu du build", "ui")
    scan.check("Click here", "ui")
    assert len(scan.errors) == 2 and "jargon" in scan.errors[0] and "English" in scan.errors[1]


def test_the_catalogue_of_texts_is_typeset():
    for name in dir(texts):
        value = getattr(texts, name)
        values = (value if isinstance(value, tuple) else value.values() if isinstance(value, dict)
                  else [value])
        if name.isupper() and name != "NNBSP" and all(isinstance(v, str) for v in values):
            for v in values:
                assert not typography_errors(v), (name, v)


def test_every_page_layout_reads_french(app, explorer, data_strings):
    layout = serialise(app.layout)
    scan = TextScan(data_strings)
    scan.component(layout)
    assert scan.n_texts > 200  # the walk reaches every page
    tabs = {t["props"]["tab_id"]: t["props"]["label"] for t in _tabs(layout)
            if t["props"].get("tab_id") in texts.PAGES}
    assert tabs == texts.PAGES
    assert scan.errors == [], "\n".join(scan.errors)


def _tabs(layout) -> list[dict]:
    out = []

    def walk(node):
        if isinstance(node, dict):
            if node.get("type") == "Tab":
                out.append(node)
            for v in (node.get("props") or {}).values() if "props" in node else node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(layout)
    return out


def test_header_names_the_catalogue_date_not_a_build(app, explorer):
    layout = json.dumps(serialise(app.layout), ensure_ascii=False)
    day = french.long_date(texts.catalogue_date(explorer.artifacts.manifest))
    assert day and f"catalogue du {day}" in layout
    header = json.dumps(uihelpers.find(serialise(app.layout), ids.COUNT), ensure_ascii=False)
    assert f"catalogue du {day}" in header and explorer.artifacts.manifest["build_id"] not in header
    export = {"catalog": {"source": "x/export-dataset-20260116-055249.csv.gz"}}
    assert texts.catalogue_date(export) == "2026-01-16"
    assert french.long_date("2026-01-16") == "16 janvier 2026"


def test_callback_outputs_read_french(app, client, explorer, data_strings):
    scan = TextScan(data_strings)
    P = explorer.producers
    producer = str(P.table["producer_id"].iat[0])
    for output in (f"{pp.FIGURES}.children", f"{pp.TOPICS}.figure", f"{pp.SIMILAR}.children"):
        scan.component(call(app, client, output, {f"{pp.SELECT}.value": producer}), output)
    scan.component(call(app, client, f"{pp.DUPLICATES}.children",
                        {f"{pp.SELECT}.value": producer, f"{pp.DUP_THRESHOLD}.value": 0.8}), "duplicates")
    row = int(P.rows(0)[0])
    scan.component(call(app, client, f"{pp.FIND_RESULT}.children", {f"{pp.FIND_BUTTON}.n_clicks": 1},
                        state={f"{pp.FIND_DATASET}.value": row, f"{pp.FIND_QUERIES}.value": "eau"}),
                   "findability")
    region = next(o["value"] for o in explorer.territories.options(None, limit=20)
                  if o["value"].startswith("region:"))
    scan.component(call(app, client, f"{tp.DATASETS}.children",
                        {f"{tp.SEARCH}.value": region, f"{tp.OPTIONS}.value": [tp.ENCLOSING, tp.CONTAINED]}),
                   "territory")
    scan.component(call(app, client, f"{tp.CHOROPLETH}.figure",
                        {f"{tp.LEVEL}.value": "region", f"{tp.SEARCH}.value": region}), "choropleth")
    scan.component(call(app, client, f"{cp.COLUMNS}.children",
                        {f"{cp.BUTTON}.n_clicks": 1, f"{cp.INPUT}.n_submit": 0},
                        state={f"{cp.INPUT}.value": texts.EXAMPLE_QUESTIONS[1]}), "compare")
    scan.component(call(app, client, f"{cp.COLUMNS}.children",
                        {f"{cp.BUTTON}.n_clicks": 2, f"{cp.INPUT}.n_submit": 0},
                        state={f"{cp.INPUT}.value": "  "}), "compare empty")
    mode = app_default_mode(app)
    scan.component(call(app, client, f"{ids.RESULTS}.children",
                        {f"{ids.SEARCH_STATE}.data": {"q": "vacances scolaires", "mode": mode}}), "search")
    # the topics page, the details card, the quality page
    k = explorer.topics.default_k
    scan.component(call(app, client, f"{ids.TOPICS_SELECT}.options", {f"{ids.TOPICS_K}.value": k},
                        state={f"{ids.TOPICS_SELECT}.value": None}), "topics model")
    scan.component(call(app, client, f"{ids.TOPICS_INFO}.children",
                        {f"{ids.TOPICS_K}.value": k, f"{ids.TOPICS_SELECT}.value": 0}), "topic")
    scan.component(call(app, client, f"{ids.DETAILS}.children",
                        {f"{ids.SELECTED}.data": str(explorer.datasets["id"].iat[row])}), "details")
    from components import quality_page as qp

    files = [o["value"] for o in find_options(app, qp.FILE)]
    if files:  # the labelled files of ../shared/data/relevance
        res = call(app, client, f"{qp.RESULT}.data",
                   {f"{qp.FILE}.value": files[0], f"{qp.UPLOAD}.contents": None},
                   state={f"{qp.UPLOAD}.filename": None})
        scan.component(res, "quality status")
        scan.component(call(app, client, f"{qp.CHART}.figure",
                            {f"{qp.RESULT}.data": res[qp.RESULT]["data"], f"{qp.FILTER}.value": qp.ALL}),
                       "quality")
    assert scan.n_texts > 50
    assert scan.errors == [], "\n".join(scan.errors)


def find_options(app, cid) -> list[dict]:
    stack = [serialise(app.layout)]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if node.get("props", {}).get("id") == cid:
                return node["props"].get("options") or []
            stack.extend(node.get("props", node).values() if "props" in node else node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return []


def app_default_mode(app) -> str:
    layout = serialise(app.layout)
    found = []

    def walk(node):
        if isinstance(node, dict):
            props = node.get("props")
            if isinstance(props, dict) and props.get("id") == ids.SEARCH_MODE:
                found.append(props.get("value"))
            for v in (props or node).values() if isinstance(props, dict) else node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(layout)
    return found[0]


# ---- callbacks/ is wiring: no French text, no layout numbers, short functions -------------------
def callback_modules() -> list[tuple[str, ast.Module]]:
    return [(str(p.relative_to(ROOT)), ast.parse(p.read_text(encoding="utf-8")))
            for p in sorted(ROOT.glob("callbacks/*.py"))]


def _docstrings_and_log_lines(tree: ast.Module) -> set[int]:
    """The string nodes that are no text for the user: docstrings and log messages (English)."""
    out = set()
    for n in ast.walk(tree):
        body = getattr(n, "body", None)
        if isinstance(n, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and body:
            first = body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                out.add(id(first.value))
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr in (
                "debug", "info", "warning", "error", "exception", "critical"):
            out.update(id(m) for a in n.args for m in ast.walk(a))
    return out


def french_literals(tree: ast.Module) -> list[tuple[int, str]]:
    skip = _docstrings_and_log_lines(tree)
    out = []
    for n in ast.walk(tree):
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in skip:
            v = n.value
            if FRENCH_CHARS.search(v) or (" " in v.strip() and FRENCH_WORDS.search(v)):
                out.append((n.lineno, v[:60]))
    return out


def test_the_french_literal_check_catches_what_it_should():
    tree = ast.parse('''"""Docstring: « le module »."""
import logging
log = logging.getLogger(__name__)
A = "Aucun résultat"
B = f"{3} jeux de données"
C = "small text-muted"
D = "sélection"
def f():
    """« doc »"""
    log.warning("search %r (mode %s) failed", 1, 2)
    return "Choisissez un thème"
''')
    assert sorted(line for line, _ in french_literals(tree)) == [4, 5, 7, 11]


def test_callbacks_hold_no_french_text():
    """Every French text of the callbacks lives in components/ (labels.py, the page builders) or
    models.core.french: callbacks/ is wiring."""
    found = [f"{name}:{line} {text!r}" for name, tree in callback_modules()
             for line, text in french_literals(tree)]
    assert found == [], "\n".join(found)


def test_callback_functions_are_short():
    long = [f"{name}: {n.name} ({n.end_lineno - n.lineno + 1} lines)" for name, tree in callback_modules()
            for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
            and n.end_lineno - n.lineno + 1 > MAX_CALLBACK_LINES]
    assert long == [], "\n".join(long)


def test_callbacks_hold_no_layout_numbers():
    """Figure sizes are the builders' (named constants in components/)."""
    found = [f"{name}:{k.value.lineno} {k.arg}=" for name, tree in callback_modules() for n in ast.walk(tree)
             if isinstance(n, ast.Call) for k in n.keywords
             if k.arg in ("height", "width") and isinstance(k.value, ast.Constant)]
    assert found == [], found

"""Visite guidée (presenter mode): full-screen steps, each a saved view with a title and a caption.

A step is a plain dict (what the JSON file of a tour holds, validated by :func:`validate_tour`)::

    {"title": str, "caption": str, "page": "carte" | "themes" | ..., "query": str (optional),
     "mode": str (optional), "compare": str (optional: a query for the "Comparer" page),
     "view": {"x": [x0, x1], "y": [y0, y1]} (optional: the map's zoom)}

The default tour replays the study; "Ajouter cette vue" appends the current view to a tour kept
in the browser (``dcc.Store`` local). Builders only: callbacks/tour.py wires them,
assets/40-tour.js handles the keys (arrows, space, Escape) and the full screen.
"""

from __future__ import annotations

import json

import dash_bootstrap_components as dbc
from dash import dcc, html

from components import ids
from components.labels import clean_text
from models.core import french

MAX_STEPS = 50
MAX_TEXT = 600
MAX_FILE_BYTES = 200_000
MAX_DEPTH = 8  # a tour is {"steps": [{"view": {"x": [..]}}]}: 4 levels
PAGES = ("carte", "themes", "producteurs", "territoires", "comparer", "qualite")

DEFAULT_TOUR = [
    {"title": "Les thèmes du catalogue", "page": "themes",
     "caption": "Un modèle de thèmes (LDA) résume le vocabulaire des 70 000 descriptions : chaque "
                "bulle est un thème, sa taille sa part du catalogue, et deux thèmes proches "
                "partagent leurs mots."},
    {"title": "La carte du catalogue", "page": "carte",
     "caption": "Chaque point est un jeu de données, placé près de ceux qui en parlent de la même "
                "façon. Les noms écrits résument les régions ; en zoomant, des régions plus fines "
                "apparaissent."},
    {"title": "« piscines à Toulouse »", "page": "carte", "query": "piscines à Toulouse",
     "mode": "hybrid",
     "caption": "Une recherche qui mêle un sujet et un lieu : les résultats s'allument sur la "
                "carte, la croix marque la place de la requête."},
    {"title": "« vacances scolaires »", "page": "carte", "query": "vacances scolaires",
     "mode": "hybrid",
     "caption": "Les calendriers scolaires forment une petite région à part de la carte."},
    {"title": "« prix des carburants »", "page": "carte", "query": "prix des carburants",
     "mode": "hybrid",
     "caption": "Des dizaines de producteurs publient des prix : la recherche les regroupe."},
    {"title": "Covid : la deuxième vague", "page": "carte", "query": "covid deuxième vague",
     "mode": "semantic",
     "caption": "La recherche sémantique trouve les jeux sur l'épidémie même quand les mots "
                "exacts de la question n'y figurent pas."},
    {"title": "Mots-clés, sens, ou les deux", "page": "comparer",
     "compare": "Quand est-ce que les enfants sont en vacances ?",
     "caption": "La même question posée en mots-clés, en sémantique et en hybride, côte à côte : "
                "la formulation d'une question change ce que trouve chaque mode."},
    {"title": "Les territoires", "page": "territoires",
     "caption": "Les lieux nommés dans les titres et les descriptions, rattachés aux communes, "
                "départements et régions : qui publie sur quel territoire."},
]


class TourError(ValueError):
    """A tour file that cannot be used; the message is French, for the user."""


def _text(value, what: str, *, required: bool = False) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise TourError(f"{what} doit être un texte" + (" non vide." if required else "."))
    return value.strip()[:MAX_TEXT]


def _range(value, what: str) -> list[float]:
    if (not isinstance(value, list) or len(value) != 2
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
            or not all(abs(v) < 1e9 for v in value)):
        raise TourError(f"{what} doit être une liste de deux nombres.")
    return [float(value[0]), float(value[1])]


def validate_step(step, n: int) -> dict:
    where = f"Étape {n}"
    if not isinstance(step, dict):
        raise TourError(f"{where} : une étape est un objet JSON.")
    out = {"title": _text(step.get("title"), f"{where} : le titre", required=True),
           "caption": _text(step.get("caption"), f"{where} : la légende")}
    page = step.get("page", "carte")
    if page not in PAGES:
        raise TourError(f"{where} : page inconnue « {str(page)[:40]} » (pages : {', '.join(PAGES)}).")
    out["page"] = page
    for key in ("query", "mode", "compare"):
        if step.get(key) is not None:
            out[key] = _text(step.get(key), f"{where} : « {key} »")
    view = step.get("view")
    if view is not None:
        if not isinstance(view, dict):
            raise TourError(f"{where} : « view » doit être un objet {{\"x\": [..], \"y\": [..]}}.")
        out["view"] = {"x": _range(view.get("x"), f"{where} : view.x"),
                       "y": _range(view.get("y"), f"{where} : view.y")}
    return out


def validate_tour(obj) -> list[dict]:
    """The steps of a tour (``{"steps": [...]}`` or a bare list), cleaned; TourError if unusable."""
    steps = obj.get("steps") if isinstance(obj, dict) else obj
    if not isinstance(steps, list) or not steps:
        raise TourError("Le fichier doit contenir une liste d'étapes non vide (clé « steps »).")
    if len(steps) > MAX_STEPS:
        raise TourError(TOO_MANY)
    return [validate_step(s, i + 1) for i, s in enumerate(steps)]


def tour_json(steps: list[dict]) -> str:
    return json.dumps({"format": "visite-catalogue", "version": 1, "steps": steps},
                      ensure_ascii=False, indent=2)


def tour_controls() -> html.Div:
    """The buttons of the tours (on the map page)."""
    return html.Div([
        dcc.Store(id=ids.TOUR_MINE, data=[], storage_type="local"),
        dcc.Store(id=ids.TOUR_CAPTURE, data=None),
        dcc.Download(id=ids.TOUR_DOWNLOAD),
        html.Span("Visite guidée :", className="small text-muted me-2"),
        dbc.Button("▶ Visite de l'étude", id=ids.TOUR_START_DEFAULT, size="sm", color="primary",
                   n_clicks=0, class_name="me-2"),
        dbc.Button("▶ Ma visite", id=ids.TOUR_START_MINE, size="sm", color="secondary", outline=True,
                   n_clicks=0, class_name="me-2"),
        dbc.Input(id=ids.TOUR_TITLE, placeholder="Titre de la vue", size="sm", maxLength=120,
                  style={"maxWidth": "14rem"}, class_name="me-2"),
        dbc.Button("Ajouter cette vue", id=ids.TOUR_ADD, size="sm", color="secondary", outline=True,
                   n_clicks=0, class_name="me-2"),
        dbc.Button("Télécharger (JSON)", id=ids.TOUR_DOWNLOAD_BUTTON, size="sm", color="link",
                   n_clicks=0),
        dcc.Upload(dbc.Button("Charger une visite (JSON)", size="sm", color="link"), id=ids.TOUR_UPLOAD,
                   accept=".json,application/json", max_size=MAX_FILE_BYTES, multiple=False),
        html.Span(id=ids.TOUR_MESSAGE, className="small ms-2", **{"aria-live": "polite"}),
    ], className="d-flex align-items-center flex-wrap mb-2")


def tour_overlay() -> html.Div:
    """The caption bar over every page while a tour runs (hidden otherwise)."""
    return html.Div([
        dcc.Store(id=ids.TOUR_ACTIVE, data=None),
        dcc.Store(id=ids.TOUR_VIEW, data=None),
        dcc.Store(id=ids.TOUR_SHOWN, data=None),
        html.Div([
            html.Div([html.Div(id=ids.TOUR_STEP_COUNT, className="small text-white-50"),
                      html.H2(id=ids.TOUR_STEP_TITLE, className="h4 mb-1"),
                      html.P(id=ids.TOUR_STEP_CAPTION, className="mb-0")], className="flex-grow-1 me-3"),
            html.Div([
                dbc.Button("◀", id=ids.TOUR_PREV, n_clicks=0, color="light", size="sm", class_name="me-1",
                           title="Étape précédente (flèche gauche)"),
                dbc.Button("▶", id=ids.TOUR_NEXT, n_clicks=0, color="light", size="sm", class_name="me-1",
                           title="Étape suivante (flèche droite ou espace)"),
                dbc.Button("✕", id=ids.TOUR_CLOSE, n_clicks=0, color="light", size="sm",
                           title="Quitter la visite (Échap)"),
            ], className="text-nowrap"),
        ], className="d-flex align-items-start"),
    ], id=ids.TOUR_OVERLAY, className="tour-overlay d-none", role="dialog", **{"aria-live": "polite"})


# ---- what the tour says and keeps (callbacks/tour.py) ----------------------------------------
DOWNLOAD_NAME = "visite-catalogue.json"
NO_FILE = "Aucun fichier reçu."
TOO_BIG = f"Fichier trop gros pour une visite ({MAX_FILE_BYTES // 1000} ko au plus)."
TOO_DEEP = f"Fichier trop imbriqué pour une visite ({MAX_DEPTH} niveaux au plus)."
NOT_TEXT = "Ce fichier n'est pas un texte JSON (UTF-8)."
EMPTY_MINE = "Votre visite est vide\u202f: ajoutez des vues ou chargez un fichier."
NOTHING_TO_DOWNLOAD = "Votre visite est vide\u202f: rien à télécharger."
TOO_MANY = f"Une visite compte au plus {MAX_STEPS} étapes."


def unreadable_json(line: int, column: int) -> str:
    return f"JSON illisible (ligne {line}, colonne {column})."


def refused(reason) -> str:
    """A tour file that cannot be used, and why (a :class:`TourError`)."""
    return f"Visite refusée\u202f: {reason}"


def loaded(n: int) -> str:
    return f"Visite chargée\u202f: {french.count(n, 'étape')}. «\u202fMa visite\u202f» la lance."


def view_added(n: int) -> str:
    return f"Vue ajoutée\u202f: votre visite compte {french.count(n, 'étape')}."


def step_count(i: int, n: int, page: str) -> str:
    """The caption bar's « Étape 2 sur 8 · Carte » (``i`` from 0)."""
    return f"Étape {i + 1} sur {n} · {french.PAGE_NAMES.get(page, page)}"


def new_step(title, query: str, n: int, page) -> dict:
    """The step « Ajouter cette vue » makes (before :func:`validate_step`): the title typed, else
    the query, else « Vue n » (``n`` steps before it); the page shown (the map's by default)."""
    return {"title": clean_text(title, 120) or (f"« {query} »" if query else f"Vue {n + 1}"),
            "caption": f"Recherche « {query} »." if query else "",
            "page": page if isinstance(page, str) else ids.MAP_PAGE}

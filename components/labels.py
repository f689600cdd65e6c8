"""Every French text the user reads, in one place, and the small helpers that format them.

The catalogue below (page names, titles, buttons, empty states, messages) is what the builders in
``components/`` and the callbacks show; a wording is changed here, once. French typography:
:func:`typo` puts a narrow no-break space (U+202F) before ``: ; ? !`` and inside ``« »``; every
constant of the catalogue goes through it at import time, so the strings below are written with
ordinary spaces. One word per idea: *jeu de données* (never "dataset"), *producteur*, *thème*,
*recherche*, *catalogue* (never "build", "pipeline", "artefacts", "embeddings"/"plongements").
``tests/test_ui_text.py`` walks every page's layout and fails on a missing space or on jargon.
"""

from __future__ import annotations

import math
import re

from models.core import french

# What the user reads for each search mode (models.serve.search.MODES); unknown modes keep their name.
MODE_LABELS = {
    "semantic": "Sémantique",
    "keyword": "Mots-clés",
    "hybrid": "Hybride",
    "word": "Mots (word2vec)",
}

NNBSP = french.NNBSP  # narrow no-break space (espace fine insécable)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_BEFORE = re.compile(r"[ \u00a0]([:;?!])")  # an ordinary or wide no-break space before : ; ? !
_AFTER_OPEN = re.compile(r"«[ \u00a0]?")
_BEFORE_CLOSE = re.compile(r"[ \u00a0]?»")


def typo(text: str) -> str:
    """French typography: a narrow no-break space before ``: ; ? !`` (in place of an ordinary
    space; ``10:30``, ``http://`` and ``{x:.1f}`` have none and are left alone) and inside
    ``« »``.

    >>> typo("Mode : « Hybride » ?") == "Mode\u202f: «\u202fHybride\u202f»\u202f?"
    True
    """
    s = _BEFORE.sub(NNBSP + r"\1", str(text))
    return _BEFORE_CLOSE.sub(NNBSP + "»", _AFTER_OPEN.sub("«" + NNBSP, s))


# ---- the catalogue of texts -------------------------------------------------------------------
APP_TITLE = "Explorateur du catalogue data.gouv.fr"
NO_TITLE = "(sans titre)"
NO_PRODUCER = "Producteur inconnu"
LOADING = "Chargement…"
SHOW_ON_MAP = "Voir sur la carte"

# what a refused HTTP request gets back (callbacks/http_guard.py), by status
HTTP_REFUSED = {400: ("Requête invalide : elle ne correspond à aucune action de cette page. "
                      "Rechargez la page."),
                404: "Page introuvable.",
                413: "Requête trop volumineuse.",
                414: "Adresse trop longue.",
                431: "En-têtes de la requête trop longs."}

# a heavy computation (an MDS, the map image) while every slot is taken (callbacks.guard.HEAVY)
BUSY = "Le serveur est occupé : réessayez dans quelques secondes."

# page names (tab labels), by tab id, in the order of the tabs
PAGES = french.PAGE_NAMES

# texts of a dcc.Dropdown (Dash 4 shows English ones by default)
DROPDOWN = {"search": "Rechercher", "no_options_found": "Aucun choix ne correspond",
            "clear_search": "Effacer", "clear_selection": "Effacer la sélection",
            "select_all": "Tout choisir", "deselect_all": "Tout retirer",
            "selected_count": "{num_selected} choisi(s)"}

# the map page
MAP_HELP_CLICK = ("Cliquez sur un point de la carte, sur un résultat de recherche ou sur un jeu de "
                  "données similaire pour afficher sa fiche.")
MAP_HOW_TO_READ = ("Chaque point est un jeu de données du catalogue. Deux points proches ont des "
                   "titres et des descriptions au sens voisin (le sens des phrases est calculé par "
                   "un modèle de langue, puis projeté en deux dimensions par UMAP).")
CLUSTERS = "Groupes de jeux au sens voisin (HDBSCAN, {n})"
NO_SEARCH = "Recherche indisponible pour ce catalogue."
NO_TOPICS = "Aucun thème pour ce catalogue : préparez les données de nouveau (« python -m models build »)."
NO_TOPIC_MODEL = "Aucun modèle de thèmes pour ce catalogue."
NO_CLUSTERS = "Pas de groupes de jeux au sens voisin pour ce catalogue."
TOPICS_UNAVAILABLE = ("Ce catalogue n'a pas de modèles de thèmes : préparez les données de nouveau avec "
                      "« python -m models build ».")
NO_OUTLINES = "Pas de contours des {unit} pour ce catalogue."
QUALITY_NO_MODE = "Aucun mode de recherche disponible pour ce catalogue."

# the topics page
TOPICS_MAP_HELP = ("Carte des thèmes : deux bulles proches ont des vocabulaires voisins (distance "
                   "de Jensen-Shannon, projetée en 2D) ; l'aire d'une bulle est la part du "
                   "catalogue qui parle de ce thème. Cliquez sur une bulle pour l'explorer.")
TOPICS_MDS_TITLE = "Disposition MDS d'une sélection (sens des textes, distance cosinus)"
TOPICS_X_CLUSTERS = "Thèmes LDA × groupes de jeux au sens voisin (HDBSCAN)"

# the producers page
PRODUCERS_TITLE = "Qui sont les acteurs ? Quelles données fournissent-ils ?"
PRODUCERS_INTRO = ("Tous les producteurs du catalogue : triez ou filtrez le tableau (cliquez sur "
                   "l'en-tête d'une colonne), puis cliquez sur une ligne pour afficher ses chiffres "
                   "clés, ses jeux de données sur la carte, ses thèmes, la qualité de ses métadonnées, "
                   "ses quasi-doublons, les producteurs qui lui ressemblent, et si l'on trouve ses "
                   "jeux par la recherche.")
PRODUCERS_PICK = "Choisir un producteur par son nom : tapez-le, par exemple « Région »"
PRODUCERS_CHOOSE = "Cliquez sur un producteur du tableau pour afficher ses chiffres clés."
PRODUCERS_OVERVIEW = "Tous les producteurs"
PRODUCERS_OVERVIEW_HELP = ("Qualité : score moyen des métadonnées de ses jeux de données, sur 100 ; "
                           "vues et réutilisations : archivés compris.")
PRODUCERS_NO_ACTIVE = "Aucun jeu de données actif dans le catalogue : ses jeux sont tous archivés."
PRODUCERS_NO_TOPICS = "Pas de thèmes (LDA) pour ce catalogue."
PRODUCERS_NONE_ACTIVE = "Aucun jeu de données actif dans le catalogue."
PRODUCERS_NO_SIMILAR = "Pas de producteur comparable (aucun jeu de données actif)."
PRODUCERS_SIMILAR_HELP = "Cosinus entre le sens moyen de leurs jeux de données."
PRODUCERS_GRID_COLUMNS = {"organization": "Producteur", "kind": "Type", "n_active": "Jeux actifs",
                          "n_archived": "Archivés", "views": "Vues", "reuses": "Réutilisations",
                          "score": "Qualité", "last_modified": "Dernière mise à jour"}
PRODUCER_KINDS = {"organisation": "organisation", "utilisateur": "utilisateur",
                  "aucun": "sans organisation"}

# the territories page
TERRITORIES_TITLE = "Qu'est-ce qui concerne mon territoire ?"
TERRITORIES_CHOOSE = "Choisissez une commune, une intercommunalité, un département ou une région."
TERRITORIES_UNAVAILABLE = ("Les territoires n'ont pas été extraits pour ce catalogue (référentiel "
                           "géographique absent lors de la préparation des données) : relancez "
                           "« python -m models build » avec le dossier geo/.")
TERRITORIES_TOP = "Les territoires les plus cités"
TERRITORIES_MAP_HELP = ("Un jeu compte pour un département s'il nomme le département, une de ses "
                        "communes ou une intercommunalité qui s'y trouve. Cliquez sur un territoire "
                        "pour voir ses jeux.")

# the compare page
COMPARE_INTRO = ("Une même requête, trois façons de chercher : « Mots-clés » compte les mots communs "
                 "(BM25, pondéré par champ), « Sémantique » compare le sens des phrases (modèle de "
                 "langue e5), « Hybride » fusionne les deux classements et tient compte de la "
                 "popularité des jeux. Sous chaque résultat, son rang dans les autres colonnes.")
COMPARE_UNAVAILABLE = ("Ce catalogue n'a pas les trois modes de recherche (mots-clés, sémantique, "
                       "hybride) : préparez-le de nouveau avec python -m models build.")
COMPARE_FAILED = "La comparaison a échoué : un des modes de recherche est indisponible."
COMPARE_EMPTY = "Saisissez une requête à comparer."
# questions of the study (questions-public.csv, the README): the page opens on the first one
EXAMPLE_QUESTIONS = ("Quand est-ce que les enfants sont en vacances ?", "Où sont les musées ?",
                     "Quels sont les jours fériés ?", "Où sont implantées les éoliennes ?")
EXAMPLES = "Exemples :"


def mode_label(mode: str) -> str:
    return MODE_LABELS.get(mode, mode)


def mode_options(modes) -> list[dict]:
    return [{"label": mode_label(m), "value": m} for m in modes]


def clean_text(value, max_chars: int | None = None) -> str:
    """Any value -> a display string: None/NaN -> "", control characters dropped, capped."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    s = _CONTROL.sub(" ", str(value)).strip()
    if max_chars is not None and len(s) > max_chars:
        s = s[: max_chars - 1].rstrip() + "…"
    return s


def spelling_suggestion(suggestion: str) -> tuple[str, str, str]:
    """The notice of a corrected query offered, not searched: (text before, text of the link
    that searches it, text after).

    >>> "".join(spelling_suggestion("accidents de la circulation")) == (
    ...     "Vouliez-vous dire «\u202faccidents de la circulation\u202f»\u202f?")
    True
    """
    return typo("Vouliez-vous dire « "), clean_text(suggestion, 120), typo(" » ?")


def spelling_replaced(searched: str, typed: str) -> tuple[str, str, str]:
    """The notice of a query searched with its words corrected (the query as typed found
    nothing): (text before, text of the link that searches the query as typed, text after).

    >>> "".join(spelling_replaced("circulation", "cicrulation")) == (
    ...     "Résultats pour «\u202fcirculation\u202f». Chercher plutôt «\u202fcicrulation\u202f»")
    True
    """
    return (typo(f"Résultats pour « {clean_text(searched, 120)} ». Chercher plutôt « "),
            clean_text(typed, 120), typo(" »"))


def plotly_text(value, max_chars: int | None = None) -> str:
    """Text for plotly labels (legend, hover, text marks): plotly reads a subset of HTML in
    them, so ``&``, ``<`` and ``>`` are written as entities and show as themselves."""
    s = clean_text(value, max_chars)
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_EXPORT_NAME = re.compile(r"export-dataset-(\d{4})(\d{2})(\d{2})")


def catalogue_date(manifest: dict) -> str:
    """The day of the catalogue export a build was made from, ISO ``YYYY-MM-DD`` (or ""): the
    export file's name (``export-dataset-20260116-…``), else the newest modification in it."""
    source = str((manifest.get("catalog") or {}).get("source") or "")
    m = _EXPORT_NAME.search(source)
    if m:
        return "-".join(m.groups())
    iso = ((manifest.get("parameters") or {}).get("producers") or {}).get("export_date")
    return str(iso)[:10] if iso else ""


def catalogue_subtitle(n: int, manifest: dict) -> str:
    """The header's line: ``70 575 jeux de données · catalogue du 16 janvier 2026``."""
    count = french.count(n, "jeu de données", "jeux de données")
    day = french.long_date(catalogue_date(manifest))
    return f"{count} · catalogue du {day}" if day else count


def dropdown_labels(search: str | None = None, nothing: str | None = None) -> dict:
    """French texts of a ``dcc.Dropdown`` (its ``labels``); Dash 4 shows English ones otherwise."""
    out = dict(DROPDOWN)
    if search:
        out["search"] = search
    if nothing:
        out["no_options_found"] = nothing
    return out


# AG Grid's texts (dash-ag-grid ``dashGridOptions={"localeText": ...}``): those of the filters,
# the column menu, pagination and the overlays; the grid shows English for a key not listed.
AG_GRID_LOCALE = {
    "page": "Page", "more": "plus", "to": "à", "of": "sur", "next": "Suivante", "last": "Dernière",
    "first": "Première", "previous": "Précédente", "loadingOoo": "Chargement…",
    "loadingError": "Erreur de chargement", "noRowsToShow": "Aucune ligne à afficher",
    "firstPage": "Première page", "lastPage": "Dernière page", "nextPage": "Page suivante",
    "previousPage": "Page précédente", "pageSizeSelectorLabel": "Lignes par page :",
    "pageLastRowUnknown": "?", "filterOoo": "Filtrer…", "equals": "Égal à", "notEqual": "Différent de",
    "blank": "Vide", "notBlank": "Non vide", "empty": "Choisir…", "lessThan": "Inférieur à",
    "greaterThan": "Supérieur à", "lessThanOrEqual": "Inférieur ou égal à",
    "greaterThanOrEqual": "Supérieur ou égal à", "inRange": "Entre", "inRangeStart": "De",
    "inRangeEnd": "à", "contains": "Contient", "notContains": "Ne contient pas",
    "startsWith": "Commence par", "endsWith": "Se termine par", "before": "Avant", "after": "Après",
    "dateFormatOoo": "jj/mm/aaaa", "andCondition": "ET", "orCondition": "OU",
    "applyFilter": "Appliquer", "resetFilter": "Réinitialiser", "clearFilter": "Effacer",
    "cancelFilter": "Annuler", "textFilter": "Filtre texte", "numberFilter": "Filtre nombre",
    "dateFilter": "Filtre date", "searchOoo": "Rechercher…", "selectAll": "(Tout choisir)",
    "noMatches": "Aucun résultat", "columns": "Colonnes", "filters": "Filtres",
    "pinColumn": "Épingler la colonne", "pinLeft": "Épingler à gauche", "pinRight": "Épingler à droite",
    "noPin": "Ne pas épingler", "autosizeThisColumn": "Ajuster cette colonne",
    "autosizeAllColumns": "Ajuster toutes les colonnes", "resetColumns": "Réinitialiser les colonnes",
    "sortAscending": "Tri croissant", "sortDescending": "Tri décroissant", "sortUnSort": "Sans tri",
    "columnFilter": "Filtre de colonne", "columnChooser": "Choisir les colonnes",
    "chooseColumns": "Choisir les colonnes", "hideColumn": "Masquer la colonne",
}


def _typo_catalogue() -> None:
    """Applies :func:`typo` to every text constant of this module (run once at import)."""
    g = globals()
    for name, value in list(g.items()):
        if not name.isupper() or name in ("NNBSP",):
            continue
        if isinstance(value, str):
            g[name] = typo(value)
        elif isinstance(value, tuple) and all(isinstance(v, str) for v in value):
            g[name] = tuple(typo(v) for v in value)
        elif isinstance(value, dict) and all(isinstance(v, str) for v in value.values()):
            g[name] = {k: typo(v) for k, v in value.items()}


_typo_catalogue()

"""The build status line: a partial (sample) catalogue and when the whole one is expected, or a
newer catalogue served since the page was opened (reload). Pure builders."""

from __future__ import annotations

from datetime import datetime

from dash import dcc, html

from components import ids
from models.core import french

NNBSP, NBSP = french.NNBSP, french.NBSP
CHECK_EVERY_MS = 30_000


def minutes_left(partial: dict, created_at: str | None, now: datetime) -> int | None:
    """Minutes until the whole catalogue's build should be served (≥ 1), None if unknown."""
    seconds = partial.get("full_build_seconds")
    if not seconds or not created_at:
        return None
    try:
        start = datetime.strptime(created_at, "%Y-%m-%dT%H:%M:%S%z")
    except ValueError:
        return None
    left = seconds - (now - start).total_seconds()
    return max(1, round(left / 60))


def partial_message(partial: dict | None, created_at: str | None, now: datetime) -> str | None:
    """« catalogue partiel : 5 000 / 70 575 — complet dans ~40 min » (None: the whole catalogue)."""
    if not partial or not partial.get("n_rows") or not partial.get("n_total"):
        return None
    text = (f"catalogue partiel{NNBSP}: {french.integer(partial['n_rows'])} / "
            f"{french.integer(partial['n_total'])}")
    left = minutes_left(partial, created_at, now)
    if left is not None:
        text += (f" — complet dans ~{french.integer(left)}{NBSP}min" if left > 1
                 else " — complet d'un instant à l'autre")
    return text


# what an early-published build still lacks (models.pipeline.steps.EARLY_STEPS), in words
PENDING_WORDS = {"passages": "les passages cités par « Demander »", "lda": "les thèmes",
                 "clusters": "les groupes", "hierarchy": "les régions de la carte",
                 "topic_periods": "les thèmes par période"}


def pending_message(pending: dict | None) -> str | None:
    """« Carte et recherche prêtes ; les thèmes, … arrivent (calcul en cours). » for a build
    published before its last steps; None for a complete one.

    Examples
    --------
    >>> pending_message({"steps": ["topic_tokens", "lda", "clusters"]})
    'Carte et recherche prêtes\u202f; les thèmes et les groupes arrivent (calcul en cours, la page le dira).'
    """
    steps = (pending or {}).get("steps") if isinstance(pending, dict) else None
    if not isinstance(steps, list) or not steps:
        return None
    words = [PENDING_WORDS[s] for s in steps if isinstance(s, str) and s in PENDING_WORDS]
    what = (", ".join(words[:-1]) + " et " + words[-1]) if len(words) > 1 else (
        words[0] if words else "les dernières analyses")
    return (f"Carte et recherche prêtes{NNBSP}; {what} arrivent "
            "(calcul en cours, la page le dira).")


REJECTED = (f"Une mise à jour du catalogue n'a pas pu être chargée (données endommagées){NNBSP}: "
            "la version actuelle reste en service.")


def page_outdated(page_build: str | None, served_build: str | None) -> bool:
    """True when the server now serves another build than the page's: the page must reload, and
    asking again would only rewrite the « recharger » link under the user's pointer.

    Examples
    --------
    >>> page_outdated("b1", "b2"), page_outdated("b1", "b1"), page_outdated(None, "b2")
    (True, False, False)
    """
    return bool(page_build and served_build and page_build != served_build)


def banner(page_build: str | None, served_build: str | None, partial: dict | None,
           created_at: str | None, now: datetime, *, rejected: str | None = None,
           pending: dict | None = None) -> tuple[list, str]:
    """(children, className) of the status line; ``rejected``: a newer build the server could not
    load (it keeps serving this one, the log says why); ``pending``: the manifest's steps still
    to come of an early-published build."""
    if page_outdated(page_build, served_build):
        return ([f"Le catalogue a été mis à jour{NNBSP}: ",
                 html.A("recharger la page", href="/", className="alert-link")],
                "alert alert-info py-1 px-3 mb-0 small")
    if rejected:
        return [REJECTED], "alert alert-warning py-1 px-3 mb-0 small"
    msg = partial_message(partial, created_at, now)
    if msg:
        return [msg], "alert alert-warning py-1 px-3 mb-0 small"
    msg = pending_message(pending)
    if msg:
        return [msg], "alert alert-info py-1 px-3 mb-0 small"
    return [], "d-none"


def build_status_bar(build_id: str, partial: dict | None, created_at: str | None,
                     now: datetime, pending: dict | None = None) -> html.Div:
    children, cls = banner(build_id, build_id, partial, created_at, now, pending=pending)
    return html.Div([
        dcc.Store(id=ids.BUILD_ID, data=build_id),
        dcc.Interval(id=ids.BUILD_CHECK, interval=CHECK_EVERY_MS, n_intervals=0),
        html.Div(children, id=ids.BUILD_BANNER, className=cls, role="status"),
    ], className="container-fluid")

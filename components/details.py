"""The details panel of one dataset. Everything from the catalogue is shown as text or as
Markdown with raw HTML escaped; only http(s) links are kept."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import dash_bootstrap_components as dbc
import numpy as np
from dash import dcc, html

from components.dataset_list import dataset_list
from components.ids import SIMILAR_ITEM
from components.labels import NO_PRODUCER, NO_TITLE, clean_text
from models.core import french

MAX_DESCRIPTION_CHARS = 4000
MAX_TAGS = 25
TRUNCATED_NOTE = "(tronqué)"

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SCRIPT = re.compile(r"<(script|style)\b.*?(</\1\s*>|$)", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"</?[A-Za-z!][^>]{0,2000}>")
_MD_REF_DEF = re.compile(r"^[ \t]{0,3}\[[^\]\n]{1,500}\]:[ \t]*<?(\S{0,2000}?)>?([ \t].*)?$", re.MULTILINE)
_SAFE_TARGET = re.compile(  # a plain http(s) URL (parentheses balanced: matched before), optional "title"
    r"^<?https?://[^\s<>\"'`\\]{1,2000}>?(?:[ \t]+\"[^\"\n]{0,300}\")?$", re.IGNORECASE)
_SAFE_LINK = re.compile(r"^https?://", re.IGNORECASE)
_URL_REFUSED = re.compile(r"[\s\"'<>`\\]")  # spaces (any Unicode one), quotes, angle brackets, backslash


def safe_url(url) -> str | None:
    """``url`` if it is an absolute http(s) URL without spaces or control characters."""
    s = clean_text(url)
    if not s or len(s) > 2000 or _URL_REFUSED.search(s):
        return None
    try:
        parts = urlsplit(s)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return s


def _pairs(s: str, opening: str, closing: str) -> dict[int, int]:
    """Index of each opening bracket -> index of its matching closing one (nesting-aware, one
    linear pass; unmatched ones left out)."""
    out, stack = {}, []
    for i, c in enumerate(s):
        if c == opening:
            stack.append(i)
        elif c == closing and stack:
            out[stack.pop()] = i
    return out


def _flat(text: str) -> str:
    """Link or image text without brackets: nothing inside it can be a link or an image."""
    return text.replace("[", "").replace("]", "")


def _inner(text: str, depth: int) -> str:
    """The text of a dropped link or image: its own links and images neutralised (two levels),
    then flattened."""
    return _flat(_neutralise_links(text, depth + 1) if depth < 2 else text)


def _neutralise_links(s: str, depth: int = 0) -> str:
    """Images (inline, reference or shortcut) -> their alt text; inline links kept only when
    their text has no brackets and their target is a plain http(s) URL, else their text.
    Brackets are matched with nesting and across line breaks, in linear time."""
    sq, par = _pairs(s, "[", "]"), _pairs(s, "(", ")")
    out, i, n = [], 0, len(s)
    while i < n:
        image = s.startswith("![", i) and (i + 1) in sq
        j = i + 1 if image else i
        if (image or s[i] == "[") and j in sq:
            k = sq[j]
            text = s[j + 1:k]
            after = k + 1
            if after < n and s[after] == "(" and after in par:
                m = par[after]
                target = s[after + 1:m].strip()
                if not image and "[" not in text and "]" not in text and _SAFE_TARGET.match(target):
                    out.append(s[i:m + 1])
                else:
                    out.append(_inner(text, depth))
                i = m + 1
                continue
            if image:  # ![alt][ref] or ![alt]: never an image
                out.append(_inner(text, depth))
                i = sq[after] + 1 if after < n and s[after] == "[" and after in sq else k + 1
                continue
        out.append(s[i])
        i += 1
    return "".join(out)


def description_markdown(text, max_chars: int = MAX_DESCRIPTION_CHARS) -> tuple[str, bool]:
    """Catalogue description -> (Markdown safe to render without HTML, truncated?).

    HTML tags and script/style blocks are removed (what is left of them is escaped by the
    Markdown renderer anyway), images become their alt text (so the browser fetches nothing),
    and links other than http(s) become plain text. Long texts are cut at ``max_chars`` (at a
    word boundary)."""
    s = clean_text(text) if not isinstance(text, str) else text
    s = _CONTROL.sub(" ", s or "")
    truncated = len(s) > max_chars
    if truncated:
        cut = s[:max_chars]
        s = cut[: cut.rfind(" ")] if " " in cut[-200:] else cut
    s = _SCRIPT.sub(" ", s)
    s = _TAG.sub(" ", s)
    s = _neutralise_links(s)
    s = _MD_REF_DEF.sub(lambda m: m.group(0) if _SAFE_LINK.match(m.group(1) or "") else "", s)
    return s.strip(), truncated


def _as_list(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value else []
    if isinstance(value, (list, tuple, np.ndarray)):
        return [clean_text(v, 60) for v in value if clean_text(v)]
    return []


def placeholder() -> html.Div:
    return html.Div(
        "Cliquez sur un point de la carte, un résultat de recherche ou un jeu de données "
        "similaire pour afficher sa fiche.", className="text-muted small")


def details_panel(record: dict, similar: list[dict], *, topic_label: str | None = None,
                  max_description: int = MAX_DESCRIPTION_CHARS) -> html.Div:
    """``record``: one row of datasets.parquet as a dict; ``similar``: dicts with ``row``,
    ``title``, ``organization``, ``score`` (the dataset's nearest neighbours)."""
    title = clean_text(record.get("title"), 300) or NO_TITLE
    producer = clean_text(record.get("organization"), 200) or NO_PRODUCER
    facts = []
    created = french.short_date(record.get("created_at"))
    modified = french.short_date(record.get("last_modified"))
    if created:
        facts.append(dbc.Badge(f"Créé le {created}", color="light", text_color="dark", className="me-1"))
    if modified:
        facts.append(dbc.Badge(f"Modifié le {modified}", color="light", text_color="dark", className="me-1"))
    if topic_label:
        facts.append(dbc.Badge(f"Thème\u202f: {clean_text(topic_label, 80)}", color="info", className="me-1"))
    tags = _as_list(record.get("tags"))
    tag_badges = [dbc.Badge(t, color="secondary", className="me-1 mb-1 fw-normal") for t in tags[:MAX_TAGS]]
    if len(tags) > MAX_TAGS:
        tag_badges.append(html.Span(f"+ {len(tags) - MAX_TAGS} autres", className="small text-muted"))
    desc, truncated = description_markdown(record.get("description"), max_description)
    url = safe_url(record.get("url"))
    children = [
        html.H5(title, className="mb-1 details-title"),
        html.Div(producer, className="text-muted mb-2"),
        html.Div(facts, className="mb-2"),
    ]
    if tag_badges:
        children.append(html.Div(tag_badges, className="mb-2 details-tags"))
    children.append(html.Div(
        [dcc.Markdown(desc or "*Pas de description.*", dangerously_allow_html=False,
                      link_target="_blank", className="details-markdown"),
         html.Div(TRUNCATED_NOTE, className="small text-muted fst-italic") if truncated else None],
        className="details-description mb-2"))
    if url:
        children.append(html.A("Voir la fiche sur data.gouv.fr ↗", href=url, target="_blank",
                               rel="noopener noreferrer", className="btn btn-sm btn-outline-primary mb-3"))
    children += [
        html.H6("Jeux de données similaires", className="mt-2"),
        dataset_list(similar, item_type=SIMILAR_ITEM, score_label="similarité", numbered=False,
                     empty_message="Aucun jeu de données similaire."),
    ]
    return html.Div(children)


def map_tooltip(record: dict, topic_label: str | None = None) -> html.Div:
    """What hovering a map point shows: title, producer, topic (as text)."""
    return html.Div([
        html.Div(clean_text(record.get("title"), 140) or NO_TITLE, className="fw-semibold"),
        html.Div(clean_text(record.get("organization"), 80) or NO_PRODUCER, className="small text-muted"),
        html.Div(f"Thème\u202f: {clean_text(topic_label, 80)}", className="small") if topic_label else None,
        html.Div("Cliquer pour ouvrir la fiche", className="small text-primary"),
    ], className="map-tooltip")

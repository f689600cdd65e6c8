"""French labels and small text helpers shared by the builders (pure functions)."""

from __future__ import annotations

import math
import re
from datetime import datetime

# What the user reads for each search mode (models.serve.search.MODES); unknown modes keep their name.
MODE_LABELS = {
    "semantic": "Sémantique",
    "keyword": "Mots-clés",
    "hybrid": "Hybride",
    "word": "Mots (word2vec)",
}

APP_TITLE = "Explorateur du catalogue data.gouv.fr"
NO_TITLE = "(sans titre)"
NO_PRODUCER = "Producteur inconnu"

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


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


def plotly_text(value, max_chars: int | None = None) -> str:
    """Text for plotly labels (legend, hover, text marks): plotly reads a subset of HTML in
    them, so ``&``, ``<`` and ``>`` are written as entities and show as themselves."""
    s = clean_text(value, max_chars)
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def format_date(value) -> str:
    """ISO date or datetime string -> ``jj/mm/aaaa`` ("" if missing or unreadable)."""
    s = clean_text(value)
    if not s:
        return ""
    try:
        return datetime.fromisoformat(s[:19]).strftime("%d/%m/%Y")
    except ValueError:
        return ""


def format_score(score) -> str:
    """A similarity or search score, French decimal comma: ``0,873``."""
    try:
        x = float(score)
    except (TypeError, ValueError):
        return ""
    if not math.isfinite(x):
        return ""
    return f"{x:.3f}".replace(".", ",")

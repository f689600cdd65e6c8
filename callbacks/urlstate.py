"""What the URL's query string holds (``?q=…&mode=…&id=…``): parsed and validated, or built.

Pure functions: the URL comes from the user, so every value is checked (query cleaned and
capped by :func:`models.serve.search.clean_query`, mode among those served, id of a known dataset).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from urllib.parse import parse_qs, urlencode

from models.serve.search import clean_query

MAX_SEARCH_CHARS = 4000  # of the raw query string
MAX_ID_CHARS = 64


def _first(values: list[str] | None) -> str:
    return values[0] if values else ""


def parse_url_search(search: str | None, *, modes: Sequence[str], default_mode: str | None,
                     max_query_chars: int, is_known_id: Callable[[str], bool]) -> dict:
    """``"?q=vacances&mode=hybrid&id=53a…"`` -> ``{"q": str, "mode": str|None, "id": str|None}``."""
    s = search[:MAX_SEARCH_CHARS] if isinstance(search, str) else ""
    if s.startswith("?"):
        s = s[1:]
    try:
        params = parse_qs(s, max_num_fields=20)
    except ValueError:
        params = {}
    q = clean_query(_first(params.get("q")), max_query_chars)
    mode = _first(params.get("mode"))
    if mode not in modes:  # a str: parse_qs gives strings only
        mode = default_mode
    ds_id = clean_query(_first(params.get("id")), MAX_ID_CHARS + 1)
    if not ds_id or len(ds_id) > MAX_ID_CHARS or not is_known_id(ds_id):
        ds_id = None
    return {"q": q, "mode": mode, "id": ds_id}


def build_url_search(q: str | None, mode: str | None, dataset_id: str | None) -> str:
    """The query string for a view (``""`` for the bare page)."""
    params = []
    if q:
        params.append(("q", q))
        if mode:
            params.append(("mode", mode))
    if dataset_id:
        params.append(("id", dataset_id))
    return "?" + urlencode(params) if params else ""

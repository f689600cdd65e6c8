"""What the URL's query string holds (``?q=…&mode=…&id=…``, and a search's filters, sort and
removed chips: ``&territory=departement:31&year=2018-2022&sort=recent&ignore=period:2020-2020``):
parsed and validated, or built.

Pure functions: the URL comes from the user, so every value is checked (query cleaned and
capped by :func:`models.serve.search.clean_query`, mode among those served, id of a known dataset).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from urllib.parse import parse_qs, urlencode

from models.serve.filters import FILTER_KEYS
from models.serve.ranking import SORTS
from models.serve.search import clean_query

MAX_SEARCH_CHARS = 4000  # of the raw query string
MAX_ID_CHARS = 64
MAX_FILTER_CHARS = 600


def _first(values: list[str] | None) -> str:
    return values[0] if values else ""


def parse_url_search(search: str | None, *, modes: Sequence[str], default_mode: str | None,
                     max_query_chars: int, is_known_id: Callable[[str], bool]) -> dict:
    """``"?q=vacances&mode=hybrid&id=53a…"`` -> ``{"q": str, "mode": str|None, "id": str|None}``."""
    s = search[:MAX_SEARCH_CHARS] if isinstance(search, str) else ""
    if s.startswith("?"):
        s = s[1:]
    try:
        params = parse_qs(s, max_num_fields=30)
    except ValueError:
        params = {}
    q = clean_query(_first(params.get("q")), max_query_chars)
    mode = _first(params.get("mode"))
    if mode not in modes:  # a str: parse_qs gives strings only
        mode = default_mode
    ds_id = clean_query(_first(params.get("id")), MAX_ID_CHARS + 1)
    if not ds_id or len(ds_id) > MAX_ID_CHARS or not is_known_id(ds_id):
        ds_id = None
    # filters: raw strings, validated against the build by the search (unknown values dropped
    # there, with a French message); lists joined by "|"
    filters = {k: clean_query(_first(params.get(k)), MAX_FILTER_CHARS)
               for k in FILTER_KEYS if _first(params.get(k)).strip()}
    sort = _first(params.get("sort"))
    sort = sort if sort in SORTS else "relevance"
    ignore = [clean_query(x, 80) for x in _first(params.get("ignore")).split(",") if x.strip()][:10]
    return {"q": q, "mode": mode, "id": ds_id, "filters": filters, "sort": sort, "ignore": ignore}


def build_url_search(q: str | None, mode: str | None, dataset_id: str | None, *,
                     filters: dict | None = None, sort: str | None = None,
                     ignore: Sequence[str] | None = None) -> str:
    """The query string for a view (``""`` for the bare page); ``filters``: flat strings
    (:func:`models.serve.filters.filters_to_params`)."""
    params = []
    if q:
        params.append(("q", q))
    if (q or filters) and mode:
        params.append(("mode", mode))
    for k in FILTER_KEYS:
        if filters and filters.get(k):
            params.append((k, str(filters[k])))
    if (q or filters) and sort and sort != "relevance":
        params.append(("sort", sort))
    if q and ignore:
        params.append(("ignore", ",".join(ignore)))
    if dataset_id:
        params.append(("id", dataset_id))
    return "?" + urlencode(params) if params else ""

"""One service layer, several front doors: the command line, the JSON API (``models/api``) and
the MCP server (``models/mcp``) ask the catalogue through :class:`CatalogueService`, plain data in
and out (dicts and lists of JSON values). It calls what the pages call (``SearchEngine.search_result``,
``Records.similar``, ``Assistant.ask``, ``ProducerService``, ``TerritoryService``, the topic table)
and never ranks anything itself.

Errors are typed: :class:`NotFound` (an unknown dataset, producer or territory: 404 for the API),
:class:`InvalidInput` (a value the service cannot use: 400), :class:`Unavailable` (what this build
cannot serve, e.g. a search mode without its index: 409). Their ``message`` is French.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from models.core.french import quoted
from models.core.store import ArtifactError
from models.serve.cards import query_stems, snippet_pieces
from models.serve.search import MODES

log = logging.getLogger(__name__)

SORTS = ("relevance", "recent", "popular")
MAX_K = 100
PRODUCER_SORTS = {"size": None, "name": ("organization", "asc"), "views": ("views", "desc"),
                  "reuses": ("reuses", "desc"), "score": ("score", "desc"),
                  "recent": ("last_modified", "desc")}
MAX_PER_PAGE = 100
MAX_STATE_CHARS = 8_000  # an encoded dialogue state (a few hundred characters in practice)
LIST_FILTERS = ("producer", "territory", "format", "licence", "frequency", "topic")
SCALAR_FILTERS = ("year", "modified", "has_reuses")


class ServiceError(ValueError):
    """A French ``message`` for the person and a stable ``code`` for programs (a ValueError: the
    command line reports it like its other input errors).

    Examples
    --------
    >>> e = ServiceError("aucun jeu")
    >>> e.message, e.code, isinstance(e, ValueError), ServiceError("x", "mon_code").code
    ('aucun jeu', 'erreur', True, 'mon_code')
    """

    code = "erreur"

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code


class NotFound(ServiceError):
    """Nothing of that id or name in this catalogue.

    Examples
    --------
    >>> NotFound("aucun jeu de données d'identifiant « x »").code
    'introuvable'
    """

    code = "introuvable"


class InvalidInput(ServiceError):
    """A parameter out of its range or of the wrong form.

    Examples
    --------
    >>> InvalidInput("page ≥ 1 attendue").code
    'parametre_invalide'
    """

    code = "parametre_invalide"


class Unavailable(ServiceError):
    """What was asked needs something this build lacks (a search mode, an index).

    Examples
    --------
    >>> Unavailable("mode indisponible", "mode_indisponible").code
    'mode_indisponible'
    """

    code = "indisponible"


def _plain(v):
    """numpy scalars and NaN → JSON values."""
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not np.isfinite(v):
        return None
    return v


def encode_state(state: dict) -> str:
    """The assistant's dialogue state as an opaque string (base64url of compact JSON).

    Examples
    --------
    >>> encode_state({"v": 1, "topic": "piscines"})
    'eyJ2IjoxLCJ0b3BpYyI6InBpc2NpbmVzIn0'
    """
    raw = json.dumps(state, ensure_ascii=False, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_state(token) -> dict | None:
    """The state a previous turn returned (None: a new dialogue). Anything else is refused
    (:class:`InvalidInput`); what decodes is checked again by ``assistant.clean_state``.

    Examples
    --------
    >>> st = decode_state(encode_state({"v": 1, "topic": "piscines", "evil": True}))
    >>> st["topic"], "evil" in st, decode_state(None), decode_state("")
    ('piscines', False, None, None)
    >>> decode_state(12)
    Traceback (most recent call last):
    ...
    models.serve.service.InvalidInput: état de dialogue invalide
    """
    from models.serve.assistant import clean_state

    if token is None or token == "":
        return None
    if not isinstance(token, str) or len(token) > MAX_STATE_CHARS:
        raise InvalidInput("état de dialogue invalide ou trop long" if isinstance(token, str)
                           else "état de dialogue invalide", "etat_invalide")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw.decode("utf-8"))
    except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError):
        raise InvalidInput("état de dialogue illisible\u202f: renvoyez celui de la réponse précédente",
                           "etat_invalide") from None
    if not isinstance(data, dict):
        raise InvalidInput("état de dialogue invalide", "etat_invalide")
    return clean_state(data)


@dataclass
class CatalogueService:
    """Read-only answers about one loaded build (thread-safe like the Explorer it wraps)."""

    explorer: object  # models.serve.explorer.Explorer
    known_modes: list[str] | None = None  # the modes the app already probed (None: probe once)

    @classmethod
    def load(cls, artifacts, **kwargs) -> CatalogueService:
        from models.serve.explorer import Explorer

        return cls(Explorer.load(artifacts, **kwargs))

    # ---- helpers -------------------------------------------------------------------------
    def _row(self, dataset_id) -> int:
        row = self.explorer.records.row_of(dataset_id) if isinstance(dataset_id, str) else None
        if row is None:
            shown = str(dataset_id)[:64] if isinstance(dataset_id, str) else "?"
            raise NotFound(f"aucun jeu de données d'identifiant {quoted(shown)} dans ce catalogue")
        return row

    def _url(self, row: int) -> str:
        ds = self.explorer.datasets
        url = ds["url"].iat[row] if "url" in ds else None
        if isinstance(url, str) and url.startswith(("http://", "https://")):
            return url
        return f"https://www.data.gouv.fr/fr/datasets/{ds['id'].iat[row]}/"

    def _snippet(self, row: int, stems: frozenset, focus: frozenset | None = None) -> str:
        return "".join(text for text, _ in snippet_pieces(self.explorer.records.description_text(row), stems,
                                                          focus=focus))

    def _topic(self, row: int) -> dict | None:
        topics = self.explorer.topics.default
        t = topics.of_rows([row])[0]
        label = topics.label(t) if t >= 0 else None
        return {"id": int(t), "label": label} if label is not None else None

    @cached_property
    def modes(self) -> list[str]:
        """The search modes this build serves (an index missing: its mode is not offered)."""
        if self.known_modes is not None:
            return list(self.known_modes)
        out = []
        for mode in MODES:
            try:
                self.explorer.search("données", mode=mode, k=1)
            except ArtifactError:
                continue
            except Exception:  # a broken index must not make the service unusable
                log.exception("search mode %s unavailable", mode)
                continue
            out.append(mode)
        return out

    # ---- search ----------------------------------------------------------------------------
    def search(self, query: str = "", *, mode: str = "hybrid", filters: dict | None = None,
               sort: str = "relevance", k: int = 10, facets: bool = False, tag: str | None = None,
               details: bool = False) -> dict:
        """``{"results", "facets", "messages", "total", "query", "words"?}``: ``results`` as the
        CLI's ``search --json`` (id, title, organization, score, why, versions), plus ``url`` and
        ``snippet`` with ``details``; ``facets`` ``{key: [[value, count], ...]}`` when asked
        (labels with ``details``: ``[value, count, label]``); ``messages``: French notes about
        dropped filters (an unknown mode or sort too: the CLI's behaviour; the API refuses them
        first); ``words``: the nearest words (mode ``word``). See :func:`cli_payload`."""
        exp = self.explorer
        try:
            res = exp.engine.search_result(query, mode=mode, k=k, filters=filters or {}, sort=sort,
                                           facets=facets, tag=tag)
            words = exp.engine.query_words(query) if mode == "word" else None
        except ArtifactError:
            raise Unavailable(f"le mode de recherche {quoted(mode)} n'est pas disponible pour ce catalogue",
                              "mode_indisponible") from None
        out = res.as_json(exp.records)
        rows = out["results"]
        if details:
            stems = query_stems(res.query)
            focus = query_stems(res.topic) & stems
            for r, h in zip(rows, res.hits, strict=True):
                r["url"] = self._url(h.row)
                r["snippet"] = self._snippet(h.row, stems, focus)
        payload = {"results": rows, "messages": list(res.errors), "total": int(res.total),
                   "query": res.query}
        if facets:
            if details:
                payload["facets"] = {key: [[_plain_value(f.value), int(f.count), str(f.label)] for f in vals]
                                     for key, vals in res.facets.items()}
            else:
                payload["facets"] = out["facets"]
        if words is not None:
            payload["words"] = words
        return payload

    # ---- one dataset -------------------------------------------------------------------------
    def dataset(self, dataset_id: str) -> dict:
        """A dataset's card: title, producer, url on data.gouv.fr, dates, formats, licence,
        territories, topic, quality (score and reasons), counts, description (plain text)."""
        from models.serve.cards import card

        exp = self.explorer
        row = self._row(dataset_id)
        c = card(exp, row)
        ds = exp.datasets
        prod = exp.producers
        p = prod.producer_of(row)
        quality = None
        try:
            a = prod.assessed()
            quality = {"score": int(a["score"].iat[row]), "reasons": [str(r) for r in a["reasons"].iat[row]]}
        except Exception:  # the score is a bonus on the card
            log.exception("quality of row %d unavailable", row)

        def count(col):
            v = ds[col].iat[row] if col in ds else 0
            return int(v) if v == v and v is not None else 0

        return {
            "id": c["id"], "title": c["title"], "url": self._url(row), "organization": c["organization"],
            "producer_id": str(prod.table["producer_id"].iat[p]),
            "last_modified": c["last_modified"], "frequency": c["frequency"], "coverage": c["coverage"],
            "territories": c["territories"], "declared_zones": c["declared_zones"], "formats": c["formats"],
            "licence": c["licence"], "views": count("views"), "reuses": count("reuses"),
            "followers": count("followers"), "topic": self._topic(row), "quality": quality,
            "description": exp.records.description_text(row)[:5000],
        }

    def similar(self, dataset_id: str, k: int = 10) -> dict:
        """The ``k`` nearest datasets (the build's embedding neighbours, as on the page)."""
        exp = self.explorer
        row = self._row(dataset_id)
        if not isinstance(k, int) or not 1 <= k <= MAX_K:
            raise InvalidInput(f"k doit être un entier entre 1 et {MAX_K}")
        hits = exp.records.similar(row)[:k]
        items = exp.records.hits_as_dicts(hits)
        for r, h in zip(items, hits, strict=True):
            r["url"] = self._url(h.row)
        return {"id": str(exp.datasets["id"].iat[row]), "title": str(exp.datasets["title"].iat[row] or ""),
                "results": items}

    # ---- the assistant -----------------------------------------------------------------------
    def ask(self, question: str | None, state: str | None = None, choice: dict | None = None) -> dict:
        """One turn of the assistant: ``answer`` (French text), ``datasets`` (with the passage
        that answers, ``evidence``), ``slots`` understood, ``clarify`` (a question with options,
        or None), ``notes``, ``state`` (opaque: send it back with the next turn). Stateless."""
        st = decode_state(state)
        if choice is not None:
            if not isinstance(choice, dict):
                raise InvalidInput("choix invalide")
            res = self.explorer.assistant.ask(None, st, choice=choice)
        else:
            res = self.explorer.assistant.ask("" if question is None else question, st)
        datasets = []
        for c in res.get("cards", []):
            ans = c.get("answer") or None
            datasets.append({
                "id": c["id"], "title": c["title"], "producer": c["producer"],
                "url": c["url"] or self._url(c["row"]), "last_update": c["last_update"],
                "territory": c["territory"] or "", "formats": list(c["formats"]),
                "score": _plain(c.get("score")),
                "evidence": ans["sentence"] if isinstance(ans, dict) and ans.get("sentence") else None,
            })
        clarify = res.get("clarify")
        if clarify:
            clarify = {"slot": clarify["slot"], "question": clarify["question"],
                       "options": [{"label": str(o["label"]), "value": str(o["value"])}
                                   for o in clarify["options"]],
                       "none": clarify.get("none") or "Peu importe"}
        slots = {k: {"value": v["value"], "label": str(v.get("label") or v["value"])}
                 for k, v in res.get("slots", {}).items()}
        return {"answer": res["reply"], "datasets": datasets, "slots": slots, "clarify": clarify or None,
                "notes": list(res.get("notes", [])), "action": res.get("action"),
                "confidence": _plain(res.get("confidence")), "state": encode_state(res["state"])}

    # ---- producers -----------------------------------------------------------------------------
    def producers(self, page: int = 1, per_page: int = 20, sort: str = "size") -> dict:
        """Producers, ``per_page`` at a time (``sort``: size, name, views, reuses, score, recent)."""
        if sort not in PRODUCER_SORTS:
            raise InvalidInput(f"tri {quoted(str(sort)[:30])} inconnu\u202f: {', '.join(PRODUCER_SORTS)}")
        if not isinstance(page, int) or page < 1 or not isinstance(per_page, int) \
                or not 1 <= per_page <= MAX_PER_PAGE:
            raise InvalidInput(f"page ≥ 1 et per_page entre 1 et {MAX_PER_PAGE} attendus")
        spec = PRODUCER_SORTS[sort]
        sort_model = [{"colId": spec[0], "sort": spec[1]}] if spec else None
        start = (page - 1) * per_page
        t, total = self.explorer.producers.overview_page(start, start + per_page, sort_model=sort_model)
        items = [{"id": str(r.producer_id), "name": str(r.organization), "kind": str(r.kind),
                  "n_datasets": int(r.n_active), "n_archived": int(r.n_archived), "views": int(r.views),
                  "reuses": int(r.reuses), "quality": _plain(float(r.score)),
                  "last_modified": str(r.last_modified)} for r in t.itertuples()]
        return {"page": page, "per_page": per_page, "total": int(total), "sort": sort, "producers": items}

    def find_producer(self, text: str) -> str | None:
        """The id of the producer ``text`` names (its id, or the start of its name, accents and
        case ignored: the biggest first), None when none matches."""
        prod = self.explorer.producers
        if not isinstance(text, str) or not text.strip():
            return None
        if prod.index_of(text.strip()) is not None:
            return text.strip()
        opts = prod.options(text[:100], limit=1)
        return str(opts[0]["value"]) if opts else None

    def producer(self, producer_id: str, n_datasets: int = 10) -> dict:
        """A producer: key figures, its most viewed datasets, its topics."""
        prod = self.explorer.producers
        p = prod.index_of(producer_id)
        if p is None:
            shown = str(producer_id)[:64] if isinstance(producer_id, str) else "?"
            raise NotFound(f"aucun producteur d'identifiant {quoted(shown)} dans ce catalogue")
        s = prod.summary(p)
        ds = prod.datasets(p, limit=n_datasets)
        mix = prod.topic_mix(p, top=5)
        ov = prod.overview().iloc[p]
        return {
            "id": str(s["producer_id"]), "name": str(s["organization"]), "kind": str(s.get("kind") or ""),
            "rank": int(s["rank"]), "n_datasets": int(s["n_active"]), "n_archived": int(s["n_archived"]),
            "views": int(s.get("views") or 0), "reuses": int(s.get("reuses") or 0),
            "quality": _plain(float(ov["score"])), "last_modified": str(ov["last_modified"]),
            "datasets": [{"id": str(r.id), "title": str(r.title), "url": self._url(int(r.row)),
                          "views": int(r.views), "quality": _plain(r.score)} for r in ds.itertuples()],
            "topics": [] if mix is None else [
                {"id": int(r.topic), "label": str(r.label), "share": round(float(r.producer), 4),
                 "catalogue_share": round(float(r.catalogue), 4)} for r in mix.itertuples()],
        }

    # ---- territories -----------------------------------------------------------------------------
    def find_territory(self, text: str) -> str | None:
        """``level:code`` of a territory named ``text`` (« Rennes », « Bretagne »), or of a value
        already in that form; None when the gazetteer knows no such place."""
        terr = self.explorer.territories
        if not isinstance(text, str) or not text.strip():
            return None
        if terr.entity(text.strip()) is not None:
            return text.strip()
        opts = terr.options(text[:100], limit=1)
        return opts[0]["value"] if opts else None

    def territory_datasets(self, code: str, page: int = 1, per_page: int = 20) -> dict:
        """Datasets about territory ``code`` (``level:code``, e.g. ``departement:35``): the
        territory itself first, then by confidence and views (as on the Territoires page)."""
        terr = self.explorer.territories
        if not isinstance(page, int) or page < 1 or not isinstance(per_page, int) \
                or not 1 <= per_page <= MAX_PER_PAGE:
            raise InvalidInput(f"page ≥ 1 et per_page entre 1 et {MAX_PER_PAGE} attendus")
        e = terr.entity(code) if terr.available else None
        if e is None:
            shown = str(code)[:64] if isinstance(code, str) else "?"
            raise NotFound(f"territoire {quoted(shown)} inconnu (forme attendue niveau:code, "
                           "par exemple departement:35 ou commune:35238)")
        t = terr.datasets(e["value"])
        start = (page - 1) * per_page
        part = t.iloc[start:start + per_page]
        ids = self.explorer.datasets["id"]
        items = [{"id": str(ids.iat[int(r.row)]), "title": str(r.title), "organization": str(r.organization),
                  "url": self._url(int(r.row)), "via": str(r.via), "level": str(r.level),
                  "confidence": round(float(r.confidence), 3), "source": str(r.source)}
                 for r in part.itertuples()]
        return {"territory": {"value": e["value"], "name": str(e["name"]), "level": e["level"],
                              "code": str(e["code"]), "label": terr.label(e["value"])},
                "page": page, "per_page": per_page, "total": len(t), "datasets": items}

    # ---- topics and the whole catalogue ------------------------------------------------------------
    def topics(self, n_terms: int = 8) -> dict:
        """The default topic model's topics: id, label, prevalence, datasets (dominant topic), terms."""
        topics = self.explorer.topics.default
        table = topics.table
        dominant = topics.dominant
        counts = np.bincount(dominant[dominant >= 0], minlength=len(table)) \
            if len(table) else np.zeros(0, int)
        items = [{"id": int(t), "label": str(label), "prevalence": round(float(prev), 4),
                  "n_datasets": int(counts[int(t)]) if int(t) < len(counts) else 0,
                  "terms": [w for w, _ in topics.terms(int(t), n_terms)]}
                 for t, label, prev in zip(table["topic"], table["label"], table["prevalence"], strict=True)]
        items.sort(key=lambda x: -x["prevalence"])
        return {"k": len(items), "topics": items}

    # ---- reports (issue 26): where the answers are, freshness, FAIR score -------------------------
    def coverage(self, q: str, *, filters=None, per_100k: bool = False) -> dict:
        """What ``python -m models coverage --json`` prints: the answers of ``q`` (and filters)
        per département and région, the national ones apart, the départements with none."""
        from models.serve.coverage import coverage

        return coverage(self.explorer, q or "", filters=filters or None, per_inhabitants=per_100k)

    def freshness(self, producer: str | None = None, *, top: int = 10) -> dict:
        """What ``python -m models freshness --json`` prints (a producer unknown: NotFound)."""
        self._known_producer(producer)
        return self.explorer.freshness.as_json(producer or None, top=top)

    def fair(self, producer: str | None = None, *, top: int = 10, max_ids: int | None = 50) -> dict:
        """What ``python -m models fair --json`` prints (a producer unknown: NotFound)."""
        self._known_producer(producer)
        return self.explorer.fair.as_json(producer or None, top=top, ids_per_item=max_ids)

    def _known_producer(self, producer: str | None) -> None:
        if producer and self.explorer.producers.index_of(producer) is None:
            raise NotFound(f"producteur {quoted(producer[:80])} inconnu dans ce catalogue",
                           "producteur_inconnu")

    def catalogue(self) -> dict:
        """What an assistant needs first: counts, export date, build id, search modes, topics."""
        exp = self.explorer
        m = exp.artifacts.manifest
        terr = exp.territories
        return {
            "n_datasets": int(exp.n), "n_producers": len(exp.producers),
            "n_topics": len(exp.topics.default.table), "export_date": exp.records.export_date.isoformat(),
            "build_id": str(m.get("build_id", "")), "created_at": str(m.get("created_at", "")),
            "partial": bool(m.get("partial", False)), "modes": list(self.modes),
            "n_datasets_with_territory": terr.n_datasets if terr.available else 0,
            "model": str(m.get("model", {}).get("id", "")),
        }




def _plain_value(v):
    if isinstance(v, (tuple, list)):
        return [_plain_value(x) for x in v]
    return _plain(v)


def cli_payload(result: dict, facets: bool):
    """What ``python -m models search --json`` prints for :meth:`CatalogueService.search`'s
    ``result`` (its historical shapes: a list, or ``{"results", "facets"}``, ``words`` in mode word).

    Examples
    --------
    >>> result = {"results": [{"id": "a"}], "facets": {"format": []}}
    >>> cli_payload(result, facets=False), cli_payload(result, facets=True)
    ([{'id': 'a'}], {'results': [{'id': 'a'}], 'facets': {'format': []}})
    >>> cli_payload({"results": [], "words": ["eau"]}, facets=False)
    {'results': [], 'words': ['eau']}
    """
    rows, words = result["results"], result.get("words")
    if facets:
        out = {"results": rows, "facets": result["facets"]}
        return out if words is None else {**out, "words": words}
    return rows if words is None else {"results": rows, "words": words}

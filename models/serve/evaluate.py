"""Search quality on labelled queries: hit@k, MRR@10, nDCG@10 per mode.

Labelled files use data.gouv.fr's search-indicator format: a CSV with columns
``query,params,expected``, one expected dataset id per row; the rows of one (query, params)
form its set of relevant datasets. ``params`` is a URL query string (``tag=association``):
``q`` replaces the query text, ``tag`` keeps only datasets with that tag.

A query counts as evaluated when at least one of its expected ids is in the artifacts
(the others are left out of its relevant set); otherwise it is skipped.
"""

from __future__ import annotations

import base64
import binascii
import csv
import hashlib
import io
import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs

from models.core import french

log = logging.getLogger(__name__)

METRIC_KEYS = ("hit@1", "hit@3", "hit@10", "mrr@10", "ndcg@10")
DEFAULT_FILE = "search-indicator-datasets.csv"
# data.gouv.fr's production search on its own search-indicator file, measured by data.gouv.fr on
# 2022-12-02 (datagouv/datagouv-search-indicator): the anchor to beat, shown beside our numbers
REFERENCES = {DEFAULT_FILE: {"hit@1": 0.73, "hit@10": 0.89, "mrr@10": 0.79}}
REFERENCE_LABEL = "Recherche de data.gouv.fr"
MAX_FIELD_CHARS = 131_072  # the csv module's field limit, said in French when exceeded
MAX_FILE_BYTES = 2_000_000
MAX_QUERIES = 2_000
REQUIRED_COLUMNS = ("query", "expected")


class RelevanceFileError(ValueError):
    """A labelled file that cannot be read, with a message a person can act on.

    Examples
    --------
    >>> parse_relevance("query,expected\\nx,\\n")
    Traceback (most recent call last):
    ...
    models.serve.evaluate.RelevanceFileError: aucune requête étiquetée (colonne expected vide)
    """


@dataclass
class LabelledQuery:
    """A labelled query: its text, its URL-style parameters and its relevant dataset ids.

    Examples
    --------
    >>> lq = LabelledQuery("", "tag=eau&q=eau potable", ["c"])
    >>> lq.label, lq.search_args(), LabelledQuery("piscines").search_args()
    ('[tag=eau&q=eau potable]', ('eau potable', 'eau'), ('piscines', None))
    """

    query: str
    params: str = ""
    expected: list[str] = field(default_factory=list)  # in file order, without duplicates

    @property
    def label(self) -> str:
        return self.query if not self.params else f"{self.query} [{self.params}]".strip()

    def search_args(self) -> tuple[str, str | None]:
        """(query text, tag filter) from the text and the URL-style params."""
        p = parse_qs(self.params or "", keep_blank_values=False)
        text = (p.get("q") or [self.query])[0] or ""
        tag = (p.get("tag") or [None])[0]
        return text, tag


# ---- reading ---------------------------------------------------------------------------------

def parse_relevance(text: str, *, max_queries: int = MAX_QUERIES) -> list[LabelledQuery]:
    """Labelled queries from CSV text; raises :class:`RelevanceFileError` when it is not one.

    Examples
    --------
    Rows of one query form its relevant set; a row without an expected id is skipped:

    >>> parse_relevance("query,params,expected\\npiscines,,a\\npiscines,,b\\nvide,,\\n")
    [LabelledQuery(query='piscines', params='', expected=['a', 'b'])]
    """
    # newline="": the csv module's own line handling (a quoted cell may hold line breaks; « \r »,
    # « \n », « \r\n » all end a row), as its documentation asks
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    try:
        return _parse_relevance(reader, max_queries)
    except csv.Error as exc:  # its text is English: never shown
        if "field larger" in str(exc):
            limit = french.integer(MAX_FIELD_CHARS)
            raise RelevanceFileError(f"un champ dépasse {limit} caractères") from None
        raise RelevanceFileError(f"CSV illisible à la ligne {reader.line_num} : un guillemet ou un "
                                 "retour à la ligne est mal placé") from None


def _parse_relevance(reader: csv.DictReader, max_queries: int) -> list[LabelledQuery]:
    """Linear in the file: a set per query for the duplicate check."""
    cols = [str(c).strip().lower() for c in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED_COLUMNS if c not in cols]
    if missing:
        raise RelevanceFileError(
            f"colonnes manquantes : {', '.join(missing)} (attendu : query,params,expected ; "
            f"trouvé : {', '.join(cols) or 'aucune'})")
    reader.fieldnames = cols
    by_key: dict[tuple[str, str], LabelledQuery] = {}
    seen: set[tuple[str, str, str]] = set()
    for n, row in enumerate(reader, start=2):
        if any(len(v) > MAX_FIELD_CHARS for v in row.values() if isinstance(v, str)):
            raise csv.Error("field larger than field limit")  # whatever csv.field_size_limit() says
        query = " ".join(_cell(row.get("query")).split())
        params = _cell(row.get("params")).strip()
        expected = _cell(row.get("expected")).strip()
        if not expected:
            continue
        if not query and not params:
            raise RelevanceFileError(f"ligne {n} : ni requête ni paramètres")
        key = (query, params)
        lq = by_key.get(key)
        if lq is None:
            if len(by_key) >= max_queries:
                raise RelevanceFileError(f"plus de {max_queries} requêtes : fichier trop grand")
            lq = by_key[key] = LabelledQuery(query, params)
        if (query, params, expected) not in seen:
            seen.add((query, params, expected))
            lq.expected.append(expected)
    if not by_key:
        raise RelevanceFileError("aucune requête étiquetée (colonne expected vide)")
    return list(by_key.values())


def _cell(value) -> str:
    """A CSV cell (a row with extra cells puts a list under the None key, never read here)."""
    return value if isinstance(value, str) else ""


def read_relevance(path: str | Path) -> list[LabelledQuery]:
    """:func:`parse_relevance` of a UTF-8 file of at most :data:`MAX_FILE_BYTES` bytes.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = Path(d) / "labels.csv"
    ...     _ = p.write_text("query,expected\\neau,a\\n", encoding="utf-8")
    ...     read_relevance(p)
    [LabelledQuery(query='eau', params='', expected=['a'])]
    """
    p = Path(path)
    if p.stat().st_size > MAX_FILE_BYTES:
        raise RelevanceFileError(f"{p} dépasse {MAX_FILE_BYTES // 1_000_000} Mo")
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise RelevanceFileError(f"{p} n'est pas en UTF-8") from exc
    return parse_relevance(text)


# ---- metrics ---------------------------------------------------------------------------------

def first_relevant_rank(ranked: Sequence[str], relevant: Iterable[str]) -> int | None:
    """1-based rank of the first relevant id in ``ranked`` (None: none found).

    Examples
    --------
    >>> first_relevant_rank(["x", "b", "a"], {"a", "b"}), first_relevant_rank(["x"], ["a"])
    (2, None)
    """
    rel = set(relevant)
    for r, ds_id in enumerate(ranked, 1):
        if ds_id in rel:
            return r
    return None


def hit_at(rank: int | None, k: int) -> float:
    """1.0 when the first relevant result is within the first ``k``, else 0.0.

    Examples
    --------
    >>> hit_at(3, 1), hit_at(3, 10), hit_at(None, 10)
    (0.0, 1.0, 0.0)
    """
    return 1.0 if rank is not None and rank <= k else 0.0


def reciprocal_rank(rank: int | None, k: int = 10) -> float:
    """``1 / rank`` of the first relevant result, 0.0 beyond ``k`` or when there is none.

    Examples
    --------
    >>> reciprocal_rank(4), reciprocal_rank(11), reciprocal_rank(None)
    (0.25, 0.0, 0.0)
    """
    return 1.0 / rank if rank is not None and rank <= k else 0.0


def ndcg_at(ranked: Sequence[str], relevant: Iterable[str], k: int = 10) -> float:
    """Binary-relevance nDCG@k: ``Σ 1/log2(r+1)`` over relevant ranks ≤ k, divided by the
    same sum for an ideal ranking of ``min(|relevant|, k)`` relevant results.

    Examples
    --------
    >>> round(ndcg_at(["x", "a", "b"], {"a", "b"}), 4), ndcg_at(["a", "b"], {"a", "b"}), ndcg_at(["a"], set())
    (0.6934, 1.0, 0.0)
    """
    rel = set(relevant)
    if not rel:
        return 0.0
    dcg = sum(1.0 / math.log2(r + 1) for r, d in enumerate(ranked[:k], 1) if d in rel)
    ideal = sum(1.0 / math.log2(r + 1) for r in range(1, min(len(rel), k) + 1))
    return dcg / ideal


def query_metrics(ranked: Sequence[str], relevant: Iterable[str]) -> dict:
    """Every metric of :data:`METRIC_KEYS` for one ranked list, and the first relevant rank.

    Examples
    --------
    >>> m = query_metrics(["x", "a"], ["a"])
    >>> m["rank"], m["hit@1"], m["hit@3"], m["mrr@10"], round(m["ndcg@10"], 4)
    (2, 0.0, 1.0, 0.5, 0.6309)
    """
    rel = set(relevant)
    rank = first_relevant_rank(ranked, rel)
    return {"rank": rank, "hit@1": hit_at(rank, 1), "hit@3": hit_at(rank, 3),
            "hit@10": hit_at(rank, 10), "mrr@10": reciprocal_rank(rank, 10),
            "ndcg@10": ndcg_at(ranked, rel, 10)}


def aggregate(per_query: list[dict], skipped: int) -> dict:
    """Mean of each metric over the evaluated queries (rounded to 4 decimals).

    Examples
    --------
    >>> aggregate([query_metrics(["a"], ["a"]), query_metrics(["x", "a"], ["a"])], skipped=1)
    {'n': 2, 'skipped': 1, 'hit@1': 0.5, 'hit@3': 1.0, 'hit@10': 1.0, 'mrr@10': 0.75, 'ndcg@10': 0.8155}
    >>> aggregate([], skipped=0)["mrr@10"] is None
    True
    """
    n = len(per_query)
    out: dict = {"n": n, "skipped": skipped}
    for key in METRIC_KEYS:
        out[key] = round(sum(q[key] for q in per_query) / n, 4) if n else None
    return out


# ---- running ---------------------------------------------------------------------------------

def evaluate(engine, queries: list[LabelledQuery], modes: Sequence[str], *, k: int = 10,
             max_seconds: float | None = None) -> dict:
    """Run every query in every mode of ``engine`` (:class:`models.serve.engine.SearchEngine`).
    Returns ``{"metrics": {mode: {...}}, "per_query": [{"query", "params", "n_relevant",
    "ranks": {mode: rank|None}}], "skipped": [labels], "seconds": total, "not_evaluated": n}``.
    With ``max_seconds``, the queries left when the time is up are not run (counted in
    ``not_evaluated``).

    Examples
    --------
    A stand-in engine that ranks « b » then « a » for every query:

    >>> from types import SimpleNamespace
    >>> import pandas as pd
    >>> from models.serve.search import Hit
    >>> engine = SimpleNamespace(
    ...     datasets=pd.DataFrame({"id": ["a", "b"]}), records=SimpleNamespace(row_of={"a": 0, "b": 1}.get),
    ...     search_modes=lambda text, modes, k, tag: {m: [Hit(1, 0.9), Hit(0, 0.5)] for m in modes})
    >>> res = evaluate(engine, [LabelledQuery("eau", expected=["a"]), LabelledQuery("air", expected=["z"])],
    ...                ["hybrid"])
    >>> res["metrics"]["hybrid"]["mrr@10"], res["per_query"][0]["ranks"], res["skipped"]
    (0.5, {'hybrid': 2}, ['air'])
    """
    row_of = engine.records.row_of
    ids = engine.datasets["id"]
    kept: list[tuple[LabelledQuery, set[str]]] = []
    skipped: list[str] = []
    for lq in queries:
        present = {e for e in lq.expected if row_of(e) is not None}
        if present:
            kept.append((lq, present))
        else:
            skipped.append(lq.label)
    per_mode: dict[str, list[dict]] = {m: [] for m in modes}
    t_all = time.perf_counter()
    per_query = []
    depth = max(k, 10)
    not_evaluated = 0
    for i, (lq, rel) in enumerate(kept):
        if max_seconds is not None and time.perf_counter() - t_all > max_seconds:
            not_evaluated = len(kept) - i
            break
        text, tag = lq.search_args()
        ranks = {}
        hits = engine.search_modes(text, modes=tuple(modes), k=depth, tag=tag)
        for mode in modes:
            # one card per family: an expected dataset among a card's versions is found at its rank
            ranked = [next((x for x in (ids.iat[h.row], *(ids.iat[v] for v in h.versions)) if x in rel),
                           ids.iat[h.row]) for h in hits[mode][:k]]
            m = query_metrics(ranked, rel)
            per_mode[mode].append(m)
            ranks[mode] = m["rank"]
        per_query.append({"query": lq.query, "params": lq.params, "n_relevant": len(rel),
                          "ranks": ranks})
    metrics = {m: aggregate(per_mode[m], len(skipped)) for m in modes}
    seconds = time.perf_counter() - t_all
    log.info("evaluated %d queries (%d skipped) in %d modes in %.1f s", len(kept), len(skipped),
             len(modes), seconds)
    return {"metrics": metrics, "per_query": per_query, "skipped": skipped,
            "seconds": round(seconds, 3), "not_evaluated": not_evaluated}


def report_json(result: dict, *, per_query: bool = False) -> dict:
    """The command line's JSON: one key per mode; ``per_query`` added on request.

    Examples
    --------
    >>> result = {"metrics": {"hybrid": {"n": 1, "mrr@10": 0.5}},
    ...           "per_query": [{"query": "eau", "params": "", "n_relevant": 1, "ranks": {"hybrid": 2}}]}
    >>> report_json(result)
    {'hybrid': {'n': 1, 'mrr@10': 0.5}}
    >>> report_json(result, per_query=True)["per_query"]
    [{'query': 'eau', 'params': '', 'n_relevant': 1, 'hybrid': 2}]
    """
    out = dict(result["metrics"])
    if per_query:
        out["per_query"] = [{"query": q["query"], "params": q["params"],
                             "n_relevant": q["n_relevant"], **{m: r for m, r in q["ranks"].items()}}
                            for q in result["per_query"]]
    return out


# ---- for the app: uploads and a per-file cache -------------------------------------------------

MAX_UPLOAD_BYTES = 500_000
MAX_FILENAME_CHARS = 255
MAX_UPLOAD_QUERIES = 300


def parse_upload(contents: str | None, filename: str | None = None, *,
                 max_bytes: int = MAX_UPLOAD_BYTES,
                 max_queries: int = MAX_UPLOAD_QUERIES) -> tuple[list[LabelledQuery], bytes]:
    """A browser upload (``data:<type>;base64,<data>``) -> labelled queries and the raw bytes.
    Size-capped before decoding; raises :class:`RelevanceFileError` with a French message.

    Examples
    --------
    >>> upload = "data:text/csv;base64," + base64.b64encode(b"query,expected\\neau,a\\n").decode()
    >>> parse_upload(upload, "labels.csv")
    ([LabelledQuery(query='eau', params='', expected=['a'])], b'query,expected\\neau,a\\n')
    """
    raw = decode_upload(contents, filename, max_bytes=max_bytes)
    return parse_upload_bytes(raw, max_queries=max_queries), raw


def decode_upload(contents, filename=None, *, max_bytes: int = MAX_UPLOAD_BYTES,
                  require_name: bool = False) -> bytes:
    """The raw bytes of a browser upload, size-capped before decoding (so the content hash is
    known before any parsing); raises :class:`RelevanceFileError` with a French message.
    ``filename``: what the browser said (checked: a string of at most 255 characters ending in
    .csv or .txt); None is accepted only without ``require_name``.

    Examples
    --------
    >>> upload = "data:text/csv;base64," + base64.b64encode(b"query,expected\\neau,a\\n").decode()
    >>> decode_upload(upload)
    b'query,expected\\neau,a\\n'
    >>> decode_upload(upload, "labels.xlsx")
    Traceback (most recent call last):
    ...
    models.serve.evaluate.RelevanceFileError: le fichier doit être un CSV (query,params,expected)
    """
    if not isinstance(contents, str) or "," not in contents:
        raise RelevanceFileError("fichier vide ou illisible")
    if filename is not None or require_name:
        if not isinstance(filename, str) or not 0 < len(filename) <= MAX_FILENAME_CHARS:
            raise RelevanceFileError(f"nom de fichier invalide (un texte de {MAX_FILENAME_CHARS} "
                                     "caractères au plus)")
        if not filename.lower().endswith((".csv", ".txt")):
            raise RelevanceFileError("le fichier doit être un CSV (query,params,expected)")
    header, data = contents.split(",", 1)
    if ";base64" not in header:
        raise RelevanceFileError("envoi inattendu (pas en base64)")
    if len(data) > (max_bytes * 4) // 3 + 4:
        raise RelevanceFileError(f"fichier trop gros (au plus {max_bytes // 1000} ko)")
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise RelevanceFileError("fichier illisible (base64 invalide)") from exc
    if len(raw) > max_bytes:
        raise RelevanceFileError(f"fichier trop gros (au plus {max_bytes // 1000} ko)")
    return raw


def parse_upload_bytes(raw: bytes, *, max_queries: int = MAX_UPLOAD_QUERIES) -> list[LabelledQuery]:
    """Labelled queries of uploaded bytes (UTF-8 CSV); French :class:`RelevanceFileError`.

    Examples
    --------
    >>> parse_upload_bytes(b"query,expected\\neau,a\\n")
    [LabelledQuery(query='eau', params='', expected=['a'])]
    >>> parse_upload_bytes(b"\\xff\\xfe")
    Traceback (most recent call last):
    ...
    models.serve.evaluate.RelevanceFileError: le fichier doit être encodé en UTF-8
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RelevanceFileError("le fichier doit être encodé en UTF-8") from exc
    if "\x00" in text:
        raise RelevanceFileError("fichier binaire : un CSV est attendu")
    return parse_relevance(text, max_queries=max_queries)


class EvaluationBusy(RuntimeError):
    """Another evaluation is running and the wait was too long: try again later.

    Examples
    --------
    >>> isinstance(EvaluationBusy("another evaluation is running"), RuntimeError)
    True
    """


class EvaluationCache:
    """Evaluations computed once per file content and kept in memory. Thread-safe: reading the
    cache never waits for a running evaluation (two locks); one evaluation runs at a time, a
    second caller waits at most ``wait_s`` (then :class:`EvaluationBusy`) and reuses the result
    if it was for the same file.

    Examples
    --------
    With the stand-in engine of :func:`evaluate`:

    >>> from types import SimpleNamespace
    >>> import pandas as pd
    >>> from models.serve.search import Hit
    >>> engine = SimpleNamespace(
    ...     datasets=pd.DataFrame({"id": ["a", "b"]}), records=SimpleNamespace(row_of={"a": 0, "b": 1}.get),
    ...     search_modes=lambda text, modes, k, tag: {m: [Hit(1, 0.9), Hit(0, 0.5)] for m in modes})
    >>> cache = EvaluationCache(engine, ["hybrid"])
    >>> key = cache.key_of(b"query,expected\\neau,a\\n")  # the file's SHA-256
    >>> first = cache.evaluate(key, [LabelledQuery("eau", expected=["a"])])
    >>> cache.evaluate(key, []) is first, cache.computed  # the same file again: not recomputed
    (True, 1)
    """

    def __init__(self, engine, modes: Sequence[str], *, k: int = 10, max_entries: int = 16,
                 wait_s: float = 2.0) -> None:
        self.engine = engine
        self.modes = tuple(modes)
        self.k = k
        self.max_entries = max_entries
        self._results: OrderedDict[str, dict] = OrderedDict()
        self._lock = threading.Lock()  # the results dict only (held for microseconds)
        self._compute = threading.Lock()  # one evaluation at a time
        self.wait_s = wait_s
        self.computed = 0  # how many evaluations actually ran (tests, logs)

    @staticmethod
    def key_of(raw: bytes) -> str:
        return hashlib.sha256(raw).hexdigest()

    def get(self, key: str) -> dict | None:
        with self._lock:
            hit = self._results.get(key)
            if hit is not None:
                self._results.move_to_end(key)
            return hit

    def evaluate(self, key: str, queries: list[LabelledQuery], *, max_seconds: float | None = None) -> dict:
        hit = self.get(key)
        if hit is not None:
            return hit
        if not self._compute.acquire(timeout=self.wait_s):
            raise EvaluationBusy("another evaluation is running")
        try:
            hit = self.get(key)  # computed while this caller waited
            if hit is not None:
                return hit
            result = evaluate(self.engine, queries, self.modes, k=self.k, max_seconds=max_seconds)
            with self._lock:
                self.computed += 1
                self._results[key] = result
                while len(self._results) > self.max_entries:
                    self._results.popitem(last=False)
            return result
        finally:
            self._compute.release()

    def evaluate_file(self, path: str | Path) -> dict:
        p = Path(path)
        if p.stat().st_size > MAX_FILE_BYTES:
            raise RelevanceFileError(f"{p.name} dépasse {MAX_FILE_BYTES // 1_000_000} Mo")
        raw = p.read_bytes()
        key = self.key_of(raw)
        cached = self.get(key)
        if cached is not None:
            return cached
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise RelevanceFileError(f"{p.name} n'est pas en UTF-8") from exc
        return self.evaluate(key, parse_relevance(text))

"""The adoption protocol of a search change, on every labelled query we have
(:mod:`models.core.significance` for the tests and the rules; ``docs/search-protocol.md``).

Labelled sets, pooled:

* the two public files (``../shared/data/relevance/*.csv``: data.gouv.fr's graded keyword
  queries, 20 plain-French questions), ranked by the hybrid search as the results page ranks them;
* every scored dialogue turn of ``tests/data/dialogues.jsonl``, played through the assistant with
  the state of the turn before (its ranking of the turn);
* the sets we wrote ourselves and never tune on (``tests/data/*.csv`` in the same format, e.g.
  ``questions-forum.csv``: long questions with context, as people write on data.gouv.fr's forum).

Each query or turn gives its reciprocal rank at 10 under the settings in effect (A) and under the
change (B); :func:`compare` returns :func:`models.core.significance.decide`'s verdict.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np

from models.core.config import REPO
from models.core.significance import decide, reciprocal_ranks
from models.serve.assistant_eval import play, read_dialogues, turn_rank

log = logging.getLogger(__name__)

SHARED_RELEVANCE = REPO.parent / "shared" / "data" / "relevance"
OWN_SETS = REPO / "tests" / "data"
DIALOGUES = OWN_SETS / "dialogues.jsonl"


def labelled_files() -> list[Path]:
    """Every labelled query file we have: the public ones, then our own.

    Examples
    --------
    >>> files = labelled_files()  # the public ones only where ../shared/data/relevance exists
    >>> all(p.suffix == ".csv" for p in files), OWN_SETS / "questions-forum.csv" in files
    (True, True)
    """
    return sorted(SHARED_RELEVANCE.glob("*.csv")) + sorted(
        p for p in OWN_SETS.glob("*.csv") if _is_relevance_file(p))


def _is_relevance_file(path: Path) -> bool:
    try:
        with path.open(encoding="utf-8") as fh:
            head = fh.readline().lstrip("\ufeff").strip().lower()
    except OSError:
        return False
    return head.startswith("query,") and "expected" in head


def query_scores(engine, files=None, *, k: int = 10) -> dict[str, np.ndarray]:
    """File stem → reciprocal rank at ``k`` of each of its labelled queries (the hybrid search of
    ``engine``, a :class:`models.serve.engine.SearchEngine`, in the file's order; queries whose
    expected datasets are all absent from the build are left out).

    Examples
    --------
    A stand-in engine that ranks « b » then « a » for every query, and one labelled file:

    >>> import tempfile
    >>> from types import SimpleNamespace
    >>> import pandas as pd
    >>> from models.serve.search import Hit
    >>> engine = SimpleNamespace(
    ...     datasets=pd.DataFrame({"id": ["a", "b"]}), records=SimpleNamespace(row_of={"a": 0, "b": 1}.get),
    ...     search_modes=lambda text, modes, k, tag: {m: [Hit(1, 0.9), Hit(0, 0.5)] for m in modes})
    >>> with tempfile.TemporaryDirectory() as d:
    ...     path = Path(d) / "mine.csv"
    ...     _ = path.write_text("query,expected\\neau,a\\nair,b\\n", encoding="utf-8")
    ...     query_scores(engine, [path])
    {'mine': array([0.5, 1. ])}
    """
    from models.serve.evaluate import evaluate, read_relevance  # at call time: tests patch evaluate

    out = {}
    for path in files if files is not None else labelled_files():
        res = evaluate(engine, read_relevance(path), ["hybrid"], k=k)
        out[Path(path).stem] = reciprocal_ranks([q["ranks"]["hybrid"] for q in res["per_query"]], k)
    return out


def dialogue_scores(assistant, dialogues=None, *, k: int = 10) -> np.ndarray:
    """Reciprocal rank at ``k`` of every scored dialogue turn played by ``assistant``
    (:class:`models.serve.assistant.Assistant`).

    Examples
    --------
    A stand-in assistant that always shows « b » then « a » (turns without expected ids are not
    scored):

    >>> from types import SimpleNamespace
    >>> reply = {"state": {}, "cards": [{"id": "b"}, {"id": "a"}], "ranking": ["b", "a"],
    ...          "clarify": None, "slots": {}, "ms": 12.0}
    >>> assistant = SimpleNamespace(ask=lambda text, state: reply, engine=SimpleNamespace(
    ...     records=SimpleNamespace(row_of={"a": 0, "b": 1}.get)))
    >>> dialogue_scores(assistant, [{"id": "d1", "turns": [
    ...     {"user": "eau", "expected": ["a"]}, {"user": "air", "expected": ["b"]}, {"user": "merci"}]}])
    array([0.5, 1. ])
    """
    ds = read_dialogues(DIALOGUES) if dialogues is None else dialogues
    played = [t for t in play(assistant, ds) if t["expected"]]
    return reciprocal_ranks([turn_rank(t, k) for t in played], k)


def scores(engine, assistant=None, *, files=None, dialogues=None,
           with_dialogues: bool = True) -> dict[str, np.ndarray]:
    """Every labelled set's per-query reciprocal ranks under ``engine``'s settings; the dialogues
    are played by ``assistant`` ranking with ``engine`` (``assistant.with_engine(engine)``).

    Examples
    --------
    With the stand-ins of :func:`query_scores` and :func:`dialogue_scores`:

    >>> import tempfile
    >>> from types import SimpleNamespace
    >>> import pandas as pd
    >>> from models.serve.search import Hit
    >>> engine = SimpleNamespace(
    ...     datasets=pd.DataFrame({"id": ["a", "b"]}), records=SimpleNamespace(row_of={"a": 0, "b": 1}.get),
    ...     search_modes=lambda text, modes, k, tag: {m: [Hit(1, 0.9), Hit(0, 0.5)] for m in modes})
    >>> reply = {"state": {}, "cards": [{"id": "b"}, {"id": "a"}], "ranking": ["b", "a"],
    ...          "clarify": None, "slots": {}, "ms": 12.0}
    >>> assistant = SimpleNamespace(ask=lambda text, state: reply, engine=engine)
    >>> assistant.with_engine = lambda e: assistant
    >>> with tempfile.TemporaryDirectory() as d:
    ...     path = Path(d) / "mine.csv"
    ...     _ = path.write_text("query,expected\\neau,a\\n", encoding="utf-8")
    ...     scores(engine, assistant, files=[path], dialogues=[
    ...         {"id": "d1", "turns": [{"user": "air", "expected": ["b"]}]}])
    {'mine': array([0.5]), 'dialogues': array([1.])}
    """
    t0 = time.perf_counter()
    out = query_scores(engine, files)
    if with_dialogues:
        if assistant is None:
            raise ValueError("the dialogues need an assistant (with_dialogues=False without one)")
        out["dialogues"] = dialogue_scores(assistant.with_engine(engine), dialogues)
    log.info("labelled sets scored in %.1f s (%d queries)", time.perf_counter() - t0,
             sum(len(v) for v in out.values()))
    return out


def compare(engine_a, engine_b, *, assistant=None, assistant_b=None, files=None, dialogues=None,
            with_dialogues: bool = True, **kw) -> dict:
    """The protocol's verdict on search engine B (e.g. ``engine.with_params(smooth_long=0)``)
    against A; the dialogues are played by ``assistant`` (e.g. ``explorer.assistant``) ranking
    with each engine in turn, or for B by ``assistant_b`` (B's own, when B is another build).

    Examples
    --------
    >>> e = exp.engine  # doctest: +SKIP
    >>> compare(e, e.with_params(smooth_long=0.0), assistant=exp.assistant)["adopt"]  # doctest: +SKIP
    False
    """
    a = scores(engine_a, assistant, files=files, dialogues=dialogues, with_dialogues=with_dialogues)
    b = scores(engine_b, assistant if assistant_b is None else assistant_b, files=files,
               dialogues=dialogues, with_dialogues=with_dialogues)
    return decide({name: (a[name], b[name]) for name in a}, **kw)

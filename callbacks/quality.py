"""Callbacks of the "Qualité de la recherche" page (wiring only: evaluation -> builders).

    labelled file / upload ──> evaluation (computed once per file content, kept in memory) ──> RESULT
    RESULT, filter ──> chart, metrics table, per-query table
"""

from __future__ import annotations

import logging
from pathlib import Path

from dash import Input, Output, State, ctx, no_update

from callbacks import guard
from callbacks.common import Wiring
from components import quality_page as qp
from models.serve.evaluate import (
    DEFAULT_FILE,
    MAX_UPLOAD_BYTES,
    METRIC_KEYS,
    REFERENCE_LABEL,
    REFERENCES,
    EvaluationBusy,
    EvaluationCache,
    RelevanceFileError,
    decode_upload,
    parse_upload_bytes,
)

log = logging.getLogger(__name__)
wiring = Wiring()

MAX_FILES = 50
NUMBER_KEYS = ("n", "skipped", *METRIC_KEYS)
UPLOAD_SECONDS = 4.0  # an uploaded file's queries run for at most this long (the rest: not evaluated)


def register(app, services) -> None:
    services.memo["quality_files"] = {f["value"] for f in labelled_files(relevance_folder(services))}
    # tests, other pages
    services.evaluations = EvaluationCache(services.explorer.engine, list(services.modes))
    wiring.register(app, services)


def relevance_folder(services) -> Path:
    return Path(getattr(services.settings, "relevance_dir", "") or ".")


def labelled_files(folder: Path | None) -> list[dict]:
    """The ``*.csv`` files of the relevance folder, as dropdown options (name as value)."""
    if folder is None or not Path(folder).is_dir():
        return []
    return [{"label": p.stem, "value": p.name} for p in sorted(Path(folder).glob("*.csv"))[:MAX_FILES]
            if p.is_file()]


def default_file(files: list[dict]) -> str | None:
    names = [f["value"] for f in files]
    return DEFAULT_FILE if DEFAULT_FILE in names else (names[0] if names else None)


def to_store(label: str, result: dict, reference: dict | None = None) -> dict:
    """What the browser keeps: metrics, ranks per query, skipped labels (all plain JSON)."""
    return {"label": label, "metrics": result["metrics"], "per_query": result["per_query"],
            "skipped": result["skipped"], "reference": reference}


def _numbers(d) -> dict:
    return {k: v for k, v in guard.as_dict(d).items()
            if k in NUMBER_KEYS and guard.as_float(v, -1e12, 1e12) is not None}


def valid_result(result, modes) -> dict | None:
    """The RESULT store as :func:`to_store` wrote it, numbers checked, or None (the browser may
    send anything back)."""
    result = guard.as_dict(result)
    metrics = {m: {"n": 0, "skipped": 0, **_numbers(v)}
               for m, v in guard.as_dict(result.get("metrics")).items() if m in modes}
    if not metrics:
        return None
    per_query = [{"query": guard.as_text(q.get("query"), 500), "params": guard.as_text(q.get("params"), 500),
                  "n_relevant": guard.as_int(q.get("n_relevant"), 0) or 0,
                  "ranks": {m: guard.as_int(r, 1) for m, r in guard.as_dict(q.get("ranks")).items()
                            if m in modes}}
                 for q in guard.as_list(result.get("per_query"), 5_000) if isinstance(q, dict)]
    return {"label": guard.as_text(result.get("label"), 200), "metrics": metrics, "per_query": per_query,
            "skipped": [guard.as_text(x, 200) for x in guard.as_list(result.get("skipped"), 5_000)],
            "reference": _numbers(result.get("reference")) or None}


def evaluate_upload(services, contents: str, sent_name, filename: str | None) -> tuple:
    """(RESULT, status) of an uploaded file (a file sent again is not parsed again)."""
    cache = services.evaluations
    raw = decode_upload(contents, sent_name, max_bytes=MAX_UPLOAD_BYTES, require_name=True)
    key = cache.key_of(raw)
    result = cache.get(key) or cache.evaluate(key, parse_upload_bytes(raw), max_seconds=UPLOAD_SECONDS)
    label = qp.file_label(filename)
    return to_store(label, result), qp.upload_status(label, result)


def evaluate_file(services, name: str | None) -> tuple:
    """(RESULT, status) of a labelled file of the relevance folder."""
    if not name:
        return None, None
    if name not in services.memo.get("quality_files", ()):
        return None, qp.file_status("unknown")
    result = services.evaluations.evaluate_file(relevance_folder(services) / name)
    return to_store(Path(name).stem, result, REFERENCES.get(name)), None


@wiring.callback(Output(qp.RESULT, "data"), Output(qp.STATUS, "children"),
                 Input(qp.FILE, "value"), Input(qp.UPLOAD, "contents"), State(qp.UPLOAD, "filename"))
def evaluate(services, name, contents, filename):
    name, sent_name, filename = guard.as_key(name), filename, guard.as_key(filename, 255)
    if not services.modes:
        return None, qp.file_status("no_mode")
    try:
        if ctx.triggered_id == qp.UPLOAD and isinstance(contents, str) and contents:
            return evaluate_upload(services, contents, sent_name, filename)
        return evaluate_file(services, name)
    except EvaluationBusy:
        return no_update, qp.file_status("busy", guard.BUSY)
    except RelevanceFileError as exc:
        return no_update, qp.file_status("refused", str(exc))
    except OSError as exc:
        log.warning("cannot read labelled file %s: %s", name, exc)
        return None, qp.file_status("unreadable")


@wiring.callback(Output(qp.CHART, "figure"), Output(qp.METRICS_TABLE, "children"),
                 Output(qp.TABLE, "children"), Output(qp.SUMMARY, "children"),
                 Input(qp.RESULT, "data"), Input(qp.FILTER, "value"))
def render(services, result, which):
    modes = list(services.modes)
    result = valid_result(result, modes)
    if result is None:
        return qp.empty_view(modes)
    return qp.result_view(result, modes, which, REFERENCE_LABEL)

"""Callbacks of the "Qualité de la recherche" page (wiring only: evaluation -> builders).

    labelled file / upload ──> evaluation (computed once per file content, kept in memory) ──> RESULT
    RESULT, filter ──> chart, metrics table, per-query table
"""

from __future__ import annotations

import logging
from pathlib import Path

import dash_bootstrap_components as dbc
from dash import Input, Output, State, ctx, no_update

from callbacks import guard
from components import labels as L
from components import quality_page as qp
from components.labels import clean_text
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

MAX_FILES = 50
NUMBER_KEYS = ("n", "skipped", *METRIC_KEYS)
UPLOAD_SECONDS = 4.0  # an uploaded file's queries run for at most this long (the rest: not evaluated)


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


def valid_result(result, modes) -> dict | None:
    """The RESULT store as :func:`to_store` wrote it, numbers checked, or None (the browser may
    send anything back)."""
    result = guard.as_dict(result)

    def numbers(d) -> dict:
        return {k: v for k, v in guard.as_dict(d).items()
                if k in NUMBER_KEYS and guard.as_float(v, -1e12, 1e12) is not None}

    metrics = {m: {"n": 0, "skipped": 0, **numbers(v)}
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
            "reference": numbers(result.get("reference")) or None}


def upload_status(label: str, result: dict):
    left = int(result.get("not_evaluated") or 0)
    if not left:
        return dbc.Alert(f"Fichier «\u202f{label}\u202f» évalué.", color="success", className="py-2",
                         duration=6000)
    done = len(result.get("per_query") or [])
    return dbc.Alert(f"Fichier «\u00a0{label}\u00a0» évalué en partie\u202f: {done} requêtes dans le "
                     f"temps imparti, {left} non évaluées (envoyez un fichier plus court).",
                     color="warning", className="py-2")


def register(app, services) -> None:
    exp = services.explorer
    modes = list(services.modes)
    folder = Path(getattr(services.settings, "relevance_dir", "") or ".")
    allowed = {f["value"] for f in labelled_files(folder)}
    cache = EvaluationCache(exp, modes)
    services.evaluations = cache  # reachable by tests and other pages

    @app.callback(Output(qp.RESULT, "data"), Output(qp.STATUS, "children"),
                  Input(qp.FILE, "value"), Input(qp.UPLOAD, "contents"),
                  State(qp.UPLOAD, "filename"))
    def evaluate(name, contents, filename):
        name, sent_name, filename = guard.as_key(name), filename, guard.as_key(filename, 255)
        contents = contents if isinstance(contents, str) else None
        if not modes:
            return None, dbc.Alert(L.QUALITY_NO_MODE, color="warning")
        try:
            if ctx.triggered_id == qp.UPLOAD and contents:
                raw = decode_upload(contents, sent_name, max_bytes=MAX_UPLOAD_BYTES, require_name=True)
                key = cache.key_of(raw)  # a file sent again is not parsed again
                result = cache.get(key) or cache.evaluate(key, parse_upload_bytes(raw),
                                                          max_seconds=UPLOAD_SECONDS)
                label = clean_text(filename, 80) or "fichier envoyé"
                return to_store(label, result), upload_status(label, result)
            if not name:
                return None, None
            if name not in allowed:
                return None, dbc.Alert("Fichier inconnu.", color="warning", className="py-2")
            result = cache.evaluate_file(folder / name)
            return to_store(Path(name).stem, result, REFERENCES.get(name)), None
        except EvaluationBusy:
            return no_update, dbc.Alert(guard.BUSY, color="warning", className="py-2")
        except RelevanceFileError as exc:
            return no_update, dbc.Alert(f"Fichier refusé\u202f: {exc}.", color="danger", className="py-2")
        except OSError as exc:
            log.warning("cannot read labelled file %s: %s", name, exc)
            return None, dbc.Alert("Fichier illisible.", color="danger", className="py-2")

    @app.callback(Output(qp.CHART, "figure"), Output(qp.METRICS_TABLE, "children"),
                  Output(qp.TABLE, "children"), Output(qp.SUMMARY, "children"),
                  Input(qp.RESULT, "data"), Input(qp.FILTER, "value"))
    def render(result, which):
        result = valid_result(result, modes)
        if result is None:
            return (qp.visualize_quality(None), None, qp.per_query_table([], modes),
                    "Choisissez un fichier étiqueté.")
        shown = [m for m in modes if m in result["metrics"]]
        per_query = result.get("per_query") or []
        if guard.as_choice(which, shown):
            per_query = qp.failed_by(per_query, which)
        return (qp.visualize_quality({m: result["metrics"][m] for m in shown},
                                     reference=result.get("reference"), reference_label=REFERENCE_LABEL),
                qp.metrics_table({m: result["metrics"][m] for m in shown}),
                qp.per_query_table(per_query, shown),
                qp.summary_text(result.get("label", ""), result))

"""Callbacks of the "Qualité de la recherche" page (wiring only: evaluation -> builders).

    labelled file / upload ──> evaluation (computed once per file content, kept in memory) ──> RESULT
    RESULT, filter ──> chart, metrics table, per-query table
"""

from __future__ import annotations

import logging
from pathlib import Path

import dash_bootstrap_components as dbc
from dash import Input, Output, State, ctx, no_update

from components import quality_page as qp
from components.labels import clean_text
from models.serve.evaluate import (
    DEFAULT_FILE,
    MAX_UPLOAD_BYTES,
    REFERENCE_LABEL,
    REFERENCES,
    EvaluationCache,
    RelevanceFileError,
    parse_upload,
)

log = logging.getLogger(__name__)

MAX_FILES = 50


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
        if not modes:
            return None, dbc.Alert("Aucun mode de recherche disponible pour ce build.", color="warning")
        try:
            if ctx.triggered_id == qp.UPLOAD and contents:
                queries, raw = parse_upload(contents, filename, max_bytes=MAX_UPLOAD_BYTES)
                result = cache.evaluate(cache.key_of(raw), queries)
                label = clean_text(filename, 80) or "fichier envoyé"
                return (to_store(label, result),
                        dbc.Alert(f"Fichier « {label} » évalué.", color="success", className="py-2",
                                  duration=6000))
            if not name:
                return None, None
            if name not in allowed:
                return None, dbc.Alert("Fichier inconnu.", color="warning", className="py-2")
            result = cache.evaluate_file(folder / name)
            return to_store(Path(name).stem, result, REFERENCES.get(name)), None
        except RelevanceFileError as exc:
            return no_update, dbc.Alert(f"Fichier refusé : {exc}.", color="danger", className="py-2")
        except OSError as exc:
            log.warning("cannot read labelled file %s: %s", name, exc)
            return None, dbc.Alert("Fichier illisible.", color="danger", className="py-2")

    @app.callback(Output(qp.CHART, "figure"), Output(qp.METRICS_TABLE, "children"),
                  Output(qp.TABLE, "children"), Output(qp.SUMMARY, "children"),
                  Input(qp.RESULT, "data"), Input(qp.FILTER, "value"))
    def render(result, which):
        if not isinstance(result, dict) or not result.get("metrics"):
            return (qp.visualize_quality(None), None, qp.per_query_table([], modes),
                    "Choisissez un fichier étiqueté.")
        shown = [m for m in modes if m in result["metrics"]]
        per_query = result.get("per_query") or []
        if which in shown:
            per_query = qp.failed_by(per_query, which)
        return (qp.visualize_quality({m: result["metrics"][m] for m in shown},
                                     reference=result.get("reference"), reference_label=REFERENCE_LABEL),
                qp.metrics_table({m: result["metrics"][m] for m in shown}),
                qp.per_query_table(per_query, shown),
                qp.summary_text(result.get("label", ""), result))

"""Read the official data.gouv.fr catalogue export (``;``-separated, quoted, multi-line).

Every row is either kept or skipped *and counted with a reason*; a file that cannot be a
catalogue export (wrong delimiter, missing required columns, truncated archive) raises
:class:`IngestError` with a message a person can act on.
"""

from __future__ import annotations

import csv
import gzip
import io
import logging
import re
import shutil
import sys
import tempfile
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from models.core.text import strip_markup

log = logging.getLogger(__name__)

REQUIRED_COLUMNS = ("id", "title")
OPTIONAL_COLUMNS = (
    "slug", "acronym", "url", "organization", "organization_id", "owner", "description",
    "frequency", "license", "temporal_coverage.start", "temporal_coverage.end",
    "spatial.granularity", "spatial.zones", "created_at", "last_modified", "tags", "archived",
    "resources_count", "resources_formats", "quality_score", "metric.reuses",
    "metric.followers", "metric.views", "metric.resources_downloads",
)
METRICS = {
    "metric.views": "views", "metric.reuses": "reuses", "metric.followers": "followers",
    "metric.resources_downloads": "downloads",
}
MAX_TEXT_CHARS = 20_000  # plain text kept for the models; the original stays for display


class IngestError(ValueError):
    """The input cannot be read as a catalogue export."""


@dataclass
class IngestReport:
    source: str
    rows_read: int = 0
    rows_kept: int = 0
    archived_dropped: int = 0
    skipped: Counter = field(default_factory=Counter)
    missing_columns: list[str] = field(default_factory=list)
    rows_with_invalid_utf8: int = 0
    truncated_texts: int = 0
    # producer and metrics of each archived row left out (not in the manifest): lets the
    # producers step count archived datasets without a second pass over the export
    archived_rows: list[dict] = field(default_factory=list, repr=False)

    def archived_frame(self) -> pd.DataFrame:
        """The archived rows left out: organization, organization_id, metrics, last_modified."""
        return pd.DataFrame.from_records(self.archived_rows, columns=_ARCHIVED_COLUMNS)

    def as_dict(self) -> dict:
        return {
            "source": self.source,
            "rows_read": self.rows_read,
            "rows_kept": self.rows_kept,
            "archived_dropped": self.archived_dropped,
            "skipped": dict(self.skipped),
            "missing_columns": self.missing_columns,
            "rows_with_invalid_utf8": self.rows_with_invalid_utf8,
            "truncated_texts": self.truncated_texts,
        }


def _is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def fetch(source: str, cache_dir: Path | None = None) -> Path:
    """Return a local path for ``source``; a URL is streamed to a file first."""
    if not _is_url(source):
        path = Path(source)
        if not path.exists():
            raise IngestError(f"catalogue not found: {source}")
        return path
    cache_dir = Path(cache_dir or tempfile.gettempdir())
    cache_dir.mkdir(parents=True, exist_ok=True)
    name = source.rstrip("/").rsplit("/", 1)[-1] or "catalog.csv"
    dest = cache_dir / name
    log.info("downloading %s", source)
    tmp = dest.with_suffix(dest.suffix + ".part")
    try:
        with urllib.request.urlopen(source, timeout=60) as resp, open(tmp, "wb") as out:
            shutil.copyfileobj(resp, out, length=1 << 20)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise IngestError(f"cannot download {source}: {exc}") from exc
    tmp.replace(dest)
    return dest


def _open_text(path: Path) -> io.TextIOBase:
    with open(path, "rb") as fh:
        magic = fh.read(2)
    raw = gzip.open(path, "rb") if magic == b"\x1f\x8b" else open(path, "rb")  # noqa: SIM115
    # undecodable bytes become U+FFFD and the row is counted, rather than failing the file
    return io.TextIOWrapper(raw, encoding="utf-8-sig", errors="replace", newline="")


def _rows(path: Path) -> Iterator[list[str]]:
    csv.field_size_limit(sys.maxsize)
    with _open_text(path) as fh:
        reader = csv.reader(fh, delimiter=";", quotechar='"')
        try:
            yield from reader
        except EOFError as exc:  # gzip stream cut short
            raise IngestError(
                f"{path}: the file is truncated after {reader.line_num} lines ({exc}); "
                "download the export again"
            ) from exc
        except csv.Error as exc:
            raise IngestError(f"{path}: malformed CSV near line {reader.line_num}: {exc}") from exc


_INT64_MAX = 2**63 - 1


def _to_int(value: str) -> int:
    """A count from the export: 0 when not a number, capped to int64 ("9" * 40, "1e400")."""
    try:
        n = int(float(value)) if value else 0
    except (ValueError, OverflowError):  # "abc", "nan", "1e400"
        return 0
    return max(-_INT64_MAX, min(n, _INT64_MAX))


def _year(value: str) -> int | None:
    if len(value) >= 4 and value[:4].isdigit():
        return int(value[:4])
    return None


def read_catalog(source: str | Path, *, limit: int | None = None,
                 include_archived: bool = False) -> tuple[pd.DataFrame, IngestReport]:
    """Parse an export into one row per dataset (row order = artifact row id)."""
    path = fetch(str(source))
    report = IngestReport(source=str(source))
    rows = _rows(path)
    try:
        header = next(rows)
    except StopIteration:
        raise IngestError(f"{source}: empty file") from None
    header = [h.strip() for h in header]
    missing_required = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing_required:
        hint = " (is it ';'-separated?)" if len(header) == 1 else ""
        raise IngestError(
            f"{source}: missing required column(s) {', '.join(missing_required)}{hint}; "
            f"found {len(header)} column(s): {', '.join(header[:8])}"
        )
    report.missing_columns = [c for c in OPTIONAL_COLUMNS if c not in header]
    if report.missing_columns:
        log.warning("columns absent from the export, left empty: %s", report.missing_columns)
    pos = {name: i for i, name in enumerate(header)}
    ncol = len(header)
    seen: set[str] = set()
    records: list[dict] = []

    def get(row: list[str], name: str) -> str:
        i = pos.get(name)
        return row[i] if i is not None else ""

    for row in rows:
        report.rows_read += 1
        if len(row) != ncol:
            report.skipped["wrong_field_count"] += 1
            continue
        ds_id = get(row, "id").strip()
        title = " ".join(get(row, "title").split())
        if not ds_id:
            report.skipped["empty_id"] += 1
            continue
        if ds_id in seen:
            report.skipped["duplicate_id"] += 1
            continue
        archived_raw = get(row, "archived").strip()
        archived = archived_raw not in ("", "False", "false", "0")
        if archived and not include_archived:
            report.archived_dropped += 1
            rec = {"organization": _producer_name(row, get),
                   "organization_id": get(row, "organization_id").strip(),
                   "last_modified": get(row, "last_modified").strip()}
            for col, name in METRICS.items():
                rec[name] = _to_int(get(row, col))
            report.archived_rows.append(rec)
            continue
        if any("\ufffd" in v for v in (title, get(row, "description"))):
            report.rows_with_invalid_utf8 += 1
        seen.add(ds_id)
        description = get(row, "description")
        text = strip_markup(description)
        if len(text) > MAX_TEXT_CHARS:
            report.truncated_texts += 1
            text = text[:MAX_TEXT_CHARS]
        tags = [t.strip() for t in get(row, "tags").split(",") if t.strip()]
        rec = {
            "id": ds_id,
            "title": title or "(sans titre)",
            "slug": get(row, "slug"),
            "acronym": get(row, "acronym").strip(),
            "url": get(row, "url") or f"https://www.data.gouv.fr/datasets/{ds_id}/",
            "organization": _producer_name(row, get),
            "organization_id": get(row, "organization_id").strip(),
            "description": description,
            "description_text": text,
            "tags": tags,
            "created_at": get(row, "created_at").strip(),
            "last_modified": get(row, "last_modified").strip(),
            "created_year": _year(get(row, "created_at").strip()),
            "frequency": get(row, "frequency").strip(),
            "license": get(row, "license").strip(),
            "temporal_start": get(row, "temporal_coverage.start").strip(),
            "temporal_end": get(row, "temporal_coverage.end").strip(),
            "spatial_granularity": get(row, "spatial.granularity").strip(),
            "spatial_zones": get(row, "spatial.zones").strip(),
            "resources_count": _to_int(get(row, "resources_count")),
            "resources_formats": get(row, "resources_formats").strip(),
            "quality_score": _to_float(get(row, "quality_score")),
            "archived": archived,
        }
        for col, name in METRICS.items():
            rec[name] = _to_int(get(row, col))
        records.append(rec)
        if limit is not None and len(records) >= limit:
            break
    report.rows_kept = len(records)
    if report.skipped:
        log.warning("skipped rows: %s", dict(report.skipped))
    df = pd.DataFrame.from_records(records, columns=_COLUMNS)
    df["created_year"] = df["created_year"].astype("Int16")
    for name in METRICS.values():
        df[name] = df[name].astype(np.int64)
    return df, report


_DELETED_ACCOUNT = re.compile(r"deleted-([0-9a-f]{1,32})")  # a number, or a 24-hex-digit id


def _producer_name(row: list[str], get) -> str:
    """The organisation's name, else the owner's (a user), else empty. The export names a deleted
    account « deleted-4916 » or « deleted-637f6464e859333971933374 » (1,138 datasets): it reads
    « Compte supprimé n° 4916 » (one producer per account, as before).

    >>> _producer_name(["", "deleted-4916"], lambda row, key: row[["organization", "owner"].index(key)])
    'Compte supprimé n° 4916'
    """
    name = " ".join(get(row, "organization").split()) or get(row, "owner").strip()
    m = _DELETED_ACCOUNT.fullmatch(name)
    return f"Compte supprimé n° {m.group(1)}" if m else name


def _to_float(value: str) -> float:
    try:
        return float(value) if value else float("nan")
    except ValueError:
        return float("nan")


_COLUMNS = [
    "id", "title", "slug", "acronym", "url", "organization", "organization_id", "description",
    "description_text", "tags", "created_at", "last_modified", "created_year", "frequency",
    "license", "temporal_start", "temporal_end", "spatial_granularity", "spatial_zones",
    "resources_count", "resources_formats", "quality_score", "archived", *METRICS.values(),
]
_ARCHIVED_COLUMNS = ["organization", "organization_id", "last_modified", *METRICS.values()]

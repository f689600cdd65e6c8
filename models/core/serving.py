"""What the app would otherwise compute at each start, computed once by the build's ``serving``
step: the metadata quality of every dataset (``quality.parquet``), its freshness
(``freshness.parquet``), the spelling correction's vocabulary (``spelling_words.parquet``) and
the gazetteer's entities and names (``gazetteer_*.parquet``) and the declared zones resolved to
it (``declared_zones.parquet``) — ~3 s of the app's start on the full catalogue.

The files are only as good as the code that wrote them: the step records
``parameters.serving.version``, a digest of the source of the ``models/core`` modules the tables
come from (:data:`SOURCES` and their imports: the rules and these functions); the app reads a
file only when that digest is its own, else computes the table as before (and says so in the
log). ``python -m models build --from DIR --steps serving`` writes them again after a change.

The app (:mod:`models.serve.producers`, :mod:`models.serve.freshness`) and the step call the
same functions here on the same inputs (the row table, the descriptions' lengths and heads, the
export date the build recorded, the rows the ``territories`` step placed): the tables are equal
(``tests/test_serving_cache.py``).
"""

from __future__ import annotations

import hashlib
import logging
import re
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from models.core import freshness as fr
from models.core import quality
from models.core.declared_zones import resolve_declared

log = logging.getLogger(__name__)

FILES = {"quality": "quality.parquet", "freshness": "freshness.parquet",
         "spelling": "spelling_words.parquet", "gazetteer_entities": "gazetteer_entities.parquet",
         "gazetteer_aliases": "gazetteer_aliases.parquet", "declared": "declared_zones.parquet"}
PER_ROW = ("quality", "freshness")  # one row per dataset
FRESHNESS_COLUMNS = ("frequency", "created_at", "last_modified", "title")


# the modules whose code makes the tables (each one's imports inside models.core are followed)
SOURCES = ("serving", "quality", "freshness", "spelling_words", "territory_entities", "geo", "declared_zones")
_CORE_IMPORT = re.compile(r"^\s*from models\.core(?:\.(\w+))? import ([\w, ()]+)", re.M)


def source_modules(roots=SOURCES) -> list[str]:
    """``roots`` and every ``models.core`` module they import, directly or not (sorted).

    >>> mods = source_modules()
    >>> "quality" in mods and "text" in mods and "search_params" not in mods
    True
    """
    folder = Path(__file__).parent
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in seen or not (folder / f"{name}.py").exists():
            continue
        seen.add(name)
        for module, names in _CORE_IMPORT.findall((folder / f"{name}.py").read_text(encoding="utf-8")):
            todo += [module] if module else [n.strip(" ()").split(" as ")[0] for n in names.split(",")]
    return sorted(seen)


@lru_cache(maxsize=1)
def code_version() -> str:
    """A digest of the source of the ``models/core`` modules the tables come from
    (:func:`source_modules`; 16 hex digits): a change of a rule there makes the kept tables stale,
    a change elsewhere (the search constants) does not.

    >>> len(code_version()), code_version() == code_version()
    (16, True)
    """
    h = hashlib.sha256()
    folder = Path(__file__).parent
    for name in source_modules():
        h.update(name.encode())
        h.update((folder / f"{name}.py").read_bytes())
    return h.hexdigest()[:16]


def read(artifacts, name: str) -> pd.DataFrame | None:
    """The table ``name`` (a key of :data:`FILES`) the build kept, or None: not kept, kept by
    other code (:func:`code_version`), unreadable, or (quality, freshness) not one row per dataset.

    >>> from types import SimpleNamespace
    >>> read(SimpleNamespace(manifest={}, has=lambda name: False), "quality") is None  # not kept
    True
    """
    file = FILES[name]
    has = getattr(artifacts, "has", None)  # a plain object (a doctest's) keeps nothing
    if has is None or not has(file):
        return None
    recorded = artifacts.manifest.get("parameters", {}).get("serving") or {}
    kept = recorded.get("version")
    if kept != code_version():
        log.info("%s was written by other code (version %s, this one %s): computed again",
                 file, kept, code_version())
        return None
    try:
        table = artifacts.parquet(file)
    except Exception as exc:  # a damaged file costs the start its time, never the start
        log.warning("%s is unreadable (%s): computed again", file, exc)
        return None
    columns = (recorded.get("columns") or {}).get(name)
    if columns is not None and list(table.columns) != list(columns):
        log.warning("%s holds the columns %s, not the %s the build wrote: computed again", file,
                    ", ".join(map(str, table.columns))[:200], ", ".join(columns)[:200])
        return None
    if name in PER_ROW and len(table) != len(artifacts.datasets):
        log.warning("%s has %d rows for %d datasets: computed again", file, len(table),
                    len(artifacts.datasets))
        return None
    if name == "quality":  # as computed: each rule's reason or None (objects), the reasons a list
        shared: dict[str, str] = {}  # one object per distinct reason, as computed (~15 MiB less)
        for col in table.columns:
            values = table[col].tolist()
            if col == "reasons":
                table[col] = pd.Series([[shared.setdefault(v, v) for v in r] if r is not None else []
                                        for r in values], dtype=object)
            elif table[col].dtype.kind not in "iufb":
                table[col] = pd.Series([shared.setdefault(v, v) if isinstance(v, str) else None
                                        for v in values], dtype=object)
    return table


# ---- the tables, as the app and the step compute them ---------------------------------------
def export_date(manifest: dict, frame: pd.DataFrame) -> pd.Timestamp | None:
    """The export date the build recorded (``parameters.producers.export_date``), else the
    newest ``last_modified`` of ``frame`` (None: neither).

    >>> export_date({}, pd.DataFrame({"last_modified": ["2025-03-01", "2026-01-15T08:00:00"]}))
    Timestamp('2026-01-15 08:00:00')
    """
    iso = manifest.get("parameters", {}).get("producers", {}).get("export_date")
    if iso:
        return pd.Timestamp(iso)
    return quality.export_date(frame["last_modified"])


def naive_export_date(manifest: dict, frame: pd.DataFrame) -> pd.Timestamp:
    """:func:`export_date` without its time zone (in UTC), 1970-01-01 when unknown: what
    freshness is judged against.

    >>> naive_export_date({"parameters": {"producers": {"export_date": "2026-01-16T09:30:00+01:00"}}}, None)
    Timestamp('2026-01-16 08:30:00')
    """
    d = export_date(manifest, frame)
    if d is None or pd.isna(d):
        return pd.Timestamp("1970-01-01")
    return d.tz_convert(None) if d.tzinfo is not None else d


def territory_rows(places: pd.DataFrame | None) -> set[int] | None:
    """The rows the ``territories`` step placed (``territories.parquet``'s ``row``; None: no file).

    >>> sorted(territory_rows(pd.DataFrame({"row": [3, 1, 3]}))), territory_rows(None)
    ([1, 3], None)
    """
    return None if places is None else {int(r) for r in places["row"].unique()}


def quality_table(frame: pd.DataFrame, *, description_chars, as_of, places: pd.DataFrame | None
                  ) -> pd.DataFrame:
    """:func:`models.core.quality.assess` of every row of the row table ``frame``, the
    descriptions counted from ``description_chars`` (one length a row, else the frame's texts).

    >>> frame = pd.DataFrame({"tags": [["sport"]], "license": ["lov2"], "spatial_zones": ["Lyon"],
    ...                       "temporal_start": ["2020"], "frequency": ["annual"],
    ...                       "last_modified": ["2025-06-01"]})
    >>> t = quality_table(frame, description_chars=[12], as_of=pd.Timestamp("2026-01-15"), places=None)
    >>> t[["score", "n_issues"]].values.tolist(), t.loc[0, "reasons"]
    ([[85, 1]], ['Description très courte (12 caractères, moins de 100)'])
    """
    ds = frame
    if description_chars is not None and len(description_chars) == len(ds):
        ds = ds.assign(description_chars=description_chars)
    return quality.assess(ds, as_of=as_of, territory_rows=territory_rows(places), rows=np.arange(len(ds)))


def freshness_table(frame: pd.DataFrame, *, as_of: pd.Timestamp, heads) -> pd.DataFrame:
    """:func:`models.core.freshness.assess` of every row of ``frame``, the descriptions' first
    :data:`models.core.freshness.DESCRIPTION_HEAD` characters in ``heads`` (one a row, else the
    frame's ``description_text``).

    >>> frame = pd.DataFrame({"frequency": ["monthly", "annual"], "created_at": ["2020-01-01"] * 2,
    ...                       "last_modified": ["2025-06-01", "2025-12-01"], "title": ["A", "B"]})
    >>> freshness_table(frame, as_of=pd.Timestamp("2026-01-16"), heads=["", ""])["status"].tolist()
    ['en_retard', 'a_jour']
    """
    cols = [c for c in FRESHNESS_COLUMNS if c in frame]
    ds = frame[cols].reset_index(drop=True)
    desc = pd.Series(heads) if heads is not None and len(heads) == len(ds) else None
    if desc is None and "description_text" in frame:
        desc = frame["description_text"].reset_index(drop=True)
    return fr.assess(ds, as_of, descriptions=desc)


def declared_table(gaz, frame: pd.DataFrame) -> pd.DataFrame:
    """Every dataset's declared zones (``spatial_zones``, with ``spatial_granularity``) resolved
    to the gazetteer (:func:`models.core.declared_zones.resolve_declared`): one row per (dataset
    row, ``"level:code"``), a dataset's keys sorted; empty without zones or gazetteer. Each
    distinct (zones, granularity) is resolved once (the catalogue has ~1,700 of them).

    >>> from models.core.geo import Gazetteer
    >>> gaz = Gazetteer.build([{"code": "31555", "nom": "Toulouse", "type": "commune-actuelle",
    ...                         "departement": "31", "region": "76"}], [],
    ...                       [{"code": "31", "nom": "Haute-Garonne", "region": "76"}], [])
    >>> frame = pd.DataFrame({"spatial_zones": ["Toulouse, Haute-Garonne", None, "Atlantide"]})
    >>> declared_table(gaz, frame).values.tolist()
    [[0, 'commune:31555'], [0, 'departement:31']]
    """
    rows: list[int] = []
    keys: list[str] = []
    if gaz is not None and "spatial_zones" in frame:
        zones = frame["spatial_zones"].fillna("").astype(str)
        have = np.flatnonzero(zones.str.len().to_numpy() > 0)
        gran = frame["spatial_granularity"].fillna("").astype(str).to_numpy() \
            if "spatial_granularity" in frame else np.full(len(frame), "")
        zv = zones.to_numpy()
        cache: dict[tuple[str, str], list[str]] = {}
        for r in have:
            k = (zv[r], gran[r])
            if k not in cache:
                found, _ = resolve_declared(gaz, zv[r], gran[r])
                cache[k] = sorted(f"{lv}:{c}" for lv, c in found)
            rows.extend([int(r)] * len(cache[k]))
            keys.extend(cache[k])
    return pd.DataFrame({"row": np.asarray(rows, dtype=np.int32), "key": pd.Series(keys, dtype=object)})

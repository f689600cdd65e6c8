"""A FAIR metadata score in the shape of data.europa.eu's Metadata Quality Assessment (MQA),
computed only from the fields of the data.gouv.fr export (pure functions over catalogue rows).

The MQA scores a dataset on five dimensions with points per indicator (405 in all) and rates a
catalogue Excellent (351–405), Good (221–350), Sufficient (121–220) or Bad (0–120). We keep its
dimensions, indicators and weights; an indicator that needs the network or a field the export
does not have is **named and left out** (:data:`LEFT_OUT`), never faked, and the thresholds are
scaled to our maximum (:data:`MAX_POINTS`, same shares of the maximum as the MQA's).

Indicators kept (:data:`INDICATORS`; MQA weight, then what decides it here)
---------------------------------------------------------------------------
Findability
    keywords (30): at least one tag. spatial (20): declared ``spatial.zones``.
    temporal (20): ``temporal_coverage.start`` or ``.end``.
Accessibility
    download (20): at least one resource (``resources_count`` > 0) — the export does not say
    whether a resource is a download URL or an access URL: the proxy is named so.
Interoperability
    format (20): a resource format given. format_vocabulary (10): a format we recognise
    (:mod:`models.core.formats` families). non_proprietary (20): an open format (CSV, JSON,
    GeoJSON, ODS, XML, KML, GeoPackage, Parquet, RDF, GTFS, text, HTML, PDF, images, WMS/WFS).
    machine_readable (20): a machine-readable format (CSV, JSON, GeoJSON, Shapefile, Excel, ODS,
    XML, KML, GeoPackage, Parquet, RDF, GTFS, MapInfo, WFS, API).
Reusability
    license (20): a licence given (not « License Not Specified »). license_vocabulary (10): a
    licence of a known vocabulary (Licence Ouverte, ODbL, ODC, Creative Commons — not
    « Other (…) »). publisher (10): published by an organisation (not a user account).
Contextuality
    issued (5): ``created_at``. modified (5): ``last_modified``.

Every dataset's points are the sum of its indicators' points; a dimension's the sum of its
indicators'; a catalogue's (or a producer's) the mean over its datasets — the MQA's
« weight × share of datasets that pass ».
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from models.core import french
from models.core.formats import format_families

DIMENSIONS = ("findability", "accessibility", "interoperability", "reusability", "contextuality")
DIMENSION_LABELS = {"findability": "Trouvabilité", "accessibility": "Accessibilité",
                    "interoperability": "Interopérabilité", "reusability": "Réutilisabilité",
                    "contextuality": "Contexte"}
MQA_MAX = 405
MQA_THRESHOLDS = ((351, "Excellent"), (221, "Good"), (121, "Sufficient"), (0, "Bad"))
RATING_LABELS = {"Excellent": "Excellent", "Good": "Bon", "Sufficient": "Suffisant", "Bad": "Insuffisant"}


@dataclass(frozen=True)
class Indicator:
    """One MQA indicator kept: its key (a column of :func:`passes` and :func:`score`), its
    dimension, its MQA points and its French label.

    Examples
    --------
    >>> INDICATORS[0], MAX_POINTS
    (Indicator(key='keywords', dimension='findability', points=30, label='Mots-clés'), 210)
    """

    key: str
    dimension: str
    points: int
    label: str  # French, what it checks


INDICATORS: tuple[Indicator, ...] = (
    Indicator("keywords", "findability", 30, "Mots-clés"),
    Indicator("spatial", "findability", 20, "Couverture géographique"),
    Indicator("temporal", "findability", 20, "Couverture temporelle"),
    Indicator("download", "accessibility", 20, "Au moins une ressource (URL de téléchargement)"),
    Indicator("format", "interoperability", 20, "Format des ressources"),
    Indicator("format_vocabulary", "interoperability", 10, "Format d'un vocabulaire connu"),
    Indicator("non_proprietary", "interoperability", 20, "Format non propriétaire"),
    Indicator("machine_readable", "interoperability", 20, "Format lisible par une machine"),
    Indicator("license", "reusability", 20, "Licence"),
    Indicator("license_vocabulary", "reusability", 10, "Licence d'un vocabulaire connu"),
    Indicator("publisher", "reusability", 10, "Éditeur (organisation)"),
    Indicator("issued", "contextuality", 5, "Date de publication"),
    Indicator("modified", "contextuality", 5, "Date de modification"),
)
# MQA indicators we cannot compute from the export: (dimension, key, MQA points, why)
LEFT_OUT: tuple[tuple[str, str, int, str], ...] = (
    ("findability", "categories", 30, "pas de thème DCAT dans l'export"),
    ("accessibility", "access_url_status", 50, "vérifier l'URL d'accès demande le réseau"),
    ("accessibility", "download_url_status", 30, "vérifier l'URL de téléchargement demande le réseau"),
    ("interoperability", "media_type", 10, "pas de type MIME dans l'export"),
    ("interoperability", "dcat_ap_compliance", 30, "la validation SHACL DCAT-AP demande le RDF complet"),
    ("reusability", "access_rights", 10, "pas de droits d'accès dans l'export"),
    ("reusability", "access_rights_vocabulary", 5, "pas de droits d'accès dans l'export"),
    ("reusability", "contact_point", 20, "pas de point de contact dans l'export"),
    ("contextuality", "rights", 5, "pas de champ dct:rights dans l'export"),
    ("contextuality", "byte_size", 5, "pas de taille de fichier dans l'export"),
)
MAX_POINTS = sum(i.points for i in INDICATORS)  # 210
assert MAX_POINTS + sum(x[2] for x in LEFT_OUT) == MQA_MAX
# the MQA's thresholds as shares of its maximum, applied to ours
THRESHOLDS = tuple((MAX_POINTS * lo / MQA_MAX, name) for lo, name in MQA_THRESHOLDS)

MACHINE_READABLE = frozenset({"csv", "json", "geojson", "shp", "xls", "ods", "xml", "kml", "gpkg",
                              "parquet", "rdf", "gtfs", "mapinfo", "wfs", "api"})
NON_PROPRIETARY = frozenset({"csv", "json", "geojson", "ods", "xml", "kml", "gpkg", "parquet", "rdf",
                             "gtfs", "txt", "html", "pdf", "image", "wms", "wfs"})
_UNSPECIFIED = {"", "license not specified", "notspecified", "not specified", "other-unspecified",
                "licence non spécifiée"}
_KNOWN_LICENCE_WORDS = ("licence ouverte", "open licence", "odbl", "open data commons",
                        "creative commons", "cc-by", "cc by", "cc0", "cczero", "etalab", "mit",
                        "gnu", "apache", "eupl")


def rating(points) -> np.ndarray | str:
    """MQA rating (Excellent, Good, Sufficient, Bad) of points out of :data:`MAX_POINTS`.

    Examples
    --------
    >>> rating(200), rating(np.array([182, 120, 60])).tolist()  # thresholds 182, 114.6, 62.7
    ('Excellent', ['Excellent', 'Good', 'Bad'])
    """
    arr = np.atleast_1d(np.asarray(points, dtype=np.float64))
    out = np.full(len(arr), "Bad", dtype=object)
    for lo, name in reversed(THRESHOLDS):
        out[arr >= lo - 1e-9] = name
    return out[0] if np.ndim(points) == 0 else out


def _text(df: pd.DataFrame, col: str) -> pd.Series:
    if col not in df:
        return pd.Series([""] * len(df), index=df.index, dtype=object)
    return df[col].fillna("").astype(str).str.strip()


def _has_tags(tags: pd.Series) -> np.ndarray:
    def ok(t) -> bool:
        if t is None or (isinstance(t, float) and np.isnan(t)):
            return False
        if isinstance(t, str):
            return any(x.strip() for x in t.split(","))
        return any(str(x).strip() for x in t)
    return np.fromiter((ok(t) for t in tags), dtype=bool, count=len(tags))


def _families(raw: pd.Series) -> list[tuple[str, ...]]:
    uniq = {v: format_families(v) for v in raw.unique()}
    return [uniq[v] for v in raw]


def passes(df: pd.DataFrame) -> pd.DataFrame:
    """One boolean column per indicator key (:data:`INDICATORS`): does the row pass it.

    Examples
    --------
    >>> df = pd.DataFrame({"resources_formats": ["xlsx"], "license": ["notspecified"],
    ...                    "created_at": ["2021-02-02"], "organization": ["Jean"]})
    >>> row = passes(df).loc[0]
    >>> row[row].index.tolist()  # Excel: readable by a machine, but proprietary
    ['format', 'format_vocabulary', 'machine_readable', 'publisher', 'issued']
    """
    n = len(df)
    idx = df.index
    tags = df["tags"] if "tags" in df else pd.Series([None] * n, index=idx, dtype=object)
    fmt_raw = _text(df, "resources_formats")
    fams = _families(fmt_raw)
    lic = _text(df, "license").str.lower()
    known_lic = lic.map(lambda s: any(w in s for w in _KNOWN_LICENCE_WORDS) and not s.startswith("other"))
    rc = pd.to_numeric(df["resources_count"], errors="coerce").fillna(0).to_numpy() \
        if "resources_count" in df else np.zeros(n)
    if "organization_id" in df:
        publisher = (_text(df, "organization_id") != "").to_numpy()
    else:
        publisher = (_text(df, "organization") != "").to_numpy()
    out = {
        "keywords": _has_tags(tags),
        "spatial": (_text(df, "spatial_zones") != "").to_numpy(),
        "temporal": ((_text(df, "temporal_start") != "") | (_text(df, "temporal_end") != "")).to_numpy(),
        "download": rc > 0,
        "format": (fmt_raw != "").to_numpy(),
        "format_vocabulary": np.array([bool(f) for f in fams], dtype=bool),
        "non_proprietary": np.array([bool(NON_PROPRIETARY.intersection(f)) for f in fams], dtype=bool),
        "machine_readable": np.array([bool(MACHINE_READABLE.intersection(f)) for f in fams], dtype=bool),
        "license": (~lic.isin(_UNSPECIFIED)).to_numpy(),
        "license_vocabulary": (known_lic & ~lic.isin(_UNSPECIFIED)).to_numpy(dtype=bool),
        "publisher": publisher,
        "issued": pd.to_datetime(_text(df, "created_at").str.slice(0, 19), errors="coerce",
                                 format="ISO8601").notna().to_numpy(),
        "modified": pd.to_datetime(_text(df, "last_modified").str.slice(0, 19), errors="coerce",
                                   format="ISO8601").notna().to_numpy(),
    }
    return pd.DataFrame({k: np.asarray(v, dtype=bool) for k, v in out.items()}, index=idx)


def score(df: pd.DataFrame) -> pd.DataFrame:
    """Points of every row: one column per indicator (its points or 0), one per dimension
    (``dim:<name>``), ``points`` (total) and ``rating``.

    Examples
    --------
    >>> df = pd.DataFrame({"tags": [["sport"], []], "spatial_zones": ["fr:commune:69123", ""],
    ...                    "temporal_start": ["2020-01-01", ""], "resources_count": [2, 0],
    ...                    "resources_formats": ["csv,pdf", "xlsx"],
    ...                    "license": ["Licence Ouverte / Open Licence version 2.0", "notspecified"],
    ...                    "organization_id": ["o1", ""], "created_at": ["2020-01-01", "2021-02-02"],
    ...                    "last_modified": ["2025-01-01", ""]})
    >>> score(df)[["keywords", "dim:findability", "dim:interoperability", "points", "rating"]].values.tolist()
    [[30, 70, 70, 210, 'Excellent'], [0, 0, 50, 55, 'Bad']]
    """
    p = passes(df)
    out = pd.DataFrame(index=df.index)
    for ind in INDICATORS:
        out[ind.key] = np.where(p[ind.key].to_numpy(), ind.points, 0).astype(np.int64)
    for d in DIMENSIONS:
        keys = [i.key for i in INDICATORS if i.dimension == d]
        out[f"dim:{d}"] = out[keys].sum(axis=1).astype(np.int64)
    out["points"] = out[[f"dim:{d}" for d in DIMENSIONS]].sum(axis=1).astype(np.int64)
    out["rating"] = rating(out["points"].to_numpy()) if len(out) else pd.Series(dtype=object)
    return out


def dimension_max() -> dict[str, int]:
    """The points each dimension can reach with the indicators kept.

    Examples
    --------
    >>> dimension_max()
    {'findability': 70, 'accessibility': 20, 'interoperability': 70, 'reusability': 40, 'contextuality': 10}
    """
    return {d: sum(i.points for i in INDICATORS if i.dimension == d) for d in DIMENSIONS}


def summary(scored: pd.DataFrame) -> dict:
    """A set of rows (a catalogue, a producer): mean points per indicator, dimension and in all,
    the share of rows passing each indicator, the rating of the mean.

    Examples
    --------
    >>> scored = score(pd.DataFrame({"tags": [["sport"], []], "resources_count": [1, 1],
    ...                              "resources_formats": ["csv", "csv"], "license": ["ODbL", "ODbL"],
    ...                              "organization_id": ["o1", "o1"]}))
    >>> s = summary(scored)
    >>> s["n"], s["points"], s["rating"], s["rating_fr"]
    (2, 145.0, 'Good', 'Bon')
    >>> s["indicators"][0]
    {'key': 'keywords', 'label': 'Mots-clés', 'dimension': 'findability', 'max': 30, 'points': 15.0,
     'share': 0.5}
    """
    n = len(scored)
    dmax = dimension_max()
    if not n:
        return {"n": 0, "points": 0.0, "max": MAX_POINTS, "rating": "Bad", "dimensions": [], "indicators": []}
    inds = [{"key": i.key, "label": i.label, "dimension": i.dimension, "max": i.points,
             "points": round(float(scored[i.key].mean()), 2),
             "share": round(float((scored[i.key] > 0).mean()), 4)} for i in INDICATORS]
    dims = [{"key": d, "label": DIMENSION_LABELS[d], "max": dmax[d],
             "points": round(float(scored[f"dim:{d}"].mean()), 2)} for d in DIMENSIONS]
    pts = float(scored["points"].mean())
    return {"n": n, "points": round(pts, 2), "max": MAX_POINTS, "rating": str(rating(pts)),
            "rating_fr": RATING_LABELS[str(rating(pts))], "dimensions": dims, "indicators": inds}


# ---- the to-do list --------------------------------------------------------------------------
@dataclass(frozen=True)
class Fix:
    """One fix of the to-do list: the indicators it makes pass, the French verb of its label,
    and the field values a fixed dataset would have (:func:`apply_fix`).

    Examples
    --------
    >>> FIXES[0]
    Fix(key='keywords', indicators=('keywords',), verb='Ajouter des mots-clés à', patch={'tags': ['mot-cle']})
    """

    key: str
    indicators: tuple[str, ...]  # what the fix makes pass
    verb: str  # with its preposition: « Ajouter des mots-clés à » (312 jeux)
    patch: dict  # the field values a fixed dataset would have (tests re-score with them)


FIXES: tuple[Fix, ...] = (
    Fix("keywords", ("keywords",), "Ajouter des mots-clés à", {"tags": ["mot-cle"]}),
    Fix("spatial", ("spatial",), "Déclarer la couverture géographique de", {"spatial_zones": "fr:pays:fr"}),
    Fix("temporal", ("temporal",), "Déclarer la couverture temporelle de", {"temporal_start": "2020-01-01"}),
    Fix("download", ("download",), "Publier au moins une ressource pour", {"resources_count": 1}),
    Fix("open_format", ("format", "format_vocabulary", "non_proprietary", "machine_readable"),
        "Ajouter une ressource dans un format ouvert et lisible par une machine (CSV, JSON…) à",
        {"resources_formats": "+csv"}),
    Fix("license", ("license", "license_vocabulary"),
        "Choisir une licence ouverte connue (Licence Ouverte 2.0, ODbL…) pour",
        {"license": "Licence Ouverte / Open Licence version 2.0"}),
    Fix("publisher", ("publisher",), "Publier sous une organisation plutôt qu'un compte personnel",
        {"organization_id": "organisation"}),
    Fix("dates", ("issued", "modified"), "Renseigner les dates de publication et de modification de",
        {"created_at": "2020-01-01T00:00:00", "last_modified": "2020-01-01T00:00:00"}),
)
_WEIGHT = {i.key: i.points for i in INDICATORS}


def apply_fix(df: pd.DataFrame, fix: Fix, rows) -> pd.DataFrame:
    """A copy of ``df`` where the rows ``rows`` (index labels) carry the fix's field values
    (``"+csv"``: a format added to those already listed).

    Examples
    --------
    >>> df = pd.DataFrame({"resources_formats": ["pdf", "xlsx"]}, index=["a", "b"])
    >>> open_format = next(fix for fix in FIXES if fix.key == "open_format")
    >>> apply_fix(df, open_format, ["b"])["resources_formats"].tolist()
    ['pdf', 'xlsx,csv']
    >>> int(score(apply_fix(df, open_format, ["b"])).loc["b", "dim:interoperability"])
    70
    """
    out = df.copy()
    rows = list(rows)
    for col, value in fix.patch.items():
        if col not in out:
            out[col] = pd.Series([None] * len(out), index=out.index, dtype=object)
        if isinstance(value, str) and value.startswith("+"):
            cur = out.loc[rows, col].fillna("").astype(str)
            out.loc[rows, col] = [f"{c},{value[1:]}" if c.strip() else value[1:] for c in cur]
        elif isinstance(value, list):
            out[col] = out[col].astype(object)
            for r in rows:
                out.at[r, col] = list(value)
        else:
            if out[col].dtype != object:
                out[col] = out[col].astype(object)
            out.loc[rows, col] = value
    return out


def todo(scored: pd.DataFrame, ids: pd.Series | None = None, *, catalogue_n: int | None = None
         ) -> list[dict]:
    """The fixes ranked by the points they would add to the mean score of these rows
    (``catalogue_n``: divide by another count, e.g. to read a producer's fixes as points for the
    whole catalogue). Each item: ``key``, ``label`` (« Ajouter des mots-clés à 312 jeux : +28
    points »), ``n`` (datasets concerned), ``gain`` (points), ``indicators``, ``ids``.

    Examples
    --------
    >>> scored = score(pd.DataFrame({"tags": [["sport"], [], []], "license": ["ODbL", "", "ODbL"]},
    ...                             index=["a", "b", "c"]))
    >>> [(item["key"], item["n"], item["gain"], item["ids"]) for item in todo(scored)[:3]]
    [('open_format', 3, 70.0, ['a', 'b', 'c']), ('download', 3, 20.0, ['a', 'b', 'c']),
     ('keywords', 2, 20.0, ['b', 'c'])]
    """
    n = catalogue_n or len(scored)
    if not n or not len(scored):
        return []
    ids = scored.index.to_series() if ids is None else ids
    items = []
    for fix in FIXES:
        fail = np.zeros(len(scored), dtype=bool)
        gained = np.zeros(len(scored), dtype=np.float64)
        for k in fix.indicators:
            miss = scored[k].to_numpy() == 0
            fail |= miss
            gained += np.where(miss, _WEIGHT[k], 0)
        k_n = int(fail.sum())
        if not k_n:
            continue
        gain = float(gained.sum()) / n
        items.append({"key": fix.key, "indicators": list(fix.indicators), "n": k_n, "gain": gain,
                      "label": f"{_lead(fix.verb, k_n)}\u202f: +{_pts(gain)} point{'s' if gain >= 2 else ''}",
                      "ids": [str(x) for x in np.asarray(ids)[fail]]})
    items.sort(key=lambda it: (-it["gain"], it["key"]))
    return items


def _lead(verb: str, k: int) -> str:
    jeux = french.count(k, "jeu", "jeux")
    if verb.endswith((" à", " de", " pour")):
        return f"{verb} {jeux}"
    return f"{verb} ({jeux})"


def _pts(x: float) -> str:
    return french.number(x, 0 if x >= 10 else 1)

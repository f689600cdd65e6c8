"""Metadata quality rules, as pure functions over rows of ``datasets.parquet``.

Each rule takes a DataFrame (any subset of the catalogue's rows, same columns) and returns a
Series of French reasons, ``None`` where the rule passes. :func:`assess` runs every rule and
turns the failures into a score out of 100 (100 = nothing to fix) and a list of reasons.

Staleness compares the declared update frequency with the last modification, relative to the
*export date* (the newest ``last_modified`` of the catalogue, see :func:`export_date`), never to
the wall clock: a build of an old export judges it as of its own date.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from models.core import french

MIN_DESCRIPTION_CHARS = 100  # plain-text characters below which a description is "very short"
STALE_FACTOR = 3.0  # stale: last modified more than STALE_FACTOR x the declared period ago
UNSPECIFIED_LICENSES = frozenset({"", "license not specified", "notspecified", "not specified",
                                  "other-unspecified", "licence non spécifiée"})

# Declared frequencies (udata vocabulary) -> expected period in days; the others
# (punctual, irregular, unknown, notPlanned, other, never, empty) promise no update.
PERIOD_DAYS: dict[str, float] = {
    "continuous": 1, "fiveMinutes": 1, "hourly": 1, "fourTimesADay": 1, "threeTimesADay": 1,
    "severalTimesADay": 1, "semidaily": 1, "daily": 1,
    "fourTimesAWeek": 2, "threeTimesAWeek": 2.5, "semiweekly": 3.5, "weekly": 7,
    "biweekly": 14, "threeTimesAMonth": 10, "semimonthly": 15, "monthly": 30.4,
    "bimonthly": 61, "quarterly": 91, "threeTimesAYear": 122, "semiannual": 182,
    "annual": 365, "biennial": 730, "triennial": 1096, "quadrennial": 1461,
    "quinquennial": 1826,
}
FREQUENCY_FR: dict[str, str] = {
    "continuous": "en continu", "fiveMinutes": "toutes les cinq minutes",
    "hourly": "toutes les heures", "fourTimesADay": "4 fois par jour",
    "threeTimesADay": "3 fois par jour", "severalTimesADay": "plusieurs fois par jour",
    "semidaily": "2 fois par jour", "daily": "quotidienne", "fourTimesAWeek": "4 fois par semaine",
    "threeTimesAWeek": "3 fois par semaine", "semiweekly": "2 fois par semaine",
    "weekly": "hebdomadaire", "biweekly": "toutes les deux semaines",
    "threeTimesAMonth": "3 fois par mois", "semimonthly": "2 fois par mois",
    "monthly": "mensuelle", "bimonthly": "tous les deux mois", "quarterly": "trimestrielle",
    "threeTimesAYear": "3 fois par an", "semiannual": "semestrielle", "annual": "annuelle",
    "biennial": "tous les deux ans", "triennial": "tous les trois ans",
    "quadrennial": "tous les quatre ans",
    "quinquennial": "tous les cinq ans", "punctual": "ponctuelle", "irregular": "irrégulière",
    "unknown": "inconnue", "notPlanned": "pas de mise à jour prévue", "other": "autre",
    "never": "jamais",
}


@dataclass(frozen=True)
class Rule:
    """One metadata rule: its key (a column of :func:`assess`), its label and its weight.

    Examples
    --------
    >>> RULES[0], sum(rule.weight for rule in RULES)
    (Rule(key='description', label='Description', weight=25), 100)
    """

    key: str
    label: str  # what the rule checks, for headers and legends
    weight: int  # points taken off the score of 100 when the rule fails


RULES: tuple[Rule, ...] = (
    Rule("description", "Description", 25),  # absent: 25, very short: 15
    Rule("tags", "Mots-clés", 10),
    Rule("license", "Licence", 20),
    Rule("territory", "Couverture géographique", 10),
    Rule("temporal", "Couverture temporelle", 10),
    Rule("stale", "Fraîcheur (fréquence déclarée)", 25),
)
SHORT_DESCRIPTION_WEIGHT = 15


def _text(df: pd.DataFrame, col: str) -> pd.Series:
    if col not in df:
        return pd.Series("", index=df.index, dtype=object)
    return df[col].fillna("").astype(str).str.strip()


def _reasons(mask: pd.Series | np.ndarray, texts, index) -> pd.Series:
    out = pd.Series([None] * len(index), index=index, dtype=object)
    mask = np.asarray(mask, dtype=bool)
    if mask.any():
        vals = texts if isinstance(texts, str) else np.asarray(texts, dtype=object)[mask]
        out[mask] = vals
    return out


def parse_dates(values: pd.Series) -> pd.Series:
    """ISO strings as exported -> naive UTC timestamps (NaT where unparseable).

    Examples
    --------
    >>> parse_dates(pd.Series(["2025-03-01T10:00:00+02:00", "2025-03-02", None, "hier"])).tolist()
    [Timestamp('2025-03-01 08:00:00'), Timestamp('2025-03-02 00:00:00'), NaT, NaT]
    """
    s = pd.to_datetime(values.fillna("").astype(str), errors="coerce", utc=True, format="ISO8601")
    return s.dt.tz_convert(None)


def export_date(last_modified: pd.Series) -> pd.Timestamp | None:
    """The date of the export: its newest ``last_modified`` (None if none parses).

    Examples
    --------
    >>> export_date(pd.Series(["2025-03-01", "2026-01-15T08:00:00", None]))
    Timestamp('2026-01-15 08:00:00')
    >>> export_date(pd.Series(["inconnue"])) is None
    True
    """
    d = parse_dates(last_modified).max()
    return None if pd.isna(d) else d


# ---- rules ----------------------------------------------------------------------------
def check_description(df: pd.DataFrame, min_chars: int = MIN_DESCRIPTION_CHARS) -> pd.Series:
    """Missing description, or a plain-text description shorter than ``min_chars`` (counted from
    ``description_chars`` when the frame has it: the served frame keeps its texts on disk).

    Examples
    --------
    >>> check_description(pd.DataFrame({"description_text": ["", "Piscines.", "x" * 120]})).tolist()
    ['Description absente', 'Description très courte (9 caractères, moins de 100)', None]
    >>> check_description(pd.DataFrame({"description_chars": [1]}), min_chars=50).tolist()
    ['Description très courte (1 caractère, moins de 50)']
    """
    if "description_chars" in df:
        n = df["description_chars"].fillna(0).to_numpy(dtype=np.int64)
    else:
        col = "description_text" if "description_text" in df else "description"
        n = _text(df, col).str.len().to_numpy()
    out = _reasons(n == 0, "Description absente", df.index)
    short = (n > 0) & (n < min_chars)
    texts = [f"Description très courte ({k} caractère{'s' if k > 1 else ''}, "
             f"moins de {min_chars})" for k in n]
    out[short] = np.asarray(texts, dtype=object)[short]
    return out


def check_tags(df: pd.DataFrame) -> pd.Series:
    """No tag, or only blank ones.

    Examples
    --------
    >>> check_tags(pd.DataFrame({"tags": [["sport"], [], None, [" "]]})).tolist()
    [None, 'Aucun mot-clé', 'Aucun mot-clé', 'Aucun mot-clé']
    """
    tags = df["tags"] if "tags" in df else pd.Series([[]] * len(df), index=df.index)
    empty = np.array([t is None or len([x for x in t if str(x).strip()]) == 0
                      if not isinstance(t, str) else not t.strip() for t in tags], dtype=bool)
    return _reasons(empty, "Aucun mot-clé", df.index)


def check_license(df: pd.DataFrame) -> pd.Series:
    """No licence, or one that says it is not specified (:data:`UNSPECIFIED_LICENSES`).

    Examples
    --------
    >>> check_license(pd.DataFrame({"license": ["Licence Ouverte / Open Licence version 2.0", "",
    ...                                          "notspecified"]})).tolist()
    [None, 'Licence absente', 'Licence non précisée (« notspecified »)']
    """
    lic = _text(df, "license")
    missing = lic.str.lower().isin(UNSPECIFIED_LICENSES)
    texts = np.where(lic == "", "Licence absente", "Licence non précisée (« " + lic + " »)")
    return _reasons(missing, texts, df.index)


def check_territory(df: pd.DataFrame, territory_rows: set[int] | None = None,
                    rows: pd.Series | np.ndarray | None = None) -> pd.Series:
    """No declared spatial zone, and (when territories were extracted) none found in the text.

    ``rows`` are the artifact row ids of ``df`` (default: its index), matched against
    ``territory_rows``, the rows with at least one extracted territory.

    Examples
    --------
    >>> df = pd.DataFrame({"spatial_zones": ["Lyon", "", ""]})
    >>> check_territory(df).tolist()
    [None, 'Aucune zone géographique déclarée', 'Aucune zone géographique déclarée']
    >>> check_territory(df, territory_rows={2}).tolist()  # a place found in the text of row 2
    [None, 'Aucune zone géographique déclarée ni reconnue dans le texte', None]
    """
    no_zone = _text(df, "spatial_zones") == ""
    if territory_rows is None:
        return _reasons(no_zone, "Aucune zone géographique déclarée", df.index)
    ids = np.asarray(df.index if rows is None else rows)
    found = np.isin(ids, np.fromiter(territory_rows, dtype=np.int64, count=len(territory_rows)))
    return _reasons(no_zone.to_numpy() & ~found,
                    "Aucune zone géographique déclarée ni reconnue dans le texte", df.index)


def check_temporal(df: pd.DataFrame) -> pd.Series:
    """Neither a start nor an end of temporal coverage.

    Examples
    --------
    >>> check_temporal(pd.DataFrame({"temporal_start": ["2020-01-01", None, ""],
    ...                              "temporal_end": [None, "2024-12-31", ""]})).tolist()
    [None, None, 'Aucune couverture temporelle déclarée']
    """
    none = (_text(df, "temporal_start") == "") & (_text(df, "temporal_end") == "")
    return _reasons(none, "Aucune couverture temporelle déclarée", df.index)


def check_stale(df: pd.DataFrame, as_of: pd.Timestamp | None,
                factor: float = STALE_FACTOR) -> pd.Series:
    """Periodic frequency declared, last modified more than ``factor`` periods before ``as_of``.

    Examples
    --------
    >>> df = pd.DataFrame({"frequency": ["monthly", "annual", "punctual"],
    ...                    "last_modified": ["2025-06-01", "2025-06-01", "2010-01-01"]})
    >>> check_stale(df, pd.Timestamp("2026-01-15")).tolist()
    ['Mise à jour déclarée « mensuelle » mais dernière modification le 01/06/2025, il y a ...
     (plus de 3 fois la période)', None, None]
    """
    out = pd.Series([None] * len(df), index=df.index, dtype=object)
    if as_of is None or df.empty:
        return out
    freq = _text(df, "frequency")
    period = freq.map(PERIOD_DAYS).astype(float).to_numpy()
    modified = parse_dates(_text(df, "last_modified"))
    age = ((as_of - modified).dt.total_seconds() / 86400.0).to_numpy()
    stale = ~np.isnan(period) & ~np.isnan(age) & (age > factor * np.nan_to_num(period))
    for i in np.flatnonzero(stale):
        f = freq.iloc[i]
        out.iloc[i] = (f"Mise à jour déclarée « {FREQUENCY_FR.get(f, f)} » mais dernière "
                       f"modification le {modified.iloc[i]:%d/%m/%Y}, il y a {french.duration(age[i])} "
                       f"(plus de {factor:g} fois la période)")
    return out


def assess(df: pd.DataFrame, *, as_of: pd.Timestamp | None,
           territory_rows: set[int] | None = None, rows=None,
           min_description_chars: int = MIN_DESCRIPTION_CHARS,
           stale_factor: float = STALE_FACTOR) -> pd.DataFrame:
    """Every rule on every row: one column per rule (reason or None), ``score``, ``reasons``.

    The score starts at 100 and loses each failed rule's weight (a very short description
    loses 15 instead of 25); ``reasons`` lists the French reasons in rule order.

    Examples
    --------
    >>> df = pd.DataFrame({"description_text": ["x" * 150, "Piscines."], "tags": [["sport"], []],
    ...                    "license": ["lov2", "notspecified"], "spatial_zones": ["Lyon", ""],
    ...                    "temporal_start": ["2020", ""], "frequency": ["annual", "punctual"],
    ...                    "last_modified": ["2025-06-01", "2025-06-01"]})
    >>> assessed = assess(df, as_of=pd.Timestamp("2026-01-15"))
    >>> assessed[["score", "n_issues"]].values.tolist()  # 100 − 15 − 10 − 20 − 10 − 10 = 35
    [[100, 0], [35, 5]]
    >>> assessed.loc[1, "reasons"][:2]
    ['Description très courte (9 caractères, moins de 100)', 'Aucun mot-clé']
    """
    checks = {
        "description": check_description(df, min_description_chars),
        "tags": check_tags(df),
        "license": check_license(df),
        "territory": check_territory(df, territory_rows, rows),
        "temporal": check_temporal(df),
        "stale": check_stale(df, as_of, stale_factor),
    }
    out = pd.DataFrame(checks, index=df.index)
    score = np.full(len(df), 100, dtype=np.int64)
    for rule in RULES:
        failed = out[rule.key].notna().to_numpy()
        weight = np.full(len(df), rule.weight)
        if rule.key == "description":
            weight = np.where(out[rule.key].fillna("").str.startswith("Description très courte"),
                              SHORT_DESCRIPTION_WEIGHT, rule.weight)
        score -= np.where(failed, weight, 0)
    out["score"] = score
    keys = [r.key for r in RULES]
    out["reasons"] = [[r for r in vals if isinstance(r, str)] for vals in
                      out[keys].itertuples(index=False, name=None)]
    out["n_issues"] = out["reasons"].map(len)
    return out


def priorities(df: pd.DataFrame, assessed: pd.DataFrame, limit: int | None = 50) -> pd.DataFrame:
    """Rows with at least one issue, worst score first, then the most viewed first.

    Examples
    --------
    >>> df = pd.DataFrame({"license": ["", "", "lov2"], "views": [5, 500, 9]})
    >>> assessed = assess(df, as_of=None)
    >>> priorities(df, assessed)[["score", "views"]].values.tolist()  # rows 0, 1: no licence either
    [[25, 500], [25, 5], [45, 9]]
    """
    views = df["views"] if "views" in df else pd.Series(0, index=df.index)
    t = assessed.assign(views=views.reindex(assessed.index).fillna(0).astype(np.int64))
    t = t[t["n_issues"] > 0].sort_values(["score", "views"], ascending=[True, False], kind="stable")
    return t if limit is None else t.head(limit)


def failure_shares(assessed: pd.DataFrame) -> dict[str, float]:
    """Share of rows failing each rule (0..1), keyed by rule key.

    Examples
    --------
    >>> df = pd.DataFrame({"license": ["lov2", ""], "tags": [["sport"], ["eau"]]})
    >>> shares = failure_shares(assess(df, as_of=None))
    >>> shares["license"], shares["tags"], shares["stale"]
    (0.5, 0.0, 0.0)
    """
    n = len(assessed)
    return {r.key: (float(assessed[r.key].notna().sum()) / n if n else 0.0) for r in RULES}

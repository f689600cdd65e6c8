"""Freshness of a dataset: its declared update frequency against the time since its last
modification, judged at the *export date* (never the wall clock). Pure functions over rows of the
catalogue (a DataFrame with ``frequency``, ``created_at``, ``last_modified``, ``title`` and, when
given, the plain-text ``description``).

Statuses (:data:`STATUSES`)
---------------------------
``sans_frequence`` — « ponctuelle / sans fréquence »
    The frequency promises no update: ``punctual``, ``irregular``, ``unknown``, ``notPlanned``,
    ``other``, ``never``, empty, or a code we do not know. Also a periodic dataset whose title or
    description says it is no longer kept (« [Archivé] », « obsolète », « ne sera plus mis à
    jour », « hors d'usage », « n'est plus maintenu »…, :data:`ABANDONED`): the producer has
    withdrawn the promise in words, only the field was left behind.
``a_jour`` — « à jour »
    Periodic, and the age (export date − ``last_modified``) is within the grace
    ``limit = max(period × factor, period + slack)``.
``en_retard`` — « en retard »
    Periodic, older than the grace; *by how much* is ``age − period``: how long ago the next
    update was due (what a reader means by « en retard de 2 ans »).
``jamais_mis_a_jour`` — « jamais mis à jour depuis la création »
    Late, and ``last_modified`` is within ``min(30 days, period / 4)`` of ``created_at``: the touch
    right after publication (a fixed typo, a resource added the same week) is the publication
    itself; a daily dataset modified the next day *was* updated once (a quarter of a day).

Grace factors (:func:`grace_days`), by period
---------------------------------------------
- **≤ 1 day** (continuous, hourly, daily …): ``period + 6 days`` — a week. ``last_modified``
  moves only when a resource or the metadata changes on data.gouv.fr; harvested catalogues and
  many producers' pipelines run weekly, so a few quiet days is noise, a full week is a stall.
- **≤ 15 days** (weekly, biweekly …): ``× 2``, at least the week a daily dataset gets — one
  missed cycle is tolerated (the floor keeps the grace growing with the period).
- **≤ 61 days** (monthly, bimonthly …): ``× 2`` — monthly statistics of month M usually appear
  at the end of M + 1: a snapshot can fall two months after the last edition.
- **≤ 1 year** (quarterly, semiannual, annual …): ``× 1.5`` — half a cycle of publication lag
  (annual figures for year N appear during N + 1, often months after the anniversary).
- **> 1 year** (biennial, quinquennial …): ``× 1.25`` — the cycle is already long; a quarter
  of it is months to years.

Checked against 166 datasets of the sample labelled by hand (``tests/data/freshness-labels.csv``;
agreement in ``docs/fair-freshness-coverage.md``).
"""

from __future__ import annotations

import re
import unicodedata

import numpy as np
import pandas as pd

from models.core.quality import FREQUENCY_FR, PERIOD_DAYS

STATUSES = ("a_jour", "en_retard", "jamais_mis_a_jour", "sans_frequence")
STATUS_LABELS = {"a_jour": "à jour", "en_retard": "en retard",
                 "jamais_mis_a_jour": "jamais mis à jour depuis la création",
                 "sans_frequence": "ponctuelle / sans fréquence"}
# frequency codes seen in exports that the quality module does not list
EXTRA_PERIOD_DAYS = {"oneMinute": 1, "thirtyMinutes": 1, "twelveHours": 1, "decennial": 3652}
PERIODS: dict[str, float] = {**PERIOD_DAYS, **EXTRA_PERIOD_DAYS}
FREQUENCY_LABELS: dict[str, str] = {**FREQUENCY_FR, "oneMinute": "toutes les minutes",
                                    "thirtyMinutes": "toutes les 30 minutes",
                                    "twelveHours": "toutes les 12 heures", "decennial": "tous les dix ans"}
NEVER_MAX_DAYS = 30.0  # a modification within min(this, period / 4) of creation is the publication
NEVER_PERIOD_SHARE = 0.25
DESCRIPTION_HEAD = 600  # characters of the description searched for an abandonment notice

_TITLE_ABANDONED = re.compile(r"[\[(]\s*archiv|^\W*archivee?s?\s*[:\-–]|\bobsolete\b|\bne plus utiliser\b")
ABANDONED = re.compile(
    r"\bobsolete\b|hors d.usage|ne (?:sera|seront) plus (?:mis|mise|alimente|actualise)"
    r"|n.(?:est|sont) plus (?:mis|mise|alimente|actualise|maintenu|tenu a jour)"
    r"|ne (?:fait|font) plus l.objet d.(?:une |de )?mise|plus maintenu|jeu de donnees (?:est )?archive")


def _fold(s: str) -> str:
    s = unicodedata.normalize("NFKD", s.lower()).encode("ascii", "ignore").decode()
    return s


def grace_days(period: float) -> float:
    """How old a dataset of this period may be before it is late (see the module docstring).

    Examples
    --------
    >>> [grace_days(period) for period in (1, 7, 30, 365, 730)]  # daily … biennial
    [7.0, 14.0, 60.0, 547.5, 912.5]
    """
    if period <= 1:
        return period + 6.0
    if period <= 15:
        return max(period * 2.0, 7.0)
    if period <= 61:
        return period * 2.0
    if period <= 366:
        return period * 1.5
    return period * 1.25


def abandoned(titles: pd.Series, descriptions: pd.Series | None = None) -> np.ndarray:
    """Rows whose title or description head says they are no longer kept up to date.

    Examples
    --------
    >>> abandoned(pd.Series(["[Archivé] Budget 2015", "Budget 2024", "Budget 2025"]),
    ...           pd.Series(["", "Ce jeu ne sera plus mis à jour.", "Mis à jour chaque année."])).tolist()
    [True, True, False]
    """
    t = titles.fillna("").astype(str).map(_fold)
    out = t.str.contains(_TITLE_ABANDONED).to_numpy(dtype=bool, copy=True)
    if descriptions is not None:
        d = descriptions.fillna("").astype(str).str.slice(0, DESCRIPTION_HEAD).map(_fold)
        out |= d.str.contains(ABANDONED).to_numpy(dtype=bool)
    return out


def _dates(values: pd.Series) -> pd.Series:
    s = pd.to_datetime(values.fillna("").astype(str).str.slice(0, 19), errors="coerce",
                       format="ISO8601")
    return s


def duration_fr(days: float) -> str:
    """A duration in French words, rounded as a reader would say it (« 3 jours », « 5 semaines »,
    « 8 mois », « 2 ans »).

    Examples
    --------
    >>> [duration_fr(days) for days in (0.3, 3, 20, 250, 800)]
    ['1 jour', '3 jours', '3 semaines', '8 mois', '2 ans']
    """
    days = max(0.0, float(days))
    if days < 14:
        n = max(1, round(days))
        return f"{n} jour{'s' if n > 1 else ''}"
    if days < 60:
        return f"{round(days / 7)} semaines"
    months = round(days / 30.44)
    if months < 24:
        return f"{months} mois"
    years = round(days / 365.25)
    return f"{years} ans"


def assess(df: pd.DataFrame, as_of, *, descriptions: pd.Series | None = None) -> pd.DataFrame:
    """Freshness of every row of ``df`` at ``as_of`` (the export date, a timestamp or a date).

    Returns a frame on ``df``'s index: ``status`` (:data:`STATUSES`), ``period_days`` (NaN when
    no period), ``age_days`` and ``overdue_days`` (NaN when not late), ``reason`` (French, one
    sentence) and ``badge`` (what a result card says; "" unless late or never updated).
    ``descriptions`` (plain text, same index) feeds the abandonment notice; default: the frame's
    ``description_text`` or ``description`` column when present.

    Examples
    --------
    >>> df = pd.DataFrame({"title": ["Trafic", "Budget", "Arrêtés", "Stations"],
    ...                    "frequency": ["daily", "annual", "punctual", "monthly"],
    ...                    "created_at": ["2020-01-01", "2019-05-01", "2018-01-01", "2023-01-01"],
    ...                    "last_modified": ["2026-01-10", "2023-06-01", "2018-01-01", "2023-01-03"]})
    >>> fresh = assess(df, "2026-01-16")
    >>> fresh["status"].tolist()
    ['a_jour', 'en_retard', 'sans_frequence', 'jamais_mis_a_jour']
    >>> float(fresh.loc[1, "overdue_days"]), fresh.loc[1, "badge"]  # days since the update was due
    (595.0, 'En retard de 20 mois (mise à jour annuelle annoncée)')
    """
    n = len(df)
    as_of = pd.Timestamp(as_of)
    if as_of.tzinfo is not None:
        as_of = as_of.tz_convert(None)
    idx = df.index

    def col(name):
        return df[name] if name in df else pd.Series([""] * n, index=idx, dtype=object)

    freq = col("frequency").fillna("").astype(str).str.strip()
    period = freq.map(PERIODS).astype(float).to_numpy()
    modified = _dates(col("last_modified"))
    created = _dates(col("created_at"))
    age = ((as_of - modified).dt.total_seconds() / 86400.0).to_numpy()
    since_creation = np.abs((modified - created).dt.total_seconds().to_numpy() / 86400.0)
    if descriptions is None:
        for c in ("description_text", "description"):
            if c in df:
                descriptions = df[c]
                break
    gone = np.zeros(n, dtype=bool)
    has_period = np.flatnonzero(~np.isnan(period))  # the notice matters only for a promise
    if len(has_period):
        gone[has_period] = abandoned(col("title").iloc[has_period],
                                     None if descriptions is None else descriptions.iloc[has_period])
    periodic = ~np.isnan(period) & ~gone
    limit = np.array([grace_days(p) if not np.isnan(p) else np.nan for p in period])
    late = periodic & ~np.isnan(age) & (age > limit)
    never_tol = np.minimum(NEVER_MAX_DAYS, np.nan_to_num(period) * NEVER_PERIOD_SHARE)
    never = late & ~np.isnan(since_creation) & (since_creation <= never_tol)
    status = np.where(~periodic | np.isnan(age), "sans_frequence",
                      np.where(never, "jamais_mis_a_jour", np.where(late, "en_retard", "a_jour")))
    overdue = np.where(late, age - np.nan_to_num(period), np.nan)
    reasons, badges = [], []
    fv, mv, cv = freq.to_numpy(), modified.to_numpy(), created.to_numpy()
    for i in range(n):
        f = fv[i]
        flab = FREQUENCY_LABELS.get(f, f)
        st = status[i]
        if st == "sans_frequence":
            if gone[i] and not np.isnan(period[i]):
                r = f"Fréquence «\u202f{flab}\u202f» annoncée, mais le jeu se dit archivé ou plus mis à jour"
            elif not np.isnan(period[i]):
                r = "Date de dernière modification illisible"
            elif f:
                r = f"Fréquence «\u202f{flab}\u202f»\u202f: aucune mise à jour promise"
            else:
                r = "Aucune fréquence de mise à jour déclarée"
            reasons.append(r)
            badges.append("")
            continue
        when = pd.Timestamp(mv[i]).strftime("%d/%m/%Y")
        if st == "a_jour":
            reasons.append(f"Mise à jour «\u202f{flab}\u202f» annoncée, dernière modification le {when} "
                           f"(il y a {duration_fr(age[i])})")
            badges.append("")
        elif st == "en_retard":
            reasons.append(f"Mise à jour «\u202f{flab}\u202f» annoncée, dernière modification le "
                           f"{when}\u202f: en retard de {duration_fr(overdue[i])}")
            badges.append(f"En retard de {duration_fr(overdue[i])} (mise à jour {flab} annoncée)")
        else:
            year = pd.Timestamp(cv[i]).year if not pd.isna(cv[i]) else pd.Timestamp(mv[i]).year
            reasons.append(f"Mise à jour «\u202f{flab}\u202f» annoncée, jamais modifiée depuis sa "
                           f"publication le {when}\u202f: en retard de {duration_fr(overdue[i])}")
            badges.append(f"Jamais mis à jour depuis sa création en {year} "
                          f"(mise à jour {flab} annoncée)")
    return pd.DataFrame({"status": status, "period_days": period, "age_days": age,
                         "overdue_days": overdue, "reason": reasons, "badge": badges}, index=idx)


def counts(status: pd.Series | np.ndarray) -> dict[str, int]:
    """``{status: count}`` over :data:`STATUSES` (every status present, zero when none).

    Examples
    --------
    >>> counts(["a_jour", "en_retard", "a_jour"])
    {'a_jour': 2, 'en_retard': 1, 'jamais_mis_a_jour': 0, 'sans_frequence': 0}
    """
    s = pd.Series(np.asarray(status, dtype=object))
    vc = s.value_counts()
    return {k: int(vc.get(k, 0)) for k in STATUSES}


def late_share(status: pd.Series | np.ndarray) -> float | None:
    """Share of late datasets (late or never updated) among those that promise a frequency;
    None when none does.

    Examples
    --------
    >>> late_share(["a_jour", "en_retard", "jamais_mis_a_jour", "sans_frequence"])
    0.6666666666666666
    >>> late_share(["sans_frequence"]) is None
    True
    """
    c = counts(status)
    periodic = c["a_jour"] + c["en_retard"] + c["jamais_mis_a_jour"]
    if not periodic:
        return None
    return (c["en_retard"] + c["jamais_mis_a_jour"]) / periodic

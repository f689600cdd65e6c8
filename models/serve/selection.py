"""What a lasso or box selection on the map holds, as plain data (the selection panel and its
CSV export). Vectorised: 5,000 selected datasets take a few milliseconds."""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.core.csv_safe import safe_cell, safe_csv
from models.serve.map_time import last_plausible_year, plausible, row_years

EXPORT_COLUMNS = ["id", "title", "producer", "url", "created_at", "last_modified"]
TOP = 8


def clean_rows(rows, n: int) -> np.ndarray:
    """Distinct valid row ids, in first-seen order.

    Examples
    --------
    >>> clean_rows([3, 1, 3, 2.0, 2.5, True, -1, 9, "x"], n=5).tolist()
    [3, 1, 2]
    """
    out = []
    for r in rows or []:
        if isinstance(r, bool) or not isinstance(r, int | float | np.integer) or r != int(r):
            continue
        if 0 <= int(r) < n:
            out.append(int(r))
    return np.asarray(list(dict.fromkeys(out)), dtype=np.int64)


def summarize(explorer, rows) -> dict:
    """{"n", "topics": [{"topic", "label", "share", "catalogue"}], "producers": [{"name", "n"}],
    "years": {"year": [...], "n": [...], "left_out": int}, "territories": [{"name", "level",
    "n"}]} for the rows selected (topics: the default LDA model's dominant topics, selection
    share against the whole catalogue's).

    Examples
    --------
    A stand-in explorer without topics nor territories:

    >>> from types import SimpleNamespace
    >>> ds = pd.DataFrame({"organization": ["Lyon", "Lyon", None], "created_year": [2019, 2021, 3],
    ...                    "last_modified": ["2025-01-01", "2024-01-01", None]})
    >>> off = SimpleNamespace(available=False)
    >>> explorer = SimpleNamespace(datasets=ds, topics=SimpleNamespace(default=off), territories=off)
    >>> s = summarize(explorer, [0, 1, 2, 2, 7])  # a row twice, one out of range
    >>> s["n"], s["producers"]
    (3, [{'name': 'Lyon', 'n': 2}, {'name': '(sans organisation)', 'n': 1}])
    >>> s["years"]  # created years; year 3 is not plausible
    {'year': [2019, 2021], 'n': [1, 1], 'left_out': 1}
    """
    ds = explorer.datasets
    rows = clean_rows(rows, len(ds))
    out: dict = {"n": len(rows), "topics": [], "producers": [], "territories": [],
                 "years": {"year": [], "n": [], "left_out": 0}}
    if not len(rows):
        return out
    topics = explorer.topics.default
    if topics.available:
        dom = np.asarray(topics.dominant)
        k = len(topics.table)
        valid = dom >= 0
        catalogue = np.bincount(dom[valid], minlength=k) / max(int(valid.sum()), 1)
        sel = dom[rows]
        mine = np.bincount(sel[sel >= 0], minlength=k) / max(len(rows), 1)
        for t in np.argsort(-mine, kind="stable")[:TOP]:
            if mine[t] <= 0:
                break
            out["topics"].append({"topic": int(t), "label": topics.label(int(t)) or "",
                                  "share": float(mine[t]), "catalogue": float(catalogue[t])})
    orgs = ds["organization"].iloc[rows].fillna("").astype(str).replace("", "(sans organisation)")
    out["producers"] = [{"name": name, "n": int(n)} for name, n in orgs.value_counts().head(TOP).items()]
    last = last_plausible_year(ds)
    years = row_years(ds.iloc[rows], "created")
    ok = plausible(years, last)
    u, c = np.unique(years[ok], return_counts=True)
    out["years"] = {"year": u.tolist(), "n": c.tolist(), "left_out": int((~ok).sum())}
    terr = explorer.territories
    if terr.available and len(terr.table):
        t = terr.table[terr.table["row"].isin(rows)]
        if len(t):
            g = t.groupby(["level", "name"])["row"].nunique()
            g = g.sort_values(ascending=False, kind="stable").head(TOP)
            out["territories"] = [{"level": str(lv), "name": str(nm), "n": int(n)}
                                  for (lv, nm), n in g.items()]
    return out


def export_frame(datasets: pd.DataFrame, rows) -> pd.DataFrame:
    """id, title, producer, url, created_at, last_modified of the rows selected, in that order
    (text cells made safe for spreadsheets: :func:`models.core.csv_safe.safe_cell`).

    Examples
    --------
    >>> ds = pd.DataFrame({"id": ["a", "b"], "title": ["=SUM(A1)", "Eau"], "organization": ["Ville", None],
    ...                    "url": ["u", "v"], "created_at": ["2020", "2021"]})
    >>> export_frame(ds, [1, 0]).values.tolist()  # no last_modified column: empty cells
    [['b', 'Eau', '', 'v', '2021', ''], ['a', "'=SUM(A1)", 'Ville', 'u', '2020', '']]
    """
    rows = clean_rows(rows, len(datasets))
    d = datasets.iloc[rows]

    def col(name):
        values = d[name].fillna("").astype(str) if name in d else pd.Series([""] * len(d))
        return [safe_cell(v) for v in values]
    return pd.DataFrame({"id": col("id"), "title": col("title"), "producer": col("organization"),
                         "url": col("url"), "created_at": col("created_at"),
                         "last_modified": col("last_modified")}, columns=EXPORT_COLUMNS)


def export_csv(datasets: pd.DataFrame, rows) -> str:
    """The selection's CSV: :func:`export_frame`, every cell quoted
    (:func:`models.core.csv_safe.safe_csv`).

    Examples
    --------
    >>> ds = pd.DataFrame({"id": ["a"], "title": ["Eau"], "organization": ["Ville"]})
    >>> print(export_csv(ds, [0]))
    "id","title","producer","url","created_at","last_modified"
    "a","Eau","Ville","","",""
    <BLANKLINE>
    """
    frame = export_frame(datasets, rows)
    return safe_csv(list(frame.columns), frame.itertuples(index=False, name=None))

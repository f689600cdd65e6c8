"""The territories of a build, as plain data for the "Territoires" page and the command line.

``Explorer.territories`` is one :class:`TerritoryService` over the files of the ``territories``
step: ``territories.parquet`` (row, level, code, name, confidence, source),
``territory_entities.parquet`` (every COG territory with its parents) and the outlines
``geo_departements.json`` / ``geo_regions.json``. No Dash here.

Counting rules (the choropleths): a dataset counts for a département when one of its territories
(at ``min_confidence`` or more) lies in it or is it — a commune of the département, an EPCI with
member communes there, the département itself; for a région likewise, the région included. Larger
territories (a région for a département map, France) are not spread over their parts.
"""

from __future__ import annotations

import logging
import threading
from functools import cached_property

import numpy as np
import pandas as pd

from models.core import serving
from models.core.config import DEFAULT_GEO, _env
from models.core.geo import (
    EVAL_CONFIDENCE,
    LEVEL_LABELS,
    LEVEL_RANK,
    Gazetteer,
    Lexicon,
    norm_name,
    use_lexicon,
)
from models.core.territory_entities import gazetteer_from_entities, gazetteer_from_tables

log = logging.getLogger(__name__)

OUTLINE_FILES = {"departement": "geo_departements.json", "region": "geo_regions.json"}


def load_gazetteer(artifacts):
    """The build's COG gazetteer (:class:`models.core.geo.Gazetteer`, its token trie over every
    territory name): rebuilt from the build's ``territory_entities.parquet`` (~60 MB; the COG
    folder's JSON would cost ~90 MB more resident memory for the names of former communes and
    postcodes, which queries rarely use), else loaded from the folder the build used (manifest
    ``parameters.territories.geo_dir``, then ``EXPLORER_GEO``); None without either. Installs the
    build's French lexicon (``territory_lexicon.npy``) when it has one.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> from models.core.territory_entities import ENTITY_COLUMNS
    >>> ents = pd.DataFrame([("commune", "31555", "Toulouse", 500000, ["31"], "76", "", "")],
    ...                     columns=ENTITY_COLUMNS)
    >>> arts = SimpleNamespace(has=lambda name: name == "territory_entities.parquet",
    ...                        parquet=lambda name: ents)
    >>> [(e.level, e.code) for e in load_gazetteer(arts).lookup("toulouse")]
    [('commune', '31555')]
    """
    if artifacts.has("territory_lexicon.npy"):  # the build's copy: no 0.8 s recomputation
        use_lexicon(Lexicon(artifacts.npy("territory_lexicon.npy", mmap=False)))
    if artifacts.has("territory_entities.parquet"):
        kept = [serving.read(artifacts, k) for k in ("gazetteer_entities", "gazetteer_aliases")]
        if all(t is not None and len(t) for t in kept):  # the build's serving step: ~3× faster
            return gazetteer_from_tables(*kept)
        ents = artifacts.parquet("territory_entities.parquet")
        if len(ents):
            return gazetteer_from_entities(ents)
    geo = artifacts.manifest.get("parameters", {}).get("territories", {}).get("geo_dir")
    for folder in [f for f in (geo, _env("GEO", str(DEFAULT_GEO))) if f]:
        try:
            return Gazetteer.load(folder)
        except (FileNotFoundError, OSError, ValueError) as exc:
            log.info("gazetteer not loaded from %s (%s)", folder, exc)
    log.warning("no gazetteer for %s: places in queries are not recognised", artifacts.dir)
    return None


def rows_by_key(keys: list[str], rows: np.ndarray) -> dict[str, np.ndarray]:
    """The distinct rows of each key, sorted, keys in sorted order (what ``groupby`` gives, in
    one sort of the pairs instead of a Python loop over ~9,000 groups).

    Examples
    --------
    >>> {k: v.tolist() for k, v in rows_by_key(["b", "a", "b", "b"], np.array([5, 1, 2, 5])).items()}
    {'a': [1], 'b': [2, 5]}
    >>> {k: v.tolist() for k, v in rows_by_key(["b", "a", "b"], np.array([-1, 1, 2])).items()}
    {'a': [1], 'b': [-1, 2]}
    """
    if not len(keys):
        return {}
    codes, uniq = pd.factorize(pd.Series(keys, dtype=object), sort=True)
    rows = np.asarray(rows, dtype=np.int64)
    low = int(rows.min())
    span = int(rows.max()) - low + 1
    # one int64 per (key, row) pair: a 1-D sort (~10x faster than a 2-D unique on 171,000 pairs)
    flat = np.unique(codes.astype(np.int64) * span + (rows - low))
    key_of, row_of = flat // span, flat % span + low
    cuts = np.flatnonzero(np.diff(key_of)) + 1
    return {str(uniq[k[0]]): r for k, r in zip(np.split(key_of, cuts), np.split(row_of, cuts), strict=True)}


def entity_value(level: str, code: str) -> str:
    """The value naming a territory in filters and URLs: ``level:code``.

    Examples
    --------
    >>> entity_value("departement", "31")
    'departement:31'
    """
    return f"{level}:{code}"


def parse_value(value: str | None) -> tuple[str, str] | None:
    """``(level, code)`` of a ``level:code`` value; None when it is not one (unknown level, no
    code, not a string).

    Examples
    --------
    >>> parse_value("commune:31555"), parse_value("canton:12"), parse_value("31555"), parse_value(None)
    (('commune', '31555'), None, None, None)
    """
    if not isinstance(value, str) or ":" not in value:
        return None
    level, code = value.split(":", 1)
    return (level, code) if level in LEVEL_RANK and code else None


class TerritoryService:
    """Read-only answers about territories; built once per process (thread-safe reads).

    Examples
    --------
    A stand-in build of two datasets placed by the ``territories`` step:

    >>> from types import SimpleNamespace
    >>> frames = {
    ...     "territories.parquet": pd.DataFrame(
    ...         {"row": [0, 1, 1], "level": ["commune", "departement", "commune"],
    ...          "code": ["31555", "31", "31555"], "name": ["Toulouse", "Haute-Garonne", "Toulouse"],
    ...          "confidence": [0.9, 0.8, 0.2], "source": ["title", "title", "description"]}),
    ...     "territory_entities.parquet": pd.DataFrame(
    ...         {"level": ["commune", "departement", "region"], "code": ["31555", "31", "76"],
    ...          "name": ["Toulouse", "Haute-Garonne", "Occitanie"], "population": [504078, 1400000, 6000000],
    ...          "departements": [["31"], ["31"], ["09", "31"]], "region": ["76", "76", "76"],
    ...          "epci": [None] * 3, "parent": [None] * 3})}
    >>> arts = SimpleNamespace(datasets=pd.DataFrame({"id": ["a", "b"], "views": [10, 5]}), manifest={},
    ...                        has=frames.__contains__, parquet=lambda name, columns=None: frames[name])
    >>> svc = TerritoryService(arts)  # min_confidence 0.5: the third pair is left out
    >>> svc.available, svc.direct_counts
    (True, {'commune:31555': 1, 'departement:31': 1})
    >>> svc.label("commune:31555"), svc.enclosing("commune:31555"), svc.contained("departement:31")
    ('Toulouse (commune, 31)', ['departement:31', 'region:76'], ['commune:31555'])
    >>> svc.rows("departement:31", contained=True).tolist()
    [0, 1]
    """

    def __init__(self, artifacts, *, min_confidence: float = EVAL_CONFIDENCE) -> None:
        self.artifacts = artifacts
        self._ds = artifacts.datasets
        self.min_confidence = float(min_confidence)
        arts = artifacts
        self._lock = threading.Lock()
        self._outlines: dict[str, dict | None] = {}
        if arts.has("territories.parquet"):
            t = arts.parquet("territories.parquet")
        else:
            t = pd.DataFrame(columns=["row", "level", "code", "name", "confidence", "source"])
        t = t[t["confidence"] >= self.min_confidence].copy()
        t["row"] = t["row"].astype(np.int64)
        t["level"] = t["level"].astype(str)
        t["code"] = t["code"].astype(str)
        self.table = t.reset_index(drop=True)
        if arts.has("territory_entities.parquet"):
            ents = arts.parquet("territory_entities.parquet")
        else:
            ents = pd.DataFrame(columns=["level", "code", "name", "population", "departements",
                                         "region", "epci", "parent"])
        ents = ents.copy()
        ents["key"] = [entity_value(lv, c) for lv, c in zip(ents["level"].tolist(), ents["code"].tolist(),
                                                             strict=True)]
        ents["departements"] = [list(d) if d is not None else [] for d in ents["departements"].tolist()]
        self.entities = ents.set_index("key", drop=False)
        # .tolist(): iterating an Arrow-backed column costs ~1 µs an element (171,000 pairs)
        key = [entity_value(lv, c) for lv, c in zip(self.table["level"].tolist(), self.table["code"].tolist(),
                                                     strict=True)]
        self.table["key"] = key
        self._rows_of = rows_by_key(key, self.table["row"].to_numpy())
        self.direct_counts = {k: len(v) for k, v in self._rows_of.items()}
        self._counts: dict[str, pd.DataFrame] = {}
        ents_n = np.array([self.direct_counts.get(k, 0) for k in self.entities.index])
        self.entities["n_direct"] = ents_n

    # ---- state ---------------------------------------------------------------------------
    @cached_property
    def _folded(self) -> pd.Series:
        """Every territory's name as the autocomplete matches it (:func:`norm_name`), computed on
        the first typed search (~0.2 s for 36,000 names), not at start."""
        return pd.Series([norm_name(n) for n in self.entities["name"].tolist()], index=self.entities.index,
                         dtype=object)

    @cached_property
    def gazetteer(self):
        """The build's COG gazetteer (:func:`load_gazetteer`; None without one), loaded on first
        use: the places of the queries, the declared zones of the filters, the names the
        spelling keeps."""
        return load_gazetteer(self.artifacts)

    @property
    def available(self) -> bool:
        """False when the build has no territories (no gazetteer at build time, or an old build)."""
        return len(self.entities) > 0 and self.artifacts.has("territories.parquet")

    @property
    def n_datasets(self) -> int:
        return int(self.table["row"].nunique())

    def evaluation(self) -> dict | None:
        arts = self.artifacts
        return arts.json("territories_eval.json") if arts.has("territories_eval.json") else None

    # ---- entities ------------------------------------------------------------------------
    def entity(self, value: str | None) -> dict | None:
        key = parse_value(value)
        if key is None or entity_value(*key) not in self.entities.index:
            return None
        r = self.entities.loc[entity_value(*key)]
        return {"value": r["key"], "level": r["level"], "code": r["code"], "name": r["name"],
                "population": int(r["population"] or 0), "departements": list(r["departements"]),
                "region": r["region"], "epci": r["epci"], "parent": r["parent"],
                "n_direct": int(r["n_direct"])}

    def label(self, value: str) -> str:
        e = self.entity(value)
        if e is None:
            return str(value)
        where = ""
        if e["level"] in ("commune", "epci") and e["departements"]:
            where = f", {'/'.join(e['departements'][:2])}"
        elif e["level"] == "departement":
            where = f", {e['code']}"
        return f"{e['name']} ({LEVEL_LABELS[e['level']].lower()}{where})"

    def options(self, text: str | None, *, limit: int = 20, keep: str | None = None) -> list[dict]:
        """Autocomplete: territories whose name starts with (then contains) ``text``, larger
        and better documented first. ``keep``: a value always included (the current choice)."""
        out: list[dict] = []
        q = norm_name(text if isinstance(text, str) else "")
        ents = self.entities
        if q and len(ents):
            folded = self._folded
            exact = folded == q
            starts = folded.str.startswith(q) & ~exact
            words = folded.str.contains(" " + q, regex=False) & ~exact & ~starts
            rank = np.select([exact, starts, words], [0, 1, 2], default=3)
            cand = ents.assign(_rank=rank)
            cand = cand[cand["_rank"] < 3]
            cand = cand.assign(_lv=cand["level"].map(LEVEL_RANK))
            cand = cand.sort_values(["_rank", "n_direct", "population", "_lv"],
                                    ascending=[True, False, False, False], kind="stable").head(limit)
            out = [{"label": self._option_label(r), "value": r.key} for r in cand.itertuples()]
        elif len(ents):  # nothing typed: the most documented territories
            top = ents.sort_values(["n_direct", "population"], ascending=False, kind="stable").head(limit)
            out = [{"label": self._option_label(r), "value": r.key} for r in top.itertuples()]
        if keep and keep in ents.index and all(o["value"] != keep for o in out):
            out.insert(0, {"label": self._option_label(ents.loc[keep]), "value": keep})
        return out

    def _option_label(self, r) -> str:
        n = int(r.n_direct if hasattr(r, "n_direct") else r["n_direct"])
        count = "aucun jeu" if n == 0 else f"{n} jeu{'x' if n > 1 else ''}"
        return f"{self.label(r.key if hasattr(r, 'key') else r['key'])} · {count}"

    @property
    def country(self) -> str | None:
        """The value of France (``pays:FR``) when the gazetteer has it."""
        value = entity_value("pays", "FR")
        return value if value in self.entities.index else None

    def most_named(self, limit: int = 12) -> list[dict]:
        """The territories (France aside) that the most datasets name, most first:
        ``{"value", "label", "n"}`` (``label`` as in :meth:`label`)."""
        ents = self.entities
        if not len(ents):
            return []
        top = ents[(ents["level"] != "pays") & (ents["n_direct"] > 0)]
        top = top.sort_values(["n_direct", "population"], ascending=False, kind="stable").head(limit)
        return [{"value": k, "label": self.label(k), "n": int(n)}
                for k, n in zip(top.index, top["n_direct"], strict=True)]

    def enclosing(self, value: str) -> list[str]:
        """Values of the larger territories around ``value`` (EPCI, département, région; not France)."""
        e = self.entity(value)
        if e is None:
            return []
        out = []
        if e["level"] == "commune":
            if e["parent"]:
                out.append(entity_value("commune", e["parent"]))
            if e["epci"]:
                out.append(entity_value("epci", e["epci"]))
        if e["level"] in ("commune", "epci"):
            out += [entity_value("departement", d) for d in e["departements"]]
        if e["level"] in ("commune", "epci", "departement") and e["region"]:
            out.append(entity_value("region", e["region"]))
        return [v for v in out if v in self.entities.index and v != value]

    def contained(self, value: str) -> list[str]:
        """Values of the territories inside ``value`` (communes and EPCI of a département ...)."""
        e = self.entity(value)
        if e is None or e["level"] == "commune":
            return []
        ents = self.entities
        if e["level"] == "pays":
            mask = ents["level"] != "pays"
        elif e["level"] == "region":
            mask = (ents["region"] == e["code"]) & (ents["level"] != "region")
        elif e["level"] == "departement":
            mask = ents["level"].isin(["commune", "epci"]) & ents["departements"].map(
                lambda d: e["code"] in d)
        else:  # epci
            mask = (ents["level"] == "commune") & (ents["epci"] == e["code"])
        return [k for k in ents.index[mask] if k != value]

    # ---- datasets ------------------------------------------------------------------------
    def rows(self, value: str, *, enclosing: bool = False, contained: bool = False) -> np.ndarray:
        keys = [value]
        if enclosing:
            keys += self.enclosing(value)
        if contained:
            keys += self.contained(value)
        parts = [self._rows_of[k] for k in keys if k in self._rows_of]
        return np.unique(np.concatenate(parts)) if parts else np.empty(0, dtype=np.int64)

    def datasets(self, value: str, *, enclosing: bool = False, contained: bool = False,
                 limit: int | None = None) -> pd.DataFrame:
        """Datasets concerning ``value`` (and, on request, its larger / smaller territories):
        row, title, organization, url, views, via (the territory named), level, confidence,
        source; the territory itself first, then by confidence and views."""
        keys = [value]
        if enclosing:
            keys += self.enclosing(value)
        if contained:
            keys += self.contained(value)
        t = self.table[self.table["key"].isin(set(keys))]
        cols = ["row", "title", "organization", "url", "views", "via", "level", "confidence", "source",
                "own"]
        if t.empty:
            return pd.DataFrame(columns=cols)
        t = t.assign(own=(t["key"] == value))
        t = t.sort_values(["own", "confidence"], ascending=[False, False], kind="stable")
        t = t.drop_duplicates("row", keep="first")
        ds = self._ds
        rows = t["row"].to_numpy()
        out = pd.DataFrame({
            "row": rows,
            "title": ds["title"].to_numpy()[rows],
            "organization": ds["organization"].to_numpy()[rows],
            "url": ds["url"].to_numpy()[rows],
            "views": ds["views"].to_numpy()[rows] if "views" in ds else np.zeros(len(rows), int),
            "via": t["name"].to_numpy(), "level": t["level"].to_numpy(),
            "confidence": t["confidence"].to_numpy(), "source": t["source"].to_numpy(),
            "own": t["own"].to_numpy(),
        })
        out = out.sort_values(["own", "confidence", "views"], ascending=[False, False, False],
                              kind="stable").reset_index(drop=True)
        return out.head(limit) if limit else out

    # ---- maps ----------------------------------------------------------------------------
    def counts(self, level: str) -> pd.DataFrame:
        """``code, name, n, n_direct`` per département (``level="departement"``) or région:
        datasets concerning the territory or a part of it (module docstring), and those naming
        it directly. Every territory of the level is listed, overseas ones included. Computed
        once per level (the build does not change under a service)."""
        if level not in ("departement", "region"):
            raise ValueError(f"no map of {level!r}")
        if level not in self._counts:
            with self._lock:
                if level not in self._counts:
                    self._counts[level] = self._count(level)
        return self._counts[level].copy()

    def _count(self, level: str) -> pd.DataFrame:
        ents = self.entities
        units = ents[ents["level"] == level]
        if units.empty:
            return pd.DataFrame(columns=["code", "name", "n", "n_direct"])
        t = self.table
        lv = ents.reindex(t["key"]) if len(t) else ents.iloc[0:0]
        rows = t["row"].to_numpy()
        # a commune, an EPCI or a département counts for its départements and its région
        local = t["level"].isin(("commune", "epci", "departement")).to_numpy()
        if level == "departement":
            deps = lv["departements"].to_numpy()[local]
            lens = [len(d) if isinstance(d, list) else 0 for d in deps]
            codes = [dd for d in deps if isinstance(d, list) for dd in d]
            pair_rows = np.repeat(rows[local], lens)
        else:
            regs = lv["region"].to_numpy()
            has = local & np.array([isinstance(r, str) and r != "" for r in regs], dtype=bool)
            own = (t["level"] == "region").to_numpy()  # a région counts for itself
            codes = t["code"].to_numpy()[own].tolist() + regs[has].tolist()
            pair_rows = np.concatenate([rows[own], rows[has]])
        p = pd.DataFrame({"code": pd.Series(codes, dtype=object), "row": pair_rows}).drop_duplicates()
        n = p.groupby("code")["row"].nunique()
        out = pd.DataFrame({"code": units["code"].to_numpy(), "name": units["name"].to_numpy()})
        out["n"] = out["code"].map(n).fillna(0).astype(int)
        out["n_direct"] = [self.direct_counts.get(entity_value(level, c), 0) for c in out["code"]]
        return out.sort_values("code", kind="stable").reset_index(drop=True)

    def outlines(self, level: str) -> dict | None:
        """The GeoJSON of ``level`` (metropolitan outlines, COG 2018 codes) or None."""
        if level not in self._outlines:
            with self._lock:
                name = OUTLINE_FILES.get(level)
                arts = self.artifacts
                self._outlines[level] = arts.json(name) if name and arts.has(name) else None
        return self._outlines[level]

    def map_data(self, level: str) -> dict:
        """What the choropleth needs: ``geojson``; ``on_map`` (rows whose outline exists:
        code, name, n, n_direct); ``off_map`` (territories without outline — overseas —
        with their counts). Outlines are matched by code, else by name (the outlines use COG
        2018 codes, the gazetteer COG 2026)."""
        counts = self.counts(level)
        geo = self.outlines(level)
        if geo is None:
            return {"geojson": None, "on_map": counts.iloc[0:0], "off_map": counts}
        by_code = {str(c): i for i, c in enumerate(counts["code"])}
        by_name = {norm_name(n): i for i, n in enumerate(counts["name"])}
        feature_code = []
        for f in geo.get("features", []):
            props = f.get("properties", {})
            code, name = str(props.get("code", "")), str(props.get("nom", ""))
            i = by_code.get(code, by_name.get(norm_name(name)))
            feature_code.append((code, i))
        on_idx = {i for _, i in feature_code if i is not None}
        on_map = pd.DataFrame([
            {"code": fc, "name": counts["name"].iat[i], "n": int(counts["n"].iat[i]),
             "n_direct": int(counts["n_direct"].iat[i]), "entity": counts["code"].iat[i]}
            for fc, i in feature_code if i is not None])
        off_map = counts[~counts.index.isin(on_idx)].reset_index(drop=True)
        return {"geojson": geo, "on_map": on_map, "off_map": off_map}

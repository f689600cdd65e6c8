"""Catalogue filters and facet counts, vectorised over the rows of a build.

A filter set is a plain dict; keys (:data:`FILTER_KEYS`) are ANDed, the values of one key ORed:

====================  ==========================================================================
key                   value(s)
====================  ==========================================================================
``producer``          producer id (``producers.parquet``), or a list
``territory``         ``"level:code"`` (``"departement:31"``), or a list. A dataset matches when
                      one of its territories — declared (``spatial_zones`` resolved to COG) or
                      extracted (``territories.parquet``, confidence ≥ 0.5) — *is* the territory
                      or lies inside it: a département keeps its communes and EPCI, a région its
                      départements, communes and EPCI, France everything placed in France.
``year``              created year range ``(first, last)`` (``"2018-2022"``, ``"2020"``)
``modified``          last-modified year range, same forms
``format``            format family (:mod:`models.core.formats`: ``csv``, ``shp`` …), or a list
``licence``           licence key (:func:`licence_key`: ``licence-ouverte-open-licence-version-2-0``)
``frequency``         update frequency code (``annual``, ``monthly`` …; ``none``: not given)
``topic``             dominant LDA topic of the default K (int)
``has_reuses``        ``True``: only datasets with at least one reuse
``freshness``         freshness status (:mod:`models.core.freshness`: ``a_jour``, ``en_retard``,
                      ``jamais_mis_a_jour``, ``sans_frequence``), or a list
====================  ==========================================================================

Everything a filter or a count needs is one numpy column per row, computed once when the
:class:`CatalogueFilters` is built (``Explorer.catalogue``): a mask is a few vectorised
comparisons, a facet a ``bincount`` over the rows of the current result set. Territories are
kept as (row, territory) pairs *rolled up* to every enclosing territory, so that a territory
filter and its count are the same lookup.

:func:`parse_filters` turns untrusted input (URL, command line) into a clean filter dict and a
list of French messages for what it had to drop; it never raises.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from models.core import french, serving
from models.core.formats import FORMAT_LABELS, format_families
from models.core.freshness import STATUS_LABELS, STATUSES
from models.core.quality import FREQUENCY_FR

log = logging.getLogger(__name__)

FILTER_KEYS = ("producer", "territory", "year", "modified", "format", "licence", "frequency",
               "topic", "has_reuses", "freshness")
RANGE_KEYS = ("year", "modified")
LIST_KEYS = ("producer", "territory", "format", "licence", "frequency", "topic", "freshness")
FILTER_LABELS = french.FILTER_TITLES  # the names the pages show (models.core.french)
MIN_YEAR, MAX_YEAR = 1900, 2100
MAX_VALUES = 20  # values kept per key (URL input is untrusted)


def ascii_int(value, max_digits: int = 9) -> int | None:
    """An integer written with ASCII digits only (« -3 », « 2020 », or an int), at most
    ``max_digits`` digits; None otherwise. ``int()`` takes « ٢٠٢٠ » and raises on « ²⁰²⁰ » or on
    5,000 digits: client text never reaches it unchecked.

    Examples
    --------
    >>> ascii_int(" 2020 "), ascii_int("-3"), ascii_int("²⁰²⁰"), ascii_int(True), ascii_int("1" * 10)
    (2020, -3, None, None, None)
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int | np.integer):
        return int(value) if len(str(abs(int(value)))) <= max_digits else None
    if not isinstance(value, str):
        return None
    s = value.strip()
    digits = s[1:] if s.startswith("-") else s
    if not digits or len(digits) > max_digits or not (digits.isascii() and digits.isdigit()):
        return None
    return int(s)
TERRITORY_CONFIDENCE = 0.5
NO_FREQUENCY = "none"
FACET_DEPTH = 1000  # counts are computed on the best 1,000 candidates of a query
LEVEL_CODE = {"commune": 0, "epci": 1, "departement": 2, "region": 3, "pays": 4}
TERRITORY_FACET_CAPS = {"region": 3, "departement": 4, "epci": 3, "commune": 5}
LEVEL_NAMES = {"commune": "commune", "epci": "intercommunalité", "departement": "département",
               "region": "région", "pays": "national"}


def licence_key(raw: str | None) -> str:
    """A URL-safe key for a licence label (``""`` and « License Not Specified » → ``non-specifiee``).

    Examples
    --------
    >>> licence_key("Licence Ouverte / Open Licence version 2.0")
    'licence-ouverte-open-licence-version-2-0'
    >>> licence_key(None), licence_key("License Not Specified")
    ('non-specifiee', 'non-specifiee')
    """
    s = unicodedata.normalize("NFKD", str(raw or "")).encode("ascii", "ignore").decode().lower()
    s = re.sub(r"[^a-z0-9]+", "-", s).strip("-")
    if not s or s in ("license-not-specified", "notspecified", "not-specified", "other-unspecified"):
        return "non-specifiee"
    return s[:80]


def _year_of(values: pd.Series) -> np.ndarray:
    """Year of ISO date strings (-1 when missing or odd), int16."""
    s = values.fillna("").astype(str).str.slice(0, 4)
    y = pd.to_numeric(s, errors="coerce").fillna(-1).astype(np.int64).to_numpy(copy=True)
    y[(y < MIN_YEAR) | (y > MAX_YEAR)] = -1
    return y.astype(np.int16)


def parse_year_range(value) -> tuple[int, int] | None:
    """``"2018-2022"``, ``"2020"``, ``(2018, 2022)``, ``[2018, 2022]`` → ``(2018, 2022)``; a
    reversed range is put back in order; None when it is not a year range.

    Examples
    --------
    >>> parse_year_range("2022-2018"), parse_year_range("2020"), parse_year_range([2018, "2022"])
    ((2018, 2022), (2020, 2020), (2018, 2022))
    >>> parse_year_range("vers 2020"), parse_year_range(1800), parse_year_range("2018-2020-2022")
    (None, None, None)
    """
    if value is None:
        return None
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        ys = [int(value)]
    elif isinstance(value, (list, tuple)):
        ys = [ascii_int(v, 4) for v in value if str(v).strip() != ""]
        if None in ys:
            return None
    else:
        text = str(value)[:200]
        ys = [int(v) for v in re.findall(r"[0-9]{4}", text)]
        if not ys or re.sub(r"[0-9\s\-–/:,.]|to|a|à", "", text).strip():
            return None
    if not ys or len(ys) > 2 or any(not MIN_YEAR <= y <= MAX_YEAR for y in ys):
        return None
    return (min(ys), max(ys))


@dataclass(frozen=True)
class FacetValue:
    """One value of a facet: the filter value, its French label and how many rows have it.

    Examples
    --------
    >>> FacetValue("csv", "CSV", 12)
    FacetValue(value='csv', label='CSV', count=12)
    """

    value: object
    label: str
    count: int


class CatalogueFilters:
    """Per-row filter columns of one build, masks and facet counts (read-only, thread-safe).

    Examples
    --------
    Three datasets, two producers, one topic (stand-ins for the build's services):

    >>> from types import SimpleNamespace
    >>> ds = pd.DataFrame({"created_year": [2019, 2021, 2021],
    ...                    "last_modified": ["2025-01-02", "2024-06-01", None],
    ...                    "resources_formats": ["csv,json", "shp", "csv"],
    ...                    "license": ["Licence Ouverte / Open Licence version 2.0", "", "ODbL"],
    ...                    "reuses": [2, 0, 1]})
    >>> producers = SimpleNamespace(of_row=[0, 1, 0], table=pd.DataFrame(
    ...     {"producer_id": ["p1", "p2"], "organization": ["Ville de Lyon", "IGN"]}))
    >>> topics = SimpleNamespace(dominant=[0, 0, -1], table=[0], label=lambda t: "eau")
    >>> cat = CatalogueFilters(ds, producers=producers, topics=topics, territories=lambda: None,
    ...                        gazetteer=lambda: None)
    >>> cat.mask({"format": ["csv"], "year": (2020, 2022)}).tolist()
    [False, False, True]
    >>> [(f.value, f.label, f.count) for f in cat.counts("format", np.arange(3))]
    [('csv', 'CSV', 2), ('json', 'JSON', 1), ('shp', 'Shapefile', 1)]
    >>> cat.value_label("producer", "p2"), cat.value_label("year", (2018, 2022)), cat.known("licence", "odbl")
    ('IGN', '2018–2022', True)
    """

    def __init__(self, datasets: pd.DataFrame, *, producers, topics, territories: Callable,
                 gazetteer: Callable, freshness: Callable | None = None,
                 declared: Callable | None = None) -> None:
        """``producers``: :class:`models.serve.producers.ProducerService`; ``topics``: the default
        topic model (:class:`models.serve.topics.DefaultTopics`); called on first use, once:
        ``territories`` (→ :class:`models.serve.territories.TerritoryService`), ``gazetteer``
        (→ :class:`models.core.geo.Gazetteer` or None: the declared zones resolved to the COG)
        and ``freshness`` (→ :class:`models.serve.freshness.FreshnessService`; None: every row's
        freshness unknown); ``declared`` (→ the serving step's declared zones,
        :func:`models.core.serving.declared_table`, or None: resolved with the gazetteer)."""
        ds = datasets
        self.datasets = datasets
        self.topics = topics
        self._territory_service, self._gazetteer, self._freshness_service = territories, gazetteer, freshness
        self._declared = declared
        self.n = n = len(ds)
        self._lock = threading.Lock()
        self._territory_cache: dict[str, np.ndarray] = {}
        # producers
        prod = producers
        self.producer_ids = prod.table["producer_id"].astype(str).to_numpy()
        self.producer_names = prod.table["organization"].astype(str).to_numpy()
        self.producer_of_row = np.asarray(prod.of_row, dtype=np.int32)
        self._producer_pos = {p: i for i, p in enumerate(self.producer_ids)}
        # years
        if "created_year" in ds:
            cy = pd.to_numeric(ds["created_year"], errors="coerce").fillna(-1)
            cy = cy.to_numpy(dtype=np.int64, copy=True)
            cy[(cy < MIN_YEAR) | (cy > MAX_YEAR)] = -1
            self.created_year = cy.astype(np.int16)
        else:
            self.created_year = _year_of(ds.get("created_at", pd.Series([""] * n)))
        self.modified_year = _year_of(ds["last_modified"]) if "last_modified" in ds \
            else np.full(n, -1, np.int16)
        lm = pd.to_datetime(ds["last_modified"].fillna("").astype(str).str.slice(0, 19),
                            errors="coerce", format="ISO8601") if "last_modified" in ds else None
        self.modified_order = (lm.astype("int64").to_numpy(copy=True) if lm is not None
                               else np.zeros(n, np.int64))
        if lm is not None:
            self.modified_order[lm.isna().to_numpy()] = np.iinfo(np.int64).min
        self.coverage_start = _year_of(ds["temporal_start"]) if "temporal_start" in ds \
            else np.full(n, -1, np.int16)
        self.coverage_end = _year_of(ds["temporal_end"]) if "temporal_end" in ds \
            else np.full(n, -1, np.int16)
        # formats: one bit per family
        self.format_names = tuple(FORMAT_LABELS)
        bit = {f: np.uint32(1 << i) for i, f in enumerate(self.format_names)}
        raw = ds["resources_formats"].fillna("").astype(str) if "resources_formats" in ds \
            else pd.Series([""] * n)
        uniq = {v: np.uint32(sum(int(bit[f]) for f in format_families(v) if f in bit))
                for v in raw.unique()}
        self.format_bits = raw.map(uniq).to_numpy(dtype=np.uint32)
        # licence and frequency: categorical codes
        lic = ds["license"].fillna("").astype(str) if "license" in ds else pd.Series([""] * n)
        keys = lic.map({v: licence_key(v) for v in lic.unique()})  # a few dozen labels, 70,575 rows
        self.licence_codes, licence_keys = pd.factorize(keys, sort=True)
        self.licence_keys = np.asarray(licence_keys, dtype=object)
        self.licence_codes = self.licence_codes.astype(np.int32)
        labels = pd.DataFrame({"k": keys, "l": lic}).drop_duplicates("k").set_index("k")["l"]
        self.licence_labels = {k: (str(labels.get(k, k)) if k != "non-specifiee" else "Non spécifiée")
                               for k in self.licence_keys}
        freq = ds["frequency"].fillna("").astype(str).str.strip() if "frequency" in ds \
            else pd.Series([""] * n)
        freq = freq.where(freq != "", NO_FREQUENCY)
        self.frequency_codes, frequency_keys = pd.factorize(freq, sort=True)
        self.frequency_keys = np.asarray(frequency_keys, dtype=object)
        self.frequency_codes = self.frequency_codes.astype(np.int32)
        # topics (default K) and reuses
        self.topic_of_row = np.asarray(topics.dominant, dtype=np.int32)
        self.n_topics = len(topics.table)
        self.reuses = ds["reuses"].fillna(0).to_numpy(dtype=np.int64) if "reuses" in ds \
            else np.zeros(n, np.int64)
        self._territories: dict | None = None
        self._freshness: np.ndarray | None = None

    @property
    def freshness_codes(self) -> np.ndarray:
        """Freshness status of each row, as its position in ``models.core.freshness.STATUSES``
        (computed on first use: ~1 s on the full catalogue)."""
        if self._freshness is None:
            with self._lock:
                if self._freshness is None:
                    fs = self._freshness_service() if self._freshness_service is not None else None
                    self._freshness = (fs.codes if fs is not None
                                       else np.full(self.n, 3, dtype=np.int8))
        return self._freshness

    # ---- territories (built on first use: needs the gazetteer for declared zones) ------------
    @property
    def territories(self) -> dict:
        if self._territories is None:
            with self._lock:
                if self._territories is None:
                    self._territories = self._build_territories()
        return self._territories

    def _build_territories(self) -> dict:
        """(row, territory) pairs — extracted and declared — rolled up to every enclosing
        territory: ``rows``, ``ents`` (int32 positions in ``keys``), ``keys`` ("level:code"),
        ``direct`` (pairs before the roll-up, for the « why » of a result)."""
        t0 = time.perf_counter()
        svc = self._territory_service()
        ents = svc.entities
        keys = list(ents.index)
        pos = {k: i for i, k in enumerate(keys)}
        rows_parts, ent_parts, src_parts = [], [], []
        t = svc.table
        if len(t):
            t = t[t["confidence"] >= TERRITORY_CONFIDENCE]
            e = t["key"].map(pos)
            ok = e.notna().to_numpy()
            rows_parts.append(t["row"].to_numpy(dtype=np.int64)[ok])
            ent_parts.append(e.to_numpy()[ok].astype(np.int64))
            src_parts.append(np.zeros(int(ok.sum()), dtype=np.int8))  # 0: extracted
        declared = self._declared_pairs(pos)
        if declared is not None:
            rows_parts.append(declared[0])
            ent_parts.append(declared[1])
            src_parts.append(np.ones(len(declared[0]), dtype=np.int8))  # 1: declared
        if rows_parts:
            d_rows = np.concatenate(rows_parts)
            d_ents = np.concatenate(ent_parts)
            d_src = np.concatenate(src_parts)
        else:
            d_rows = d_ents = np.empty(0, np.int64)
            d_src = np.empty(0, np.int8)
        # ancestors of every territory (itself first)
        anc: list[list[int]] = []
        lv = ents["level"].to_numpy()
        codes = ents["code"].astype(str).to_numpy()
        regions = ents["region"].to_numpy()
        epcis = ents["epci"].to_numpy()
        parents = ents["parent"].to_numpy()
        deps = ents["departements"].to_numpy()
        fr = pos.get("pays:FR")
        for i in range(len(keys)):
            a = [i]
            level = lv[i]
            if level == "commune":
                for k in (f"commune:{parents[i]}" if isinstance(parents[i], str) and parents[i] else None,
                          f"epci:{epcis[i]}" if isinstance(epcis[i], str) and epcis[i] else None):
                    if k in pos:
                        a.append(pos[k])
            if level in ("commune", "epci"):
                a += [pos[f"departement:{d}"] for d in (deps[i] or []) if f"departement:{d}" in pos]
            if level in ("commune", "epci", "departement") and isinstance(regions[i], str):
                k = f"region:{regions[i]}"
                if k in pos and pos[k] not in a:
                    a.append(pos[k])
            # a collectivity that is both (975, Saint-Pierre-et-Miquelon) and records no région:
            # itself. Never by code alone: 18 mainland départements share a région's code
            # (Mayenne 53 / Bretagne 53, Paris 75 / Nouvelle-Aquitaine 75)
            if (level == "departement" and not isinstance(regions[i], str)
                    and f"region:{codes[i]}" in pos and pos[f"region:{codes[i]}"] not in a):
                a.append(pos[f"region:{codes[i]}"])
            if level != "pays" and fr is not None:
                a.append(fr)
            anc.append(a)
        lens = np.fromiter((len(a) for a in anc), dtype=np.int64, count=len(anc))
        flat = np.fromiter((x for a in anc for x in a), dtype=np.int64, count=int(lens.sum()))
        starts = np.concatenate([[0], np.cumsum(lens)[:-1]]) if len(lens) else np.empty(0, np.int64)
        if len(d_ents):
            rep = lens[d_ents]
            r_rows = np.repeat(d_rows, rep)
            offs = np.arange(int(rep.sum())) - np.repeat(np.cumsum(rep) - rep, rep)
            r_ents = flat[np.repeat(starts[d_ents], rep) + offs]
            pair = np.unique(r_rows * len(keys) + r_ents)
            r_rows, r_ents = pair // len(keys), pair % len(keys)
        else:
            r_rows = r_ents = np.empty(0, np.int64)
        order = np.argsort(r_ents, kind="stable")
        out = {"keys": keys, "pos": pos, "rows": r_rows.astype(np.int32), "ents": r_ents.astype(np.int32),
               "by_ent_rows": r_rows[order].astype(np.int32),
               "by_ent_bounds": np.searchsorted(r_ents[order], np.arange(len(keys) + 1)),
               "direct_rows": d_rows.astype(np.int32), "direct_ents": d_ents.astype(np.int32),
               "direct_src": d_src, "names": ents["name"].astype(str).to_numpy(), "levels": lv,
               "anc_flat": flat, "anc_starts": starts, "anc_lens": lens}
        by_row = np.argsort(r_rows, kind="stable")  # rolled-up pairs grouped by row (facet counts)
        out["by_row_ents"] = r_ents[by_row].astype(np.int32)
        out["row_ptr"] = np.searchsorted(r_rows[by_row], np.arange(self.n + 1))
        out["level_code"] = np.array([LEVEL_CODE.get(str(x), -1) for x in lv], dtype=np.int8)
        d_order = np.argsort(d_ents, kind="stable")
        out["direct_by_ent_rows"] = d_rows[d_order].astype(np.int32)
        out["direct_by_ent_bounds"] = np.searchsorted(d_ents[d_order], np.arange(len(keys) + 1))
        log.info("territory filter columns: %d direct pairs, %d rolled up, %.2f s", len(d_rows),
                 len(r_rows), time.perf_counter() - t0)
        return out

    def _declared_pairs(self, pos: dict) -> tuple[np.ndarray, np.ndarray] | None:
        """(rows, territory positions) of the declared zones: the serving step's table when the
        build kept it (no gazetteer needed at start), else resolved here the same way."""
        table = self._declared() if self._declared is not None else None
        if table is None:
            if "spatial_zones" not in self.datasets:
                return None
            gaz = self._gazetteer()
            if gaz is None:
                return None
            table = serving.declared_table(gaz, self.datasets)
        if not len(table):
            return None
        e = table["key"].map(pos)
        rows = table["row"].to_numpy(dtype=np.int64)
        ok = e.notna().to_numpy() & (rows >= 0) & (rows < self.n)  # a damaged file's rows: dropped
        return rows[ok], e.to_numpy()[ok].astype(np.int64)

    def territory_rows(self, value: str) -> np.ndarray:
        """Rows concerning territory ``value`` ("level:code") or a part of it."""
        t = self.territories
        i = t["pos"].get(value)
        if i is None:
            return np.empty(0, np.int32)
        b = t["by_ent_bounds"]
        return t["by_ent_rows"][b[i]:b[i + 1]]

    def ancestors(self, i: int) -> np.ndarray:
        """Positions of territory ``i`` and of every territory enclosing it (itself first)."""
        t = self.territories
        return t["anc_flat"][t["anc_starts"][i]:t["anc_starts"][i] + t["anc_lens"][i]]

    def direct_rows_of(self, i: int) -> np.ndarray:
        """Rows whose own (declared or extracted) territories include territory ``i``."""
        t = self.territories
        b = t["direct_by_ent_bounds"]
        return t["direct_by_ent_rows"][b[i]:b[i + 1]]

    def row_territories(self, row: int) -> list[tuple[str, str]]:
        """``(key, source)`` of a row's own territories (source: « extrait » / « déclaré »)."""
        t = self.territories
        sel = np.flatnonzero(t["direct_rows"] == row)
        return [(t["keys"][int(t["direct_ents"][j])], "déclaré" if t["direct_src"][j] else "extrait")
                for j in sel]

    def territory_label(self, value: str) -> str:
        t = self.territories
        i = t["pos"].get(value)
        if i is None:
            return str(value)
        return f"{t['names'][i]} ({LEVEL_NAMES.get(str(t['levels'][i]), t['levels'][i])})"

    # ---- validation ---------------------------------------------------------------------------
    def producer_index(self, producer_id) -> int | None:
        """The position of a producer id in ``producer_ids`` (None: unknown)."""
        return self._producer_pos.get(str(producer_id))

    def known(self, key: str, value) -> bool:
        if key == "producer":
            return str(value) in self._producer_pos
        if key == "territory":
            return str(value) in self.territories["pos"]
        if key == "format":
            return str(value) in self.format_names
        if key == "licence":
            return str(value) in set(self.licence_keys)
        if key == "frequency":
            return str(value) in set(self.frequency_keys)
        if key == "topic":
            t = ascii_int(value, 6)
            return t is not None and 0 <= t < self.n_topics
        if key == "freshness":
            return str(value) in STATUSES
        return False

    def value_label(self, key: str, value) -> str:
        """French label of one filter value (for chips and facets)."""
        if key == "producer":
            i = self._producer_pos.get(str(value))
            return str(self.producer_names[i]) if i is not None else str(value)
        if key == "territory":
            return self.territory_label(str(value))
        if key == "format":
            return FORMAT_LABELS.get(str(value), str(value))
        if key == "licence":
            return self.licence_labels.get(str(value), str(value))
        if key == "frequency":
            return "non renseignée" if value == NO_FREQUENCY else FREQUENCY_FR.get(str(value), str(value))
        if key == "topic":
            lab = self.topics.label(int(value))
            return f"{int(value) + 1}. {lab}" if lab else f"thème {int(value) + 1}"
        if key in RANGE_KEYS:
            a, b = value
            return str(a) if a == b else f"{a}–{b}"
        if key == "has_reuses":
            return "avec réutilisations"
        if key == "freshness":
            return STATUS_LABELS.get(str(value), str(value))
        return str(value)

    # ---- masks ---------------------------------------------------------------------------------
    def key_mask(self, key: str, value) -> np.ndarray:
        """Boolean mask of the rows that pass one filter key (values ORed)."""
        n = self.n
        if key == "producer":
            idx = [self._producer_pos[v] for v in value if v in self._producer_pos]
            return np.isin(self.producer_of_row, np.asarray(idx, dtype=np.int32))
        if key == "territory":
            m = np.zeros(n, dtype=bool)
            for v in value:
                m[self.territory_rows(v)] = True
            return m
        if key == "year":
            return (self.created_year >= value[0]) & (self.created_year <= value[1])
        if key == "modified":
            return (self.modified_year >= value[0]) & (self.modified_year <= value[1])
        if key == "format":
            bits = np.uint32(sum(1 << self.format_names.index(v) for v in value if v in self.format_names))
            return (self.format_bits & bits) != 0
        if key == "licence":
            codes = [i for i, k in enumerate(self.licence_keys) if k in set(value)]
            return np.isin(self.licence_codes, np.asarray(codes, dtype=np.int32))
        if key == "frequency":
            codes = [i for i, k in enumerate(self.frequency_keys) if k in set(value)]
            return np.isin(self.frequency_codes, np.asarray(codes, dtype=np.int32))
        if key == "topic":
            return np.isin(self.topic_of_row, np.asarray([int(v) for v in value], dtype=np.int32))
        if key == "has_reuses":
            return self.reuses > 0 if value else np.ones(n, dtype=bool)
        if key == "freshness":
            codes = [i for i, k in enumerate(STATUSES) if k in set(value)]
            return np.isin(self.freshness_codes, np.asarray(codes, dtype=np.int8))
        raise ValueError(f"unknown filter {key!r}")

    def mask(self, filters: Mapping | None, *, without: str | None = None) -> np.ndarray | None:
        """Rows passing every filter of a *clean* filter dict (None: no filter at all);
        ``without``: leave that key out (its own facet counts)."""
        if not filters:
            return None
        m = None
        for key in FILTER_KEYS:
            if key == without or key not in filters:
                continue
            km = self.key_mask(key, filters[key])
            m = km if m is None else (m & km)
        return m

    # ---- facets --------------------------------------------------------------------------------
    def counts(self, key: str, rows: np.ndarray, *, top: int = 12) -> list[FacetValue]:
        """Counts of each value of ``key`` among ``rows`` (largest first, at most ``top``)."""
        rows = np.asarray(rows, dtype=np.int64)
        if key == "producer":
            c = np.bincount(self.producer_of_row[rows], minlength=len(self.producer_ids))
            return self._top(c, top, lambda i: (self.producer_ids[i], self.producer_names[i]))
        if key == "territory":
            t = self.territories
            ptr = t["row_ptr"]
            starts, lens = ptr[rows], ptr[rows + 1] - ptr[rows]
            total = int(lens.sum())
            offs = np.arange(total) - np.repeat(np.cumsum(lens) - lens, lens)
            c = np.bincount(t["by_row_ents"][np.repeat(starts, lens) + offs], minlength=len(t["keys"]))
            fr = t["pos"].get("pays:FR")
            if fr is not None:
                c[fr] = 0  # « everything placed in France » is no choice
            # every level gets its share, or the régions (which count everything inside) fill the list
            keep = np.zeros(len(c), dtype=bool)
            for lv, cap in TERRITORY_FACET_CAPS.items():
                idx = np.flatnonzero((t["level_code"] == LEVEL_CODE[lv]) & (c > 0))
                keep[idx[np.argsort(-c[idx], kind="stable")][:cap]] = True
            return self._top(np.where(keep, c, 0), top,
                             lambda i: (t["keys"][i], self.territory_label(t["keys"][i])))
        if key in RANGE_KEYS:
            ys = (self.created_year if key == "year" else self.modified_year)[rows]
            ys = ys[ys >= 0]
            if not len(ys):
                return []
            base = int(ys.min())
            c = np.bincount(ys - base)
            return [FacetValue((base + int(i), base + int(i)), str(base + int(i)), int(c[i]))
                    for i in np.flatnonzero(c)[::-1]]  # newest first, every year
        if key == "format":
            b = self.format_bits[rows]
            c = np.array([int(np.count_nonzero(b & np.uint32(1 << i)))
                          for i in range(len(self.format_names))])
            names = self.format_names
            return self._top(c, top, lambda i: (names[i], FORMAT_LABELS[names[i]]))
        if key == "licence":
            c = np.bincount(self.licence_codes[rows], minlength=len(self.licence_keys))
            lk = self.licence_keys
            return self._top(c, top, lambda i: (lk[i], self.licence_labels[lk[i]]))
        if key == "frequency":
            c = np.bincount(self.frequency_codes[rows], minlength=len(self.frequency_keys))
            return self._top(c, top, lambda i: (self.frequency_keys[i],
                                                self.value_label("frequency", self.frequency_keys[i])))
        if key == "topic":
            tr = self.topic_of_row[rows]
            tr = tr[tr >= 0]
            c = np.bincount(tr, minlength=self.n_topics)
            return self._top(c, top, lambda i: (int(i), self.value_label("topic", int(i))))
        if key == "has_reuses":
            k = int(np.count_nonzero(self.reuses[rows] > 0))
            return [FacetValue(True, "avec réutilisations", k)] if k else []
        if key == "freshness":
            c = np.bincount(self.freshness_codes[rows], minlength=len(STATUSES))
            return self._top(c, top, lambda i: (STATUSES[i], self.value_label("freshness", STATUSES[i])))
        raise ValueError(f"unknown filter {key!r}")

    @staticmethod
    def _top(c: np.ndarray, top: int, describe) -> list[FacetValue]:
        nz = np.flatnonzero(c)
        if not len(nz):
            return []
        order = nz[np.argsort(-c[nz], kind="stable")][:top]
        out = []
        for i in order:
            v, label = describe(int(i))
            out.append(FacetValue(v, str(label), int(c[i])))
        return out

    def facets(self, pools: Mapping[str, np.ndarray], *, keys: Iterable[str] = FILTER_KEYS,
               top: int = 12) -> dict[str, list[FacetValue]]:
        """``pools[key]`` (or ``pools[None]``): the rows to count for that key."""
        return {k: self.counts(k, pools.get(k, pools[None]), top=top) for k in keys}


# ---- untrusted input -------------------------------------------------------------------------
_TRUE = {"1", "true", "oui", "yes", "on", "vrai"}
_FALSE = {"0", "false", "non", "no", "off", "faux", ""}


def parse_filters(raw: Mapping | None, catalogue: CatalogueFilters | None = None
                  ) -> tuple[dict, list[str]]:
    """A clean filter dict from untrusted ``raw`` (URL parameters, command line, a store) and
    the French messages for what was dropped (unknown key or value, bad range). With a
    ``catalogue``, values unknown to the build are dropped too. Never raises.

    Examples
    --------
    >>> clean, errors = parse_filters({"format": "CSV", "year": "2022-2018", "couleur": "bleu",
    ...                                "has_reuses": "oui", "topic": ["3", "x"]})
    >>> clean
    {'format': ['csv'], 'year': (2018, 2022), 'has_reuses': True, 'topic': [3]}
    >>> len(errors), errors[0].startswith("filtre inconnu")
    (2, True)
    >>> parse_filters("format=csv")[0], parse_filters(None)  # not a mapping; nothing
    ({}, ({}, []))
    """
    out: dict = {}
    errors: list[str] = []
    if not raw:
        return out, errors
    if not isinstance(raw, Mapping):
        return out, ["filtres illisibles : ignorés"]
    for key, value in raw.items():
        key = str(key).strip().lower()
        if key in ("licence", "license"):
            key = "licence"
        if key not in FILTER_KEYS:
            errors.append(f"filtre inconnu « {str(key)[:40]} » : ignoré")
            continue
        label = FILTER_LABELS[key].lower()
        if key in RANGE_KEYS:
            rng = parse_year_range(value)
            if rng is None:
                errors.append(f"{label} « {str(value)[:40]} » : pas une année ni une période, ignoré")
            else:
                out[key] = rng
            continue
        if key == "has_reuses":
            s = str(value).strip().lower()
            if isinstance(value, bool) or s in _TRUE | _FALSE:
                if value is True or s in _TRUE:
                    out[key] = True
            else:
                errors.append(f"{label} « {s[:40]} » : attendu oui ou non, ignoré")
            continue
        values = value if isinstance(value, (list, tuple, set)) else [value]
        clean = []
        for v in values:
            if v is None:
                continue
            if isinstance(v, (list, tuple)) and key == "territory" and len(v) == 2:
                v = f"{v[0]}:{v[1]}"
            s = str(v).strip()[:120]
            if not s:
                continue
            if key == "format":
                s = s.lower()
            if key == "topic" and ascii_int(s, 6) is None:
                errors.append(f"{label} « {s[:40]} » : inconnu, ignoré")
                continue
            if catalogue is not None and not catalogue.known(key, s):
                errors.append(f"{label} « {s[:40]} » : inconnu dans ce catalogue, ignoré")
                continue
            v2 = ascii_int(s, 6) if key == "topic" else s
            if v2 not in clean:
                clean.append(v2)
        if len(clean) > MAX_VALUES:
            errors.append(f"{label} : {len(clean)} valeurs, seules les {MAX_VALUES} premières sont gardées")
            clean = clean[:MAX_VALUES]
        if clean:
            out[key] = clean
    return out, errors


def filters_to_params(filters: Mapping) -> dict[str, str]:
    """A clean filter dict as flat strings (URL parameters; lists joined by ``|``).

    Examples
    --------
    >>> filters_to_params({"year": (2020, 2020), "modified": (2018, 2022), "format": ["csv", "json"],
    ...                    "has_reuses": True})
    {'year': '2020', 'modified': '2018-2022', 'format': 'csv|json', 'has_reuses': '1'}
    """
    out = {}
    for key in FILTER_KEYS:
        if key not in filters:
            continue
        v = filters[key]
        if key in RANGE_KEYS:
            out[key] = str(v[0]) if v[0] == v[1] else f"{v[0]}-{v[1]}"
        elif key == "has_reuses":
            out[key] = "1"
        else:
            out[key] = "|".join(str(x) for x in v)
    return out


def params_to_raw(params: Mapping[str, str]) -> dict:
    """Flat string parameters (URL) → the raw dict :func:`parse_filters` reads (``|`` splits lists).

    Examples
    --------
    >>> params_to_raw({"format": "csv|json", "year": "2020"})
    {'format': ['csv', 'json'], 'year': '2020'}
    >>> clean = {"format": ["csv"], "year": (2018, 2022)}
    >>> parse_filters(params_to_raw(filters_to_params(clean)))[0] == clean  # a round trip
    True
    """
    raw = {}
    for k, v in params.items():
        if k in LIST_KEYS:
            raw[k] = [x for x in str(v).split("|") if x.strip()]
        else:
            raw[k] = v
    return raw

"""Territories step: resolve place mentions to COG entities per dataset, evaluate against declared
zones, write ``territories.parquet`` (rules: :mod:`models.core.geo`)."""

from __future__ import annotations

import gc
import json
import logging
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

# shared with the app's territory filter; re-exported for older imports
from models.core.declared_zones import GRANULARITY_LEVEL, resolve_declared  # noqa: F401
from models.core.geo import (
    _WORD,
    ARTICLES,
    COLUMNS,
    DEPT_CODE_CONTEXT,
    EVAL_CONFIDENCE,
    LEVEL_RANK,
    MIN_CONFIDENCE,
    NATIONAL_ORG,
    SOURCE_PRIORITY,
    SOURCE_WEIGHT,
    Entity,
    Gazetteer,
    Mention,
    french_lexicon,
    scan,
    scan_tags,
)
from models.core.territory_entities import ENTITY_COLUMNS, entity_frame
from models.pipeline.distributed import worker_gazetteer

log = logging.getLogger(__name__)


@dataclass
class Doc:
    """The mentions of one dataset, before resolution."""

    mentions: list[Mention]
    org_mentions: list[Mention]
    codes: set[str]  # département codes written as "(29)", and those of 5-digit codes next to names
    national_org: bool


def _has_article(name: str) -> bool:
    """Whether a territory's name is written after an article: it starts with one (« La
    Rochelle », « L'Isle-Adam »), or it names an island (« l'Île-d'Aix », « l'Île-de-Sein »).

    >>> _has_article("La Rochelle"), _has_article("L'Isle-Adam"), _has_article("Île-d'Aix")
    (True, True, True)
    >>> _has_article("Saône")
    False
    """
    first = _WORD.findall(name.lower())[:1]
    return bool(first) and (first[0] in ARTICLES or first[0] in ("île", "ile"))


def _official_surface(name: str) -> str:
    return " ".join(_WORD.findall(name.lower()))


@dataclass
class Extractor:
    """Resolve mentions to territories in two passes over a corpus (rules: module docstring)."""

    gaz: Gazetteer
    lower_share_threshold: float = 0.2
    weak: set[str] = field(default_factory=set)
    producer_home: dict[str, set[str]] = field(default_factory=dict)

    # ---- pass 1: read every dataset ------------------------------------------------------
    def read(self, title: str, description: str, tags, organization: str) -> Doc:
        g = self.gaz
        ments = scan(g, title, "title") + scan(g, description, "description") + scan_tags(g, tags)
        org = scan(g, organization, "organization") if organization else []
        codes = set()
        for t in (title, description):
            if t:
                codes.update(c.upper() for c in DEPT_CODE_CONTEXT.findall(t))
        for m in ments:
            if m.code_near:
                codes.add(_dept_of_code(m.code_near))
        national = bool(organization and NATIONAL_ORG.search(organization)) and not any(
            g.entities[a.entity].level != "pays" for m in org for a in g.aliases[m.key])
        return Doc(ments, org, codes, national)

    def learn(self, docs: list[Doc], organizations: list[str]) -> None:
        """Corpus statistics: which dictionary words the corpus writes in lower case (so that a
        capitalised "Orange" stays suspect), and each producer's home départements."""
        g = self.gaz
        lower, total = Counter(), Counter()
        for d in docs:
            for m in d.mentions:
                if m.key in g.lexical and m.source == "description":
                    total[m.key] += 1
                    if not any(c.isupper() for c in m.surface):
                        lower[m.key] += 1
        weak = set(g.always_weak)
        for k in g.lexical:
            if total[k] < 5 or lower[k] / total[k] >= self.lower_share_threshold:
                weak.add(k)  # written in lower case, or too rare to tell: a dictionary word
        self.weak = weak
        # producers' home départements: places named unambiguously (in the title, the description
        # or the producer's name, not in tags, which a producer copies from dataset to dataset) in
        # at least 40% of their datasets. A producer whose name places it keeps that place only.
        per_org: dict[str, Counter] = defaultdict(Counter)
        n_org: Counter = Counter()
        for d, org in zip(docs, organizations, strict=True):
            if not org:
                continue
            n_org[org] += 1
            depts = set(d.codes)
            for m in d.mentions + d.org_mentions:
                if m.source == "tags":
                    continue
                ent = self._unambiguous(m)
                if ent is not None:
                    depts.update(ent.departements)
            per_org[org].update(depts)
        self.producer_home = {
            org: {dep for dep, c in cnt.items() if c >= max(3, 0.4 * n_org[org])}
            for org, cnt in per_org.items()
        }

    def _unambiguous(self, m: Mention) -> Entity | None:
        """The place a mention names for sure, used as context for the others: one candidate, no
        common word (a common word must not vouch for itself: "l'Union" européenne)."""
        cands = self.gaz.aliases[m.key]
        if len(cands) == 1 and m.key not in self.gaz.lexical and m.capitalised and not m.blocked:
            return self.gaz.entities[cands[0].entity]
        return None

    # ---- pass 2: resolve one dataset -----------------------------------------------------
    def resolve(self, doc: Doc, organization: str = "") -> list[dict]:
        g = self.gaz
        found: dict[tuple[str, str], dict] = {}

        def emit(ent: Entity, conf: float, source: str) -> None:
            key = g.canonical(ent.key)
            ent = g.entities[key]
            cur = found.get(key)
            if cur is None or conf > cur["confidence"] or (
                    conf == cur["confidence"]
                    and SOURCE_PRIORITY[source] < SOURCE_PRIORITY[cur["source"]]):
                found[key] = {"level": ent.level, "code": ent.code, "name": ent.name,
                              "confidence": conf, "source": source, "_ent": ent}

        # the producer's location first: it is context for everything else
        home = set(self.producer_home.get(organization, ()))
        org_depts: set[str] = set()
        regions: set[str] = set()
        for m in doc.org_mentions:
            ent, factor = self._choose(m, home, set(), set(), located=False)
            if ent is None:
                continue
            org_depts.update(ent.departements)
            if ent.level == "region":
                regions.add(ent.code)
            emit(ent, SOURCE_WEIGHT["organization"] * factor, "organization")
        if doc.national_org and not doc.org_mentions:
            emit(g.entities[("pays", "FR")], 0.6, "organization")

        strong = (org_depts or home) | doc.codes
        ctx: dict[str, set[str]] = defaultdict(set)  # département -> keys of the names placing it
        for m in doc.mentions:
            ent = self._unambiguous(m)
            if ent is not None:
                for d in ent.departements:
                    ctx[d].add(m.key)
                if ent.level == "region":
                    regions.add(ent.code)
        regions.update(r for d in strong for r in [g.dept_region.get(d)] if r)
        located = bool(strong)

        n_desc = Counter(m.key for m in doc.mentions if m.source == "description")
        for m in doc.mentions:
            others = {d for d, keys in ctx.items() if keys - {m.key}}  # a name cannot vouch for itself
            ent, factor = self._choose(m, strong, others, regions, located=located)
            if ent is None:
                continue
            conf = SOURCE_WEIGHT[m.source] * factor
            if m.source == "description" and n_desc[m.key] > 1:
                conf += 0.1
            emit(ent, conf, m.source)
        self._dispersion(found)
        self._containment(found)
        out = []
        for r in found.values():
            r.pop("_ent")
            r["confidence"] = round(min(r["confidence"], 0.99), 3)
            if r["confidence"] >= MIN_CONFIDENCE:
                out.append(r)
        return sorted(out, key=lambda r: (LEVEL_RANK[r["level"]], -r["confidence"]))

    def _dispersion(self, found: dict) -> None:
        """A description naming places in three régions or more enumerates the country (a list of
        stations, of cities as examples): its places are demoted and France is named instead."""
        desc = [r for r in found.values() if r["source"] == "description" and r["level"] != "pays"
                and r["confidence"] >= EVAL_CONFIDENCE]
        touched = {r["_ent"].region for r in desc if r["_ent"].region}
        if len(touched) < 3:
            return
        for r in desc:
            r["confidence"] *= 0.6
        fr = self.gaz.entities[("pays", "FR")]
        cur = found.get(fr.key)
        if cur is None or cur["confidence"] < SOURCE_WEIGHT["description"]:
            found[fr.key] = {"level": "pays", "code": "FR", "name": fr.name,
                             "confidence": SOURCE_WEIGHT["description"], "source": "description",
                             "_ent": fr}

    def _containment(self, found: dict) -> None:
        """A larger territory that only frames a well-attested smaller one (the région of a city
        named in the title or by the producer) is demoted: the dataset is about the smaller one."""
        rows = list(found.values())
        focus = [r for r in rows if r["source"] != "description" and r["confidence"] >= 0.7]
        for big in rows:
            b = big["_ent"]
            if b.level not in ("departement", "region", "pays"):
                continue
            if any(small is not big and _inside(small["_ent"], b) for small in focus):
                big["confidence"] *= 0.5

    def _choose(self, m: Mention, strong: set[str], ctx: set[str], regions: set[str], *,
                located: bool) -> tuple[Entity | None, float]:
        """The entity a mention stands for and a confidence factor, or (None, 0) to drop it."""
        g = self.gaz
        cands = g.aliases[m.key]
        if all(a.kind == "phrase" for a in cands):
            return g.entities[cands[0].entity], 1.0
        if not m.capitalised:
            return None, 0.0
        # a common word is trusted only with context; in a description, so is a dictionary word
        # that the corpus usually capitalises ("Paris" the city, "paris" the bets)
        weak = m.key in self.weak
        # in a description, a commune named by a dictionary word is trusted only with context too,
        # even when the corpus usually capitalises it ("Paris" the city, "paris" the bets)
        desc_lexical = m.source == "description" and m.key in g.lexical
        scored = []
        for a in cands:
            ent = g.entities[a.entity]
            if m.blocked and ent.level != "pays":
                continue
            if ent.level == "commune" and a.kind == "name" and m.article and not _has_article(ent.name):
                continue  # « la Saône », « de la Ville de Toulon », « mer des Pertuis »: not a commune
            if ent.level == "commune" and weak and ((m.source == "tags" and " " not in m.key) or m.initial):
                # a tag « plan », a title « Plan local d'urbanisme »: the word, not the village (a tag
                # of several words, « le-cendre », « saint-pierre-la-noue », is a name)
                continue
            if weak and ent.level != "pays" and _official_surface(ent.name) != _official_surface(m.surface) \
                    and a.kind == "name":
                continue  # a common word must be spelled like the place: "Ville" is not Villé
            deps = set(ent.departements)
            s = 0.0
            if ent.level != "pays":
                if deps & strong:
                    s = 2.0
                elif deps & ctx:
                    s = 1.5
                elif ent.region and ent.region in regions and ent.level != "region":
                    s = 0.5
            if m.code_near and (m.code_near in ent.postcodes or m.code_near == ent.code):
                s += 3.0
            if m.cue and m.cue == ent.level:
                s += 1.0
            scored.append((s, ent, a))
        if not scored:
            return None, 0.0
        scored.sort(key=lambda x: (-x[0], -x[1].population, LEVEL_RANK[x[1].level]))
        best_s, best, alias = scored[0]
        if (weak or (desc_lexical and best.level in ("commune", "epci"))) and best_s < 1.0 \
                and best.level != "pays":
            return None, 0.0
        if len(scored) == 1:
            factor = 0.85 if weak else 1.0
        else:
            second_s, second, _ = scored[1]
            if best_s > second_s:
                factor = 0.95
            elif best.population >= 10 * max(second.population, 1):
                factor = 0.75 if best_s == 0 else 0.85
            elif best.population == second.population and best.departements == second.departements:
                factor = 1.0  # one territory, two levels (Paris the commune and the département)
            else:
                return None, 0.0
            if weak:
                factor *= 0.9
        if located and best_s == 0 and best.level in ("commune", "epci", "departement"):
            factor *= 0.55  # far from where the producer or the text locates the dataset
        return best, factor * alias.factor


def _dept_of_code(code: str) -> str:
    code = code.upper()
    if code.startswith("97"):
        return code[:3]
    if code.startswith("20") and code.isdigit():  # Corsican postcodes
        return "2A" if code < "20200" else "2B"
    return code[:2]


def _inside(small: Entity, big: Entity) -> bool:
    if big.level == "pays":
        return small.level != "pays"
    if big.level == "region":
        return small.level in ("commune", "epci", "departement") and small.region == big.code
    if big.level == "departement":
        return small.level in ("commune", "epci") and big.code in small.departements
    return False



def _progress(it, total: int, desc: str, show: bool):
    if not show:
        return it
    from tqdm.auto import tqdm  # lazy: progress bars, pipeline only

    return tqdm(it, total=total, desc=desc, unit="doc", mininterval=2.0)


def extract_frame(df: pd.DataFrame, gaz: Gazetteer, *, show_progress: bool = False,
                  runner=None, geo_dir: str | None = None) -> pd.DataFrame:
    """``territories.parquet`` for a catalogue frame: one row per (dataset row, territory). With a
    Dask ``runner``, the first pass (reading the mentions of each dataset) runs on its workers,
    each loading the gazetteer of ``geo_dir`` once."""
    ex = Extractor(gaz)
    gc_was_enabled = gc.isenabled()
    gc.disable()  # millions of small lists and no cycles: the collector would dominate the run time
    try:
        return _extract(ex, df, show_progress, runner, geo_dir)
    finally:
        if gc_was_enabled:
            gc.enable()


def _extract(ex: Extractor, df: pd.DataFrame, show_progress: bool, runner=None,
             geo_dir: str | None = None) -> pd.DataFrame:
    titles = df["title"].fillna("").tolist()
    descs = df["description_text"].fillna("").tolist()
    tags = df["tags"].tolist() if "tags" in df else [[] for _ in titles]
    orgs = df["organization"].fillna("").tolist() if "organization" in df else [""] * len(titles)
    if runner is not None and geo_dir:
        docs = runner.map_concat(territory_docs_chunk, list(zip(titles, descs, tags, orgs, strict=True)),
                                 str(geo_dir))
    else:
        docs = [ex.read(t, d, tg, o) for t, d, tg, o in _progress(
            zip(titles, descs, tags, orgs, strict=True), len(titles), "territoires (lecture)",
            show_progress)]
    ex.learn(docs, orgs)
    rows = []
    for i, (doc, org) in enumerate(zip(docs, orgs, strict=True)):
        for r in ex.resolve(doc, org):
            rows.append((i, r["level"], r["code"], r["name"], r["confidence"], r["source"]))
    out = pd.DataFrame(rows, columns=COLUMNS)
    return _typed(out)


def territory_docs_chunk(rows: list[tuple], geo_dir: str) -> list:
    """Per-worker task of ``build --dask``: the place mentions of a slice of rows (the gazetteer
    loaded once per worker process)."""
    ex = Extractor(worker_gazetteer(geo_dir))
    return [ex.read(t, d, tg, o) for t, d, tg, o in rows]


def empty_frame() -> pd.DataFrame:
    return _typed(pd.DataFrame(columns=COLUMNS))


def _typed(out: pd.DataFrame) -> pd.DataFrame:
    return out.astype({"row": "int64", "level": "string", "code": "string", "name": "string",
                       "confidence": "float32", "source": "string"})


# ---------------------------------------------------------------------------------------------
# declared zones and evaluation
# ---------------------------------------------------------------------------------------------
def _prf(pairs: list[tuple[set, set]]) -> dict:
    tp = sum(len(e & d) for e, d in pairs)
    ne = sum(len(e) for e, _ in pairs)
    nd = sum(len(d) for _, d in pairs)
    precs = [len(e & d) / len(e) for e, d in pairs if e]
    recs = [len(e & d) / len(d) for e, d in pairs if d]
    return {
        "precision": round(sum(precs) / len(precs), 4) if precs else None,
        "recall": round(sum(recs) / len(recs), 4) if recs else None,
        "n": len(pairs),
        "n_with_extraction": len(precs),
        "micro_precision": round(tp / ne, 4) if ne else None,
        "micro_recall": round(tp / nd, 4) if nd else None,
    }


def evaluate(df: pd.DataFrame, territories: pd.DataFrame, gaz: Gazetteer, *,
             min_confidence: float = EVAL_CONFIDENCE) -> dict:
    """Compare extracted territories with declared zones (definitions: module docstring)."""
    t = territories[territories["confidence"] >= min_confidence]
    extracted: dict[int, set] = defaultdict(set)
    for row, level, code in zip(t["row"], t["level"], t["code"], strict=True):
        extracted[int(row)].add(gaz.canonical((str(level), str(code))))
    zones = df["spatial_zones"].fillna("").tolist()
    gran = df["spatial_granularity"].fillna("").tolist() if "spatial_granularity" in df else [""] * len(df)
    orgs = df["organization"].fillna("").tolist() if "organization" in df else [""] * len(df)
    ent_pairs, dep_pairs = [], []
    n_declared = 0
    unresolved: Counter = Counter()
    for i, (z, gr, org) in enumerate(zip(zones, gran, orgs, strict=True)):
        if not z:
            continue
        n_declared += 1
        decl, unres = resolve_declared(gaz, z, gr, org)
        unresolved.update(unres)
        if not decl:
            continue
        ext = extracted.get(i, set())
        ent_pairs.append((ext, decl))
        dep_pairs.append((set().union(*[gaz.dept_units(k) for k in ext]) if ext else set(),
                          set().union(*[gaz.dept_units(k) for k in decl])))
    n = len(df)
    return {
        "departement": _prf(dep_pairs),
        "entity": _prf(ent_pairs),
        "coverage": {
            "declared": round(n_declared / n, 4) if n else 0.0,
            "extracted": round(len(extracted) / n, 4) if n else 0.0,
            "n_datasets": n,
            "declared_resolved": len(ent_pairs),
        },
        "min_confidence": min_confidence,
        "unresolved_declared_names": dict(unresolved.most_common(10)),
    }


# ---------------------------------------------------------------------------------------------
# pipeline step
# ---------------------------------------------------------------------------------------------
def _round_coordinates(obj, digits: int):
    if isinstance(obj, float):
        return round(obj, digits)
    if isinstance(obj, list):
        return [_round_coordinates(x, digits) for x in obj]
    if isinstance(obj, dict):
        return {k: _round_coordinates(v, digits) for k, v in obj.items()}
    return obj


def build_territories(ctx) -> None:
    """Pipeline step: ``territories.parquet``, ``territory_entities.parquet``, the outlines of
    départements and régions (``geo_departements.json``, ``geo_regions.json``) and the evaluation
    against declared zones (``territories_eval.json``). Without the gazetteer folder: a warning
    and empty tables (the app then explains that the page has nothing to show)."""
    s = ctx.settings
    folder = Path(getattr(s, "geo_dir", "") or "")
    try:
        gaz = Gazetteer.load(folder)
    except FileNotFoundError as exc:
        log.warning("territories: no gazetteer (%s); writing an empty territories.parquet", exc)
        ctx.writer.save_parquet("territories.parquet", empty_frame())
        ctx.writer.save_parquet("territory_entities.parquet", pd.DataFrame(columns=ENTITY_COLUMNS))
        ctx.param("territories", geo_dir=str(folder), gazetteer=False)
        return
    t0 = time.perf_counter()
    terr = extract_frame(ctx.df, gaz, show_progress=s.show_progress,
                         runner=getattr(ctx, "dask", None), geo_dir=str(folder))
    dt = time.perf_counter() - t0
    ctx.writer.save_parquet("territories.parquet", terr)
    ctx.writer.save_parquet("territory_entities.parquet", entity_frame(gaz))
    # the French word forms that flag common-word names, for the app (saves it ~0.8 s at start)
    ctx.writer.save_npy("territory_lexicon.npy", french_lexicon().hashes)
    for name in ("departements", "regions"):
        src = folder / f"{name}.geojson"
        if src.exists():  # 4 decimals (~10 m) are plenty for a choropleth, and a third of the bytes
            geo = _round_coordinates(json.loads(src.read_text(encoding="utf-8")), 4)
            ctx.writer.save_json(f"geo_{name}.json", geo)
    report = evaluate(ctx.df, terr, gaz)
    ctx.writer.save_json("territories_eval.json", report)
    n_rows = int(terr.loc[terr["confidence"] >= EVAL_CONFIDENCE, "row"].nunique()) if len(terr) else 0
    ctx.param("territories", geo_dir=str(folder), gazetteer=True, min_confidence=MIN_CONFIDENCE,
              app_confidence=EVAL_CONFIDENCE, n_territories=len(terr), n_datasets=n_rows,
              seconds_extraction=round(dt, 2))
    log.info("territories: %d (dataset, territory) pairs, %d datasets with one at >= %.1f, in %.1f s; "
             "département level precision %s recall %s", len(terr), n_rows, EVAL_CONFIDENCE, dt,
             report["departement"]["precision"], report["departement"]["recall"])

"""Where the datasets answering a question are: counts per département and région, national
datasets apart, per 100,000 inhabitants, the territories with none (« Où sont ces données ? »).

Answer-set rule (:data:`ANSWER_THRESHOLD`)
-------------------------------------------
A dataset answers the question when its hybrid relevance — keyword BM25F normalised by the
query's best attainable score, mixed with the semantic cosine normalised over the catalogue's
candidates, times the popularity prior and the boosts of the places, periods, producers and
formats the question names (:meth:`SearchEngine.mode_scores`) — is at least 0.30, **scored against
the whole catalogue** and then restricted to the filters (a dataset's score does not depend on
the filters, so a département's count is exactly what the territory filter keeps of the answer
set). Not a top k: a question about museums has hundreds of answers, one about one survey a few.

0.30 was chosen on the labelled files (``scripts/tools/coverage_threshold.py``; table in
``docs/fair-freshness-coverage.md``): it is the highest threshold at which at least half of the
labelled relevant datasets of questions-public (20 questions with up to 463 relevant datasets
each, spread over many places: the coverage's own use case) are in the answer set (0.512; 0.441
at 0.40); lower thresholds gain nothing on questions-forum (0.833 from 0.40 down to 0.20) nor on
search-indicator-datasets (0.922 from 0.50 down to 0.15) while the answer set grows (median 203
datasets at 0.30 on questions-public, 414 at 0.20).

Counting (:mod:`models.serve.filters` territories): a dataset counts for a département when one
of its territories — declared or extracted (confidence ≥ 0.5) — is the département or lies in it
(a commune, an EPCI with communes there); for a région likewise. « National » datasets are those
placed in France as a whole (territory ``pays:FR``), shown apart and not spread over the map.

Big communes (:data:`BIG_COMMUNE_POPULATION`): the communes of the 101 départements with at least
50,000 inhabitants (the COG populations of the build's territory entities; a municipal
arrondissement of Paris, Lyon or Marseille is part of its commune, not one of them), each counted
like a département — the answers placed in it or in a part of it, exactly what the territory
filter ``commune:CODE`` keeps — with its centroid (``communes-centroids.csv`` of the COG folder the
build used) for the map; those with no answer are listed too (``n`` = 0).
"""

from __future__ import annotations

import csv
import io
import logging
import re
import threading
import time
import weakref
from pathlib import Path

import numpy as np

from models.core.config import DEFAULT_GEO, _env
from models.serve.search import clean_query

log = logging.getLogger(__name__)

ANSWER_THRESHOLD = 0.30
ANSWER_MODE = "hybrid"
RULE_FR = ("jeux dont la pertinence hybride (mots-clés et sens, sur tout le catalogue) atteint 0,30, "
           "puis restreints aux filtres — pas les k premiers")
_DEP_RE = re.compile(r"^(\d\d|2A|2B|97[12346])$")  # the 101 départements (not the COM)
_REG_RE = re.compile(r"^\d\d$")  # the 18 régions
BIG_COMMUNE_POPULATION = 50_000
CENTROIDS_FILE = "communes-centroids.csv"
_MAP_INDEX: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # explorer -> its _map_index
_MAP_INDEX_LOCK = threading.Lock()


def _french_list(names: list[str], limit: int = 12) -> str:
    if len(names) <= limit:
        return ", ".join(names)
    return ", ".join(names[:limit]) + f" et {len(names) - limit} autres"


def _map_index(explorer) -> dict:
    """Positions of the 101 départements and 18 régions among the filter territories, their
    codes, names and populations: computed once per build (kept while the explorer lives)."""
    cached = _MAP_INDEX.get(explorer)
    if cached is not None:
        return cached
    t = explorer.catalogue.territories
    ents = explorer.territories.entities
    pop = ents.get("population")
    out = {}
    for level, rx in (("departement", _DEP_RE), ("region", _REG_RE)):
        pos, codes, names, pops = [], [], [], []
        for i, key in enumerate(t["keys"]):
            if t["levels"][i] != level:
                continue
            code = key.split(":", 1)[1]
            if not rx.match(code):
                continue
            pos.append(i)
            codes.append(code)
            names.append(str(t["names"][i]))
            p = float(pop.get(key, 0) or 0) if pop is not None else 0.0
            pops.append(p)
        out[level] = {"pos": np.asarray(pos, dtype=np.int64), "codes": codes, "names": names,
                      "pops": np.asarray(pops, dtype=np.float64)}
    out["commune"] = _big_communes(explorer)
    with _MAP_INDEX_LOCK:
        _MAP_INDEX[explorer] = out
    return out


def _centroids(explorer) -> dict[str, tuple[float, float]]:
    """``{commune code: (lat, lon)}`` from the COG folder the build used (manifest
    ``parameters.territories.geo_dir``, then ``EXPLORER_GEO``); empty when neither has the file."""
    geo = explorer.artifacts.manifest.get("parameters", {}).get("territories", {}).get("geo_dir")
    for folder in [f for f in (geo, _env("GEO", str(DEFAULT_GEO))) if f]:
        path = Path(folder) / CENTROIDS_FILE
        try:
            with path.open(encoding="utf-8", newline="") as fh:
                out = {}
                for rec in csv.DictReader(fh):
                    try:
                        out[str(rec["code"])] = (float(rec["lat"]), float(rec["lon"]))
                    except (KeyError, TypeError, ValueError):
                        continue
                return out
        except OSError as exc:
            log.info("commune centroids not read from %s (%s)", path, exc)
    log.warning("no commune centroids for %s: the big communes are listed, not drawn",
                explorer.artifacts.dir)
    return {}


def _big_communes(explorer) -> dict:
    """Positions, codes, names, populations, départements and centroids (None when unknown) of
    the communes of :data:`BIG_COMMUNE_POPULATION` inhabitants or more, largest first."""
    t = explorer.catalogue.territories
    ents = explorer.territories.entities
    recs = []
    if len(ents) and "population" in ents:
        big = ents[(ents["level"] == "commune") & (ents["population"].fillna(0) >= BIG_COMMUNE_POPULATION)]
        for key, rec in big.iterrows():
            parent = rec.get("parent")
            deps = list(rec.get("departements") or [])
            if (isinstance(parent, str) and parent) or not deps or not _DEP_RE.match(str(deps[0])):
                continue  # a municipal arrondissement, or a commune outside the 101 départements
            i = t["pos"].get(key)
            if i is None:
                continue
            recs.append((int(i), str(rec["code"]), str(rec["name"]), float(rec["population"]), str(deps[0])))
    recs.sort(key=lambda r: (-r[3], r[1]))
    cents = _centroids(explorer) if recs else {}
    return {"pos": np.asarray([r[0] for r in recs], dtype=np.int64), "codes": [r[1] for r in recs],
            "names": [r[2] for r in recs], "pops": np.asarray([r[3] for r in recs], dtype=np.float64),
            "deps": [r[4] for r in recs], "centroids": [cents.get(r[1]) for r in recs]}


def answer_mask(explorer, query: str, filters=None) -> tuple[np.ndarray, list[str]]:
    """Rows answering ``query`` under ``filters`` (see the module docstring) and the French
    messages for the filters dropped. No query: every row the filters keep."""
    engine = explorer.engine
    clean, errors = engine.clean_filters(filters)
    mask = explorer.catalogue.mask(clean) if clean else None
    q = engine.spell(clean_query(query, explorer.max_query_chars)).text if query else ""
    if q:
        und = engine.query_understanding(q) if ANSWER_MODE == "hybrid" else None
        sc = engine.mode_scores(q, ANSWER_MODE, understanding=und)
        ans = np.isfinite(sc) & (sc >= ANSWER_THRESHOLD)
    else:
        ans = np.ones(explorer.n, dtype=bool) if mask is not None else np.zeros(explorer.n, dtype=bool)
    if mask is not None:
        ans &= mask
    return ans, errors


SELECTION_RULE_FR = "les jeux choisis (sélection sur la carte), tels quels"


def coverage(explorer, query: str, *, filters=None, per_inhabitants: bool = False,
             rows=None, rule: str | None = None, label: str | None = None) -> dict:
    """``{"query", "rule", "threshold", "n_answers", "national", "departements": {code: n},
    "regions": {code: n}, "gaps": [code…], "gap_names", "gap_message", "messages"}`` (and
    ``per_100k`` when asked: counts per 100,000 inhabitants of each département and région).
    ``rows``: count these datasets instead of a question's answers (a selection on the map, a
    topic), ``rule`` saying which they are and ``label`` what they have in common (for the page)."""
    t0 = time.perf_counter()
    selected = rows is not None
    if selected:
        ans = np.zeros(explorer.n, dtype=bool)
        r = np.asarray([int(x) for x in rows if 0 <= int(x) < explorer.n], dtype=np.int64)
        ans[r] = True
        messages: list[str] = []
        query, filters = "", None
    else:
        ans, messages = answer_mask(explorer, query or "", filters)
    cat = explorer.catalogue
    t = cat.territories
    rows = np.flatnonzero(ans)
    ptr = t["row_ptr"]
    starts, lens = ptr[rows], ptr[rows + 1] - ptr[rows]
    total = int(lens.sum())
    offs = np.arange(total) - np.repeat(np.cumsum(lens) - lens, lens)
    counts = np.bincount(t["by_row_ents"][np.repeat(starts, lens) + offs], minlength=len(t["keys"]))
    fr = t["pos"].get("pays:FR")
    national = 0
    if fr is not None:
        nat_rows = cat.direct_rows_of(fr)
        national = int(np.count_nonzero(ans[nat_rows])) if len(nat_rows) else 0
    idx = _map_index(explorer)
    deps, regs, names, pops = {}, {}, {}, {}
    for level, d in (("departement", deps), ("region", regs)):
        m = idx[level]
        for code, name, k, p in zip(m["codes"], m["names"], counts[m["pos"]], m["pops"], strict=True):
            d[code] = int(k)
            names[f"{level}:{code}"] = name
            pops[f"{level}:{code}"] = p
    m = idx["commune"]
    communes = []
    for code, name, k, p, dep, ll in zip(m["codes"], m["names"], counts[m["pos"]], m["pops"], m["deps"],
                                         m["centroids"], strict=True):
        communes.append({"code": code, "name": name, "departement": dep, "population": int(p),
                         "n": int(k), "lat": ll[0] if ll else None, "lon": ll[1] if ll else None})
    gaps = sorted(c for c, n in deps.items() if n == 0)
    gap_names = [names[f"departement:{c}"] for c in gaps]
    if gaps:
        msg = (f"Aucun jeu sur ce sujet pour {len(gaps)} département{'s' if len(gaps) > 1 else ''}\u202f: "
               f"{_french_list(gap_names)}")
    else:
        msg = "Au moins un jeu sur ce sujet dans chaque département"
    out = {"query": query or "", "filters": explorer.engine.clean_filters(filters)[0] if filters else {},
           "rule": rule or (SELECTION_RULE_FR if selected else RULE_FR), "label": label or "",
           "threshold": None if selected else ANSWER_THRESHOLD, "mode": ANSWER_MODE,
           "selection": selected,
           "n_answers": len(rows), "national": national,
           "departements": {c: n for c, n in sorted(deps.items()) if n},
           "regions": {c: n for c, n in sorted(regs.items()) if n},
           "gaps": gaps, "gap_names": gap_names, "gap_message": msg,
           "commune_threshold": BIG_COMMUNE_POPULATION, "communes": communes,
           "commune_gaps": [c["code"] for c in communes if not c["n"]],
           "names": {k.split(":", 1)[1] if k.startswith("departement:") else k: v for k, v in names.items()},
           "messages": messages}
    if per_inhabitants:
        def per(level, d):
            res = {}
            for c, n in d.items():
                p = pops.get(f"{level}:{c}", 0.0)
                if n and p > 0:
                    res[c] = round(n * 100_000 / p, 3)
            return res
        out["per_100k"] = {"departements": per("departement", deps), "regions": per("region", regs),
                           "communes": {c["code"]: round(c["n"] * 100_000 / c["population"], 3)
                                        for c in communes if c["n"] and c["population"] > 0}}
        for c in communes:
            c["per_100k"] = out["per_100k"]["communes"].get(c["code"], 0.0)
    out["elapsed_ms"] = round((time.perf_counter() - t0) * 1000, 1)
    return out


def coverage_csv(out: dict) -> str:
    """The départements, régions and big communes of a :func:`coverage` answer as CSV (French
    headers; every département and big commune listed, those with none with 0), then the national
    count.

    Examples
    --------
    >>> out = {"departements": {"31": 4}, "gaps": ["32"], "regions": {"76": 4}, "national": 2,
    ...        "names": {"31": "Haute-Garonne", "32": "Gers", "region:76": "Occitanie"},
    ...        "communes": [{"code": "31555", "name": "Toulouse", "n": 3}],
    ...        "per_100k": {"departements": {"31": 0.286}}}
    >>> coverage_csv(out).splitlines()
    ['niveau,code,nom,jeux,jeux pour 100 000 habitants', 'département,31,Haute-Garonne,4,0.286',
     'département,32,Gers,0,', 'région,76,Occitanie,4,', 'commune,31555,Toulouse,3,',
     'national,FR,France entière,2,']
    """
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["niveau", "code", "nom", "jeux", "jeux pour 100 000 habitants"])
    per = out.get("per_100k") or {}
    names = out.get("names") or {}
    codes = sorted(set(out.get("departements", {})) | set(out.get("gaps", [])))
    for c in codes:
        w.writerow(["département", c, names.get(c, ""), out["departements"].get(c, 0),
                    per.get("departements", {}).get(c, "")])
    for c, n in out.get("regions", {}).items():
        w.writerow(["région", c, names.get(f"region:{c}", ""), n, per.get("regions", {}).get(c, "")])
    for c in out.get("communes") or []:
        w.writerow(["commune", c["code"], c["name"], c["n"], per.get("communes", {}).get(c["code"], "")])
    w.writerow(["national", "FR", "France entière", out.get("national", 0), ""])
    return buf.getvalue()


def clusters_list(explorer) -> list[dict]:
    """The build's embedding clusters, largest first: ``[{"cluster", "label", "size"}]`` (empty
    when the build has none or its cluster files are unreadable).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"cluster": [1, 0], "label": ["air", "eau"], "size": [1, 2]})
    >>> explorer = SimpleNamespace(topics=SimpleNamespace(
    ...     has_clusters=True, clusters=lambda: (np.array([0, 1, 0, -1]), frame)))
    >>> clusters_list(explorer)
    [{'cluster': 0, 'label': 'eau', 'size': 2}, {'cluster': 1, 'label': 'air', 'size': 1}]
    """
    try:
        if not explorer.topics.has_clusters:
            return []
        _, frame = explorer.topics.clusters()
    except Exception:  # damaged cluster files: no entry rather than a broken page
        log.exception("clusters unavailable for the coverage")
        return []
    frame = frame.sort_values(["size", "cluster"], ascending=[False, True], kind="stable")
    return [{"cluster": int(c), "label": str(lab), "size": int(s)}
            for c, lab, s in zip(frame["cluster"], frame["label"], frame["size"], strict=True)]


def cluster_rows(explorer, cluster: int) -> np.ndarray | None:
    """Rows of embedding cluster ``cluster`` (``clusters.npy``), or None when the build has no
    such cluster (noise, -1, is not one).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"cluster": [0, 1], "label": ["eau", "air"], "size": [2, 1]})
    >>> explorer = SimpleNamespace(topics=SimpleNamespace(
    ...     has_clusters=True, clusters=lambda: (np.array([0, 1, 0, -1]), frame)))
    >>> cluster_rows(explorer, 0).tolist(), cluster_rows(explorer, -1), cluster_rows(explorer, 5)
    ([0, 2], None, None)
    """
    if isinstance(cluster, bool) or not isinstance(cluster, (int, np.integer)) or cluster < 0:
        return None
    try:
        if not explorer.topics.has_clusters:
            return None
        labels, frame = explorer.topics.clusters()
    except Exception:
        log.exception("clusters unavailable for the coverage")
        return None
    if int(cluster) not in set(int(c) for c in frame["cluster"]):
        return None
    return np.flatnonzero(np.asarray(labels) == int(cluster))

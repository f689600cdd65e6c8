"""FAIR metadata score of a build (:mod:`models.core.fair`): per dataset, per producer (with
its rank among producers of its kind), the ranked to-do list, a producer's CSV and the
comparison with the export's own ``quality_score``."""

from __future__ import annotations

import io
import logging
import re
import threading
import time
import unicodedata

import numpy as np
import pandas as pd

from models.core import fair
from models.core.french import quoted

log = logging.getLogger(__name__)

# kinds of producers, from the organisation's name (the export has no organisation type):
# first match wins, tested on the accent-folded lower-case name
PRODUCER_KINDS: tuple[tuple[str, str], ...] = (
    ("ministère", r"\bminister|\bsecretariat general|\bpremier ministre|\bdirection generale\b"),
    ("service de l'État", r"\bprefecture|\bprefet|\bdreal\b|\bdeal\b|\bddtm?\b|\bdraaf\b|\bdrac\b|\bdirm\b|"
                          r"\bdir\b|\bdreets\b|\bars\b|agence regionale de sante|\brectorat|"
                          r"\bacademie\b|direction (departementale|regionale|interdepartementale)"),
    ("région", r"^region\b|\bconseil regional|^collectivite (territoriale|europeenne|de corse)|"
               r"\bterritoriale de (corse|martinique|guyane)"),
    ("département", r"^departement\b|\bconseil departemental|\bconseil general|\ble departement$"),
    ("intercommunalité", r"\bmetropole\b|\bcommunaute (de communes|d.agglomeration|urbaine)|"
                         r"\bagglomeration\b|\bagglo\b|\beurometropole|^cc |^ca |\bsyndicat|"
                         r"\bpetr\b|^pays\b(?! de la loire)|\bcommunaute$|\bsivom|\bsivu"),
    ("commune", r"^(ville|commune|mairie)\b|^mairie d|^ville d|^commune d"),
    ("établissement public", r"\binstitut|\bagence\b|\boffice\b|\bcentre\b|\bcnrs\b|\binsee\b|"
                             r"\bign\b|\bademe\b|\bcerema\b|\bbrgm\b|\binrae?\b|\buniversite|"
                             r"\becole\b|\bchu\b|\bhopita|\bcaisse\b|\bassurance maladie|"
                             r"\bfrance travail|\bmuseum|\bmusee|\bbibliotheque|\betablissement public|"
                             r"\bcommission|\bautorite|\bconseil\b|\bobservatoire|\batmo\b|\bparc naturel|"
                             r"\bcour des comptes|meteo-france|\bshom\b|\bbureau de recherches|"
                             r"franceagrimer|\bunions? de recouvrement|\burssaf|\bchr\b|\bconservatoire|"
                             r"\bmobilites\b"),
    ("entreprise", r"\bsa\b|\bsas\b|\bsarl\b|\bsnc\b|\bgroupe\b|\bsncf|\bedf\b|\benedis|\bgrdf|\brte\b|"
                   r"\bengie|\borange\b|\bla poste|\btransdev|\bkeolis|\bveolia|\bsuez\b|\bsemop?\b|"
                   r"\bspl\b|\bsociete\b|\bentreprise|\bgmbh\b|\bltd\b|\binc\b|\bsuccursale\b|"
                   r"electricite de france"),
    ("association", r"\bassociation|\bfederation|\bfondation|\bcollectif\b|\bopenstreetmap|\bclub\b"),
)
_KIND_RES = tuple((k, re.compile(p)) for k, p in PRODUCER_KINDS)


def _fold(s: str) -> str:
    return unicodedata.normalize("NFKD", str(s or "").lower()).encode("ascii", "ignore").decode()


def producer_kind(name: str, account: str = "organisation") -> str:
    """The kind of a producer (:data:`PRODUCER_KINDS`; « utilisateur » for a personal account,
    « autre organisation » when nothing matches).

    Examples
    --------
    >>> [producer_kind(n) for n in ("Ville de Lyon", "Toulouse Métropole", "INSEE", "Jean Dupont")]
    ['commune', 'intercommunalité', 'établissement public', 'autre organisation']
    >>> producer_kind("Jean Dupont", "utilisateur")
    'utilisateur'
    """
    if account == "utilisateur":
        return "utilisateur"
    if account == "aucun":
        return "sans organisation"
    s = _fold(name).strip()
    for kind, rx in _KIND_RES:
        if rx.search(s):
            return kind
    return "autre organisation"


class FairService:
    """FAIR score of one build (read-only once computed, thread-safe).

    Examples
    --------
    >>> ds = pd.DataFrame({"id": ["a", "b"], "title": ["Budget", "Trafic"], "description": ["Un budget", ""],
    ...                    "license": ["odbl", ""], "organization": ["Lyon", "Lyon"]})
    >>> FairService(ds, producers=None).scored[["points", "rating"]].values.tolist()
    [[40, 'Bad'], [10, 'Bad']]
    """

    def __init__(self, datasets, *, producers) -> None:
        """``datasets``: the build's frame; ``producers``: its
        :class:`models.serve.producers.ProducerService`."""
        self.datasets = datasets
        self.producer_service = producers
        self._lock = threading.Lock()
        self._scored: pd.DataFrame | None = None
        self._producers: pd.DataFrame | None = None

    @property
    def scored(self) -> pd.DataFrame:
        """:func:`models.core.fair.score` of every row (index: row)."""
        if self._scored is None:
            with self._lock:
                if self._scored is None:
                    t0 = time.perf_counter()
                    self._scored = fair.score(self.datasets.reset_index(drop=True))
                    log.info("FAIR score of %d datasets in %.2f s", len(self._scored),
                             time.perf_counter() - t0)
        return self._scored

    @property
    def producers(self) -> pd.DataFrame:
        """One row per producer: ``producer_id``, ``organization``, ``kind``, ``n``, ``points``
        (mean), ``rating``, ``rank`` among producers of its kind (1: best) and ``of`` (how many)."""
        if self._producers is None:
            prod = self.producer_service
            of_row = np.asarray(prod.of_row, dtype=np.int64)
            k = len(prod.table)
            n = np.bincount(of_row, minlength=k)
            tot = np.bincount(of_row, weights=self.scored["points"].to_numpy(dtype=np.float64), minlength=k)
            t = prod.table
            account = t["kind"].astype(str) if "kind" in t else pd.Series(["organisation"] * k)
            out = pd.DataFrame({"producer_id": t["producer_id"].astype(str).to_numpy(),
                                "organization": t["organization"].astype(str).to_numpy(),
                                "kind": [producer_kind(a, b) for a, b in
                                         zip(t["organization"].astype(str), account, strict=True)],
                                "n": n})
            out["points"] = np.where(n > 0, tot / np.maximum(n, 1), np.nan)
            out["rating"] = [str(fair.rating(p)) if n_ else ""
                             for p, n_ in zip(out["points"], n, strict=True)]
            has = out["n"] > 0
            out["rank"] = np.nan
            out.loc[has, "rank"] = out[has].groupby("kind")["points"].rank(ascending=False, method="min")
            out["of"] = out["kind"].map(out[has].groupby("kind").size()).fillna(0).astype(int)
            self._producers = out
        return self._producers

    def _rows(self, producer_id: str | None) -> np.ndarray | None:
        if not producer_id:
            return None
        prod = self.producer_service
        p = prod.index_of(producer_id)
        if p is None:
            raise ValueError(f"producteur {quoted(str(producer_id)[:80])} inconnu dans ce catalogue")
        return np.asarray(prod.rows(p), dtype=np.int64)

    def rows(self, producer_id: str) -> np.ndarray:
        """Rows of a producer (ValueError, in French, when unknown)."""
        return self._rows(producer_id)

    def summary(self, producer_id: str | None = None) -> dict:
        rows = self._rows(producer_id)
        s = self.scored if rows is None else self.scored.iloc[rows]
        return fair.summary(s)

    def todo(self, producer_id: str | None = None, *, catalogue: bool = False) -> list[dict]:
        """The ranked to-do list of the catalogue or of a producer (``catalogue``: a producer's
        fixes counted as points for the whole catalogue)."""
        rows = self._rows(producer_id)
        s = self.scored if rows is None else self.scored.iloc[rows]
        ids = self.datasets["id"].astype(str).to_numpy()
        sub_ids = pd.Series(ids if rows is None else ids[rows], index=s.index)
        return fair.todo(s, sub_ids, catalogue_n=len(self.datasets) if catalogue else None)

    def producer_rank(self, producer_id: str) -> dict:
        t = self.producers
        r = t[t["producer_id"] == producer_id]
        if not len(r):
            raise ValueError(f"producteur {quoted(str(producer_id)[:80])} inconnu dans ce catalogue")
        r = r.iloc[0]
        return {"kind": r["kind"], "rank": None if pd.isna(r["rank"]) else int(r["rank"]),
                "of": int(r["of"]), "points": None if pd.isna(r["points"]) else round(float(r["points"]), 2)}

    def csv(self, producer_id: str) -> str:
        """One line per dataset of the producer: id, title, points per indicator and dimension,
        total, rating (UTF-8, comma-separated)."""
        rows = self._rows(producer_id)
        ds = self.datasets
        s = self.scored.iloc[rows]
        out = pd.DataFrame({"id": ds["id"].astype(str).to_numpy()[rows],
                            "titre": ds["title"].fillna("").astype(str).to_numpy()[rows]})
        for col in s.columns:
            out[col.replace("dim:", "dimension_")] = s[col].to_numpy()
        buf = io.StringIO()
        out.to_csv(buf, index=False)
        return buf.getvalue()

    def spearman(self) -> dict:
        """Rank correlation of our points with the export's ``quality_score`` (datasets with one)."""
        q = pd.to_numeric(self.datasets.get("quality_score"), errors="coerce")
        if q is None:
            return {"n": 0, "spearman": None}
        q = q.reset_index(drop=True)
        ok = q.notna().to_numpy()
        ours = self.scored["points"].to_numpy()[ok]
        theirs = q.to_numpy()[ok]
        if ok.sum() < 3:
            return {"n": int(ok.sum()), "spearman": None}
        rho = pd.Series(ours).rank().corr(pd.Series(theirs).rank())
        return {"n": int(ok.sum()), "spearman": round(float(rho), 4)}

    def as_json(self, producer_id: str | None = None, *, top: int = 10, ids_per_item: int | None = None
                ) -> dict:
        """What ``python -m models fair --json`` prints."""
        s = self.summary(producer_id)
        out: dict = {"n": s["n"], "score": {"points": s["points"], "max": s["max"], "rating": s["rating"],
                                            "rating_fr": s.get("rating_fr")},
                     "dimensions": s["dimensions"], "indicators": s["indicators"],
                     "left_out": [{"dimension": d, "key": k, "mqa_points": p, "why": w}
                                  for d, k, p, w in fair.LEFT_OUT],
                     "mqa_max": fair.MQA_MAX,
                     "thresholds": {name: round(lo, 1) for lo, name in fair.THRESHOLDS}}
        if producer_id:
            out["producer"] = {"id": producer_id, **self.producer_rank(producer_id)}
        items = self.todo(producer_id)[:top]
        if ids_per_item is not None:
            items = [{**it, "ids": it["ids"][:ids_per_item]} for it in items]
        out["todo"] = items
        return out

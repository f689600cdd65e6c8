"""Map labels at every zoom: a hierarchy of regions of the 2D map, each named in French.

Levels (0 = broad, shown at full view; the last = fine, shown when zoomed in):

1. the finest level is k-means on the 2D map coordinates (every dataset belongs to a region,
   and a region is a compact patch of the map, so its label sits on its points);
2. the coarser levels cut one Ward dendrogram of the fine centroids (weighted by size), so they
   nest exactly: every fine region has one parent at each coarser level.

Labels: class-based TF-IDF over the lemmas of ``ctx.topic_tokens`` (stop words, catalogue
boilerplate and generic words already out), where a word's weight in a region is the sum over
producers of sqrt(number of that producer's datasets using it): one producer's 500 look-alike
datasets count like ~22 datasets, so producer boilerplate does not name the region. A child's
label avoids its parent's words when it has other good ones (zoomed in, it says what differs).
Each lemma is shown as its most frequent written form in the titles (``pari`` -> ``paris``,
``électoral`` -> ``électorales``), never a stem.

Files: ``hierarchy.parquet`` (level, cluster, x, y, label, size, parent, terms) and
``hierarchy_rows.npy`` (int32, n × levels: the region of each dataset at each level).
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections import Counter, defaultdict

import numpy as np
import pandas as pd

from models.core.text import (
    _TOKEN,
    NOT_LEMMATISED,
    STOP_WORDS,
    TOPIC_STOP_WORDS,
    drop_elisions,
    fold_accents,
    is_label_word,
    lemma,
    tokenize_fr,
    topic_text,
)
from models.pipeline.lda import ensure_topic_tokens
from models.pipeline.sample import producer_keys

log = logging.getLogger(__name__)

SURFACE_DESCRIPTION_CHARS = 300
LABEL_WORDS = 3  # words per label (2 when the third is weak)
MIN_LABEL_WORDS = 2
WEAK_WORD = 0.35  # a third word scoring under 35 % of the first is left out
CANDIDATES = 15  # words looked at per region
PREFIX = 5  # two words sharing their first 5 letters (accents folded) are one word
# Words that fit any region (adverbs, vague adjectives and nouns) on top of the topic stop words.
LABEL_STOP_WORDS = frozenset("""
notamment également ainsi aussi directement respectivement principalement actuellement
nécessaire nécessaires attention choix raison ajouté ajoutée annexer reporter intégrant
conforme conformément possible possibles certain certaine différents différentes divers
diverses nouveau nouvelle nouveaux nouvelles ancien ancienne principal principale principaux
propre propres seul seule seules simple exemple ensemble suite sujet cadre mesure domaine
moyen moyens manière chaque certains autre autres tout toute toutes plusieurs lié liée liés
liées relatif relative relatives concernant correspondant correspondante disponible
public publique publics publiques générale généraux tard mis tandis ans lors ème eme
multi important importante importants importantes
the of and to in for is on with by this from are be been under into over at as an or not
it its that which was were has have had will can all any each more most other some such
only also than then there these those their they them who what when where why how model
models text dataset datasets file files value values
""".split())
# Endings of inflected verb forms: a lemma in -er/-ir/-re written mostly this way is a verb
# ("aggraver": aggravé, aggravant), not a noun ("quartier": quartiers).
VERB_ENDINGS = ("é", "ée", "és", "ées", "ant", "ants", "ait", "aient", "ent", "ons", "ez",
                "era", "eront", "erait", "is", "ise", "ises", "it", "u", "ue", "us", "ues")
COLUMNS = ["level", "cluster", "x", "y", "label", "size", "parent", "terms"]


def level_sizes(n: int) -> list[int]:
    """Regions per level, broad to fine: about 30 / 95 / 290 for 70,000 datasets, 6 / 19 / 60
    for 3,000, 4 / 8 / 16 for 200; fewer levels when there are too few datasets."""
    if n < 8:
        return [1] if n else []
    root = math.sqrt(n)
    broad = int(np.clip(round(root / 9), 4, 30))
    fine = int(np.clip(round(root * 1.1), 3 * broad, 300))
    fine = min(fine, n // 2)
    if fine <= broad:
        return [max(1, min(broad, n // 2))]
    mid = round(math.sqrt(broad * fine))
    if mid <= broad or mid >= fine:
        return [broad, fine]
    return [broad, mid, fine]


def fit_levels(coords: np.ndarray, sizes: list[int], *, seed: int = 42) -> np.ndarray:
    """(n, len(sizes)) int32: the region of each row at each level, regions numbered by
    decreasing size within a level; levels nest (same dendrogram)."""
    from scipy.cluster.hierarchy import fcluster, linkage  # lazy: only this step needs scipy
    from sklearn.cluster import KMeans

    xy = np.asarray(coords, dtype=np.float64).reshape(-1, 2)
    n = len(xy)
    out = np.zeros((n, len(sizes)), dtype=np.int32)
    if n == 0 or not sizes:
        return out
    finite = np.isfinite(xy).all(axis=1)
    xy = np.where(finite[:, None], xy, np.nanmedian(xy[finite], axis=0) if finite.any() else 0.0)
    k_fine = min(sizes[-1], len(np.unique(xy, axis=0)))
    if k_fine <= 1:
        return out
    km = KMeans(n_clusters=k_fine, n_init=3, random_state=seed).fit(xy)
    fine = km.labels_.astype(np.int64)
    centres = km.cluster_centers_
    weights = np.bincount(fine, minlength=k_fine).astype(np.float64)
    out[:, -1] = _renumber(fine)
    if len(sizes) > 1:
        # Ward on the centres, each repeated about in proportion to its size (1 to 10 copies:
        # copies merge first, at distance 0), so big regions weigh more than small ones
        reps = np.maximum(1, np.round(10 * weights / weights.max())).astype(int)
        pts = np.repeat(centres, reps, axis=0)
        owner = np.repeat(np.arange(k_fine), reps)
        z = linkage(pts, method="ward")
        for li, k in enumerate(sizes[:-1]):
            cut = fcluster(z, t=min(k, k_fine), criterion="maxclust")
            # a fine centre's copies may straddle a cut: majority vote
            parent_of_fine = np.zeros(k_fine, dtype=np.int64)
            for f in range(k_fine):
                parent_of_fine[f] = np.bincount(cut[owner == f]).argmax()
            out[:, li] = _renumber(parent_of_fine[fine])
        _make_nested(out)
    return out


def _renumber(labels: np.ndarray) -> np.ndarray:
    """0, 1, ... by decreasing size (ties: lower old id first)."""
    labels = np.asarray(labels, dtype=np.int64)
    ids, counts = np.unique(labels, return_counts=True)
    order = ids[np.lexsort((ids, -counts))]
    mapping = np.empty(ids.max() + 1, dtype=np.int32)
    mapping[order] = np.arange(len(order), dtype=np.int32)
    return mapping[labels]


def _make_nested(levels: np.ndarray) -> None:
    """Force every region to have one parent (majority) at the level above, in place."""
    for li in range(levels.shape[1] - 1, 0, -1):
        child, parent = levels[:, li], levels[:, li - 1]
        for c in np.unique(child):
            m = child == c
            parent[m] = np.bincount(parent[m]).argmax()
        levels[:, li - 1] = parent


def _count_forms(texts) -> dict[str, Counter]:
    """lemma -> Counter of its written forms, with the lemmatisation rules of
    :func:`models.core.text.tokenize_fr`."""
    counts: dict[str, Counter] = defaultdict(Counter)
    for text in texts:
        if not text:
            continue
        for tok in _TOKEN.findall(drop_elisions(str(text).lower())):
            tok = tok.strip("-")
            if len(tok) < 3 or tok in STOP_WORDS or tok.isdigit():
                continue
            key = lemma(tok) if len(tok) > 3 and "-" not in tok and tok not in NOT_LEMMATISED else tok
            counts[key][tok] += 1
    return counts


def lemma_surface_forms(titles, texts) -> dict[str, str]:
    """For each lemma, its most frequent written form in the ``titles`` (where nouns dominate:
    "adresse", not the verb form "adressé"), else in the ``texts`` (ties: shortest, then
    alphabetical); "" for verbs and past participles (:func:`is_verb`), never label words."""
    in_titles = _count_forms(titles)
    in_texts = _count_forms(texts)
    for key, c in in_titles.items():
        in_texts[key].update(c)
    vocabulary = {w for c in in_texts.values() for w in c}
    accented: dict[str, Counter] = defaultdict(Counter)  # folded form -> forms with accents
    for c in in_texts.values():
        for w, v in c.items():
            if not w.isascii():
                accented[fold_accents(w)][w] += v
    out = {}
    for key, c in in_texts.items():
        forms = in_titles.get(key) or c
        word = min(forms.items(), key=lambda kv: (-kv[1], len(kv[0]), kv[0]))[0]
        if word.isascii() and word in accented:  # "unites" written without its accents
            word = accented[word].most_common(1)[0][0]
        glued = len(key) > 4 and key[0] in "dl" and key[1:] in in_texts  # "dinondation", "leau"
        inflected = (key.endswith(("er", "ir", "re")) and word != key
                     and word not in (key + "s", key + "x"))  # "exposées" (exposer), not "centres"
        verb = glued or inflected or is_verb(key, c, vocabulary) or is_participle(word, vocabulary)
        out[key] = "" if verb else word
    return out


def is_participle(word: str, vocabulary: set[str]) -> bool:
    """A past participle of an -er verb seen in the corpus ("organisée": organiser)."""
    for ending in ("ées", "és", "ée", "é"):
        if word.endswith(ending) and len(word) > len(ending) + 2:
            return word[: -len(ending)] + "er" in vocabulary
    return False


def is_verb(key: str, forms: Counter, vocabulary: set[str]) -> bool:
    """A lemma that is a verb (no part-of-speech tagger here): mostly written in inflected
    verb forms, or an -er/-ir/-re lemma whose participles or conjugated forms occur in the
    corpus ("générer": généré, générant; "rendre": rendu), unlike nouns such as "quartier"."""
    if len(key) < 5 or not key.endswith(("er", "ir", "re")):
        return False
    total = sum(forms.values())
    verbal = sum(v for w, v in forms.items() if w != key and w.endswith(VERB_ENDINGS))
    if verbal >= 0.3 * total:
        return True
    stem = key[:-2]
    if key.endswith("er"):
        probes = [stem + e for e in ("é", "ée", "és", "ées", "ant", "ent")]
    elif key.endswith("ir"):
        probes = [key[:-1] + "t", stem + "issant", stem + "issent"]
    else:
        probes = [stem + e for e in ("u", "ue", "us", "ant")]
    return any(p in vocabulary for p in probes)


def producer_weighted_tfidf(docs: list[list[str]], labels: np.ndarray, producers: np.ndarray,
                            *, min_df: int = 2):
    """Class-based TF-IDF where a word's frequency in class c is
    sum over producers p of sqrt(#datasets of p in c using the word).

    Returns (scores: classes × vocabulary dense float32, classes, vocabulary)."""
    from scipy import sparse  # lazy: only this step needs scipy
    from sklearn.feature_extraction.text import CountVectorizer

    labels = np.asarray(labels, dtype=np.int64)
    vec = CountVectorizer(analyzer=lambda d: d, min_df=min(min_df, max(1, len(docs))), binary=True)
    try:
        x = vec.fit_transform(docs).tocsr()
    except ValueError:  # empty vocabulary
        return np.zeros((0, 0), dtype=np.float32), np.array([], dtype=np.int64), np.array([])
    _, prod = np.unique(np.asarray(producers, dtype=object).astype(str), return_inverse=True)
    group_key = labels * (int(prod.max()) + 1) + prod
    groups, g = np.unique(group_key, return_inverse=True)
    n = len(labels)
    onehot = sparse.csr_matrix((np.ones(n), (g, np.arange(n))), shape=(len(groups), n))
    per_group = (onehot @ x).tocsr()
    per_group.data = np.sqrt(per_group.data)
    classes, class_of_group = np.unique(groups // (int(prod.max()) + 1), return_inverse=True)
    agg = sparse.csr_matrix((np.ones(len(groups)), (class_of_group, np.arange(len(groups)))),
                            shape=(len(classes), len(groups)))
    tf = (agg @ per_group).toarray().astype(np.float64)
    words_per_class = tf.sum(axis=1)
    freq = tf.sum(axis=0)
    idf = np.log1p(words_per_class.mean() / np.maximum(freq, 1e-9))
    scores = tf / np.maximum(words_per_class, 1e-9)[:, None] * idf[None, :]
    return scores.astype(np.float32), classes, np.asarray(vec.get_feature_names_out())


def _fold(word: str) -> str:
    return fold_accents(word)[:PREFIX]


_GARBAGE = re.compile(r"(.)\1\1|^[^aeiouyàâäéèêëîïôöùûü]+$")  # "aaaannnn", "nnnn", "ddd"


def pick_words(ranked: list[tuple[str, float]], surface: dict[str, str], n: int,
               skip: set[str] = frozenset(), candidates: int = CANDIDATES) -> list[tuple[str, float]]:
    """Up to ``n`` (written word, score) from (lemma, score) best first: real words only (no
    verb, stop word, label boilerplate or garbage), no two with the same start, none starting
    like a word of ``skip`` (folded prefixes)."""
    chosen: list[tuple[str, float]] = []
    starts: set[str] = set()
    for lem, score in ranked[:candidates]:
        word = surface.get(lem, lem)
        if (score <= 0 or not word or not is_label_word(lem) or not is_label_word(word)
                or _GARBAGE.search(fold_accents(word))
                or word in STOP_WORDS or word in LABEL_STOP_WORDS or lem in LABEL_STOP_WORDS):
            continue
        if _fold(word) in starts or _fold(word) in skip:
            continue
        chosen.append((word, score))
        starts.add(_fold(word))
        if len(chosen) == n:
            break
    return chosen


def choose_words(ranked: list[tuple[str, float]], surface: dict[str, str],
                 avoid: set[str] = frozenset()) -> list[str]:
    """2–3 label words from (lemma, score) best first: real words only, no two with the same
    start, the parent's words avoided when there are enough others."""
    chosen = pick_words(ranked, surface, LABEL_WORDS, {_fold(w) for w in avoid})
    if len(chosen) < MIN_LABEL_WORDS and avoid:
        chosen = pick_words(ranked, surface, LABEL_WORDS)
    if len(chosen) == LABEL_WORDS and chosen[-1][1] < WEAK_WORD * chosen[0][1]:
        chosen = chosen[:-1]
    return [w for w, _ in chosen]


def label_point(coords: np.ndarray, rows: np.ndarray) -> tuple[float, float]:
    """Where a region's label goes: its member nearest the members' mean (never in a void)."""
    pts = coords[rows]
    centre = pts.mean(axis=0)
    best = int(np.argmin(((pts - centre) ** 2).sum(axis=1)))
    return float(pts[best, 0]), float(pts[best, 1])


def hierarchy_frame(coords: np.ndarray, levels: np.ndarray, docs: list[list[str]],
                    producers, surface: dict[str, str]) -> pd.DataFrame:
    """One row per (level, region): position, label, size, parent region, top terms."""
    coords = np.asarray(coords, dtype=np.float64).reshape(-1, 2)
    rows_out = []
    labels_by_level: list[dict[int, list[str]]] = []
    for li in range(levels.shape[1]):
        lab = levels[:, li]
        scores, classes, vocab = producer_weighted_tfidf(docs, lab, producers)
        names: dict[int, list[str]] = {}
        used: set[str] = set()
        for ci in np.argsort(-np.bincount(lab)[classes], kind="stable"):  # biggest first
            c = classes[ci]
            members = np.flatnonzero(lab == c)
            parent = int(np.bincount(levels[members, li - 1]).argmax()) if li else -1
            if scores.size:
                row = scores[ci]
                top = np.argsort(-row, kind="stable")[:CANDIDATES * 2]
                ranked = [(str(vocab[j]), float(row[j])) for j in top]
            else:
                ranked = []
            avoid = set(labels_by_level[li - 1].get(parent, [])) if li else set()
            words = choose_words(ranked, surface, avoid)
            for _ in range(3):  # a bigger region of this level has the same label: other words
                if " · ".join(words) not in used or not words:
                    break
                avoid.add(words[0])
                words = choose_words(ranked, surface, avoid) or words
            used.add(" · ".join(words))
            names[int(c)] = words
            x, y = label_point(coords, members)
            rows_out.append({"level": li, "cluster": int(c), "x": x, "y": y,
                             "label": " · ".join(words) or f"région {int(c) + 1}",
                             "size": len(members), "parent": parent,
                             "terms": [surface.get(w) or w for w, s in ranked[:10] if s > 0]})
        labels_by_level.append(names)
    frame = pd.DataFrame(rows_out, columns=COLUMNS)
    return frame.astype({"level": "int16", "cluster": "int32", "x": "float32", "y": "float32",
                         "size": "int32", "parent": "int32"})


def label_docs(df: pd.DataFrame, topic_tokens: list[list[str]]) -> list[list[str]]:
    """The words a region's label is chosen from: the lemmas of each dataset's title and tags
    (what the dataset is), not of its description (long boilerplate copied by many producers:
    risk-plan notices, licence paragraphs). A dataset without any falls back to its topic tokens."""
    out = []
    for title, tags, fallback in zip(df["title"].fillna(""), df["tags"], topic_tokens, strict=True):
        tag_text = " ".join(str(t).replace("-", " ") for t in (tags if tags is not None else []))
        words = [w for w in tokenize_fr(f"{title} {tag_text}", lemmatize=True) if w not in TOPIC_STOP_WORDS]
        out.append(words or fallback)
    return out


def catalogue_surface_forms(df: pd.DataFrame) -> dict[str, str]:
    """:func:`lemma_surface_forms` of a build's datasets: titles first; verb detection also on
    tags and the descriptions' first sentences (the whole descriptions cost minutes on the full
    catalogue for nothing more)."""
    return lemma_surface_forms(
        df["title"].fillna("").tolist(),
        (topic_text(t, (d or "")[:SURFACE_DESCRIPTION_CHARS], g)
         for t, d, g in zip(df["title"], df["description_text"], df["tags"], strict=True)))


def ensure_label_words(ctx) -> tuple[list[list[str]], dict[str, str]]:
    """(:func:`label_docs`, :func:`catalogue_surface_forms`) of the build, computed once (the
    ``hierarchy`` and ``topic_periods`` steps share them)."""
    if getattr(ctx, "label_words", None) is None:
        ctx.label_words = (label_docs(ctx.df, ensure_topic_tokens(ctx)), catalogue_surface_forms(ctx.df))
    return ctx.label_words


def build_hierarchy(ctx) -> None:
    """The ``hierarchy`` step: regions of the 2D map at 2–3 levels, with French labels."""
    s = ctx.settings
    t0, cpu0 = time.perf_counter(), time.process_time()
    coords = np.load(ctx.writer.path("umap.npy"))
    n = len(coords)
    sizes = level_sizes(n)
    levels = fit_levels(coords, sizes, seed=s.seed)
    t_fit = time.perf_counter() - t0
    df = ctx.df
    docs, surface = ensure_label_words(ctx)
    producers = producer_keys(df).to_numpy()
    frame = hierarchy_frame(coords, levels, docs, producers, surface)
    t_all = time.perf_counter() - t0
    ctx.writer.save_parquet("hierarchy.parquet", frame)
    ctx.writer.save_npy("hierarchy_rows.npy", levels.astype(np.int32))
    per_level = [int((frame["level"] == li).sum()) for li in range(levels.shape[1])]
    ctx.param("hierarchy", method="k-means on the 2D map (finest level) + Ward tree of its "
              "centres (coarser levels, nested)", target_sizes=sizes, per_level=per_level,
              seed=s.seed, kmeans_n_init=3, labels="c-tf-idf over lemmas, sqrt-per-producer "
              "frequencies, most frequent written form", label_words=LABEL_WORDS,
              seconds={"fit": round(t_fit, 2), "total": round(t_all, 2)},
              cpu_seconds=round(time.process_time() - cpu0, 2))
    log.info("hierarchy: %s regions per level in %.1f s", per_level, t_all)

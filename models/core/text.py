"""French text: markup stripping for the models, tokens for LDA, passages for embeddings."""

from __future__ import annotations

import html
import re
import unicodedata
from functools import lru_cache
from itertools import pairwise

_TAG = re.compile(r"<[^>]{0,2000}>")
_SCRIPT = re.compile(r"<(script|style)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_MD_IMAGE = re.compile(r"!\[([^\]]{0,500})\]\([^)]{0,2000}\)")
_MD_LINK = re.compile(r"\[([^\]]{0,500})\]\([^)]{0,2000}\)")
_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_MD_SYNTAX = re.compile(r"(^|\s)(#{1,6}|>+|[-*+]|\d+\.)\s+", re.MULTILINE)
_MD_EMPH = re.compile(r"(\*{1,3}|_{2,3}|`{1,3}|~~)")
_TABLE = re.compile(r"\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?")
_EMPH_CHARS = re.compile(r"[*`]|__|~~")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# a Markdown backslash escape: « \- Une base », « id\_carreau », « \[action 3] » (1,220 descriptions)
_MD_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|>~<])")


def strip_markup(text: str | None) -> str:
    """Markdown/HTML description -> one line of plain text (entities decoded, URLs removed).

    Examples
    --------
    >>> strip_markup("<p>Les **piscines** de [Lyon](https://lyon.fr) &amp; environs</p>")
    'Les piscines de Lyon & environs'
    >>> strip_markup("## Sources  voir https://data.gouv.fr | CSV"), strip_markup(None)
    ('Sources voir CSV', '')
    >>> strip_markup("Colonnes : \\- id\\_carreau \\[action 3]")  # Markdown escapes
    'Colonnes : id_carreau [action 3]'
    """
    if not text:
        return ""
    # each guard is a substring every match of its pattern contains, so a skipped pattern could not
    # have matched: the output is the same, the catalogue's ingest ~9 s shorter (docs/measurements.md)
    s = _CONTROL.sub(" ", text)
    if "<" in s:
        s = _SCRIPT.sub(" ", s)
        s = _TAG.sub(" ", s)
    if "&" in s:
        s = html.unescape(s)
    if "\\" in s:  # escaped characters read as themselves (before the patterns that remove markup)
        s = _MD_ESCAPE.sub(r"\1", s)
    if "](" in s:
        s = _MD_IMAGE.sub(r"\1", s)
        s = _MD_LINK.sub(r"\1", s)
    if "://" in s or "www." in s.lower():
        s = _URL.sub(" ", s)
    if "---" in s:
        s = _TABLE.sub(" ", s)
    s = _MD_SYNTAX.sub(" ", s)
    if _EMPH_CHARS.search(s):
        s = _MD_EMPH.sub("", s)
    # str.split() and the regex ``\s`` agree on what whitespace is (both use str.isspace)
    return " ".join(s.replace("|", " ").split())


PASSAGE_DESCRIPTION_CHARS = 1500


def passage_text(title: str, description_text: str) -> str:
    """The text embedded for a dataset (the embedding cache is keyed by it).

    Examples
    --------
    >>> passage_text(" Piscines ", "Horaires et tarifs."), passage_text("Piscines", "")
    ('Piscines. Horaires et tarifs.', 'Piscines')
    """
    desc = (description_text or "")[:PASSAGE_DESCRIPTION_CHARS]
    title = (title or "").strip()
    return f"{title}. {desc}".strip() if desc else title


# French stop words (function words, frequent verbs) ...
FRENCH_STOP_WORDS = frozenset("""
a à afin ai aie aient aies ait alors as au aucun aucune aupres auquel aussi autre autres aux
auxquelles auxquels avaient avais avait avant avec avez aviez avions avoir avons ayant ayez
ayons c ça car ce ceci cela celle celles celui cependant certain certaine certaines certains ces cet
cette ceux chacun chacune chaque chez ci comme comment concernant contre d dans de depuis des
desquelles desquels dessous dessus deux doit donc dont du duquel durant dès elle elles en encore
entre es est et étaient étais était étant été êtes étiez étions être eu eue eues eurent eus eusse
eussent eusses eussiez eussions eust eut eûmes eût eûtes eux faire fait font furent fus fusse
fussent fusses fussiez fussions fut fûmes fût fûtes hormis hors ici il ils j je jusqu jusque l la
laquelle le lequel les lesquelles lesquels leur leurs lors lorsque lui m ma mais me même mêmes
mes moi moins mon n ne ni non nos notre nôtre nous on ont ou où par parce parmi pas pendant peu
peut peuvent plus plusieurs pour pourquoi près puis qu quand que quel quelle quelles quels qui
quoi s sa sans se selon sera serai seraient serais serait seras serez seriez serions serons
seront ses si sien soi soient sois soit sommes son sont sous soyez soyons suis sur t ta te tes
toi ton tous tout toute toutes très tu un une unes uns vers via voici voilà vos votre vous y
ainsi etc afin déjà bien cas ceux dont également lorsqu puisque quelque quelques tel telle telles
tels toujours tant trop peut-être être avoir cet celles autres fois sein lequel ceci
le la les de des du un une et en à au aux ou par pour sur dans avec sans
""".split())

# ... and catalogue boilerplate that says nothing about a dataset's subject.
CATALOGUE_STOP_WORDS = frozenset("""
donnée données donnee donnees jeu jeux fichier fichiers data dataset datasets information
informations ensemble liste listes disponible disponibles site ressource ressources format
formats csv json xml xls xlsx pdf zip shp geojson api http https www fr gouv html lien liens
document documents mise jour jours publication publié publiée publiées publiés contient
contenant présent présente permet permettent ci-dessous ci-dessus description champ champs
colonne colonnes version voir plus consulter the of and to in for is on with by this from are
licence ouverte etalab open
""".split())

STOP_WORDS = FRENCH_STOP_WORDS | CATALOGUE_STOP_WORDS

_TOKEN = re.compile(r"[a-zà-öø-ÿœæ][a-zà-öø-ÿœæ0-9-]*[a-zà-öø-ÿœæ0-9]|[a-zà-öø-ÿœæ]", re.IGNORECASE)


# ---- the one normaliser: folding and elisions (documents and queries alike) -------------------
_ELISION = re.compile(r"\b(?:[cdjlmnst]|qu|jusqu|lorsqu|puisqu|quoiqu)['’ʼ`]", re.IGNORECASE)
_LIGATURES = str.maketrans({"œ": "oe", "æ": "ae", "Œ": "oe", "Æ": "ae", "ß": "ss"})


def fold_accents(text: str) -> str:
    """Accents removed and ligatures expanded, case kept as far as possible.

    Examples
    --------
    >>> fold_accents("Élève œuvre")
    'Eleve oeuvre'
    """
    s = unicodedata.normalize("NFKD", text.translate(_LIGATURES))
    return "".join(c for c in s if not unicodedata.combining(c))


def fold_keep_offsets(text: str) -> str:
    """Lower case without accents, one character for one character, so that a match in the
    folded text has the same offsets in ``text`` (ligatures keep their first letter).

    Examples
    --------
    >>> fold_keep_offsets("Élève à Nîmes")
    'eleve a nimes'
    """
    out = []
    for c in text:
        if c.isascii():
            out.append(c.lower())
            continue
        f = fold_accents(c)
        out.append(f[:1].lower() if f else " ")
    return "".join(out)


def drop_elisions(text: str) -> str:
    """``l'eau`` -> `` eau``, ``qu'il`` -> `` il`` (any apostrophe; offsets are not kept).

    Examples
    --------
    >>> drop_elisions("l'eau qu'il d’Orsay aujourd'hui")
    " eau  il  Orsay aujourd'hui"
    """
    return _ELISION.sub(" ", text)


def fold(text: str, *, elisions: bool = True) -> str:
    """Lower case, elisions dropped (unless ``elisions=False``), ligatures expanded, accents folded.

    Examples
    --------
    >>> fold("L'Île-de-France")
    ' ile-de-france'
    >>> fold("L'Île", elisions=False)
    "l'ile"
    """
    s = str(text).lower()
    return fold_accents(drop_elisions(s) if elisions else s)


# Place names that simplemma would turn into another word (paris -> pari, rennes -> renne):
# the towns of 10,000+ inhabitants, départements and régions it changes, minus the ambiguous
# ones (tours, moulins, fosses, lattes), kept as they are.
NOT_LEMMATISED = frozenset("""
bourges calais cambrai cannes castres cluses colombes creuse dole fougères gironde grasse
houilles jura landes limoges lourdes paris provins rennes rodez saintes sarcelles sceaux trappes
vannes vienne étampes
""".split())


@lru_cache(maxsize=200_000)
def lemma(word: str) -> str:
    import simplemma  # lazy: its dictionaries load on first use

    return simplemma.lemmatize(word, lang="fr")


def tokenize_fr(text: str, *, min_len: int = 3, lemmatize: bool = False) -> list[str]:
    """Lower-cased French content words, elisions removed, stop words dropped (``lemmatize``:
    simplemma's lemma of the words of more than three letters, except some place names).

    Examples
    --------
    >>> tokenize_fr("Liste des piscines de l'agglomération, données 2024 (PLU)")
    ['piscines', 'agglomération', 'plu']
    """
    if not text:
        return []
    s = drop_elisions(text.lower())
    out = []
    for tok in _TOKEN.findall(s):
        tok = tok.strip("-")
        if len(tok) < min_len or tok in STOP_WORDS or tok.isdigit():
            continue
        # short words are mostly acronyms (plu, lom), hyphenated ones names (rhône-alpes)
        if lemmatize and len(tok) > 3 and "-" not in tok and tok not in NOT_LEMMATISED:
            tok = lemma(tok)
            if len(tok) < min_len or tok in STOP_WORDS:
                continue
        out.append(tok)
    return out


# Words that are frequent in dataset descriptions whatever their subject (lemmas: generic
# verbs, months, administrative boilerplate): left out of topics and cluster labels only.
TOPIC_STOP_WORDS = STOP_WORDS | frozenset("""
janvier février mars avril mai juin juillet août septembre octobre novembre décembre
premier second trois quatre cinq six sept huit neuf dix
aller concerner partir réaliser représenter permettre mettre utiliser pouvoir agir
correspondre servir constituer répondre prendre appliquer produire décrire définir devoir
trouver savoir vouloir falloir donner rendre indiquer préciser présenter comprendre
contenir proposer obtenir fournir regrouper recenser identifier issu relatif défini
objet type niveau cadre compte général base source date nombre élément suivant différent
titre nom forme part ensemble cas façon manière partie ligne lignes valeur total
ouvert ouverte ouvertes ouverts donnees inspire inspirer open data dataset object null nan
fichier disponible mise miser jour mettre-à-jour publier publié diffuser diffusion accès accéder
producteur produit producteurs information renseignement télécharger téléchargement
annuel annuelle mensuel mensuelle quotidien année an mois jour semaine
celui-ci celle-ci ceux-ci celles-ci celui-là celle-là ci-après ci-contre ci-joint
""".split())

_SLUG_JOIN = re.compile(r"[-_]+")


def topic_text(title: str | None, description_text: str | None, tags) -> str:
    """Text for topics and cluster labels: the title twice (it says what the dataset is), the
    description, and the tags with their slug hyphens turned into spaces
    ("donnees-ouvertes" -> "donnees ouvertes").

    Examples
    --------
    >>> topic_text("Piscines", "Horaires.", ["sport-loisirs", "lyon"])
    'Piscines Piscines Horaires. sport loisirs lyon'
    """
    tag_words = " ".join(_SLUG_JOIN.sub(" ", str(t)) for t in (tags if tags is not None else []))
    title = title or ""
    return f"{title} {title} {description_text or ''} {tag_words}"


def is_label_word(word: str) -> bool:
    """Worth showing in a topic or cluster label: no digit (article numbers "l562-1", codes
    "ddt65"), not a stop or generic word.

    Examples
    --------
    >>> [w for w in ("piscine", "l562-1", "donnees", "janvier", "bus", "de") if is_label_word(w)]
    ['piscine', 'bus']
    """
    return len(word) >= 3 and not any(c.isdigit() for c in word) and word not in TOPIC_STOP_WORDS


# ---- keyword-search terms (BM25 index and queries) ---------------------------------------------
_KEYWORD_WORD = re.compile(r"[a-z0-9]+")
# interrogatives and auxiliaries that questions are made of, on top of the function words
_EXTRA_STOP = {"combien", "quelle", "quels", "quelles"}  # (hyphenated forms never reach here)
KEYWORD_STOP_WORDS = frozenset(fold_accents(w) for w in FRENCH_STOP_WORDS | _EXTRA_STOP)


@lru_cache(maxsize=500_000)
def light_stem(word: str) -> str:
    """Plural and feminine endings of an accent-folded lower-case French word.

    Deterministic and dictionary-free, so a query and a document always agree; words of
    three characters or fewer (acronyms, ``bus``, ``eau``) are left unchanged.

    Examples
    --------
    >>> [light_stem(w) for w in ("reseaux", "postaux", "gares", "commune", "publiees", "bus", "2024")]
    ['reseau', 'postal', 'gare', 'commun', 'publi', 'bus', '2024']
    """
    w = word
    if len(w) <= 3 or w.isdigit():
        return w
    if w.endswith("eaux") or w.endswith("eux") or w.endswith("oux"):
        w = w[:-1]  # réseaux -> reseau, jeux -> jeu, bijoux -> bijou
    elif w.endswith("aux") and len(w) > 4:
        w = w[:-3] + "al"  # postaux -> postal, animaux -> animal
    elif w.endswith("s") and not w.endswith("ss") and len(w) > 3:
        w = w[:-1]  # gares -> gare, élus -> elu
    if len(w) > 4 and w.endswith("e"):
        w = w[:-1]  # commune -> commun, polluante -> polluant (base, gare: unchanged)
        if len(w) > 4 and w.endswith("e"):
            w = w[:-1]  # publiee -> publi
    return w


def keyword_terms(text: str | None, *, stem: bool = True) -> list[str]:
    """The index terms of a text (documents and queries alike).

    Examples
    --------
    >>> keyword_terms("Les réseaux d'eau potable du Pas-de-Calais en 2024")
    ['reseau', 'eau', 'potabl', 'calai', '2024']
    >>> keyword_terms("Élues DVF", stem=False)
    ['elues', 'dvf']
    """
    if not text:
        return []
    out = []
    for tok in _KEYWORD_WORD.findall(fold(text)):
        if tok in KEYWORD_STOP_WORDS:
            continue
        if len(tok) < 2 and not tok.isdigit():
            continue
        out.append(light_stem(tok) if stem else tok)
    return out


def joined_pairs(text: str | None) -> list[str]:
    """Adjacent words glued together (``Open Damir`` → ``opendamir``), so that a query
    written as one word still finds a title written as two.

    Examples
    --------
    >>> joined_pairs("Open Damir 2024 base"), joined_pairs("Gares SNCF")
    (['opendamir'], ['garessncf'])
    """
    raw = keyword_terms(text, stem=False)
    return [light_stem(a + b) for a, b in pairwise(raw)
            if not (a.isdigit() or b.isdigit())]


# ---- sentences (the build's passages, the assistant's key sentence) ----------------------------

# a sentence ends at . ! ? … ; followed by a space and something that starts a sentence
_SENTENCE_END = re.compile(r"(?<=[.!?…;:])\s+(?=[«\"'(\[A-ZÀ-ÖØ-Þ0-9•–-])")


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the sentences of a plain-text description (spaces trimmed).

    Examples
    --------
    >>> text = "Horaires des piscines. Tarifs : voir le site ! 3 bassins… fin"
    >>> [text[a:b] for a, b in sentence_spans(text)]
    ['Horaires des piscines.', 'Tarifs : voir le site !', '3 bassins… fin']
    >>> sentence_spans(text)[0]
    (0, 22)
    """
    spans = []
    start = 0
    for m in _SENTENCE_END.finditer(text):
        if m.start() > start:
            spans.append((start, m.start()))
        start = m.end()
    if start < len(text.rstrip()):
        spans.append((start, len(text.rstrip())))
    return [(a, b) for a, b in spans if text[a:b].strip()]

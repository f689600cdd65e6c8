import html
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from models.core.text import passage_text, strip_markup, tokenize_fr

# the patterns of models.core.text, as they stand (the definition the guarded function must equal)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SCRIPT = re.compile(r"<(script|style)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]{0,2000}>")
_MD_IMAGE = re.compile(r"!\[([^\]]{0,500})\]\([^)]{0,2000}\)")
_MD_LINK = re.compile(r"\[([^\]]{0,500})\]\([^)]{0,2000}\)")
_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_TABLE = re.compile(r"\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?")
_MD_SYNTAX = re.compile(r"(^|\s)(#{1,6}|>+|[-*+]|\d+\.)\s+", re.MULTILINE)
_MD_EMPH = re.compile(r"(\*{1,3}|_{2,3}|`{1,3}|~~)")
_MD_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|>~<])")


def _strip_markup_unguarded(text):
    """The patterns applied one after another with no substring guard (the definition)."""
    if not text:
        return ""
    s = _CONTROL.sub(" ", text)
    s = _TAG.sub(" ", _SCRIPT.sub(" ", s))
    s = _MD_LINK.sub(r"\1", _MD_IMAGE.sub(r"\1", _MD_ESCAPE.sub(r"\1", html.unescape(s))))
    s = _MD_EMPH.sub("", _MD_SYNTAX.sub(" ", _TABLE.sub(" ", _URL.sub(" ", s))))
    return re.sub(r"\s+", " ", s.replace("|", " ")).strip()


# the characters and pieces the guards look for, and the Unicode look-alikes a case-insensitive or
# whitespace test might treat differently (long s, Kelvin sign, no-break and separator spaces)
_PIECES = st.sampled_from(["http://", "HTTPS://", "Www.", "www.", "---", "](", "![", "&amp;", "&eacute;",
                           "<script>", "</STYLE >", "<b>", "**", "__", "~~", "`", "|", "# ", "> ", "- ",
                           "1. ", "\\", "\\-", "\\_", "\\[", "\n", "\t",
                           "\u00a0", "\u2028", "\x1c", "\u017f", "\u212a", "\x00"])


@settings(max_examples=3000, deadline=None)
@given(st.lists(st.one_of(_PIECES, st.text(max_size=4)), max_size=30).map("".join))
def test_strip_markup_guards_change_nothing(text):
    assert strip_markup(text) == _strip_markup_unguarded(text)


def test_strip_markup_html_markdown_and_scripts():
    s = strip_markup('<script>alert("x")</script><h1>Titre</h1> **gras** [lien](http://a.b/c) '
                     "&eacute;t&eacute; ![img](x.png)\n| a | b |\n|---|---|")
    assert "alert" not in s and "<" not in s and "http" not in s and "**" not in s
    assert "Titre" in s and "gras" in s and "lien" in s and "été" in s and "img" in s


def test_strip_markup_empty_and_control_chars():
    assert strip_markup(None) == "" and strip_markup("") == ""
    assert strip_markup("a\x00b\x07c") == "a b c"


def test_tokenize_fr_removes_stop_words_elisions_and_boilerplate():
    toks = tokenize_fr("L'ensemble des données de l'INSEE sur les écoles d'Île-de-France (2024)")
    assert "insee" in toks and "écoles" in toks and "île-de-france" in toks
    for stop in ("l", "les", "des", "données", "ensemble", "2024", "de"):
        assert stop not in toks


def test_tokenize_fr_lemmatize():
    toks = tokenize_fr("les écoles primaires", lemmatize=True)
    assert "école" in toks


def test_passage_text():
    assert passage_text("Titre", "desc " * 1000).startswith("Titre. desc")
    assert len(passage_text("Titre", "x" * 10_000)) < 1600
    assert passage_text("Titre", "") == "Titre"


# ---- the one normaliser (models.core.text): folding, elisions, keyword terms -------------------
from models.core.text import drop_elisions, fold, fold_accents, keyword_terms, light_stem  # noqa: E402


def test_fold_accents_keeps_case_and_expands_ligatures():
    assert fold_accents("Élève à l'œuvre, Ægir, straße") == "Eleve a l'oeuvre, aegir, strasse"
    assert fold_accents("") == ""


def test_drop_elisions_every_apostrophe_and_long_forms():
    for text in ("l'eau", "l’eau", "lʼeau", "l`eau"):
        assert drop_elisions(text).split() == ["eau"], text
    assert drop_elisions("jusqu'à lorsqu'il puisqu'on quoiqu'il qu'elle").split() == [
        "à", "il", "on", "il", "elle"]
    assert drop_elisions("aujourd'hui") == "aujourd'hui"  # not an elision: no word boundary before "d"


def test_fold_is_the_same_for_documents_and_queries():
    assert fold("L'Île-de-France") == fold("l’ile-de-france") == " ile-de-france"
    assert fold("L'Île", elisions=False) == "l'ile"


def test_keyword_terms_fold_stem_and_keep_acronyms_and_years():
    assert keyword_terms("Les Départements d'Outre-Mer en 2024") == ["departement", "outr", "mer", "2024"]
    assert keyword_terms("DVF RNA") == ["dvf", "rna"]
    assert keyword_terms("Quelles sont les écoles ?") == ["ecol"]  # question words are stop words
    assert light_stem("postaux") == "postal" and light_stem("reseaux") == "reseau"


def test_no_other_folding_or_elision_code_in_the_project():
    """Every accent fold and elision goes through models.core.text (issue: one normaliser)."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    offenders = []
    for path in [*root.glob("models/**/*.py"), *root.glob("components/*.py"), *root.glob("callbacks/*.py")]:
        if path.name == "text.py" and path.parent.name == "core":
            continue
        src = path.read_text(encoding="utf-8")
        if "unicodedata.combining" in src or re.search(r"\[cdjlmnst\]", src):
            offenders.append(str(path.relative_to(root)))
    assert offenders == []

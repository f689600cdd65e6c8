from models.core.text import passage_text, strip_markup, tokenize_fr


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

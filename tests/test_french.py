"""models.core.french: how the product writes numbers, dates and names, in one place."""

from __future__ import annotations

import ast
import doctest
import re
from pathlib import Path

import pytest

from models.core import french

ROOT = Path(__file__).resolve().parents[1]
NNBSP = "\u202f"


def test_doctests():
    result = doctest.testmod(french)
    assert result.attempted > 15 and result.failed == 0


@pytest.mark.parametrize(("value", "expected"), [
    (0, "0"), (999, "999"), (1000, f"1{NNBSP}000"), (70575, f"70{NNBSP}575"),
    (-1234567, f"-1{NNBSP}234{NNBSP}567"), (12.9, "12"), ("42", "42"), (None, "—"), ("x", "—"),
    (float("nan"), "—"), (float("inf"), "—"),
])
def test_integer(value, expected):
    assert french.integer(value) == expected


def test_integer_says_what_is_missing():
    assert french.integer(None, missing="0") == "0" and french.integer("abc", missing="") == ""


def test_number_and_percent():
    assert french.number(0.5, 2) == "0,50" and french.number(1234.5, 1) == f"1{NNBSP}234,5"
    assert french.number(2.5) == "2" and french.number(3.5) == "4"  # Python's rounding, as before
    assert french.number(None) == "—" and french.number("x", missing="") == ""
    assert french.percent(0.25) == f"25{NNBSP}%" and french.percent(0.1234, 1) == f"12,3{NNBSP}%"
    assert french.percent(None) == "—" and french.percent(float("nan")) == "—"
    assert french.score(0.87349) == "0,873" and french.score(None) == "" and french.score("x") == ""


def test_plural_and_count():
    assert [french.plural(n, "jeu", "jeux") for n in (0, 1, 2, 1000)] == ["jeu", "jeu", "jeux", "jeux"]
    assert french.plural(5, "étape") == "étapes"
    assert french.count(1, "jeu de données", "jeux de données") == "1 jeu de données"
    assert french.count(70575, "jeu de données", "jeux de données") == f"70{NNBSP}575 jeux de données"


@pytest.mark.parametrize(("value", "expected"), [
    ("2026-01-16", "16 janvier 2026"), ("2025-03-01T10:00:00", "1er mars 2025"),
    ("2024-12-31 23:59:59", "31 décembre 2024"), ("2025-02-30", ""), ("2025-13-01", ""),
    ("pas une date", ""), ("", ""), (None, ""), (float("nan"), ""),
])
def test_long_date(value, expected):
    assert french.long_date(value) == expected


def test_short_date_and_month_year():
    assert french.short_date("2024-12-13T04:02:49.520000") == "13/12/2024"
    assert french.short_date("pas une date") == "" and french.short_date(None) == ""
    assert french.short_date(float("nan")) == ""
    assert french.month_year("2025-08-01T00:00") == "août 2025"
    assert french.month_year("2025") == "" and french.month_year("2025-00-01") == ""
    assert french.month_name(1) == "janvier" and french.month_name(0) == "" and len(french.MONTHS) == 12


def test_duration():
    assert french.duration(0) == "0 jour" and french.duration(59.9) == "59 jours"
    assert french.duration(61) == "2 mois" and french.duration(700) == "23 mois"
    assert french.duration(731) == "2,0 ans" and french.duration(3652.5) == "10,0 ans"


def test_names():
    from models.serve.filters import FILTER_KEYS

    assert set(french.FILTER_TITLES) == set(FILTER_KEYS)
    assert tuple(french.PAGE_NAMES)[:2] == ("carte", "demander")
    assert french.PAGE_NAMES["qualite"] == "Qualité de la recherche"
    assert french.LEVEL_PLURALS["departement"] == "départements"
    assert f"pour 100{NNBSP}000 habitants" == french.PER_100K


def test_french_imports_only_the_standard_library():
    tree = ast.parse((ROOT / "models/core/french.py").read_text(encoding="utf-8"))
    imported = {(n.module if isinstance(n, ast.ImportFrom) else a.name).split(".")[0]
                for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom)
                for a in (n.names if isinstance(n, ast.Import) else [n])}
    assert imported <= {"__future__", "math", "re", "datetime"}


def test_no_other_thousands_or_month_code():
    """French thousands, decimal commas and month names are written only in models.core.french
    (the pages, the assistant's answers, the search's reasons, the quality rules)."""
    thousands = re.compile(r"""\.replace\(\s*["'],["']\s*,\s*(["']\\u202f["']|NNBSP)""")
    decimal = re.compile(r"""\.replace\(\s*["']\.["']\s*,\s*["'],["']\s*\)""")
    offenders = []
    for path in [*ROOT.glob("components/*.py"), *ROOT.glob("callbacks/*.py"),
                 *ROOT.glob("models/serve/*.py"), *ROOT.glob("models/core/*.py")]:
        if path.name == "french.py":
            continue
        src = path.read_text(encoding="utf-8")
        if thousands.search(src) or decimal.search(src) or '"février"' in src:
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []

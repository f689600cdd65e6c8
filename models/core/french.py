"""How the product writes numbers, dates and names in French: one module for the pages
(``components``), the assistant's answers and the search's reasons (``models.serve``) and the
quality rules (``models.core``).

Pure and standard library only; it imports nothing else from ``models``, so that
``components`` may import it (the one exception to the contract ``components-no-models`` of
``pyproject.toml``).

Typography: thousands are separated by a narrow no-break space (U+202F, :data:`NNBSP`), the
decimal mark is a comma, a narrow no-break space precedes « % » and « : ; ? ! »
(:func:`typography`) and pads the inside of « » (:func:`quoted`). A missing value is written
« — » unless the caller asks for another text.

Examples
--------
>>> integer(70575) == "70\u202f575"
True
>>> number(1234.5, 1) == "1\u202f234,5"
True
>>> percent(0.123, 1) == "12,3\u202f%"
True
>>> long_date("2026-01-01")
'1er janvier 2026'
>>> count(2, "jeu", "jeux")
'2 jeux'
>>> typography(f"Je ne connais pas {quoted('Tolouse')} : vérifiez.") == (
...     "Je ne connais pas «\u202fTolouse\u202f»\u202f: vérifiez.")
True
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime

NNBSP = "\u202f"  # narrow no-break space: thousands, before « : ; ? ! % », inside « »
NBSP = "\u00a0"  # no-break space
MISSING = "—"

MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
          "octobre", "novembre", "décembre")

# the search filters' names (chips, filter panel, the messages of a filter refused), by key of
# models.serve.filters.FILTER_KEYS
FILTER_TITLES = {"producer": "Producteur", "territory": "Territoire", "year": "Année de création",
                 "modified": "Année de mise à jour", "format": "Format", "licence": "Licence",
                 "frequency": "Fréquence de mise à jour", "topic": "Thème",
                 "has_reuses": "Réutilisations", "freshness": "Fraîcheur"}

# page names (tab labels), by tab id, in the order of the tabs
PAGE_NAMES = {"carte": "Carte", "demander": "Demander", "themes": "Thèmes", "producteurs": "Producteurs",
              "territoires": "Territoires", "comparer": "Comparer", "qualite": "Qualité de la recherche"}

# the plural of a level of territory, as the maps name their units
LEVEL_PLURALS = {"commune": "communes", "epci": "intercommunalités", "departement": "départements",
                 "region": "régions"}

PER_100K = f"pour 100{NNBSP}000 habitants"  # the unit of a count per inhabitants
_ISO_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})")


def _finite(x) -> float | None:
    try:
        x = float(x)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def integer(n, missing: str = MISSING) -> str:
    """An integer with thousands separated by a narrow no-break space (``int()`` of the value:
    a float is truncated); ``missing`` when it is not a number.

    >>> integer(1234567) == "1\u202f234\u202f567"
    True
    >>> integer(-12), integer(None), integer("x", missing="0")
    ('-12', '—', '0')
    """
    try:
        return f"{int(n):,}".replace(",", NNBSP)
    except (TypeError, ValueError, OverflowError):
        return missing


def number(x, decimals: int = 0, missing: str = MISSING) -> str:
    """A number with ``decimals`` decimals, a decimal comma and thousands separated by a narrow
    no-break space; ``missing`` when it is not a finite number.

    >>> number(0.8734, 3), number(2.5), number(None)
    ('0,873', '2', '—')
    >>> number(123456.789, 2) == "123\u202f456,79"
    True
    """
    v = _finite(x)
    if v is None:
        return missing
    return f"{v:,.{decimals}f}".replace(",", NNBSP).replace(".", ",")


def percent(share, decimals: int = 0, missing: str = MISSING) -> str:
    """A share (0.12 is 12 %) as a percentage, with a narrow no-break space before « % ».

    >>> percent(0.5) == "50\u202f%"
    True
    >>> percent(0.1234, 1) == "12,3\u202f%"
    True
    >>> percent(None), percent(float("nan"))
    ('—', '—')
    """
    v = _finite(share)
    if v is None:
        return missing
    return f"{number(100 * v, decimals)}{NNBSP}%"


def quoted(text: str) -> str:
    """``text`` between French quotation marks, a narrow no-break space inside each.

    >>> quoted("piscines à Toulouse") == "«\u202fpiscines à Toulouse\u202f»"
    True
    """
    return f"«{NNBSP}{text}{NNBSP}»"


def typography(text: str) -> str:
    """``text`` with a narrow no-break space (and no other space) before « ; : ? ! » where they
    end a word group (followed by a space or the end); « : » inside an address is left alone.

    >>> typography("Quel lieu ? Toulouse : oui") == "Quel lieu\u202f? Toulouse\u202f: oui"
    True
    >>> typography("voir https://www.data.gouv.fr")
    'voir https://www.data.gouv.fr'
    """
    return re.sub(r"\s*([;:?!])(?=\s|$)", NNBSP + r"\1", text)


def score(x) -> str:
    """A similarity or search score, three decimals ("" when it is not a finite number).

    >>> score(0.87349), score(None), score(float("inf"))
    ('0,873', '', '')
    """
    return number(x, 3, missing="")


def plural(n, singular: str, plural_form: str | None = None) -> str:
    """The word for ``n`` things: singular for 0 and 1 (French rule), else ``plural_form``
    (``singular + "s"`` by default).

    >>> plural(1, "étape"), plural(0, "jeu", "jeux"), plural(3, "étape")
    ('étape', 'jeu', 'étapes')
    """
    try:
        many = abs(float(n)) >= 2
    except (TypeError, ValueError):
        many = False
    return (plural_form or singular + "s") if many else singular


def count(n, singular: str, plural_form: str | None = None) -> str:
    """``n`` and its word: « 1 jeu », « 12 345 jeux de données ».

    >>> count(12345, "jeu de données", "jeux de données") == "12\u202f345 jeux de données"
    True
    >>> count(1, "vue")
    '1 vue'
    """
    return f"{integer(n)} {plural(n, singular, plural_form)}"


def datasets(n) -> str:
    """« 1 jeu de données », « 12 345 jeux de données ».

    >>> datasets(1), datasets(0), datasets(2)
    ('1 jeu de données', '0 jeu de données', '2 jeux de données')
    """
    return count(n, "jeu de données", "jeux de données")


def month_name(month: int) -> str:
    """« janvier » for 1 … « décembre » for 12; "" otherwise.

    >>> month_name(8), month_name(13)
    ('août', '')
    """
    return MONTHS[month - 1] if isinstance(month, int) and 1 <= month <= 12 else ""


def _iso_day(value) -> date | None:
    m = _ISO_DAY.match(str(value).strip()) if value is not None else None
    if not m:
        return None
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None


def long_date(value) -> str:
    """An ISO date (or datetime) -> « 12 mars 2025 », « 1er » for the first day; "" when it is
    not a real day.

    >>> long_date("2025-03-12T08:00:00"), long_date("2026-01-01"), long_date("2025-02-30")
    ('12 mars 2025', '1er janvier 2026', '')
    """
    d = _iso_day(value)
    if d is None:
        return ""
    return f"{'1er' if d.day == 1 else d.day} {MONTHS[d.month - 1]} {d.year}"


def short_date(value) -> str:
    """An ISO date or datetime -> « jj/mm/aaaa » ("" when missing or unreadable).

    >>> short_date("2024-12-13T04:02:49.520000"), short_date("pas une date"), short_date(None)
    ('13/12/2024', '', '')
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    try:
        return datetime.fromisoformat(str(value).strip()[:19]).strftime("%d/%m/%Y")
    except ValueError:
        return ""


def month_year(value) -> str:
    """The month of an ISO date: « mars 2025 » ("" when unreadable).

    >>> month_year("2025-03-12"), month_year("2025-13"), month_year(None)
    ('mars 2025', '', '')
    """
    if not isinstance(value, str) or len(value) < 7:
        return ""
    try:
        y, m = int(value[:4]), int(value[5:7])
    except ValueError:
        return ""
    return f"{MONTHS[m - 1]} {y}" if 1 <= m <= 12 else ""


def duration(days: float) -> str:
    """An age in days, in the unit a person would say: days under 60, months under two years,
    then years with one decimal.

    >>> duration(45), duration(1), duration(200), duration(1000)
    ('45 jours', '1 jour', '7 mois', '2,7 ans')
    """
    if days < 60:
        return count(int(days), "jour")
    months = round(days / 30.44)
    if months < 24:
        return f"{months} mois"
    return f"{number(days / 365.25, 1)} ans"

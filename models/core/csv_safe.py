"""CSV that a spreadsheet opens as text: every cell quoted, no formula, no control character.

A cell a spreadsheet could run (CSV injection) starts with ``= + - @`` — possibly after
whitespace (« ␣=1+1 »), or written in another form that normalises to one (full-width
« ＝＋－＠ », small forms « ﹦﹢﹣ »): such a cell gets a leading apostrophe, which spreadsheets
read as « text ». Control characters (tabs, carriage returns, line feeds, C1 codes, Unicode line
and paragraph separators) become spaces: a bare « \\r » inside a field can no longer start a row
in a reader that splits lines first, and nothing hidden reaches the sheet. Every cell is quoted.

Examples
--------
>>> safe_cell(" =1+1"), safe_cell("＝1"), safe_cell("a\\rb=1"), safe_cell("-")
("' =1+1", "'＝1", 'a b=1', "'-")
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterable, Sequence

FORMULA_SIGNS = frozenset("=+-@")
# C0 and C1 control characters, DEL, NEL, line and paragraph separators
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def safe_cell(value) -> str:
    """``value`` as a text cell no spreadsheet runs (see the module doc).

    Examples
    --------
    >>> safe_cell("=SUM(A1:A9)"), safe_cell("@here"), safe_cell(None), safe_cell(12.5)
    ("'=SUM(A1:A9)", "'@here", '', '12.5')
    >>> safe_cell("ligne 1\\nligne 2"), safe_cell("-"), safe_cell("a-b")
    ('ligne 1 ligne 2', "'-", 'a-b')
    """
    text = _CONTROL.sub(" ", "" if value is None else str(value))
    start = text.lstrip()  # str.lstrip: every Unicode space (NBSP, U+3000 ideographic…)
    if start and unicodedata.normalize("NFKC", start[0])[:1] in FORMULA_SIGNS:
        return "'" + text
    return text


def safe_csv(header: Sequence[str], rows: Iterable[Sequence]) -> str:
    """CSV text (``\\r\\n`` line ends, RFC 4180) with every cell quoted and made safe.

    Examples
    --------
    >>> safe_csv(["titre", "vues"], [["=1+1", 3], ["Lyon, 2024", None]]).split("\\r\\n")
    ['"titre","vues"', '"\\'=1+1","3"', '"Lyon, 2024",""', '']
    """
    buf = io.StringIO()
    writer = csv.writer(buf, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow([safe_cell(h) for h in header])
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
    return buf.getvalue()

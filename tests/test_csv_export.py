"""CSV export (issue 23): every cell quoted, formulas neutralised after leading whitespace and in
their full-width and small forms, control characters gone; the export read back with
``csv.reader`` and with pandas gives the rows written, one per dataset, none a formula."""

from __future__ import annotations

import csv
import io
import unicodedata

import pandas as pd
import pytest

from components import ids
from models.core.csv_safe import safe_cell, safe_csv
from models.serve.selection import EXPORT_COLUMNS, export_csv

HOSTILE = ["=1+1", " =1+1", "\t=1+1", "\r=1+1", "\n=1", "＝1+1", "＋1", "－1", "＠SUM(A1)", "﹦1", "﹢1",
           "\u3000=1", "\xa0+1", "\u2003@x", "a\rb", "a\r=1+1", "a\r\n=1+1", "a\n=HYPERLINK(\"http://x\")",
           "a\x00b", "a\x0b=1", "a\x1c=1", "a\x85=1", "a\u2028=1", "a\u2029=1", 'guillemet " dedans',
           "virgule, point-virgule ; fin", "-", "+33 1 23", "@", "normal", "", "Été 2020", "'=déjà"]


def _is_formula(cell: str) -> bool:
    start = cell.lstrip()
    return bool(start) and unicodedata.normalize("NFKC", start[0])[:1] in "=+-@"


def _datasets(titles) -> pd.DataFrame:
    n = len(titles)
    return pd.DataFrame({"id": [f"id{i}" for i in range(n)], "title": titles,
                         "organization": list(reversed(titles)),
                         "url": ["https://x/" + str(i) for i in range(n)],
                         "created_at": ["2020-01-01"] * n, "last_modified": [None] * n})


def _check(text: str, n_rows: int) -> list[list[str]]:
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert len(rows) == n_rows + 1 and all(len(r) == len(rows[0]) for r in rows)
    frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    assert frame.shape == (n_rows, len(rows[0]))
    assert frame.values.tolist() == rows[1:] and list(frame.columns) == rows[0]
    assert len(text.splitlines()) == n_rows + 1  # a reader splitting lines first sees the same rows
    for row in rows:
        for cell in row:
            assert not _is_formula(cell), cell
            assert not any(unicodedata.category(c) == "Cc" or c in "\u2028\u2029" for c in cell), cell
    for line in text.split("\r\n")[:-1]:  # every cell quoted
        assert line.startswith('"') and line.endswith('"'), line
    return rows


def test_export_of_hostile_titles_reads_back_as_text():
    rows = _check(export_csv(_datasets(HOSTILE), list(range(len(HOSTILE)))), len(HOSTILE))
    assert rows[0] == EXPORT_COLUMNS
    titles = [r[1] for r in rows[1:]]
    assert titles[0] == "'=1+1" and titles[1] == "' =1+1" and titles[5] == "'＝1+1"
    assert titles[14] == "a b" and titles[15] == "a =1+1"  # the bare « \r » no longer starts a row
    assert titles[HOSTILE.index("normal")] == "normal" and titles[HOSTILE.index("Été 2020")] == "Été 2020"
    assert titles[HOSTILE.index('guillemet " dedans')] == 'guillemet " dedans'
    assert titles[HOSTILE.index("'=déjà")] == "'=déjà"  # already text: not quoted twice


@pytest.mark.parametrize("value", HOSTILE)
def test_safe_cell_is_idempotent_and_never_a_formula(value):
    once = safe_cell(value)
    assert safe_cell(once) == once and not _is_formula(once)


def test_safe_csv_of_any_values():
    values = [None, 3, 1.5, "=x", ["=a"], {"k": "=b"}]
    rows = _check(safe_csv(["a", "=b"], [values[:2], values[2:4], values[4:]]), 3)
    assert rows[0] == ["a", "'=b"] and rows[1] == ["", "3"]


def test_the_selection_download_is_the_safe_csv(app, client, explorer):
    from tests.uihelpers import Dash

    dash = Dash(client)
    rows = list(range(0, 40, 3))
    out = dash.call({f"{ids.SELECTION_EXPORT}.n_clicks": 1}, {f"{ids.MAP_SELECTION}.data": {"rows": rows}})
    text = out[ids.SELECTION_DOWNLOAD]["data"]["content"]
    assert text == export_csv(explorer.datasets, rows)
    got = _check(text, len(rows))
    assert [r[0] for r in got[1:]] == explorer.datasets["id"].iloc[rows].tolist()

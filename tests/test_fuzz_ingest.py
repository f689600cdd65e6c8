"""Hypothesis-built hostile catalogue exports through ``read_catalog`` (issue 14): quotes, ``;``,
CR/LF, NUL, 2 MB fields, invalid dates and numbers, wrong column counts, raw garbage lines.
``read_catalog`` never crashes (an unusable file is a clean :class:`IngestError`), and every row
read is kept, archived or counted as skipped with a reason."""

from __future__ import annotations

import csv
import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.pipeline.ingest import OPTIONAL_COLUMNS, IngestError, read_catalog

HEADER = ["id", "title", *OPTIONAL_COLUMNS]
N_EXAMPLES = {"written": 400, "raw": 150}  # ≥ 500 generated files in all

NASTY = st.sampled_from(['"', '""', ";", "\r\n", "\n", "\r", "\x00", "\ufeff", "\u202e", "\ud7ff", "é",
                         "<script>", "NaN", "1e400", "-1", "inf", "9" * 40, "2026-02-30", "0000-00-00",
                         "True", "False", "archived", "  ", "\\", "\t", ","])
CELL = st.one_of(
    st.just(""),
    st.text(max_size=40),
    st.lists(st.one_of(NASTY, st.text(max_size=5)), max_size=8).map("".join),
)
BIG = st.sampled_from([None] * 15 + ["x" * 2_000_000, "é;\"\n" * 500_000])  # a 2 MB field, 1 file in 8


ROW = st.one_of(
    st.lists(CELL, min_size=len(HEADER), max_size=len(HEADER)),  # right column count
    st.lists(CELL, min_size=0, max_size=len(HEADER) + 3),  # wrong column counts
)


def _check(report, df) -> None:
    accounted = report.rows_kept + report.archived_dropped + sum(report.skipped.values())
    assert report.rows_read == accounted, (report.rows_read, report.as_dict())
    assert len(df) == report.rows_kept
    assert all(isinstance(reason, str) and reason for reason in report.skipped)


@settings(max_examples=N_EXAMPLES["written"], deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.function_scoped_fixture])
@given(rows=st.lists(ROW, max_size=12), archived_every=st.integers(0, 4), big=BIG,
       big_at=st.integers(0, len(HEADER) - 1))
def test_written_hostile_rows_are_kept_or_counted(tmp_path_factory, rows, archived_every, big, big_at):
    path = tmp_path_factory.mktemp("ingest") / "export.csv"
    if big and rows and big_at < len(rows[0]):
        rows[0][big_at] = big
    archived_col = HEADER.index("archived")
    for i, row in enumerate(rows):
        if archived_every and i % archived_every == 0 and len(row) > archived_col:
            row[archived_col] = "True"
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, delimiter=";", quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow(HEADER)
    writer.writerows(rows)
    path.write_bytes(buf.getvalue().encode("utf-8", "surrogatepass"))
    df, report = read_catalog(path)
    assert report.rows_read == len(rows)  # csv quoting round-trips every row
    _check(report, df)


@settings(max_examples=N_EXAMPLES["raw"], deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.function_scoped_fixture])
@given(lines=st.lists(st.one_of(st.binary(max_size=200),
                                st.lists(NASTY, max_size=30).map(lambda x: "".join(x).encode("utf-8",
                                                                                             "replace"))),
                      max_size=20),
       gzip_it=st.booleans())
def test_raw_garbage_never_crashes(tmp_path_factory, lines, gzip_it):
    import gzip

    path = tmp_path_factory.mktemp("ingest") / "export.csv"
    data = ";".join(HEADER).encode() + b"\r\n" + b"\n".join(lines)
    path.write_bytes(gzip.compress(data) if gzip_it else data)
    try:
        df, report = read_catalog(path)
    except IngestError as exc:  # a clean, explained refusal (malformed CSV, truncated file)
        assert str(exc)
        return
    _check(report, df)

"""Cells of CSV downloads that a spreadsheet would run as a formula get a leading quote."""

import csv
import io

import pytest

from orgs.csv_export import csv_rows, neutralise


@pytest.mark.parametrize(
    "cell",
    ["=cmd|' /C calc'!A0", "+1", "-2+3+cmd", "@SUM(1)", "\t=1+1", "\r=1+1"],
)
def test_formula_starts_are_quoted(cell: str) -> None:
    assert neutralise(cell) == "'" + cell


@pytest.mark.parametrize(
    "cell", ["Jane", "", " =1", "'=1", "2026-01-01 10:00:00 CET", "***-**-6789"]
)
def test_other_text_is_kept(cell: str) -> None:
    assert neutralise(cell) == cell


def test_none_is_an_empty_cell() -> None:
    assert neutralise(None) == ""


def test_header_and_rows_are_neutralised() -> None:
    lines = csv_rows(["Name", "=label"], [["-1", "x"], ["@a", "+b"]])

    rows = list(csv.reader(io.StringIO("".join(lines))))

    assert rows == [["Name", "'=label"], ["'-1", "x"], ["'@a", "'+b"]]

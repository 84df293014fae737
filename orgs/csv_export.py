"""CSV downloads (audit trail, contacts): every cell neutralised against spreadsheet formulas.

A spreadsheet opening the file runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a
formula (``=HYPERLINK(...)``, ``-2+3+cmd|...``), and Excel also one that starts with a tab or a
carriage return followed by one. Such a cell gets a leading ``'``, which spreadsheets show as
text and never run (OWASP, "CSV Injection"). Every cell goes through `neutralise`, the header
and the columns the app fills itself included, so no column can be forgotten.
"""

import csv
from collections.abc import Iterable, Iterator

from django.http import StreamingHttpResponse

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: object) -> str:
    """`value` as the text of a CSV cell that a spreadsheet shows and never runs."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


class _Echo:
    """A file-like object whose write() returns the line, for streaming csv.writer output."""

    def write(self, value: str) -> str:
        return value


def csv_rows(header: Iterable[object], rows: Iterable[Iterable[object]]) -> Iterator[str]:
    """The lines of a CSV file, every cell neutralised."""
    writer = csv.writer(_Echo())
    yield writer.writerow([neutralise(cell) for cell in header])
    for row in rows:
        yield writer.writerow([neutralise(cell) for cell in row])


def csv_response(
    filename: str, header: Iterable[object], rows: Iterable[Iterable[object]]
) -> StreamingHttpResponse:
    """A streamed CSV download; `rows` is consumed while the response is sent."""
    response = StreamingHttpResponse(csv_rows(header, rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response

"""A CSV read row by row, so that one damaged row costs that row and not the whole file.

``pandas.read_csv`` gives up on a file at its first row with an extra field or a byte
that is not UTF-8; the case CSVs are hand-edited often enough that this would drop
hundreds of good rows for one bad one. Here each physical line is decoded on its own
(UTF-8; a line that is not is read as Latin-1 only to find where its row ends) and the
rows are cut by Python's ``csv`` module, which keeps the line breaks the real files hold
inside quoted path cells. A row is refused, with its row number, lines and reason, when

* it has more or fewer fields than the header;
* one of its lines is not UTF-8 (a Latin-1 byte, say): its cells cannot be trusted;
* a cell holds a line break with text after it (a cell may end in one: the real path
  cells do): a quote left open or closed in the wrong place has run the row on into
  the next lines. Its end cannot be trusted, so reading starts again at each following
  line until one starts a sound row: a broken quote never silently swallows the rows
  after it. The lines skipped on the way are reported with the broken row.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


class UnreadableCsv(ValueError):
    """A CSV without a usable header line; the message says why."""


@dataclass(frozen=True)
class Row:
    number: int  # 1 = the first row after the header, counting refused rows too
    line: int  # the file's line the row starts on (1 = the header)
    cells: list[str]


@dataclass(frozen=True)
class BadRow:
    number: int
    first_line: int
    last_line: int
    reason: str

    @property
    def lines(self) -> str:
        return (
            f"line {self.first_line}"
            if self.first_line == self.last_line
            else f"lines {self.first_line}-{self.last_line}"
        )


@dataclass(frozen=True)
class CsvRows:
    header: list[str]
    rows: list[Row]
    bad: list[BadRow]


def _decoded_lines(data: bytes) -> tuple[list[str], set[int]]:
    """Each physical line decoded on its own; the indexes of the lines that are not UTF-8."""
    data = data.removeprefix(codecs.BOM_UTF8)
    lines: list[str] = []
    undecodable: set[int] = set()
    for index, raw in enumerate(data.splitlines(keepends=True)):
        try:
            lines.append(raw.decode("utf-8"))
        except UnicodeDecodeError:
            lines.append(raw.decode("latin-1"))  # never fails: only to find where the row ends
            undecodable.add(index)
    return lines, undecodable


def _record(lines: list[str], start: int) -> tuple[list[str] | None, int, str | None]:
    """The record starting at line index ``start``: (cells, lines used, csv error)."""
    source: Iterator[str] = (lines[i] for i in range(start, len(lines)))
    reader = csv.reader(source)
    try:
        cells = next(reader, None)
    except csv.Error as exc:
        return None, max(1, reader.line_num), str(exc)
    return cells, max(1, reader.line_num), None


def _line_break(cells: list[str]) -> int | None:
    """The first cell with a line break before its end (None: the record is sound).

    A quoted cell may end in a line break (the real path cells do); one with text after
    the break is a quote that ran the record on into the next line."""
    for index, cell in enumerate(cells):
        text = cell.rstrip("\r\n")
        if "\n" in text or "\r" in text:
            return index
    return None


def _unique(names: list[str]) -> list[str]:
    """Duplicate header names made unique the way pandas does (``a``, ``a.1``)."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        n = seen.get(name, 0)
        seen[name] = n + 1
        out.append(name if n == 0 else f"{name}.{n}")
    return out


def _fields(cells: list[str], header: list[str]) -> str:
    """``"15 fields, the header has 14, "`` when the counts differ, else ``""``."""
    return (
        ""
        if len(cells) == len(header)
        else f"{len(cells)} field{'s' if len(cells) != 1 else ''}, the header has {len(header)}, "
    )


def _column(header: list[str], index: int | None) -> str:
    return header[index] if index is not None and index < len(header) else f"field {(index or 0) + 1}"


def read_rows(path: Path) -> CsvRows:
    """The header and every row of ``path``, the refused rows apart.

    Raises ``OSError`` when the file cannot be read and :class:`UnreadableCsv` when it
    has no usable header line.
    """
    lines, undecodable = _decoded_lines(path.read_bytes())
    pos = 0
    while pos < len(lines) and not lines[pos].strip():  # blank lines before the header, as pandas skips them
        pos += 1
    if pos == len(lines):
        raise UnreadableCsv("the file is empty")
    header, used, error = _record(lines, pos)
    if error or not header:
        raise UnreadableCsv(f"no header line ({error})")
    if any(i in undecodable for i in range(pos, pos + used)):
        raise UnreadableCsv(f"the header (line {pos + 1}) is not UTF-8")
    header = _unique(header)
    if _line_break(header) is not None:
        raise UnreadableCsv("the header line holds a line break inside quotes (a quote left open)")

    rows: list[Row] = []
    bad: list[BadRow] = []
    number, pos = 0, pos + used
    while pos < len(lines):
        cells, used, error = _record(lines, pos)
        if not error and not cells:  # a blank line holds no row
            pos += used
            continue
        if error or cells is None or (cell := _line_break(cells)) is not None:
            broken = error or (
                "no record"
                if cells is None
                else _fields(cells, header)
                + f"a line break inside column {_column(header, cell)!r} (a quote left open or misplaced)"
            )
            start, pos = pos, pos + 1
            while pos < len(lines) and not _row_start(lines, pos, len(header)):
                pos += 1
            if bad and bad[-1].last_line == start:
                # right after a refused row: the rest of that row (its quote misplaced), one row not two
                previous = bad.pop()
                bad.append(
                    BadRow(
                        previous.number,
                        previous.first_line,
                        pos,
                        f"{previous.reason}, and a misplaced quote runs it on to line {pos}",
                    )
                )
            else:
                number += 1
                bad.append(BadRow(number, start + 1, pos, broken))
            continue
        number += 1
        first, last = pos + 1, pos + used
        if any(i in undecodable for i in range(pos, pos + used)):
            bad.append(BadRow(number, first, last, "not UTF-8 (a byte of another encoding, e.g. Latin-1)"))
        elif len(cells) != len(header):
            bad.append(BadRow(number, first, last, _fields(cells, header).removesuffix(", ")))
        else:
            rows.append(Row(number, first, cells))
        pos += used
    return CsvRows(header, rows, bad)


def _row_start(lines: list[str], pos: int, fields: int) -> bool:
    """Whether line index ``pos`` starts a row: a blank line, or a record whose end can
    be trusted and which has the header's number of fields (the rest of a row cut by a
    misplaced quote seldom has)."""
    cells, _, error = _record(lines, pos)
    return not error and (not cells or (len(cells) == fields and _line_break(cells) is None))

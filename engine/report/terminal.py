"""The walkthrough in a terminal (``tracegrad show``): the Markdown report's text, with
tables as aligned columns and headings underlined. Figures are left out."""

from __future__ import annotations

import textwrap
import unicodedata

from engine.report.document import Code, Equations, Figure, Notice, Player, Section, Table, Text

UNDERLINES = "=-~·"
WIDTH = 100


def render(sections: list[Section], notices: list[Notice] = ()) -> str:
    lines = []
    for item in notices:
        lines += block(item)
    for part in sections:
        lines += section(part, 0)
    return "\n".join(lines).rstrip() + "\n"


def section(part: Section, depth: int) -> list[str]:
    mark = UNDERLINES[min(depth, len(UNDERLINES) - 1)]
    lines = [part.title, mark * cells_wide(part.title), ""]
    for item in part.blocks:
        lines += section(item, depth + 1) if isinstance(item, Section) else block(item)
    return lines


def block(item) -> list[str]:
    if isinstance(item, Text):
        return textwrap.wrap(item.text.replace("`", ""), WIDTH) + [""]
    if isinstance(item, Equations):
        return [f"  {line}" for line in item.lines] + [""]
    if isinstance(item, Table):
        return table(item)
    if isinstance(item, Code):
        return [f"  {line}" for line in item.text.rstrip("\n").split("\n")] + [""]
    if isinstance(item, Notice):
        label = {"error": "ATTENTION", "warning": "WARNING"}.get(item.level, "NOTE")
        return textwrap.wrap(f"{label}: {item.text}", WIDTH) + [""]
    if isinstance(item, Figure):
        return []
    if isinstance(item, Player):
        return []  # interactive: the HTML page only
    raise TypeError(f"a report block cannot be {type(item).__name__}")


def cells_wide(text: str) -> int:
    """Terminal columns of ``text``: a Chinese character takes two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def table(item: Table) -> list[str]:
    rows = [item.columns, *item.rows]
    count = max(len(r) for r in rows)
    rows = [list(r) + [""] * (count - len(r)) for r in rows]
    widths = [max(cells_wide(str(r[i])) for r in rows) for i in range(count)]

    def cells(row):
        out = []
        for i, cell in enumerate(row):
            text = str(cell)
            numeric = i > 0 and _is_number(text)
            pad = " " * (widths[i] - cells_wide(text))
            out.append(pad + text if numeric else text + pad)
        return ("  " + "  ".join(out)).rstrip()

    lines = [cells(rows[0]), "  " + "  ".join("─" * w for w in widths)]
    lines += [cells(r) for r in rows[1:]]
    if item.caption:
        lines.append(f"  {item.caption}")
    return lines + [""]


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True

"""A report as Markdown (GitHub flavour): derivations in fenced blocks, tables as pipe
tables, figures as SVG files in a folder beside the report (``report_files/`` for
``report.md``), linked by relative paths."""

from __future__ import annotations

from pathlib import Path

from engine.i18n import _
from engine.report.document import (
    Code,
    Equations,
    Figure,
    Notice,
    Player,
    Report,
    Section,
    Table,
    Text,
)
from engine.report.html import NOTICE_LABELS


def figures_folder(path: Path) -> Path:
    return path.with_name(f"{path.stem}_files")


def render(report: Report, figures: str | None = None) -> tuple[str, dict[str, str]]:
    """The Markdown text and the figures it links: {file name: SVG text}.

    ``figures`` is the folder name the links point into (None: figures are left out).
    """
    files: dict[str, str] = {}
    lines = [f"# {report.title}", ""]
    version = report.trace.header.get("tracegrad_version", "?")
    origin = _("From `{path}`, written by Tracegrad {version}.")
    lines += [origin.format(path=report.trace.path, version=version), ""]
    for item in report.notices:
        lines += notice(item)
    for part in report.sections:
        lines += section(part, 2, figures, files)
    return "\n".join(lines).rstrip() + "\n", files


def write(report: Report, path: Path) -> None:
    folder = figures_folder(path)
    text, files = render(report, folder.name)
    from engine.report.compose import save

    for name, svg in files.items():
        save(folder / name, svg)
    save(path, text)


def section(part: Section, level: int, figures: str | None, files: dict) -> list[str]:
    lines = [f"{'#' * min(level, 6)} {part.title}", ""]
    for item in part.blocks:
        if isinstance(item, Section):
            lines += section(item, level + 1, figures, files)
        else:
            lines += block(item, figures, files)
    return lines


def block(item, figures: str | None = None, files: dict | None = None) -> list[str]:
    if isinstance(item, Text):
        return [item.text, ""]
    if isinstance(item, Equations):
        return ["```text", *item.lines, "```", ""]
    if isinstance(item, Table):
        return table(item)
    if isinstance(item, Code):
        return [f"```{item.language}", item.text.rstrip("\n"), "```", ""]
    if isinstance(item, Notice):
        return notice(item)
    if isinstance(item, Figure):
        if figures is None or files is None:
            return []
        name = f"{item.name}.svg"
        files[name] = item.svg
        return [f"![{item.alt or item.caption}]({figures}/{name})", "", f"*{item.caption}*", ""]
    if isinstance(item, Player):
        return []  # interactive: the HTML page only
    raise TypeError(f"a report block cannot be {type(item).__name__}")


def notice(item: Notice) -> list[str]:
    label = _(NOTICE_LABELS.get(item.level, NOTICE_LABELS["note"]))
    return [f"> **{label}:** {item.text}", ""]


def table(item: Table) -> list[str]:
    def cells(row):
        return "| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |"

    columns = item.columns if any(item.columns) else [""] * len(item.columns)
    lines = [cells(columns), "|" + "|".join("---" for _ in columns) + "|"]
    lines += [cells(row) for row in item.rows]
    if item.caption:
        lines += ["", f"*{item.caption}*"]
    return lines + [""]

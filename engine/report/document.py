"""What a report is made of, before it becomes HTML, Markdown or terminal text.

A report is a list of ``Section``s; a section holds blocks, in reading order:

    Text        a paragraph (`backticks` mark code)
    Equations   lines of a derivation, e.g. "∂L/∂W₁₁ = ∂L/∂a₁ · ∂a₁/∂z₁ · ∂z₁/∂W₁₁ = ..."
    Table       a header row and rows of cells (strings)
    Figure      a picture as SVG text, with a caption
    Code        preformatted text (the resolved scenario)
    Notice      a warning or note that must not be missed
    Player      a traced step phase by phase on the network diagram (HTML, with its script)
    Section     a subsection

Reporters (``engine.components.Reporter``) produce sections; formats render them. The same
walkthrough blocks become the HTML page, the Markdown file and ``tracegrad show``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Union

import numpy as np

from engine.trace.reader import Trace


@dataclass
class Text:
    text: str


@dataclass
class Equations:
    """Derivation lines, shown in a fixed-width font so the '=' signs line up."""

    lines: list[str]


@dataclass
class Table:
    columns: list[str]
    rows: list[list[str]]
    caption: str | None = None


@dataclass
class Figure:
    """An SVG picture; ``name`` is unique in the report (file name in Markdown). ``step``:
    the traced step it pictures, if one (the step player shows the selected step's)."""

    name: str
    svg: str
    caption: str
    alt: str = ""
    step: int | None = None


@dataclass
class Code:
    text: str
    language: str = ""


@dataclass
class Notice:
    """``level`` is "error" (the run failed), "warning" or "note"."""

    level: str
    text: str


@dataclass
class Player:
    """The step player's data (``engine/report/player.py``); HTML only: the page's script
    draws it, and without the script (or in Markdown and the terminal) it is left out."""

    data: dict
    skipped: int = 0


Block = Union[Text, Equations, Table, Figure, Code, Notice, Player, "Section"]  # noqa: UP007


@dataclass
class Section:
    title: str
    blocks: list[Block] = field(default_factory=list)
    id: str = ""
    #: Shown folded in HTML (a <details> element), e.g. long derivations.
    folded: bool = False

    def __post_init__(self):
        if not self.id:
            self.id = slug(self.title)

    def add(self, *blocks: Block) -> Section:
        self.blocks.extend(b for b in blocks if b is not None)
        return self


def slug(text: str) -> str:
    """An HTML id from a title: "Step 0: forward" -> "step-0-forward"."""
    return re.sub(r"[^a-z0-9\u3400-\u9fff]+", "-", text.lower()).strip("-") or "section"


@dataclass
class Report:
    """A report being composed: the trace, where it came from, and what reporters add.

    Reporters read ``trace`` (header, traced records, per-step ``scalars``, end record) and
    ``run_dir`` (the run folder, for ``params.npz``), mark scalar columns they plotted with
    ``claim`` (what nobody claims is plotted under "Other quantities"), and make figure
    names unique with ``figure_name``.
    """

    trace: Trace
    run_dir: Path | None = None
    title: str = ""
    notices: list[Notice] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
    claimed: set[str] = field(default_factory=lambda: {"step"})
    _names: set[str] = field(default_factory=set)

    @property
    def scenario(self) -> dict:
        return self.trace.header.get("scenario") or {}

    @property
    def kind(self) -> str:
        return self.scenario.get("kind", "supervised")

    def scalar(self, name: str) -> np.ndarray:
        """A per-step column as floats (NaN where a step has no value)."""
        return np.array([_number(v) for v in self.trace.scalars.get(name, [])], dtype=np.float64)

    def steps(self) -> np.ndarray:
        return self.scalar("step")

    def has_scalar(self, name: str) -> bool:
        return bool(np.isfinite(self.scalar(name)).any())

    def claim(self, *names: str) -> None:
        self.claimed.update(names)

    def figure_name(self, name: str) -> str:
        unique, counter = slug(name), 2
        while unique in self._names:
            unique, counter = f"{slug(name)}-{counter}", counter + 1
        self._names.add(unique)
        return unique


def _number(value) -> float:
    if value is None or isinstance(value, bool):
        return math.nan
    try:
        return float(value)  # NaN and infinities are written as strings
    except (TypeError, ValueError):
        return math.nan

"""Ids of one report's HTML, made unique to it, so several reports sit in one page (a
notebook shows each run's report in its own cell's output).

    scoped(markup, prefix)   every id="x" -> id="prefix-x", and each reference to it
                             (href="#x", xlink:href="#x", url(#x)) likewise

A report's ids are unique within it (sections, figures, the SVG's clip paths); the prefix
makes them unique across reports.
"""

from __future__ import annotations

import hashlib
import itertools
import re

_COUNTER = itertools.count(1)
_REFERENCE = re.compile(r'(\bid="|href="#|url\(#)([^"()]+)')


def scoped(markup: str, prefix: str) -> str:
    return _REFERENCE.sub(lambda m: f"{m.group(1)}{prefix}-{m.group(2)}", markup)


def new_prefix(name: str) -> str:
    """A prefix no other report of this process has: the trace's name digested, and a
    counter (the same trace shown twice gets two)."""
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:8]
    return f"tg{digest}-{next(_COUNTER)}"

"""A report as one HTML page: inline CSS, inline SVG figures, one inline script, no network.

The page's Content-Security-Policy forbids every request (``default-src 'none'``), so a
report can never load anything from elsewhere. The one script is the step player
(``player.js``, with ``player.css``): it draws the data a ``Player`` block embeds as JSON;
without it the player stays hidden and the page is the static document. Math is Unicode
text (∂L/∂W₁₁, Σₙ, ⊙) in a fixed-width block, readable without any math library. All styles
are scoped under ``.tg-report``, so the same markup can sit in a notebook cell
(``render_fragment``).
"""

from __future__ import annotations

import html
import json
import math
import re
from importlib import resources

from engine.i18n import N_, _, language
from engine.report import ids
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

CSS = """
.tg-report { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans",
  sans-serif; color: #1d2430; max-width: 1000px; margin: 0 auto; padding: 0 16px 48px; }
.tg-report h1 { font-size: 1.7em; margin: 0.8em 0 0.2em; }
.tg-report h2 { font-size: 1.35em; border-bottom: 2px solid #dbe3ec; padding-bottom: 4px;
  margin-top: 1.6em; }
.tg-report h3 { font-size: 1.15em; margin-top: 1.3em; }
.tg-report h4, .tg-report h5, .tg-report h6 { font-size: 1em; margin-top: 1.1em; }
.tg-report .subtitle { color: #5b6778; margin-top: 0; }
.tg-report code { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace;
  font-size: 0.92em; background: #f1f4f8; padding: 0 3px; border-radius: 3px; }
.tg-report pre { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 13px;
  line-height: 1.45; background: #f7f9fb; border: 1px solid #e2e8ef; border-radius: 6px;
  padding: 8px 12px; overflow-x: auto; }
.tg-report pre.math { background: #fbfaf5; border-color: #ebe5cf; }
.tg-report div.wide { overflow-x: auto; }
.tg-report table { border-collapse: collapse; margin: 8px 0 12px; font-size: 13px; }
.tg-report th, .tg-report td { border: 1px solid #dde3ea; padding: 3px 8px; }
.tg-report th { background: #f1f4f8; text-align: left; }
.tg-report td.num { text-align: right; font-family: "DejaVu Sans Mono", Menlo, monospace; }
.tg-report caption { caption-side: bottom; color: #5b6778; font-size: 12px; text-align: left; }
.tg-report figure { margin: 12px 0 18px; }
.tg-report figure svg { max-width: 100%; height: auto; display: block; }
.tg-report figcaption { color: #4a5566; font-size: 13px; margin-top: 4px; }
.tg-report .notice { border-left: 5px solid; border-radius: 4px; padding: 8px 12px;
  margin: 12px 0; }
.tg-report .notice.error { background: #fdecec; border-color: #d62728; }
.tg-report .notice.warning { background: #fff6e0; border-color: #e69b00; }
.tg-report .notice.note { background: #eef5fc; border-color: #1f77b4; }
.tg-report nav.toc { background: #f7f9fb; border: 1px solid #e2e8ef; border-radius: 6px;
  padding: 6px 14px; font-size: 14px; }
.tg-report nav.toc ul { margin: 4px 0; padding-left: 20px; }
.tg-report details > summary { cursor: pointer; }
.tg-report details > summary > * { display: inline; }
"""


def _asset(name: str) -> str:
    return resources.files("engine.report").joinpath(name).read_text(encoding="utf-8")


PLAYER_CSS = _asset("player.css")
PLAYER_JS = _asset("player.js")


def _script(report: Report) -> str:
    """The player's script, once, when the report has a player."""
    if not any(isinstance(b, Player) for b in _blocks(report.sections)):
        return ""
    return f"<script>{PLAYER_JS}</script>"


def _blocks(sections):
    for part in sections:
        for item in part.blocks:
            yield item
            if isinstance(item, Section):
                yield from _blocks([item])


def render_page(report: Report) -> str:
    """The whole report as a standalone HTML document."""
    title = html.escape(report.title)
    return (
        f'<!DOCTYPE html>\n<html lang="{language()}">\n<head>\n<meta charset="utf-8">\n'
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">\n"
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{title}</title>\n<style>{CSS}{PLAYER_CSS}</style>\n</head>\n<body>\n"
        f"{_body(report)}\n{_script(report)}\n</body>\n</html>\n"
    )


def render_fragment(report: Report, prefix: str | None = None) -> str:
    """The report as one <div> with its own <style>, for a notebook cell; its ids start with
    ``prefix`` (default: one unique to this report, ``engine.report.ids``), so several
    reports work in one notebook."""
    prefix = prefix or ids.new_prefix(str(report.trace.path))
    body = ids.scoped(_body(report), prefix)
    return f"<style>{CSS}{PLAYER_CSS}</style>\n{body}\n{_script(report)}"


def _body(report: Report) -> str:
    parts = ['<div class="tg-report">', f"<h1>{html.escape(report.title)}</h1>"]
    trace = report.trace
    version = trace.header.get("tracegrad_version", "?")
    origin = _("From `{path}`, written by Tracegrad {version}.")
    parts.append(
        f'<p class="subtitle">{inline(origin.format(path=trace.path, version=version))}</p>'
    )
    parts.extend(notice(n) for n in report.notices)
    parts.append(_contents(report.sections))
    parts.extend(section(s, 2) for s in report.sections)
    parts.append("</div>")
    return "\n".join(parts)


def _contents(sections: list[Section]) -> str:
    items = []
    for top in sections:
        children = [b for b in top.blocks if isinstance(b, Section)]
        inner = "".join(
            f'<li><a href="#{c.id}">{html.escape(c.title)}</a></li>' for c in children[:40]
        )
        inner = f"<ul>{inner}</ul>" if inner else ""
        items.append(f'<li><a href="#{top.id}">{html.escape(top.title)}</a>{inner}</li>')
    heading = html.escape(_("Contents"))
    return f'<nav class="toc"><strong>{heading}</strong><ul>{"".join(items)}</ul></nav>'


def section(part: Section, level: int) -> str:
    tag = f"h{min(level, 6)}"
    heading = f'<{tag} id="{part.id}">{html.escape(part.title)}</{tag}>'
    inner = "\n".join(block(b, level) for b in part.blocks)
    if part.folded:
        return f"<details><summary>{heading}</summary>\n{inner}\n</details>"
    return f"<section>\n{heading}\n{inner}\n</section>"


def block(item, level: int) -> str:
    if isinstance(item, Section):
        return section(item, level + 1)
    if isinstance(item, Text):
        return f"<p>{inline(item.text)}</p>"
    if isinstance(item, Equations):
        return '<pre class="math">' + html.escape("\n".join(item.lines)) + "</pre>"
    if isinstance(item, Table):
        return table(item)
    if isinstance(item, Figure):
        caption = f"<figcaption>{inline(item.caption)}</figcaption>" if item.caption else ""
        label = html.escape(item.alt or item.caption, quote=True)
        svg = item.svg.replace("<svg ", f'<svg role="img" aria-label="{label}" ', 1)
        step = "" if item.step is None else f' data-step="{item.step}"'
        return f'<figure id="figure-{item.name}"{step}>\n{svg}\n{caption}</figure>'
    if isinstance(item, Code):
        return f"<pre>{html.escape(item.text)}</pre>"
    if isinstance(item, Notice):
        return notice(item)
    if isinstance(item, Player):
        return player(item)
    raise TypeError(f"a report block cannot be {type(item).__name__}")


def player(item: Player) -> str:
    """The player's place: hidden until its script runs; its data as JSON ("</" escaped, so
    no string in it can end the script element)."""
    data = json.dumps(_finite(item.data), ensure_ascii=False, separators=(",", ":"))
    data = data.replace("</", "<\\/")
    label = html.escape(_("Step player: a traced step phase by phase on the network"), quote=True)
    return (
        f'<div class="tg-player" hidden tabindex="0" role="region" aria-label="{label}">'
        f'<script type="application/json" class="tg-player-data">{data}</script>'
        '<div class="tg-player-ui"></div></div>'
    )


def _finite(value):
    """JSON has no NaN or infinity: a number that is not finite becomes its text."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


NOTICE_LABELS = {"error": N_("Attention"), "warning": N_("Warning"), "note": N_("Note")}


def notice(item: Notice) -> str:
    label = _(NOTICE_LABELS.get(item.level, NOTICE_LABELS["note"]))
    return (
        f'<div class="notice {item.level}" role="note"><strong>{html.escape(label)}:</strong> '
        f"{inline(item.text)}</div>"
    )


NUMBER = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$|^(nan|inf|-inf)$")


def table(item: Table) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in item.columns)
    rows = []
    for row in item.rows:
        cells = "".join(
            f'<td class="num">{html.escape(c)}</td>' if NUMBER.match(c) else f"<td>{inline(c)}</td>"
            for c in row
        )
        rows.append(f"<tr>{cells}</tr>")
    caption = f"<caption>{inline(item.caption)}</caption>" if item.caption else ""
    thead = f"<thead><tr>{head}</tr></thead>" if any(item.columns) else ""
    body = f"<table>{caption}{thead}<tbody>{''.join(rows)}</tbody></table>"
    return f'<div class="wide">{body}</div>'


def inline(text: str) -> str:
    """Escape, then `backticks` become <code>."""
    parts = html.escape(text).split("`")
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))

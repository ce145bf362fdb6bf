"""The report sizes docs/reports.md quotes ("Size and speed") are those of the reports the
bundled runs give: ``python benchmarks/report_sizes.py`` runs the three scenarios again and
builds their reports; each page's size, its figures and the step player's data must be what
the table and the sentence after it say, to within 1% (a report holds the run's folder name
and floats whose last digits may differ between machines). The seconds are not checked: they
are measured, not reproduced.
"""

from __future__ import annotations

import re

from tests.conftest import ROOT
from tests.doc_tables import body, run_benchmark

DOC = ROOT / "docs" / "reports.md"
MARKER = re.compile(
    r"<!-- report-sizes -->\n+((?:\|[^\n]*\n)+)\n(Where the bytes go:.*?)\n\n", re.S
)


def kib(text: str) -> float:
    return float(text.replace(",", "").removesuffix(" KiB"))


def close(quoted: float, measured: float) -> bool:
    return abs(quoted - measured) <= 0.01 * measured + 0.5  # 1%, and the rounding to a KiB


def test_the_quoted_sizes_are_the_bundled_reports():
    table, prose = MARKER.search(DOC.read_text(encoding="utf-8")).groups()
    printed = run_benchmark("report_sizes.py", "--repeats", "1").split("\n\n")
    measured = body(printed[0])
    quoted = body(table)
    assert [row[:3] for row in quoted] == [row[:3] for row in measured]
    for said, found in zip(quoted, measured, strict=True):
        assert close(kib(said[3]), kib(found[3])), (said, found)
    prose = " ".join(prose.split())
    for line in printed[1].strip().splitlines():
        run, figures, figures_kib, player_kib = re.match(
            r"scenarios/(?:gan/)?(\w+)\.yaml: (\d+) figures (\d+) KiB, step player's data (\d+)",
            line,
        ).groups()
        said = re.search(rf"in {run}'s?, the {figures} figures take (\d+) KiB", prose)
        assert said, f"docs/reports.md no longer says {run}'s {figures} figures' size"
        assert close(float(said.group(1)), float(figures_kib)), line
        player = re.search(rf"in {run}'s?, [^;]*?player's data (\d+) KiB", prose)
        if float(player_kib):
            assert player and close(float(player.group(1)), float(player_kib)), line
        else:
            assert (
                not player and re.search(rf"in {run}'s?, ", prose) and "there is no player" in prose
            )

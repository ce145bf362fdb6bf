"""The high-quality GAN tables of docs/gan.md ("Past the published numbers") are what the
benchmarks measured, and the benchmarks measure what they recorded.

    <!-- gan-runs: benchmarks/results/NAME.json -->       then the table gan_table.py printed
    <!-- gan-ablation: benchmarks/results/NAME.json -->   then the table gan_ablation.py printed

Each marker names the runs the benchmark wrote with ``--json`` (every run's seed, modes and
high-quality share). The tables must be exactly what those runs give (per seed, the means,
the worst), so the doc cannot quote a number no run produced; and seed 0 of each runs table
(ring8_hq, grid25_hq) is run again here on the same pinned code paths (benchmarks/pinned.py)
and must give the recorded modes and high-quality share. The runs take 20 to 60 s each, so
the rest are not repeated: `python benchmarks/gan_table.py --scenario … --json …` and
`python benchmarks/gan_ablation.py --json …` write them again.
"""

from __future__ import annotations

import json
import re

import pytest

from tests.conftest import ROOT
from tests.doc_tables import body, cells, rerun, unquoted_percents

DOC = ROOT / "docs" / "gan.md"
MARKER = re.compile(r"<!-- gan-(runs|ablation): (\S+) -->\n+((?:\|.*\n)+)")


def tables() -> list[tuple[str, list[dict], list[list[str]]]]:
    """(kind, the recorded runs, the table's body rows as cells) of every marker."""
    found = []
    for kind, path, table in MARKER.findall(DOC.read_text(encoding="utf-8")):
        runs = json.loads((ROOT / path).read_text(encoding="utf-8"))
        found.append((kind, runs, body(table)))
    return found


def test_both_tuned_scenarios_have_both_tables():
    for kind in ("runs", "ablation"):
        names = sorted(runs[0]["scenario"] for found, runs, _ in tables() if found == kind)
        assert names == ["grid25_hq", "ring8_hq"], kind


def test_the_runs_table_is_what_the_runs_gave():
    for kind, runs, rows in tables():
        if kind != "runs":
            continue
        ours = [row for row in rows if "(published)" not in row[0]]
        by_seed = {(r["scenario"], str(r["seed"])): r for r in runs}
        seeds = [row for row in ours if row[1]]
        assert len(seeds) == len(runs)
        for name, seed, modes, hq, _seconds in seeds:
            run = by_seed[(name, seed)]
            assert modes == f"{run['modes']}/{run['total']}"
            assert hq == f"{run['hq']:.1f}"
        for name, _, modes, hq, _seconds in (row for row in ours if not row[1]):
            mine = [r for r in runs if f"**{r['scenario']} mean**" == name]
            assert mine, name
            mean_modes = sum(r["modes"] for r in mine) / len(mine)
            assert modes == f"**{mean_modes:.1f}/{mine[0]['total']}**"
            assert hq == f"**{sum(r['hq'] for r in mine) / len(mine):.1f}**"


def test_the_ablation_table_is_what_the_runs_gave():
    for kind, runs, rows in tables():
        if kind != "ablation":
            continue
        assert len(rows) == len({r["undone"] for r in runs})
        for undone, modes, worst_modes, hq, worst, _seconds in rows:
            mine = [r for r in runs if r["undone"] == undone]
            assert mine, undone
            total = mine[0]["total"]
            assert modes == f"{sum(r['modes'] for r in mine) / len(mine):.1f}/{total}"
            assert worst_modes == f"{min(r['modes'] for r in mine)}/{total}"
            assert hq == f"{sum(r['hq'] for r in mine) / len(mine):.1f}"
            assert worst == f"{min(r['hq'] for r in mine):.1f}"


@pytest.mark.parametrize("name", ["ring8_hq", "grid25_hq"])
def test_the_readme_sentence_is_the_mean_of_the_runs(name):
    runs = next(
        runs for kind, runs, _ in tables() if kind == "runs" and runs[0]["scenario"] == name
    )
    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    said = re.search(
        rf"`gan/{name}\.yaml`[^.]*?gives (\S+) / (\d+) modes and (\S+)% "
        r"high-quality samples, (\d+)–(\d+) s per run",
        readme,
    )
    assert said, f"README.md no longer says what {name} gives"
    seconds = [r["seconds"] for r in runs]
    assert list(said.groups()) == [
        f"{sum(r['modes'] for r in runs) / len(runs):.1f}",
        str(runs[0]["total"]),
        f"{sum(r['hq'] for r in runs) / len(runs):.1f}",
        f"{min(seconds):.0f}",
        f"{max(seconds):.0f}",
    ]


@pytest.mark.parametrize("name", ["ring8_hq", "grid25_hq"])
def test_a_recorded_run_gives_the_recorded_numbers(tmp_path, name):
    runs = next(
        runs for kind, runs, _ in tables() if kind == "runs" and runs[0]["scenario"] == name
    )
    recorded = next(r for r in runs if r["seed"] == 0)
    path = str(ROOT / recorded["path"])
    again = rerun("gan_table.py", tmp_path, "--seeds", "0", "--scenario", path)[0]
    assert (again["modes"], round(again["hq"], 1)) == (recorded["modes"], round(recorded["hq"], 1))


def test_the_sections_prose_quotes_only_numbers_of_its_tables():
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## Past the published numbers", 1)[1].split("\n## ", 1)[0]
    lines = section.splitlines()
    prose = "\n".join(line for line in lines if not line.startswith("|"))
    rows = [cells(line) for line in lines if line.startswith("|")]
    assert not unquoted_percents(prose, rows), "docs/gan.md quotes numbers neither table holds"

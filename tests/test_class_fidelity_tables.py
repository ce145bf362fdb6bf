"""The class-fidelity tables of docs/gan.md are what benchmarks/class_fidelity.py measured.

    <!-- class-fidelity: benchmarks/results/NAME.json -->   then the table the script printed

The file holds every seed's fidelity per class (``--json``); the table must be exactly those
numbers in percent (per seed, the mean and worst class, the means over seeds), and the prose
after it may quote only numbers the table holds. Seed 0 of cgan_ring8 is run again on the
pinned code paths and must give the recorded fidelities; the other runs are written again by
`python benchmarks/class_fidelity.py [--scenario …] --json …`.
"""

from __future__ import annotations

import json
import re

from tests.conftest import ROOT
from tests.doc_tables import body, rerun, unquoted_percents

DOC = ROOT / "docs" / "gan.md"
MARKER = re.compile(
    r"<!-- class-fidelity: (\S+) -->\n+((?:\|[^\n]*\n)+)((?:(?!\n\||<!--).)*)", re.S
)


def tables():
    """(the recorded runs, the table's rows as cells, the prose after it) of every marker."""
    found = []
    for path, table, prose in MARKER.findall(DOC.read_text(encoding="utf-8")):
        runs = json.loads((ROOT / path).read_text(encoding="utf-8"))
        rows = [[cell.strip("*") for cell in row] for row in body(table)]
        found.append((runs, rows, prose.split("\n## ", 1)[0]))
    return found


def percent(values) -> list[str]:
    return [f"{100 * v:.1f}" for v in values]


def test_both_conditional_scenarios_have_a_table():
    assert sorted(runs[0]["scenario"] for runs, _, _ in tables()) == ["cgan_digits", "cgan_ring8"]


def test_each_table_is_what_the_runs_gave():
    for runs, rows, _ in tables():
        assert len(rows) == len(runs) + 1
        columns = []
        for run, row in zip(runs, rows, strict=False):
            values = run["fidelity"]
            line = [*values, sum(values) / len(values), min(values)]
            columns.append(line)
            assert row[0] == f"seed {run['seed']}"
            assert row[1:-1] == percent(line), row[0]
        means = [sum(column) / len(column) for column in zip(*columns, strict=True)]
        assert rows[-1][0] == "mean" and rows[-1][1:-1] == percent(means)


def test_the_prose_quotes_only_numbers_of_its_table():
    for _, rows, prose in tables():
        assert not unquoted_percents(prose, rows), "docs/gan.md quotes numbers its table lacks"


def test_a_recorded_run_gives_the_recorded_fidelities(tmp_path):
    runs = next(runs for runs, _, _ in tables() if runs[0]["scenario"] == "cgan_ring8")
    again = rerun("class_fidelity.py", tmp_path, "--seeds", "0")[0]
    assert percent(again["fidelity"]) == percent(runs[0]["fidelity"])

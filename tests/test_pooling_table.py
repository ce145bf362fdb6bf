"""The pooling-and-relu table of docs/gan.md, and the paragraph after it, are what
benchmarks/pooling_table.py measured on the runs of sweeps/pooling_and_relu.yaml (``--json``,
benchmarks/results/pooling_sweep.json):

    <!-- pooling-sweep: benchmarks/results/pooling_sweep.json -->   then the table

Each cell is the mean ± sample standard deviation of the recorded runs of its configuration,
computed here on its own; the paragraph quotes only the table's numbers, the number of
recorded steps and the largest share of zeros G was handed. One run is trained and measured
again on the pinned code paths and must give exactly its recorded numbers.
"""

from __future__ import annotations

import json
import re
import statistics
from fractions import Fraction

from tests.conftest import ROOT
from tests.doc_tables import body, rerun, unquoted_percents

DOC = ROOT / "docs" / "gan.md"
MARKER = re.compile(
    r"<!-- pooling-sweep: (\S+) -->\n+((?:\|[^\n]*\n)+)\n(What it shows\..*?)\n\n", re.S
)
#: column of the table -> (recorded number, scale, digits, unit)
COLUMNS = [
    ("handoff", 100, 2, "%"),
    ("inner", 100, 1, "%"),
    ("confident", 100, 1, "%"),
    ("covered", 1, 1, ""),
    ("frechet", 1, 2, ""),
]


def recorded() -> tuple[list[dict], list[list[str]], str]:
    path, table, prose = MARKER.search(DOC.read_text(encoding="utf-8")).groups()
    runs = json.loads((ROOT / path).read_text(encoding="utf-8"))
    return runs, body(table), " ".join(prose.split())


def mean_and_spread(values: list[float], scale: float, digits: int, unit: str) -> str:
    scaled = [scale * value for value in values]
    return f"{statistics.mean(scaled):.{digits}f}{unit} ± {statistics.stdev(scaled):.{digits}f}"


def test_every_configuration_has_its_five_seeds():
    runs, rows, _ = recorded()
    configurations = {(run["down"], run["activation"]) for run in runs}
    assert len(runs) == 30 and len(configurations) == len(rows) == 6
    assert {(row[0], row[1]) for row in rows} == configurations
    assert all(run["steps"] == 3000 for run in runs)


def test_the_table_is_what_the_runs_gave():
    runs, rows, _ = recorded()
    for row in rows:
        mine = [run for run in runs if (run["down"], run["activation"]) == (row[0], row[1])]
        assert len(mine) == 5, row[:2]
        expected = [mean_and_spread([run[name] for run in mine], *how) for name, *how in COLUMNS]
        assert row[2:] == expected, row[:2]


def test_the_paragraph_quotes_what_was_recorded():
    runs, rows, prose = recorded()
    means = [[cell.split(" ±")[0].rstrip("%") for cell in row] for row in rows]
    assert not unquoted_percents(prose, means), "the paragraph quotes numbers its table lacks"
    steps = re.search(r"in ([\d,]+) recorded steps", prose).group(1)
    assert int(steps.replace(",", "")) == sum(run["steps"] for run in runs)
    largest = re.search(r"the largest `handoff_zeros` is ([\d/]+)", prose).group(1)
    assert max(run["handoff_max"] for run in runs) == Fraction(largest)
    kept = re.search(r"of the positions it keeps, relu zeroes about (\d+)%", prose).group(1)
    strided_relu = next(row for row in rows if row[0].startswith("strided") and row[1] == "relu")
    inner = float(strided_relu[3].split("%")[0])
    assert round((inner - 75.0) / 25.0 * 100) == int(kept)


def test_one_run_gives_its_recorded_numbers_again(tmp_path):
    runs, _, _ = recorded()
    again = rerun("pooling_table.py", tmp_path, "--again", "c1-seed0")
    assert again == [next(run for run in runs if run["run"] == "c1-seed0")]

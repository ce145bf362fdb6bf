"""The digit GANs' table of docs/gan.md, and the README's sentence quoting it, are what
benchmarks/digit_measures.py measured (``--json``, benchmarks/results/digit_measures.json):

    <!-- digit-measures: benchmarks/results/digit_measures.json -->   then the table

Each row's confident share, digits covered (fewest to most each), Fréchet distance and
seconds are the recorded ones. The real digits' row needs only the CNN, so it is measured
again here on the pinned code paths; the GAN rows are written again by the command in the
script's docstring.
"""

from __future__ import annotations

import json
import re

from tests.conftest import ROOT
from tests.doc_tables import body, cells, run_benchmark

DOC = ROOT / "docs" / "gan.md"
MARKER = re.compile(r"<!-- digit-measures: (\S+) -->\n+((?:\|[^\n]*\n)+)")


def recorded() -> tuple[list[dict], list[list[str]]]:
    path, table = MARKER.search(DOC.read_text(encoding="utf-8")).groups()
    return json.loads((ROOT / path).read_text(encoding="utf-8")), body(table)


def row_cells(run: dict) -> list[str]:
    counts = run["counts"]
    covered = sum(1 for count in counts if count)
    return [
        f"{100 * run['confident']:.1f}%",
        f"{covered}/10 ({min(counts)} to {max(counts)} each)",
        f"{run['frechet']:.2f}",
        "" if run["seconds"] is None else f"{run['seconds']:.1f}",
    ]


def test_the_table_is_what_was_measured():
    runs, rows = recorded()
    assert len(rows) == len(runs) == 3
    for run, row in zip(runs, rows, strict=True):
        assert row[1:] == row_cells(run), row[0]
    assert [run["samples"] for run in runs[:2]] == ["digits_gan.yaml", "dcgan_digits.yaml"]
    assert all(run["samples"] in row[0] for run, row in zip(runs[:2], rows[:2], strict=True))


def test_the_readme_quotes_the_table():
    runs, _ = recorded()
    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    said = re.search(
        r"(\d+\.\d)% of its samples recognised with confidence ≥ 0\.9 by the CNN of "
        r"`cnn_digits\.yaml`, against (\d+\.\d)% for the dense G and (\d+\.\d)% for real",
        readme,
    )
    assert said, "README.md no longer quotes the digit measures"
    dense, conv, real = (f"{100 * run['confident']:.1f}" for run in runs)
    assert said.groups() == (conv, dense, real)


def test_the_real_digits_row_is_measured_again():
    runs, _ = recorded()
    printed = run_benchmark("digit_measures.py")
    line = next(line for line in printed.splitlines() if "held-out real digits" in line)
    assert cells(line)[1:] == row_cells(runs[-1])[:3]
    accuracy = re.search(r"CNN: (\d+\.\d)% on (\d+) held-out digits", printed).groups()
    quoted = re.findall(r"(\d+\.\d)% on its(?: (\d+))? held-out digits", DOC.read_text())
    assert len(quoted) >= 2, "docs/gan.md no longer says how good the CNN is"
    for percent, count in quoted:
        assert percent == accuracy[0] and count in ("", accuracy[1])


def test_the_scenario_comment_quotes_the_table():
    runs, _ = recorded()
    comment = " ".join((ROOT / "scenarios" / "gan" / "dcgan_digits.yaml").read_text().split())
    said = re.search(
        r"(\d+\.\d)% of 1000 # samples are classified by the CNN of cnn_digits\.yaml with "
        r"confidence >= 0\.9 \(digits_gan: # (\d+\.\d)%, real held-out digits: (\d+\.\d)%\), "
        r"all 10 digits among them; (\d+\.\d) s a run",
        comment,
    )
    assert said, "dcgan_digits.yaml no longer quotes the digit measures"
    dense, conv, real = (f"{100 * run['confident']:.1f}" for run in runs)
    assert said.groups() == (conv, dense, real, f"{runs[1]['seconds']:.1f}")

"""What the tests of docs' recorded tables share (test_gan_table, test_class_fidelity_tables,
test_digit_measures_table): a Markdown table's cells, a benchmark script run again, and the
percentages prose quotes that its tables do not hold."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT


def cells(line: str) -> list[str]:
    """ "| a | **b** |" -> ["a", "**b**"]."""
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def body(table: str) -> list[list[str]]:
    """The cells of a Markdown table's rows after its header and separator."""
    return [cells(line) for line in table.strip().splitlines()[2:]]


def run_benchmark(script: str, *args: str) -> str:
    """``python benchmarks/SCRIPT ARGS`` in its own process (it pins its code paths itself);
    its standard output, after checking it exited 0."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), *args],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def rerun(script: str, folder: Path, *args: str) -> list[dict]:
    """The runs a benchmark writes with ``--json`` when run again with ARGS."""
    out = folder / "again.json"
    run_benchmark(script, *args, "--json", str(out))
    return json.loads(out.read_text(encoding="utf-8"))


def unquoted_percents(prose: str, tables: list[list[str]]) -> list[str]:
    """The "98.4%"-style numbers of ``prose`` that no table cell holds (bold or not)."""
    held = {cell.strip("* ") for row in tables for cell in row}
    return [n for n in re.findall(r"(\d+\.\d)%", prose) if n not in held]

"""The size and build time of the HTML reports of three bundled runs (docs/reports.md, "Size
and speed").

    python benchmarks/report_sizes.py [--repeats 3]

Each scenario is run first (``tracegrad run SCENARIO --run-dir DIR``, not timed); then
``tracegrad report DIR -o DIR/report.html`` is timed ``--repeats`` times from the command's
start, as a user waits for it: elapsed time (which includes waiting for a core on a busy
machine) and the user CPU time of the command. Prints the docs' table, then where the bytes
go: the figures (inline SVG) and the step player's data (its embedded JSON).
tests/test_report_sizes.py checks the docs' sizes against this script's.
"""

from __future__ import annotations

import argparse
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

RUNS = ["gan/ring8", "moons", "digits"]
PLAYER_DATA = re.compile(
    r'<script type="application/json" class="tg-player-data">.*?</script>', re.S
)


def tracegrad(*arguments: str) -> None:
    command = [sys.executable, "-m", "engine", *arguments]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stdout}{done.stderr}")


def timed_report(run_dir: Path) -> tuple[float, float]:
    """(elapsed, user CPU) seconds of one ``tracegrad report`` command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime
    started = time.perf_counter()
    tracegrad("report", str(run_dir), "-o", str(run_dir / "report.html"))
    elapsed = time.perf_counter() - started
    return elapsed, resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime - before


def where_the_bytes_go(page: str) -> dict:
    """KiB of the page, of its figures (inline SVG) and of the step player's data."""
    svgs = re.findall(r"<svg.*?</svg>", page, re.S)
    player = PLAYER_DATA.findall(page)
    return {
        "report": len(page.encode()) / 1024,
        "figures": len(svgs),
        "figures_kib": sum(len(svg.encode()) for svg in svgs) / 1024,
        "player_kib": sum(len(data.encode()) for data in player) / 1024,
    }


def measure(name: str, folder: Path, repeats: int) -> dict:
    from engine.trace.reader import read_trace

    run_dir = folder / Path(name).name
    tracegrad("run", str(ROOT / "scenarios" / f"{name}.yaml"), "--run-dir", str(run_dir))
    times = [timed_report(run_dir) for _ in range(repeats)]
    trace = read_trace(run_dir / "trace.jsonl")
    page = (run_dir / "report.html").read_text(encoding="utf-8")
    return {
        "run": f"scenarios/{name}.yaml",
        "steps": len(trace.scalars["step"]),
        "traced": len(trace.traced_steps),
        "elapsed": [t for t, _ in times],
        "user": [u for _, u in times],
        **where_the_bytes_go(page),
    }


def spread(values: list[float]) -> str:
    low, high = min(values), max(values)
    return f"{low:.1f} s" if f"{low:.1f}" == f"{high:.1f}" else f"{low:.1f}–{high:.1f} s"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        rows = [measure(name, Path(folder), args.repeats) for name in RUNS]
    print("| run | steps | traced | report | elapsed | user |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        print(
            f"| `{row['run']}` | {row['steps']:,} | {row['traced']} | {row['report']:,.0f} KiB "
            f"| {spread(row['elapsed'])} | {spread(row['user'])} |"
        )
    print()
    for row in rows:
        print(
            f"{row['run']}: {row['figures']} figures {row['figures_kib']:.0f} KiB, "
            f"step player's data {row['player_kib']:.0f} KiB"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

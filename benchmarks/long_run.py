"""One long traced run in a fresh process, for the memory and trace-size rows.

    python benchmarks/long_run.py STEPS FOLDER

trains the tiny benchmark network for STEPS steps with the default trace settings, writing
the trace into FOLDER, and prints one JSON line: steps, seconds, trace bytes, and the peak
resident memory of the process before and after training.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

import workloads  # noqa: E402

import engine  # noqa: E402


def peak_rss_mb() -> float:
    """Peak resident memory of this process: VmHWM from /proc (Linux), else getrusage.

    ``getrusage``'s ru_maxrss also counts the parent's memory at the fork that started this
    process, so where /proc exists its per-process high-water mark is read instead.
    """
    status = Path("/proc/self/status")
    if status.is_file():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def main(steps: int, folder: Path) -> dict:
    scenario = workloads.load(workloads.NETS["tiny"], steps)
    before = peak_rss_mb()
    began = time.perf_counter()
    result = engine.run(scenario, trace=folder / "trace.jsonl")
    seconds = time.perf_counter() - began
    return {
        "steps": steps,
        "status": result.status,
        "seconds": seconds,
        "trace_bytes": (folder / "trace.jsonl").stat().st_size,
        "rss_before_mb": before,
        "rss_peak_mb": peak_rss_mb(),
    }


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]), Path(sys.argv[2]))))

"""Tracegrad's benchmarks: ratios measured in one process, each against a baseline of the same
run, printed as Markdown tables.

    python benchmarks/run.py                 # everything (about 6 minutes on 2 cores)
    python benchmarks/run.py --quick         # shorter runs, fewer repeats (1-2 minutes)
    python benchmarks/run.py --only overhead,torch

Sections: overhead (engine vs a plain numpy loop), torch (engine vs PyTorch, float64),
float32 (``precision: float32``), tracing (cost of the trace), size (bytes of a trace),
scale (step time by width and batch), memory (peak RSS of a long traced run), endtoend (a
scenario file run with the default trace against a numpy loop, JAX and PyTorch), loading
(reading and building scenarios of growing size), frameworks (GAN and CNN steps against
PyTorch and JAX), scaling (step time and memory by width, depth and batch, against PyTorch and
JAX). See
docs/performance.md for what each row means.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SECTIONS = (
    "overhead",
    "torch",
    "float32",
    "tracing",
    "size",
    "scale",
    "memory",
    "endtoend",
    "loading",
    "frameworks",
    "scaling",
)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short runs, 3 repeats")
    parser.add_argument(
        "--only", default=",".join(SECTIONS), help=f"comma-separated: {', '.join(SECTIONS)}"
    )
    parser.add_argument("--repeats", type=int, default=None, help="default 5 (quick: 3)")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="BLAS and PyTorch threads (default 1: on a small shared machine, threads "
        "competing for cores make small matrix products erratic)",
    )
    args = parser.parse_args(argv)
    args.only = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = sorted(set(args.only) - set(SECTIONS))
    if unknown:
        parser.error(f"unknown section {unknown[0]!r}; sections: {', '.join(SECTIONS)}")
    args.repeats = args.repeats or (3 if args.quick else 5)
    return args


def limit_threads(threads: int) -> None:
    """Before numpy is imported: its BLAS reads these once, at import."""
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = str(threads)


def main(argv=None) -> None:
    args = parse_args(argv)
    limit_threads(args.threads)
    sys.path[:0] = [str(HERE), str(HERE.parent)]
    from sections import Bench  # imported after the thread limits are set

    command = " ".join(["python benchmarks/run.py", *(argv if argv is not None else sys.argv[1:])])
    bench = Bench(args.quick, args.repeats, args.threads, command)
    try:
        print(bench.preamble(platform.platform(), os.cpu_count()), flush=True)
        began = time.perf_counter()
        for name in args.only:
            print(getattr(bench, name)(), flush=True)
        print(bench.epilogue(time.perf_counter() - began), flush=True)
    finally:
        shutil.rmtree(bench.tmp, ignore_errors=True)  # the traces written on the way


if __name__ == "__main__":
    main()

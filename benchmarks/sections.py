"""The sections of ``benchmarks/run.py``, one method each, returning Markdown.

Every ratio is measured within this process against a baseline run in the same repeats
(``timing.compare``), so a machine that is slower or busier for a while slows both sides.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import cnn_workload
import gan_workload
import jax_workload
import numpy as np
import workloads
from sections_e2e import EndToEnd
from timing import compare
from workloads import NETS, Net

from engine.errors import TracegradError

HERE = Path(__file__).resolve().parent

STEPS = {"tiny": 4000, "medium": 2000, "wide": 300, "gan": 300, "cnn": 300}
QUICK_STEPS = {"tiny": 1000, "medium": 500, "wide": 80, "gan": 80, "cnn": 80}


def log(message: str) -> None:
    print(f"  … {message}", file=sys.stderr, flush=True)


def table(headers: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def rate(steps_per_second: float) -> str:
    return f"{steps_per_second:,.0f}" if steps_per_second >= 100 else f"{steps_per_second:.1f}"


def verdict(ok: bool | None) -> str:
    return "—" if ok is None else ("yes" if ok else "**no**")


class Bench(EndToEnd):
    log, table, rate = staticmethod(log), staticmethod(table), staticmethod(rate)

    def __init__(self, quick: bool, repeats: int, threads: int, command: str):
        self.quick, self.repeats, self.threads, self.command = quick, repeats, threads, command
        self.steps = QUICK_STEPS if quick else STEPS
        self.has_torch = workloads.torch_available()
        if self.has_torch:
            import torch

            torch.set_num_threads(threads)
        self.targets: list[tuple[str, str, str, bool]] = []
        self.tmp = Path(tempfile.mkdtemp(prefix="tracegrad-bench-"))

    def target(self, what: str, measured: str, wanted: str, ok: bool) -> str:
        self.targets.append((what, measured, wanted, ok))
        return verdict(ok)

    # --- framing ----------------------------------------------------------------------------

    def preamble(self, machine: str, cpus: int | None) -> str:
        versions = f"numpy {np.__version__}"
        if self.has_torch:
            import torch

            versions += f", torch {torch.__version__}"
        if jax_workload.available():
            versions += f", jax {jax_workload.version()} (CPU, 1 thread)"
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        return "\n".join(
            [
                "# Tracegrad benchmarks",
                "",
                f"- command: `{self.command}`",
                f"- machine: {machine}, {cpus} CPUs; load average at start {load}",
                f"- Python {sys.version.split()[0]}, {versions}; {self.threads} BLAS/torch "
                f"thread(s)",
                f"- every ratio: median of {self.repeats} interleaved repeats (range: lowest "
                f"to highest repeat)",
                "",
            ]
        )

    def epilogue(self, seconds: float) -> str:
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        rows = [[*target[:3], verdict(target[3])] for target in self.targets]
        return "\n".join(
            [
                "## Targets",
                "",
                table(["target", "measured", "wanted", "met"], rows),
                "",
                f"Total {seconds / 60:.1f} minutes; load average at the end {load}.",
            ]
        )

    # --- 1. engine vs a plain numpy loop ---------------------------------------------------

    def overhead(self) -> str:
        rows = []
        for net in NETS.values():
            steps = self.steps[net.name]
            log(f"overhead: {net.name}")
            result = self._numpy_net(net, steps, self.repeats)
            rows.append(
                [
                    f"{net.name} {net.shape}",
                    net.batch,
                    rate(result.contender_rate),
                    rate(result.baseline_rate),
                    f"{result.ratio:.2f}",
                    result.spread,
                    "≥ 0.85",
                    self.target(
                        f"engine ÷ numpy loop, {net.name}",
                        f"{result.ratio:.2f}",
                        "≥ 0.85",
                        result.ratio >= 0.85,
                    ),
                ]
            )
        if gan_workload.ring8_available():
            log("overhead: ring8 GAN")
            gan = self._gan_comparison(
                lambda scenario, steps: gan_workload.numpy_gan_seconds(scenario, steps)
            )
            rows.append(
                [
                    "ring8 GAN (G, D: 128-128)",
                    256,
                    rate(gan.contender_rate),
                    rate(gan.baseline_rate),
                    f"{gan.ratio:.2f}",
                    gan.spread,
                    "—",
                    "—",
                ]
            )
        return "\n".join(
            [
                "## 1. Engine overhead: engine (tracing off) vs a plain numpy loop, float64",
                "",
                table(
                    [
                        "network",
                        "batch",
                        "engine steps/s",
                        "numpy loop steps/s",
                        "engine ÷ numpy",
                        "range",
                        "target",
                        "met",
                    ],
                    rows,
                ),
                "",
            ]
        )

    def _numpy_net(self, net: Net, steps: int, repeats: int):
        scenario = workloads.load(net, steps)
        x, y, params = workloads.starting_point(scenario)
        return compare(
            lambda: workloads.engine_seconds(scenario),
            lambda: workloads.numpy_seconds(x, y, params, net.batch, steps),
            steps,
            repeats,
        )

    # --- 2. engine vs PyTorch ---------------------------------------------------------------

    def torch(self) -> str:
        title = "## 2. Engine vs PyTorch eager (CPU), float64"
        if not self.has_torch:
            return f"{title}\n\nSkipped: PyTorch is not installed.\n"
        wanted = {"tiny": 2.0, "medium": 1.2, "wide": 0.8, "gan": 1.3}
        rows = []
        for net in NETS.values():
            log(f"torch: {net.name}")
            result = self._torch_net(net, "float64")
            rows.append(self._torch_row(f"{net.name} {net.shape}", result, wanted[net.name]))
        note = ""
        if gan_workload.ring8_available():
            log("torch: ring8 GAN")
            result = self._gan_comparison(gan_workload.torch_gan_seconds)
            rows.append(self._torch_row("ring8 GAN", result, wanted["gan"]))
            products = gan_workload.matmul_seconds(gan_workload.load_ring8(10))
            note = (
                f"\nring8 GAN, where the time goes: its matrix products alone (numpy, the "
                f"same shapes) take {1e3 * products:.2f} ms a step, "
                f"{100 * products * result.contender_rate:.0f}% of the engine's "
                f"{1e3 / result.contender_rate:.2f} ms; PyTorch's step takes "
                f"{1e3 / result.baseline_rate:.2f} ms.\n"
            )
        else:
            rows.append(["ring8 GAN", "—", "—", "—", "—", "≥ 1.3", "skipped: no ring8.yaml"])
        rows.append(self._cnn_row())
        return "\n".join(
            [
                title,
                "",
                table(
                    [
                        "network",
                        "engine steps/s",
                        "PyTorch steps/s",
                        "engine ÷ PyTorch",
                        "range",
                        "target",
                        "met",
                    ],
                    rows,
                ),
                note,
            ]
        )

    def _cnn_row(self) -> list:
        """cnn_digits (conv, pool, conv, pool, dense) against the same network in PyTorch;
        no target yet: the row is there to be read."""
        name = "cnn_digits (1×8×8, conv 8, pool, conv 16, pool, 10)"
        try:
            scenario = cnn_workload.load(self.steps["cnn"])
            x, labels, params = cnn_workload.starting_point(scenario)
        except TracegradError as error:  # the digits need scikit-learn
            return [name, "—", "—", "—", "—", "—", f"skipped: {error}"]
        log("torch: cnn_digits")
        steps = self.steps["cnn"]
        batch = scenario.spec.train.batch_size
        result = compare(
            lambda: cnn_workload.engine_seconds(scenario),
            lambda: cnn_workload.torch_seconds(x, labels, params, batch, steps),
            steps,
            self.repeats,
        )
        return [
            name,
            rate(result.contender_rate),
            rate(result.baseline_rate),
            f"{result.ratio:.2f}",
            result.spread,
            "—",
            "—",
        ]

    def _torch_net(self, net: Net, dtype: str, precision: str | None = None):
        steps = self.steps[net.name]
        scenario = workloads.load(net, steps, precision=precision)
        x, y, params = workloads.starting_point(scenario)
        return compare(
            lambda: workloads.engine_seconds(scenario),
            lambda: workloads.torch_seconds(x, y, params, net.batch, steps, dtype),
            steps,
            self.repeats,
        )

    def _torch_row(self, name: str, result, wanted: float) -> list:
        met = self.target(
            f"engine ÷ PyTorch, {name}",
            f"{result.ratio:.2f}",
            f"≥ {wanted}",
            result.ratio >= wanted,
        )
        return [
            name,
            rate(result.contender_rate),
            rate(result.baseline_rate),
            f"{result.ratio:.2f}",
            result.spread,
            f"≥ {wanted}",
            met,
        ]

    def _gan_comparison(self, baseline, precision: str | None = None):
        """The engine's ring8 GAN against ``baseline(scenario, steps) -> seconds``."""
        scenario = gan_workload.load_ring8(self.steps["gan"], precision)
        timed = self.steps["gan"] - 2  # the engine is timed from its 2nd step to its last but one
        return compare(
            lambda: gan_workload.engine_gan_seconds(scenario)[0],
            lambda: baseline(scenario, timed),
            timed,
            self.repeats,
        )

    # --- 2b. precision: float32 -------------------------------------------------------------

    def float32(self) -> str:
        rows = []
        for net in NETS.values():
            log(f"float32: {net.name}")
            steps = self.steps[net.name]
            single = workloads.load(net, steps, precision="float32")
            double = workloads.load(net, steps)
            speedup = compare(
                lambda single=single: workloads.engine_seconds(single),
                lambda double=double: workloads.engine_seconds(double),
                steps,
                self.repeats,
            )
            against = self._torch_net(net, "float32", "float32") if self.has_torch else None
            rows.append(self._float32_row(f"{net.name} {net.shape}", speedup, against))
        if gan_workload.ring8_available():
            log("float32: ring8 GAN")
            steps = self.steps["gan"]
            single = gan_workload.load_ring8(steps, "float32")
            double = gan_workload.load_ring8(steps)
            speedup = compare(
                lambda: gan_workload.engine_gan_seconds(single)[0],
                lambda: gan_workload.engine_gan_seconds(double)[0],
                steps - 2,
                self.repeats,
            )
            against = None
            if self.has_torch:
                against = self._gan_comparison(
                    lambda scenario, count: gan_workload.torch_gan_seconds(
                        scenario, count, "float32"
                    ),
                    precision="float32",
                )
            rows.append(self._float32_row("ring8 GAN", speedup, against))
        return "\n".join(
            [
                "## 2b. `precision: float32`",
                "",
                "The same runs with `precision: float32` in the scenario: against the engine "
                "in float64, and against PyTorch in float32.",
                "",
                table(
                    [
                        "network",
                        "float32 steps/s",
                        "float32 ÷ float64",
                        "range",
                        "PyTorch float32 steps/s",
                        "engine ÷ PyTorch (float32)",
                        "range",
                    ],
                    rows,
                ),
                "",
            ]
        )

    def _float32_row(self, name: str, speedup, against) -> list:
        row = [name, rate(speedup.contender_rate), f"{speedup.ratio:.2f}", speedup.spread]
        if against is None:
            return [*row, "—", "—", "—"]
        return [*row, rate(against.baseline_rate), f"{against.ratio:.2f}", against.spread]

    # --- 3. tracing cost --------------------------------------------------------------------

    def tracing(self) -> str:
        rows = []
        repeats = 2 * self.repeats - 1  # a small difference between two noisy timings
        for name in ("tiny", "medium"):
            net, steps = NETS[name], self.steps[name]
            off = workloads.load(net, steps)
            for label, trace, allowed in (
                ("default (step 0 and the last)", None, 0.05),
                ("every: 100", {"every": 100}, 0.10),
            ):
                log(f"tracing: {name}, {label}")
                traced = workloads.load(net, steps, trace=trace)
                path = self.tmp / f"{name}-{len(rows)}" / "trace.jsonl"
                result = compare(
                    lambda traced=traced, path=path: workloads.engine_seconds(traced, path),
                    lambda off=off: workloads.engine_seconds(off),
                    steps,
                    repeats,
                )
                slower = 1.0 / result.ratio - 1.0  # extra time per step, relative
                rows.append(
                    [
                        f"{name}, {label}",
                        f"{slower:+.1%}",
                        f"{1 / max(result.ratios) - 1:+.1%} – {1 / min(result.ratios) - 1:+.1%}",
                        f"{self._tracing_work(traced, path):+.1%}",
                        f"≤ {allowed:.0%}",
                        self.target(
                            f"tracing cost, {name}, {label}",
                            f"{slower:+.1%}",
                            f"≤ {allowed:.0%}",
                            slower <= allowed,
                        ),
                    ]
                )
        log("tracing: every step of the medium net")
        net = NETS["medium"]
        steps = 100 if self.quick else 200
        full = workloads.load(net, steps, trace={"every": 1})
        off = workloads.load(net, steps)
        path = self.tmp / "full" / "trace.jsonl"
        result = compare(
            lambda: workloads.engine_seconds(off),
            lambda: workloads.engine_seconds(full, path),
            steps,
            self.repeats,
        )
        cost = result.ratio  # untraced steps/s ÷ traced steps/s = traced step time ÷ untraced
        work = self._tracing_work(full, path)
        rows.append(
            [
                "medium, every step traced: time of a traced step ÷ an untraced one",
                f"{cost:.1f}×",
                result.spread,
                f"{1 + work:.1f}×",
                "≤ 20×",
                self.target("fully traced medium step", f"{cost:.1f}×", "≤ 20×", cost <= 20),
            ]
        )
        return "\n".join(
            [
                "## 3. Tracing cost",
                "",
                "Extra time per step of a traced run over the same run with tracing off "
                "(`trace=False`), from the two runs' times (median of "
                f"{repeats} interleaved repeats); the trace file is written to a temporary "
                "folder. The column *in the loop* adds up the time spent in the trace's own "
                "functions during the traced run (per-step scalars and the records of traced "
                "steps), relative to the rest of the loop: the same cost, measured without "
                "the noise of comparing two runs.",
                "",
                table(["run", "measured", "range", "in the loop", "target", "met"], rows),
                "",
            ]
        )

    def _tracing_work(self, scenario, path: Path) -> float:
        """Median over repeats of (time in the trace's functions) ÷ (the rest of the loop)."""
        shares = []
        for _ in range(self.repeats):
            with workloads.timed_tracing() as spent:
                seconds = workloads.engine_seconds(scenario, path)
            shares.append(spent[0] / (seconds - spent[0]))
        return sorted(shares)[len(shares) // 2]

    # --- 4. trace size ----------------------------------------------------------------------

    def size(self) -> str:
        rows = []
        steps = 300 if self.quick else 1000
        for net in NETS.values():
            log(f"size: {net.name}")
            path = self.tmp / f"size-{net.name}" / "trace.jsonl"
            workloads.engine_seconds(workloads.load(net, steps), path)
            sizes = trace_sizes(path)
            per_step = sizes["scalars"] / steps
            projected = sizes["header"] + sizes["traced"] * 2 + 100_000 * per_step + 200
            rows.append(
                [
                    f"{net.name} {net.shape}",
                    f"{sizes['traced']:,}",
                    f"{per_step:.1f}",
                    f"{sizes['header']:,}",
                    f"{projected / 1e6:.2f} MB",
                ]
            )
        return "\n".join(
            [
                "## 4. Trace size (default settings: `max_values: 64`, steps 0 and the last)",
                "",
                f"Measured on a {steps}-step run of each network; the last column adds "
                "99,000 more steps of scalars. Section 6 measures a real 100,000-step run.",
                "",
                table(
                    [
                        "network",
                        "bytes per traced step",
                        "scalars bytes per step",
                        "header bytes",
                        "100,000 steps (projected)",
                    ],
                    rows,
                ),
                "",
            ]
        )

    # --- 5. scale ---------------------------------------------------------------------------

    def scale(self) -> str:
        widths = (16, 64, 256, 1024)
        batches = (1, 16, 128, 1024, 4096)
        repeats = min(self.repeats, 3)
        width_rows = [self._scale_row(Net(f"w{w}", 2, w, 1, 128, 2048), repeats) for w in widths]
        batch_rows = [
            self._scale_row(Net(f"b{b}", 2, 64, 1, b, max(2048, 2 * b)), repeats) for b in batches
        ]
        headers = ["network", "batch", "engine µs/step", "numpy loop µs/step", "engine ÷ numpy"]
        return "\n".join(
            [
                "## 5. Scale: time per step by width and by batch (tracing off, float64)",
                "",
                "Networks 2-w-w-1 (tanh, MSE, Adam). At small sizes a step costs the same "
                "whatever its size (Python and numpy call overhead); where the time starts to "
                "grow with the size, the arithmetic (BLAS) has taken over.",
                "",
                table(headers, width_rows),
                "",
                table(headers, batch_rows),
                "",
            ]
        )

    def _scale_row(self, net: Net, repeats: int) -> list:
        log(f"scale: width {net.hidden}, batch {net.batch}")
        probe = workloads.load(net, 20)
        seconds = workloads.engine_seconds(probe) / 20
        budget = 0.1 if self.quick else 0.3
        steps = int(min(max(budget / seconds, 10), 5000))
        result = self._numpy_net(net, steps, repeats)
        return [
            net.shape,
            net.batch,
            f"{1e6 / result.contender_rate:,.0f}",
            f"{1e6 / result.baseline_rate:,.0f}",
            f"{result.ratio:.2f}",
        ]

    # --- 6. memory --------------------------------------------------------------------------

    def memory(self) -> str:
        short, long = (2_000, 20_000) if self.quick else (10_000, 100_000)
        runs = []
        for steps in (short, long):
            log(f"memory: {steps:,} steps in a fresh process")
            folder = self.tmp / f"memory-{steps}"
            folder.mkdir(parents=True, exist_ok=True)
            output = subprocess.run(
                [sys.executable, str(HERE / "long_run.py"), str(steps), str(folder)],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            runs.append(json.loads(output.strip().splitlines()[-1]))
        rows = [
            [
                f"{run['steps']:,}",
                f"{run['seconds']:.1f}",
                f"{run['trace_bytes'] / 1e6:.2f}",
                f"{run['rss_before_mb']:.0f}",
                f"{run['rss_peak_mb']:.0f}",
                f"{run['rss_peak_mb'] - run['rss_before_mb']:.1f}",
            ]
            for run in runs
        ]
        a, b = runs
        growth = (b["rss_peak_mb"] - a["rss_peak_mb"]) * 2**20 / (b["steps"] - a["steps"])
        size_wanted = "< 5 MB at 100,000 steps"
        scaled = "" if b["steps"] == 100_000 else f" (scaled from {b['steps']:,} steps)"
        size_mb = b["trace_bytes"] / 1e6 * (100_000 / b["steps"])
        size_ok = self.target(
            "trace of a 100,000-step run (tiny net, default trace)",
            f"{size_mb:.2f} MB{scaled}",
            "< 5 MB",
            size_mb < 5,
        )
        return "\n".join(
            [
                "## 6. Memory and size of a long traced run",
                "",
                "The tiny network with the default trace, each run in a fresh process; peak "
                "resident memory (VmHWM of /proc/self/status, else `resource.getrusage`) "
                "before training (imports, data, network) and at the end.",
                "",
                table(
                    [
                        "steps",
                        "seconds",
                        "trace MB",
                        "peak RSS before MB",
                        "peak RSS after MB",
                        "growth MB",
                    ],
                    rows,
                ),
                "",
                f"- peak RSS grows by {growth:.0f} bytes per step from {a['steps']:,} to "
                f"{b['steps']:,} steps (the history's numbers: one 8-byte value per quantity "
                f"per step)",
                f"- trace size: {size_mb:.2f} MB for 100,000 steps{scaled}; target "
                f"{size_wanted}: {size_ok}",
                "",
            ]
        )


def trace_sizes(path: Path) -> dict[str, int]:
    """Bytes of the header, of step 0's records, and of all scalars records."""
    sizes = {"header": 0, "traced": 0, "scalars": 0}
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            size = len(line.encode("utf-8"))
            if record["type"] == "header":
                sizes["header"] += size
            elif record["type"] == "scalars":
                sizes["scalars"] += size
            elif record.get("step") == 0:
                sizes["traced"] += size
    return sizes

"""The sections of ``benchmarks/run.py`` that time what a user waits for, and JAX beside PyTorch.

- ``endtoend``: a scenario file with its data and weights inline, run with the default trace,
  against a hand-written numpy loop, JAX (``jit``, one call per step) and PyTorch eager;
- ``loading``: reading, validating and building scenarios of growing size;
- ``frameworks``: a GAN step (ring8) and a CNN step (cnn_digits) against PyTorch and JAX;
- ``scaling``: step time and memory as width, depth and batch grow, against PyTorch and JAX.

Mixed into ``sections.Bench``, which holds the settings, the table helpers and the targets.
"""

from __future__ import annotations

import os
import statistics

import cnn_workload
import end_to_end
import gan_workload
import jax_workload
import numpy as np
import scale_workload
import workloads
from timing import Comparison, compare_many
from workloads import NETS

from engine.errors import TracegradError

E2E = {  # name: features, hidden, outputs, samples, batch, steps (full run)
    "tiny": (2, 16, 1, 1024, 64, 6000),
    "medium": (2, 64, 1, 1024, 128, 3000),
    "wide": (64, 256, 10, 4096, 256, 300),  # data and weights drawn when built, not inline
}
#: ``--quick`` keeps these steps: reading, building and the trace are part of what the section
#: measures, and with fewer steps they would weigh more than in the runs the targets are for.
QUICK_E2E_STEPS = {"tiny": 6000, "medium": 3000, "wide": 300}
#: The fewer steps PyTorch takes per repeat (its rate is per step, so the ratio is the same).
TORCH_SHARE = 4


def load_average() -> str:
    return f"{os.getloadavg()[0]:.1f}"


def ratio_cell(rates: dict, baseline: str) -> str:
    if baseline not in rates:
        return "skipped"
    result = Comparison(rates["engine"], rates[baseline])
    return f"{result.ratio:.2f} ({result.spread})"


def median_rate(rates: dict, name: str, fmt) -> str:
    return fmt(statistics.median(rates[name])) if name in rates else "—"


class EndToEnd:
    # --- 7. end to end ----------------------------------------------------------------------

    def endtoend(self) -> str:
        has_jax = jax_workload.available()
        rows, command_rows = [], []
        for name in E2E:
            for precision in ("float64", "float32"):
                row, command_row = self._e2e_row(name, precision, has_jax)
                rows.append(row)
                if command_row:
                    command_rows.append(command_row)
        jax_note = "" if has_jax else " JAX is not installed: its columns say skipped."
        return "\n".join(
            [
                "## 7. End to end: a scenario file, read, built, trained and traced",
                "",
                "`engine.run(FILE, trace=PATH)` from the call to its return, with the data "
                "and the initial weights written inline in the file and the default trace "
                "(steps 0 and the last, every step's scalars), against the same training "
                "from arrays in memory: a hand-written numpy loop, JAX (`jax.jit`, one "
                "compiled call per step, compiled before timing) and PyTorch eager, one "
                "thread each. Ratios: engine steps/s ÷ the baseline's, median of "
                f"{self.repeats} interleaved repeats (range).{jax_note} The wide network's "
                "data (4,096 samples of the `teacher` data set) and weights are drawn when "
                "it is built: written out they would be 380,000 numbers.",
                "",
                self.table(
                    [
                        "network",
                        "dtype",
                        "numbers in the file",
                        "load + build s",
                        "engine steps/s",
                        "numpy loop steps/s",
                        "÷ numpy loop",
                        "JAX steps/s",
                        "÷ JAX-jit",
                        "PyTorch steps/s",
                        "÷ PyTorch",
                        "load avg",
                    ],
                    rows,
                ),
                "",
                "The command, `python -m engine run FILE --trace PATH` in a fresh process, "
                "from its start to its summary line (Python's start, imports, loading, "
                "training, trace), against the numpy loop's rate in the same repeats:",
                "",
                self.table(
                    [
                        "network",
                        "steps",
                        "seconds to the summary",
                        "steps/s",
                        "÷ numpy loop",
                        "load avg",
                    ],
                    command_rows,
                ),
                "",
            ]
        )

    def _e2e_row(self, name: str, precision: str, has_jax: bool) -> tuple[list, list | None]:
        features, hidden, outputs, samples, batch, steps = E2E[name]
        steps = QUICK_E2E_STEPS[name] if self.quick else steps
        folder = self.tmp / "e2e"
        if name == "wide":
            written = end_to_end.write_generated(folder, NETS[name], steps, precision)
        else:
            written = end_to_end.write_scenario(
                folder, features, hidden, outputs, samples, batch, steps, precision
            )
        self.log(f"end to end: {name}, {precision}")
        runs_folder = self.tmp / "e2e-runs"
        end_to_end.engine_seconds(written.path, runs_folder)  # imports and plugins once
        x, y, params = written.x, written.y, written.params
        numpy_dtype = getattr(np, precision)
        few = max(steps // TORCH_SHARE, 20)
        runs = {
            "engine": (lambda: end_to_end.engine_seconds(written.path, runs_folder), steps),
            "numpy": (
                lambda: workloads.numpy_seconds(x, y, params, batch, steps, numpy_dtype),
                steps,
            ),
            "jax": (
                (lambda: jax_workload.mlp_seconds(x, y, params, batch, steps, precision))
                if has_jax
                else None,
                steps,
            ),
            "torch": (
                (lambda: workloads.torch_seconds(x, y, params, batch, few, precision))
                if self.has_torch
                else None,
                few,
            ),
        }
        if precision == "float64" and name != "wide":
            runs["command"] = (
                lambda: end_to_end.command_seconds(written.path, runs_folder),
                steps,
            )
        rates = compare_many(runs, self.repeats)
        load = statistics.median(end_to_end.load_seconds(written.path) for _ in range(self.repeats))
        label = f"{name} {features}-{hidden}-{hidden}-{outputs}, batch {batch}"
        row = [
            label,
            precision,
            f"{written.numbers:,}",
            f"{load:.3f}",
            median_rate(rates, "engine", self.rate),
            median_rate(rates, "numpy", self.rate),
            ratio_cell(rates, "numpy"),
            median_rate(rates, "jax", self.rate),
            ratio_cell(rates, "jax"),
            median_rate(rates, "torch", self.rate),
            ratio_cell(rates, "torch"),
            load_average(),
        ]
        self._e2e_targets(name, precision, rates)
        if "command" not in rates:
            return row, None
        command = Comparison(rates["command"], rates["numpy"])
        command_row = [
            label,
            f"{steps:,}",
            f"{steps / statistics.median(rates['command']):.2f}",
            self.rate(command.contender_rate),
            f"{command.ratio:.2f} ({command.spread})",
            load_average(),
        ]
        return row, command_row

    def _e2e_targets(self, name: str, precision: str, rates: dict) -> None:
        if precision != "float64":
            return
        wanted = {
            "numpy": {"tiny": 0.95, "medium": 0.95},
            "jax": {"tiny": 1.0, "medium": 1.0, "wide": 0.8},
        }
        for baseline, goals in wanted.items():
            if name in goals and baseline in rates:
                result = Comparison(rates["engine"], rates[baseline])
                what = "hand numpy loop" if baseline == "numpy" else "JAX-jit per call"
                self.target(
                    f"end to end ÷ {what}, {name}, float64",
                    f"{result.ratio:.2f} ({result.spread}), load {load_average()}",
                    f"≥ {goals[name]}",
                    result.ratio >= goals[name],
                )

    # --- 8. loading -------------------------------------------------------------------------

    def loading(self) -> str:
        rows = []
        sizes = (2_500, 10_000, 40_000) if self.quick else (2_500, 10_000, 40_000, 160_000)
        per_number = {}
        for numbers in sizes:
            hidden = 64
            weights = 2 * hidden + hidden + hidden * hidden + hidden + hidden + 1
            if numbers < weights + 48:
                hidden = 16
                weights = 2 * hidden + hidden + hidden * hidden + hidden + hidden + 1
            samples = (numbers - weights) // 3
            written = end_to_end.write_scenario(
                self.tmp / "loading", 2, hidden, 1, samples, 16, 10, name=f"load-{numbers}"
            )
            self.log(f"loading: {written.numbers:,} numbers")
            end_to_end.load_seconds(written.path)
            warm = statistics.median(
                end_to_end.load_seconds(written.path) for _ in range(self.repeats)
            )
            colds = [end_to_end.cold_load_seconds(written.path) for _ in range(self.repeats)]
            imported = statistics.median(c[0] for c in colds)
            cold = statistics.median(c[1] for c in colds)
            per_number[written.numbers] = warm
            rows.append(
                [
                    f"{written.numbers:,}",
                    f"{written.path.stat().st_size / 1e3:,.0f} KB",
                    f"{warm:.3f}",
                    f"{1e6 * warm / written.numbers:.2f}",
                    f"{cold:.3f}",
                    f"{imported:.3f}",
                    load_average(),
                ]
            )
            if numbers == 10_000:
                self.target(
                    "read, validate and build 10,000 inline numbers (in a process that has "
                    "loaded a scenario before)",
                    f"{warm:.3f} s (first in a fresh process {cold:.3f} s)",
                    "< 0.1 s",
                    warm < 0.1,
                )
        return "\n".join(
            [
                "## 8. Loading: reading, validating and building a scenario",
                "",
                "Files like section 7's (2-h-h-1 tanh, data and weights inline). *Again*: "
                "`engine.load_scenario` and the build, in a process that has loaded a "
                "scenario before (median of repeats); *first*: the same in a fresh process, "
                "after `import engine` (whose time is the next column).",
                "",
                self.table(
                    [
                        "numbers",
                        "file",
                        "again s",
                        "µs per number",
                        "first s",
                        "import engine s",
                        "load avg",
                    ],
                    rows,
                ),
                "",
            ]
        )

    # --- 9. GAN and CNN steps against PyTorch and JAX -----------------------------------------

    def frameworks(self) -> str:
        has_jax = jax_workload.available()
        rows = []
        for precision in ("float64", "float32"):
            if gan_workload.ring8_available():
                rows.append(self._gan_frameworks(precision, has_jax))
            rows.append(self._cnn_frameworks(precision, has_jax))
        return "\n".join(
            [
                "## 9. GAN and CNN steps against PyTorch eager and JAX-jit",
                "",
                "The training loop alone (as in section 2), float64 and float32; engine "
                "steps/s ÷ the framework's, median of interleaved repeats (range). JAX: one "
                "compiled call per phase (GAN) or per step (CNN), compiled before timing.",
                "",
                self.table(
                    [
                        "network",
                        "dtype",
                        "engine steps/s",
                        "PyTorch steps/s",
                        "÷ PyTorch",
                        "JAX steps/s",
                        "÷ JAX-jit",
                        "load avg",
                    ],
                    rows,
                ),
                "",
            ]
        )

    def _gan_frameworks(self, precision: str, has_jax: bool) -> list:
        self.log(f"frameworks: ring8 GAN, {precision}")
        steps = self.steps["gan"]
        scenario = gan_workload.load_ring8(steps, precision)
        timed = steps - 2
        spec = scenario.spec
        data = gan_workload.engine_data(scenario)
        d, g = spec.optimizer.discriminator, spec.optimizer.generator
        runs = {
            "engine": (lambda: gan_workload.engine_gan_seconds(scenario)[0], timed),
            "torch": (
                (lambda: gan_workload.torch_gan_seconds(scenario, timed, precision))
                if self.has_torch
                else None,
                timed,
            ),
            "jax": (
                (
                    lambda: jax_workload.gan_seconds(
                        data,
                        spec.latent.dim,
                        spec.train.batch_size,
                        timed,
                        (d.lr, g.lr),
                        (tuple(d.betas), tuple(g.betas)),
                        precision,
                    )
                )
                if has_jax
                else None,
                timed,
            ),
        }
        rates = compare_many(runs, self.repeats)
        wanted = {"float64": 1.3, "float32": 1.5}[precision]
        if "torch" in rates:
            result = Comparison(rates["engine"], rates["torch"])
            self.target(
                f"GAN step ÷ PyTorch eager, {precision}",
                f"{result.ratio:.2f} ({result.spread}), load {load_average()}",
                f"≥ {wanted}",
                result.ratio >= wanted,
            )
        return self._framework_row("ring8 GAN (G, D: 128-128), batch 256", precision, rates)

    def _cnn_frameworks(self, precision: str, has_jax: bool) -> list:
        name = "cnn_digits (1×8×8, conv 8, pool, conv 16, pool, 10), batch 64"
        try:
            scenario = cnn_workload.load(self.steps["cnn"], precision)
            x, labels, params = cnn_workload.starting_point(scenario)
        except TracegradError as error:  # the digits need scikit-learn
            return [name, precision, f"skipped: {error}", "—", "—", "—", "—", "—"]
        self.log(f"frameworks: cnn_digits, {precision}")
        steps, batch = self.steps["cnn"], scenario.spec.train.batch_size
        runs = {
            "engine": (lambda: cnn_workload.engine_seconds(scenario), steps),
            "torch": (
                (lambda: cnn_workload.torch_seconds(x, labels, params, batch, steps, precision))
                if self.has_torch
                else None,
                steps,
            ),
            "jax": (
                (lambda: jax_workload.cnn_seconds(x, labels, params, batch, steps, precision))
                if has_jax
                else None,
                steps,
            ),
        }
        rates = compare_many(runs, self.repeats)
        if "torch" in rates:
            result = Comparison(rates["engine"], rates["torch"])
            self.target(
                f"CNN step ÷ PyTorch eager, {precision}",
                f"{result.ratio:.2f} ({result.spread}), load {load_average()}",
                "≥ 1.0",
                result.ratio >= 1.0,
            )
        return self._framework_row(name, precision, rates)

    def _framework_row(self, name: str, precision: str, rates: dict) -> list:
        return [
            name,
            precision,
            median_rate(rates, "engine", self.rate),
            median_rate(rates, "torch", self.rate),
            ratio_cell(rates, "torch"),
            median_rate(rates, "jax", self.rate),
            ratio_cell(rates, "jax"),
            load_average(),
        ]

    # --- 10. scaling ------------------------------------------------------------------------

    def scaling(self) -> str:
        has_jax = jax_workload.available()
        shapes = [(w, 2, 128) for w in (16, 64, 256, 1024)]
        shapes += [(64, d, 128) for d in (1, 4, 8)]
        shapes += [(64, 2, b) for b in (1, 16, 1024, 4096)]
        rows = [self._scaling_row(*shape, has_jax) for shape in shapes]
        return "\n".join(
            [
                "## 10. Scale: step time and memory by width, depth and batch",
                "",
                "Networks `2 → depth × (width, tanh) → 1`, MSE, Adam, float64, one thread, "
                "tracing off; µs per step (median of interleaved repeats; the ratio is "
                "engine steps/s ÷ the framework's). *Engine peak MB*: the most memory numpy "
                "and Python held during a 5-step run (`tracemalloc`; data and network "
                "included).",
                "",
                self.table(
                    [
                        "width",
                        "depth",
                        "batch",
                        "parameters",
                        "engine µs/step",
                        "PyTorch µs/step",
                        "÷ PyTorch",
                        "JAX-jit µs/step",
                        "÷ JAX-jit",
                        "engine peak MB",
                        "load avg",
                    ],
                    rows,
                ),
                "",
            ]
        )

    def _scaling_row(self, width: int, depth: int, batch: int, has_jax: bool) -> list:
        self.log(f"scaling: width {width}, depth {depth}, batch {batch}")
        probe = scale_workload.scenario(2, width, depth, batch, 10)
        seconds = workloads.engine_seconds(probe) / 10
        budget = 0.1 if self.quick else 0.3
        steps = int(min(max(budget / seconds, 10), 4000))
        loaded = scale_workload.scenario(2, width, depth, batch, steps)
        x, y, params = workloads.starting_point(loaded)
        few = max(steps // TORCH_SHARE, 10)
        runs = {
            "engine": (lambda: workloads.engine_seconds(loaded), steps),
            "torch": (
                (lambda: workloads.torch_seconds(x, y, params, batch, few))
                if self.has_torch
                else None,
                few,
            ),
            "jax": (
                (lambda: jax_workload.mlp_seconds(x, y, params, batch, steps)) if has_jax else None,
                steps,
            ),
        }
        rates = compare_many(runs, min(self.repeats, 3))
        peak = scale_workload.engine_peak_mb(scale_workload.scenario(2, width, depth, batch, 5))

        def micros(name: str) -> str:
            return f"{1e6 / statistics.median(rates[name]):,.0f}" if name in rates else "—"

        return [
            width,
            depth,
            batch,
            f"{sum(p.size for p in params):,}",
            micros("engine"),
            micros("torch"),
            ratio_cell(rates, "torch"),
            micros("jax"),
            ratio_cell(rates, "jax"),
            f"{peak:.1f}",
            load_average(),
        ]

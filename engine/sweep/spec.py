"""Sweep files: the pydantic model, and its expansion into configurations and runs.

    scenario: ../scenarios/gan/ring8.yaml      # relative to the sweep file
    seeds: [0, 1, 2, 3, 4]
    grid:                                       # dotted key -> values (cartesian product)
      loss.type: [minimax, non_saturating]
    ablate: tricks                              # each trick removed in turn, plus none removed
    metrics: [modes, high_quality, final_d_loss]
    overrides: {train.steps: 1000}              # applied to every run
    trace: {steps: [], last: false}             # each run's trace policy (scalars only)

A configuration is one combination of grid values and (with ``ablate``) one removed trick;
each configuration runs once per seed. Run seeds come from the seed tree, see ``run_seed``.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import PydanticCustomError

from engine import yaml_source
from engine.errors import ScenarioError
from engine.i18n import _
from engine.scenario import (
    TraceConfig,
    apply_override,
    load_scenario,
    read_scenario_text,
    validation_error,
)
from engine.seeds import SeedTree

#: What ``ablate`` can remove, one item at a time.
ABLATIONS = ("tricks",)
#: Keys the sweep sets itself in every run: the seed from ``seeds``, the trace from ``trace``.
RESERVED_KEYS = ("seed", "trace")


class RunTrace(TraceConfig):
    """A run's trace policy; by default no step is traced in full, only the scalars."""

    steps: list[Annotated[int, Field(ge=0)]] = Field(
        default_factory=list, description="Steps traced in full (default: none)."
    )
    last: bool = Field(False, description="Also trace the last step (default: no).")


class SweepSpec(BaseModel):
    """The sweep file: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    name: str | None = Field(
        None, min_length=1, description="Name of the sweep (default: the file's name)."
    )
    scenario: str = Field(description="The scenario file, relative to the sweep file.")
    seeds: list[int] = Field(
        min_length=1,
        description="Roots of the run seeds; every configuration runs once per seed.",
    )
    grid: dict[str, Annotated[list[Any], Field(min_length=1)]] = Field(
        default_factory=dict,
        description="Dotted scenario key -> the values to try; every combination is run.",
    )
    ablate: str | None = Field(
        None, description="'tricks': each trick removed in turn, plus none removed."
    )
    metrics: list[str] = Field(
        min_length=1,
        description="Names in the run's final metrics, or final_<scalar> for the last value "
        "of a per-step scalar (final_loss, final_d_loss).",
    )
    overrides: dict[str, Any] = Field(
        default_factory=dict, description="Dotted key -> value, applied to every run."
    )
    trace: RunTrace = Field(default_factory=RunTrace, description="Each run's trace policy.")
    paired_seeds: bool = Field(
        True,
        description="true: every configuration uses the same run seeds (a paired "
        "comparison); false: every (configuration, seed) gets its own run seed.",
    )
    reports: bool = Field(True, description="Write each run's report.html.")

    @field_validator("seeds")
    @classmethod
    def _seeds(cls, seeds: list[int]) -> list[int]:
        if any(seed < 0 for seed in seeds):
            raise PydanticCustomError("seeds", _("seeds are whole numbers >= 0"))
        if len(set(seeds)) != len(seeds):
            raise PydanticCustomError("seeds", _("a seed is listed twice"))
        return seeds

    @field_validator("ablate")
    @classmethod
    def _ablate(cls, ablate: str | None) -> str | None:
        if ablate is not None and ablate not in ABLATIONS:
            raise PydanticCustomError(
                "ablate",
                _(
                    "ablate supports only 'tricks' for now (each trick of the scenario's "
                    "tricks: list removed in turn)"
                ),
            )
        return ablate


def _check_keys(sweep: Sweep) -> None:
    """The run seed and the trace policy are the sweep's own: neither grid nor overrides
    may set them."""
    for section in ("grid", "overrides"):
        for key in getattr(sweep.spec, section):
            if key.split(".")[0] in RESERVED_KEYS:
                raise ScenarioError(
                    _(
                        "'{key}' is set by the sweep itself: run seeds come from 'seeds', the "
                        "trace policy from 'trace'"
                    ).format(key=key),
                    sweep.where((section, key)),
                    hint="remove it from the " + section,
                )


@dataclass
class Sweep:
    """A validated sweep file and where it came from."""

    spec: SweepSpec
    path: Path
    source: yaml_source.SourceMap
    scenario_path: Path

    @property
    def name(self) -> str:
        return self.spec.name or self.path.stem

    def where(self, path: tuple) -> str:
        return self.source.where(path)


class _Holder:
    """What ``engine.scenario.validation_error`` needs: a ``where(path)``."""

    def __init__(self, source: yaml_source.SourceMap):
        self.where = source.where


def load_sweep(path: str | Path) -> Sweep:
    """Read and validate a sweep file; errors name its file:line."""
    path = Path(path)
    if not path.exists():
        raise ScenarioError(
            _("sweep file not found: {path}").format(path=path),
            hint=_("bundled sweeps are in sweeps/"),
        )
    text = read_scenario_text(path, "sweep file")
    data, source = yaml_source.load(text, str(path))
    if not isinstance(data, dict):
        raise ScenarioError(
            _("a sweep file is a mapping of keys (scenario, seeds, grid, metrics, ...)"),
            source.where(()),
        )
    try:
        spec = SweepSpec.model_validate(data)
    except ValidationError as error:
        problem = validation_error(error, data, SweepSpec, _Holder(source))
        raise ScenarioError(
            problem.message.replace("in the scenario", "in the sweep file"),
            problem.where,
            hint=_("see docs/sweeps.md for the keys of a sweep file"),
            problems=problem.problems,
        ) from None
    scenario_path = (path.resolve().parent / spec.scenario).resolve()
    if not scenario_path.is_file():
        raise ScenarioError(
            _("scenario file not found: {scenario_path}").format(scenario_path=scenario_path),
            source.where(("scenario",)),
            hint=_("the path is relative to the sweep file's folder"),
        )
    sweep = Sweep(spec, path, source, scenario_path)
    _check_keys(sweep)
    check_scenario(sweep)
    return sweep


def check_scenario(sweep: Sweep) -> None:
    """The scenario with the sweep's overrides must validate (the grid is checked per run:
    a configuration that does not validate is a failed run in the results)."""
    try:
        load_scenario(sweep.scenario_path, sweep.spec.overrides)
    except ScenarioError as error:
        where = error.where or ""
        if where.startswith("--set "):
            where = sweep.where(("overrides", where.removeprefix("--set ")))
        raise ScenarioError(
            _("the sweep's scenario does not validate: {message}").format(message=error.message),
            where,
            hint=error.hint,
            problems=error.problems,
        ) from None


# --- configurations ----------------------------------------------------------------------


@dataclass(frozen=True)
class Configuration:
    """One combination of grid values and (with ``ablate``) one removed item."""

    id: str
    values: dict[str, Any]
    removed: str | None = None
    overrides: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """A canonical text of what this configuration changes (independent of its position
        in the file): the key of its seeds when seeds are not paired."""
        return json.dumps({"grid": self.values, "removed": self.removed}, sort_keys=True)

    @property
    def label(self) -> str:
        parts = [f"{key}={_text(value)}" for key, value in self.values.items()]
        if self.removed is not None:
            parts.append(f"without {self.removed}")
        return ", ".join(parts) or "as in the scenario"


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def scenario_data(sweep: Sweep) -> dict:
    """The scenario file as plain data, the sweep's overrides applied."""
    data, _ = yaml_source.load(read_scenario_text(sweep.scenario_path), str(sweep.scenario_path))
    for key, value in sweep.spec.overrides.items():
        apply_override(data, key, value)
    return data


def ablation_variants(sweep: Sweep) -> list[tuple[str | None, dict[str, Any]]]:
    """(removed item or None, overrides) for each ablation; one entry without ``ablate``."""
    if sweep.spec.ablate is None:
        return [(None, {})]
    if "tricks" in sweep.spec.grid:
        raise ScenarioError(
            _("the grid sets 'tricks' and 'ablate: tricks' removes them: choose one"),
            sweep.where(("grid", "tricks")),
        )
    tricks = scenario_data(sweep).get("tricks")
    if not isinstance(tricks, list) or not tricks:
        raise ScenarioError(
            _(
                "ablate: tricks needs a scenario with a non-empty tricks: list, and {name} has none"
            ).format(name=sweep.scenario_path.name),
            sweep.where(("ablate",)),
            hint=_("tricks are part of GAN scenarios (kind: gan), e.g. scenarios/gan/ring8.yaml"),
        )
    names = trick_names(tricks)
    variants: list[tuple[str | None, dict[str, Any]]] = [(None, {})]
    for index, name in enumerate(names):
        kept = [trick for i, trick in enumerate(tricks) if i != index]
        variants.append((name, {"tricks": kept}))
    return variants


def trick_names(tricks: list) -> list[str]:
    """Each trick's type, numbered when a type appears more than once (noise#1, noise#2)."""
    types = [t.get("type", "?") if isinstance(t, dict) else str(t) for t in tricks]
    names = []
    for index, name in enumerate(types):
        if types.count(name) > 1:
            name = f"{name}#{types[: index + 1].count(name)}"
        names.append(name)
    return names


def configurations(sweep: Sweep) -> list[Configuration]:
    """Every grid combination (the first key varies slowest) times every ablation variant.

    Later keys win when they set the same thing: the sweep's overrides, then the grid
    values, then the ablation.
    """
    keys = list(sweep.spec.grid)
    combos = list(itertools.product(*(sweep.spec.grid[k] for k in keys)))
    variants = ablation_variants(sweep)
    result = []
    width = len(str(len(combos) * len(variants)))
    for combo in combos:
        values = dict(zip(keys, combo))
        for removed, ablation in variants:
            number = len(result) + 1
            overrides = {**sweep.spec.overrides, **values, **ablation}
            result.append(Configuration(f"c{number:0{width}d}", values, removed, overrides))
    return result


# --- seeds -------------------------------------------------------------------------------


def run_seed(seed: int, configuration: Configuration | None = None) -> int:
    """The scenario seed of one run, a 32-bit number from the seed tree of ``seed``:

        paired:    SeedTree(seed).child("sweep").sequence("runs")
        unpaired:  SeedTree(seed).child("sweep").sequence(configuration.key)

    then ``.generate_state(1)[0]``. ``SeedTree`` keys each child by a CRC-32 of its name, so
    the number depends only on the seed (and the configuration's content), never on the
    position of either in the file: the same sweep gives the same seeds.
    """
    purpose = "runs" if configuration is None else configuration.key
    return int(SeedTree(seed).child("sweep").sequence(purpose).generate_state(1)[0])


@dataclass(frozen=True)
class PlannedRun:
    """One run of the sweep: a configuration with one of the sweep's seeds."""

    configuration: Configuration
    seed: int
    run_seed: int

    @property
    def id(self) -> str:
        return f"{self.configuration.id}-seed{self.seed}"


def plan(sweep: Sweep) -> list[PlannedRun]:
    """Every run: each configuration once per seed, in file order."""
    runs = []
    for configuration in configurations(sweep):
        for seed in sweep.spec.seeds:
            paired = sweep.spec.paired_seeds
            runs.append(
                PlannedRun(configuration, seed, run_seed(seed, None if paired else configuration))
            )
    return runs

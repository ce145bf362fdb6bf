"""The sections of a GAN report: the two networks, the GAN's curves, real against generated
samples, and the tricks.

- Networks: G (latent z → sample) and D (sample → verdict) as pictures.
- Curves: D's and G's losses, mean D(x) and D(G(z)), gradient norms, learning rates, and
  the sample-quality measures (modes covered, fraction of high-quality samples, W1 / MMD²).
- Samples: at each traced step whose batches the trace holds whole (trace.max_values), the
  real batch against G's batch; at the end of the run, samples of the trained G (from the
  run folder's params.npz) against the data, over D's verdict: a density and D(x) for 1-D
  data, a scatter over D's decision surface for 2-D data, an image grid for images.
- Tricks: what each enabled trick is for, what it changed in the traced steps, and the
  labels D and G were trained towards.
"""

from __future__ import annotations

import inspect
import math

import numpy as np

from engine.errors import TracegradError
from engine.i18n import N_, _, ngettext, translate_for
from engine.report import plots
from engine.report.document import Figure, Report, Section, Table, Text
from engine.report.numbers import array
from engine.report.records import arrows
from engine.report.sections import curve_figure, learning_rate, network_section, present

#: Samples drawn from the trained G (and from the data) for the end-of-run pictures.
FINAL_SAMPLES = 1000
GRID = 60


def is_gan(report: Report) -> bool:
    return report.kind == "gan"


# --- networks --------------------------------------------------------------------------------


def networks(report: Report) -> list[Section]:
    layers = report.trace.header.get("network") or []
    latent = (report.scenario.get("latent") or {}).get("dim")
    features = (report.trace.header.get("data") or {}).get("features")
    section = Section(_("Networks"), id="networks")
    section.add(
        Text(
            _(
                "G maps a latent vector z to a sample; D maps a sample to a verdict, a "
                'probability or a score for "real". G never sees the data: it learns only '
                "from D's gradient at its samples."
            )
        )
    )
    for name, inputs, title, label in (
        ("G", latent, N_("Generator G"), N_("latent values z")),
        ("D", features, N_("Discriminator D"), N_("features")),
    ):
        own = [layer for layer in layers if layer.get("network") == name]
        if own and inputs:
            section.add(network_section(_(title), f"network-{name}", inputs, own, report, _(label)))
    return [section]


# --- curves ----------------------------------------------------------------------------------

LOSS_CAPTION = N_(
    "D's loss L_D and G's loss L_G at each step. They do not fall together: when one network "
    "gets better, the other's loss rises. With D(x) = D(G(z)) = ½ and labels 1 and 0, "
    "L_D = 2·log 2 ≈ 1.386 and the non-saturating L_G = log 2 ≈ 0.693."
)
SCORE_CAPTION = {
    "probability": N_(
        "D's mean probability of \"real\" on the real batch, D(x), and on G's batch, "
        "D(G(z)). A D that wins pushes them apart (towards 1 and 0); when G matches the data, "
        "D can do no better than ½ for both."
    ),
    "score": N_(
        "D's mean score (a critic: no sigmoid) on the real batch, D(x), and on G's batch, "
        "D(G(z)); the gap between them estimates how far G's samples are from the data."
    ),
}


def curves(report: Report) -> list[Section]:
    if len(report.steps()) == 0:
        return []
    section = Section(_("Training curves"), id="curves")
    losses = present(report, ("d_loss", _("D's loss L_D")), ("g_loss", _("G's loss L_G")))
    if losses:
        section.add(
            curve_figure(report, "gan-losses", losses, _("Losses"), _(LOSS_CAPTION), log=False)
        )
    verdicts = present(
        report, ("D(x)", _("mean D(x), real")), ("D(G(z))", _("mean D(G(z)), generated"))
    )
    if verdicts:
        output = (report.trace.header.get("loss") or {}).get("output", "probability")
        caption = _(SCORE_CAPTION.get(output, SCORE_CAPTION["score"]))
        section.add(
            curve_figure(report, "gan-verdicts", verdicts, _("D's verdict"), caption, log=False)
        )
    norms = present(report, ("grad_norm.G", "G"), ("grad_norm.D", "D"))
    if norms:
        scale = _(", log scale") if plots.is_wide(*(values for _n, values in norms)) else ""
        caption = _(
            "The size of each network's gradient (all its parameters together){scale}: "
            "G's gradient near 0 means D's verdict no longer tells G where to move."
        ).format(scale=scale)
        title = _("Gradient norms ‖∂L/∂θ‖")
        figure = curve_figure(
            report, "gan-gradient-norms", norms, title, caption, band=False, ylabel="‖∂L/∂θ‖"
        )
        section.add(figure)
    for key, network in (("lr.D", "D"), ("lr.G", "G")):
        if report.has_scalar(key):
            section.add(
                learning_rate(report, key, _("learning rate of {network}").format(network=network))
            )
    section.blocks.extend(quality(report))
    if report.has_scalar("d_steps"):
        d_steps = report.scalar("d_steps")
        report.claim("d_steps")
        finite = d_steps[np.isfinite(d_steps)]
        if finite.min() != finite.max():
            caption = _("D's updates per step, as the d_steps schedule set them.")
            series = [("d_steps", d_steps)]
            section.add(curve_figure(report, "d-steps", series, _("D updates per step"), caption))
    return [section]


MMD_NOTE = N_(
    "MMD² is the unbiased estimator, which leaves out each sample's kernel with itself: its "
    "expected value is the true MMD², so near 0 a measurement can fall slightly below 0. A "
    "small negative value means G's samples and the data cannot be told apart at this "
    "sample size."
)


def quality(report: Report) -> list:
    """Modes covered, high-quality fraction, distances to the data: measured at intervals."""
    blocks = []
    end = (report.trace.end or {}).get("metrics") or {}
    total = end.get("modes_total")
    modes = present(report, ("modes", _("modes covered")))
    if modes:
        of = _(" of {total}").format(total=total) if total else ""
        caption = _(
            "Modes{of} with at least one high-quality sample near them (VEEGAN's definition: "
            "within 3 standard deviations of its nearest mode). A drop means mode collapse."
        ).format(of=of)
        blocks.append(curve_figure(report, "modes", modes, _("Modes covered"), caption, log=False))
    good = present(report, ("high_quality", _("high-quality fraction")))
    if good:
        caption = _("Fraction of G's samples within 3 standard deviations of their nearest mode.")
        title = _("High-quality samples")
        blocks.append(curve_figure(report, "high-quality", good, title, caption, log=False))
    distances = present(report, ("w1", "Wasserstein-1 (W1)"), ("mmd2", "MMD²"))
    if distances:
        caption = _(
            "Distance between G's samples and the data (W1 for 1-D data, MMD² otherwise): "
            "lower is better, 0 when they match."
        )
        if any(label == "MMD²" for label, _v in distances):
            caption += " " + _(MMD_NOTE)
        title = _("Distance to the data")
        blocks.append(curve_figure(report, "distance", distances, title, caption))
        mmd2 = dict(distances).get("MMD²")
        negative = [] if mmd2 is None else np.flatnonzero(np.nan_to_num(mmd2, nan=0.0) < 0)
        if len(negative):
            steps = report.steps()[negative]
            shown = ", ".join(str(int(s)) for s in steps[:6]) + (" …" if len(steps) > 6 else "")
            below = ngettext(
                "MMD² is below 0 at step {steps}:", "MMD² is below 0 at steps {steps}:", len(steps)
            ).format(steps=shown)
            blocks.append(Text(below + " " + _(MMD_NOTE)))
    spread = present(report, ("spread", _("spread of G's samples")))
    if spread:
        caption = _(
            "How far G's samples lie from their mean, √(Σ variance): a collapse to a point "
            "shows as a fall towards 0."
        )
        blocks.append(curve_figure(report, "spread", spread, _("Spread"), caption, log=False))
    return blocks


# --- samples ---------------------------------------------------------------------------------


def samples(report: Report, steps: list[int]) -> list[Section]:
    section = Section(_("Real and generated samples"), id="samples")
    features = (report.trace.header.get("data") or {}).get("features") or 0
    missing = []
    pictures = {step: pictured_samples(report, step) for step in steps}
    limits = verdict_limits(report, [p[2] for p in pictures.values() if p is not None])
    if any(p is not None and p[2] is not None for p in pictures.values()):
        scale = _("D's verdict has one scale in every picture: {limits}.")
        section.add(Text(scale.format(limits=limits_text(limits))))
    for step in steps:
        pictured = pictures[step]
        if pictured is not None:
            real, fake, verdict = pictured
            title = _("step {step}").format(step=step)
            caption = _(
                "Step {step}, after its updates: {count} real samples and G(z) for a fixed "
                "z (the same at every traced step){verdict}."
            ).format(
                step=step,
                count=len(real),
                verdict=_(", over D's verdict") if verdict is not None else "",
            )
        else:
            real, fake = step_batches(report, step)
            if real is None or fake is None:
                missing.append(step)
                continue
            verdict, title = None, _("step {step}: the batches of D's update").format(step=step)
            caption = _(
                "Step {step}: the real batch D saw and G's batch (G's output before this "
                "step's update of G)."
            ).format(step=step)
        figure = sample_figure(real, fake, verdict, title, limits)
        if figure is not None:
            name = report.figure_name(f"samples-step-{step}")
            section.add(Figure(name, plots.to_svg(figure, name), caption, alt=caption))
    if missing:
        shown = ", ".join(str(s) for s in missing[:8]) + (" …" if len(missing) > 8 else "")
        section.add(
            Text(
                ngettext(
                    "For traced step {shown} the trace keeps only statistics of the "
                    "batches (they have more numbers than trace.max_values). Run with a larger "
                    "trace.max_values (e.g. --set trace.max_values=1024) to see them here.",
                    "For traced steps {shown} the trace keeps only statistics of the "
                    "batches (they have more numbers than trace.max_values). Run with a larger "
                    "trace.max_values (e.g. --set trace.max_values=1024) to see them here.",
                    len(missing),
                ).format(shown=shown)
            )
        )
    section.blocks.extend(final_samples(report, features, limits))
    return [section] if len(section.blocks) else []


def verdict_limits(report: Report, verdicts: list) -> tuple[float, float] | None:
    """One colour scale for D's verdict in every snapshot: [0, 1] for a probability, else
    the range of every traced snapshot's scores (a critic's score is unbounded); None for a
    critic without traced snapshots (the one picture scales itself)."""
    output = (report.trace.header.get("loss") or {}).get("output", "probability")
    values = [np.asarray(v[-1], float) for v in verdicts if v is not None]
    values = [v[np.isfinite(v)] for v in values]
    values = [v for v in values if v.size]
    if output == "probability":
        return 0.0, 1.0
    if not values:
        return None
    return float(min(v.min() for v in values)), float(max(v.max() for v in values))


def limits_text(limits: tuple[float, float]) -> str:
    low, high = limits
    if (low, high) == (0.0, 1.0):
        return "0 (D says fake) to 1 (D says real)"
    return f"D's scores from {low:.3g} to {high:.3g}, the range over the traced steps"


def pictured_samples(report: Report, step: int):
    """(real, G(z), D's verdict or None) from the step's ``gan_samples`` record, if any.

    The grid's ``D[i][j]`` is D at (axes[0][j], axes[1][i]) in 2-D, D at axes[0][i] in 1-D.
    """
    for record in report.trace.step_records(step):
        if record["type"] != "gan_samples":
            continue
        real, fake = np.asarray(record["real"]), np.asarray(record["fake"])
        grid, verdict = record.get("grid"), None
        if grid is not None:
            axes = [np.asarray(axis) for axis in grid["axes"]]
            verdict = (*axes, np.asarray(grid["D"]))
        return real, fake, verdict
    return None


def step_batches(report: Report, step: int):
    """(real batch, G's batch) of the step's first D update, when the trace holds them whole."""
    real = fake = None
    for record in report.trace.step_records(step):
        if record.get("phase") != "d" or record.get("update", 0) != 0:
            continue
        if record["type"] == "samples" and fake is None:
            fake = array(record.get("G(z)"))
        elif (
            record["type"] == "forward"
            and record.get("batch") == "real"
            and record.get("index") == 0
            and real is None
        ):
            real = array(record["values"].get("x"))
    whole = isinstance(real, np.ndarray) and isinstance(fake, np.ndarray)
    return (real, fake) if whole else (None, None)


def sample_figure(real: np.ndarray, fake: np.ndarray, verdict, title: str, limits=None):
    """A histogram (1-D), a scatter (2-D) or image grids (square images); None otherwise.

    ``verdict``: D on a grid, (xs, values) for 1-D or (xs, ys, values) for 2-D, or None;
    ``limits``: the (low, high) of D's colour scale or axis, shared by the snapshots.
    """
    features = real.shape[1]
    if features == 1:
        return plots.histogram_1d(real[:, 0], fake[:, 0], verdict, title, limits)
    if features == 2:
        return plots.scatter_2d(real, fake, verdict, title, limits)
    side = math.isqrt(features)
    if side * side == features:
        return plots.image_grid(fake[:32], side, title, limits=(real.min(), real.max()))
    return None


def final_samples(report: Report, features: int, limits=None) -> list:
    """Samples of the trained G against the data, over D's verdict (from the run folder),
    on the traced snapshots' scale ``limits`` (a critic's scores beyond it are clipped)."""
    if report.run_dir is None or not (report.run_dir / "params.npz").is_file():
        return []
    try:
        run, data = trained_run(report)
    except (TracegradError, OSError, ValueError, KeyError) as error:
        return [
            Text(
                _("The trained networks could not be loaded from the run folder: {error}").format(
                    error=error
                )
            )
        ]
    seed = int(report.trace.header.get("seed") or 0)
    fake = run.generate(FINAL_SAMPLES, seed=seed)
    rng = np.random.default_rng(seed)
    real = data[rng.choice(len(data), size=min(FINAL_SAMPLES, len(data)), replace=False)]
    verdict = decision(run, real, fake)
    title = _("after {count} steps").format(
        count=(report.trace.end or {}).get("steps_completed", _("all"))
    )
    figure = sample_figure(real, fake, verdict, title, limits)
    blocks = []
    if figure is not None:
        name = report.figure_name("samples-final")
        caption = final_caption(features, len(fake))
        blocks.append(Figure(name, plots.to_svg(figure, name), caption, alt=caption))
    side = math.isqrt(features)
    if features > 2 and side * side == features:
        limits = (real.min(), real.max())
        real_grid = plots.image_grid(real[:32], side, _("real data"), limits=limits)
        name = report.figure_name("samples-real")
        caption = _("Real images from the data set, for comparison.")
        blocks.append(Figure(name, plots.to_svg(real_grid, name), caption, alt=caption))
    return blocks


def final_caption(features: int, count: int) -> str:
    if features == 1:
        return _(
            "{count} samples of the trained G against the data, as densities; the black "
            "curve is D's verdict D(x) at each point (right axis)."
        ).format(count=count)
    if features == 2:
        return _(
            "{count} samples of the trained G (black) against the data (blue), over D's "
            "verdict at each point of the plane (red: D says real, blue: D says fake)."
        ).format(count=count)
    return _("Images drawn by the trained G.")


def trained_run(report: Report):
    """The finished run (``engine.load_run``: G and D trained) and the data set's samples."""
    from engine.build import new_context
    from engine.result import load_run
    from plugins.gan.build import load_data

    run = load_run(report.run_dir)
    data = load_data(run.scenario, new_context(run.scenario))
    return run, data.x


def decision(run, real: np.ndarray, fake: np.ndarray):
    """D's verdict over the region the samples occupy (1-D: a curve, 2-D: a grid)."""
    features = real.shape[1]
    if features > 2:
        return None
    both = np.concatenate([real, fake])
    low, high = np.percentile(both, [0.5, 99.5], axis=0)
    margin = 0.15 * np.maximum(high - low, 1e-3)
    low, high = low - margin, high + margin
    if features == 1:
        xs = np.linspace(low[0], high[0], 200)
        return xs, run.discriminate(xs[:, None])[:, 0]
    xs, ys = np.linspace(low[0], high[0], GRID), np.linspace(low[1], high[1], GRID)
    grid = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)
    return xs, ys, run.discriminate(grid)[:, 0].reshape(GRID, GRID)


# --- tricks and labels -----------------------------------------------------------------------


def tricks(report: Report) -> list[Section]:
    section = Section(_("Tricks and labels"), id="tricks")
    configs = report.scenario.get("tricks") or []
    changes = trick_changes(report)
    if not configs:
        section.add(Text(_("No GAN tricks were enabled: D and G trained with the plain loss.")))
    for config in configs:
        name = config.get("type", "?")
        settings = ", ".join(f"{k} {v}" for k, v in config.items() if k != "type" and v is not None)
        part = Section(_("Trick: {name}").format(name=name), id=f"trick-{name}")
        part.add(
            Text(
                _("Settings: {settings}.").format(settings=settings)
                if settings
                else _("Default settings.")
            )
        )
        note = trick_note(name)
        if note:
            part.add(Text(note))
        seen = changes.get(name, [])
        if seen:
            rows = [[str(step), change] for step, change in seen[:12]]
            part.add(Table([_("step"), _("what it changed")], rows))
        else:
            part.add(Text(_("The traced steps hold no record of a change by this trick.")))
        section.add(part)
    rows = label_rows(report)
    if rows:
        section.add(
            Text(
                _(
                    "The labels actually used at the traced steps, after every trick (D: 1 means "
                    "real, 0 fake; G is trained towards D's label for real):"
                )
            ),
            Table([_("step"), _("D's real targets"), _("D's fake targets"), _("G's target")], rows),
        )
    return [section]


def trick_changes(report: Report) -> dict[str, list[tuple[int, str]]]:
    """What each trick recorded at the traced steps: trick -> [(step, change)]."""
    found: dict[str, list[tuple[int, str]]] = {}
    for record in report.trace.records:
        if record["type"] == "trick":
            text = record.get("change") or record.get("text") or ""
            where = _("{phase} phase").format(phase=record.get("phase", "")).strip()
            text = arrows(_(text)) if text else text
            entry = (record["step"], f"{text} ({where})" if record.get("phase") else text)
            found.setdefault(record.get("trick", "?"), []).append(entry)
    return found


def trick_note(name: str) -> str | None:
    """The trick's own explanation: the first paragraph of its class docstring."""
    from engine.report.compose import registry

    component = registry().components.get("gan_tricks", {}).get(name)
    if component is None:
        return None
    doc = inspect.cleandoc(component.implementation.__doc__ or "")
    note = " ".join(doc.split("\n\n")[0].split())
    return arrows(translate_for(component.implementation.__module__, note)) or None


def label_rows(report: Report) -> list[list[str]]:
    from engine.report.records import describe_targets

    rows: dict[int, list[str]] = {}
    for record in report.trace.records:
        if record["type"] != "labels" or record.get("update", 0) != 0:
            continue
        row = rows.setdefault(record["step"], [str(record["step"]), "", "", ""])
        for key, column in (("real", 1), ("fake", 2), ("target", 3)):
            if key in record:
                row[column] = describe_targets(array(record[key]))
    return list(rows.values())

"""The GAN report's defects of issue 14, each pinned: no raw record dump in the walkthrough,
captions that say the axis they describe, D's logits named as such, one colour scale for
every snapshot of D's verdict, no repeated label, a word for a negative MMD², the real data
drawn above G's samples, and the 1-D legend clear of the bars."""

from __future__ import annotations

import numpy as np
import pytest

import engine
from engine.report import compose, markdown, plots, records
from engine.report.sections import curve_figure
from plugins.gan import report as gan_report
from tests.test_gan import tiny


@pytest.fixture(scope="module")
def gan(tmp_path_factory):
    folder = tmp_path_factory.mktemp("gan-report") / "run"
    scenario = tiny(
        train={"steps": 4, "batch_size": 8},
        trace={"steps": [0, 3]},
        metrics={"every": 1, "samples": 100, "mmd_samples": 50},
    )
    engine.run(scenario, run_dir=folder)
    report = compose(folder)
    return report, markdown.render(report, "figures")[0]


def test_the_samples_record_is_told_not_dumped(gan):
    _, text = gan
    assert "Record `gan_samples`" not in text
    assert "for the section Real and generated samples" in text
    (block,) = records.blocks({"type": "gan_samples", "step": 0, "real": [[0.1]], "fake": [[0.2]]})
    assert "[[" not in block.text


def test_d_logits_are_named_l_and_the_formula_is_in_d_of_x(gan):
    _, text = gan
    assert "The predictions ŷ are the last layer's output" not in text
    assert "l is D's logit" in text and "D(x) = σ(l)" in text
    assert "∂L/∂l" in text and "∂L/∂ŷ" not in text


@pytest.mark.parametrize("values, wide", [([1.0, 2.0, 3.0], False), ([1e-3, 1.0, 10.0], True)])
def test_is_wide_is_the_rule_of_the_automatic_log_axis(values, wide):
    figure = plots.curves(np.arange(3.0), [("norm", np.array(values))], title="t", ylabel="y")
    assert plots.is_wide(np.array(values)) is wide
    assert figure.axes[0].get_yscale() == ("log" if wide else "linear")


def test_the_gradient_norm_caption_names_the_axis_it_got(gan):
    report, text = gan
    norms = [report.scalar("grad_norm.G"), report.scalar("grad_norm.D")]
    caption = next(line for line in text.splitlines() if "The size of each network's" in line)
    assert ("log scale" in caption) == plots.is_wide(*norms)


def test_one_colour_scale_for_every_snapshot(gan, monkeypatch):
    report, _ = gan
    seen = []
    original = plots.scatter_2d

    def spy(real, fake, surface=None, title="", verdict_limits=None):
        seen.append((verdict_limits, float(np.min(surface[2])), float(np.max(surface[2]))))
        return original(real, fake, surface, title, verdict_limits)

    monkeypatch.setattr(plots, "scatter_2d", spy)
    (section,) = gan_report.samples(report, report.trace.traced_steps)
    assert len(seen) == 3  # steps 0 and 3, and the trained G (params.npz)
    assert {limits for limits, _, _ in seen} == {(0.0, 1.0)}
    assert any("one scale in every picture" in getattr(b, "text", "") for b in section.blocks)


def test_a_colour_scale_fixed_by_its_limits():
    surface = (np.linspace(0, 1, 5), np.linspace(0, 1, 5), np.full((5, 5), 0.6))
    points = np.zeros((3, 2))
    figure = plots.scatter_2d(points, points, surface, "t", verdict_limits=(0.0, 1.0))
    mesh = next(c for c in figure.axes[0].collections if hasattr(c, "get_clim"))
    assert mesh.get_clim() == (0.0, 1.0)


def test_critic_scores_share_the_range_of_all_snapshots(gan):
    report, _ = gan
    report.trace.header["loss"] = {**report.trace.header["loss"], "output": "score"}
    try:
        grid = np.arange(4.0).reshape(2, 2)
        limits = gan_report.verdict_limits(report, [(None, None, grid), (None, None, grid - 5)])
    finally:
        report.trace.header["loss"]["output"] = "probability"
    assert limits == (-5.0, 3.0)


class _Steps:
    def steps(self):
        return np.array([0.0, 1.0, 2.0])


def test_a_quantity_measured_once_is_not_named_twice():
    values = np.array([np.nan, np.nan, 8.0])
    text = curve_figure(_Steps(), "modes", [("modes covered", values)], "Modes covered", "c")
    assert text.text == "Modes covered: 8 at step 2."
    both = [("D", values), ("G", values)]
    assert (
        curve_figure(_Steps(), "n", both, "Norms", "c").text
        == "Norms: D 8 at step 2; G 8 at step 2."
    )


def test_a_negative_mmd2_is_explained(gan):
    report, _ = gan
    column = report.trace.scalars["mmd2"]
    saved = list(column)
    measured = [i for i, v in enumerate(column) if v is not None]
    column[measured[-1]] = -0.0012
    try:
        blocks = gan_report.quality(report)
    finally:
        column[:] = saved
    said = " ".join(getattr(b, "text", "") + " " + getattr(b, "caption", "") for b in blocks)
    assert "MMD² is below 0 at step 3" in said and "unbiased estimator" in said
    assert "MMD² is below 0" not in " ".join(
        getattr(b, "text", "") for b in gan_report.quality(report)
    )


def test_the_real_data_is_drawn_above_g_samples():
    rng = np.random.default_rng(0)
    real, fake = rng.normal(size=(50, 2)), rng.normal(size=(50, 2))
    ax = plots.scatter_2d(real, fake).axes[0]
    layers = {c.get_label(): c.get_zorder() for c in ax.collections}
    assert layers["real data"] > layers["generated G(z)"]
    ax = plots.histogram_1d(real[:, 0], fake[:, 0]).axes[0]
    real_bars = [p for p in ax.patches if p.get_label() == "real data"]
    fake_bars = [p for p in ax.patches if p.get_label() == "generated G(z)"]
    assert real_bars and fake_bars and not real_bars[0].get_fill()
    assert real_bars[0].get_zorder() > fake_bars[0].get_zorder()


def test_the_1d_legend_is_clear_of_the_bars():
    rng = np.random.default_rng(0)
    xs = np.linspace(-3, 3, 50)
    figure = plots.histogram_1d(rng.normal(size=500), rng.normal(size=500), (xs, 0.5 + 0 * xs))
    figure.canvas.draw() if hasattr(figure.canvas, "draw") else None
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    renderer = FigureCanvasAgg(figure).get_renderer()
    ax = figure.axes[0]
    legends = [a.get_legend() for a in figure.axes if a.get_legend() is not None]
    assert len(legends) == 1  # one legend for the bars and D(x)
    box, plot = legends[0].get_window_extent(renderer), ax.get_window_extent(renderer)
    assert box.y0 >= plot.y1 - 1  # above the axes, not over the bars


def _outside_updates(text: str) -> list[str]:
    """The report's lines, without the parameter-update sections (their rules are the
    optimizers' own text, see docs/components/optimizers.md)."""
    kept, skipping = [], False
    for line in text.splitlines():
        if line.startswith("#"):
            skipping = "Parameter updates" in line or "updates (" in line
        if not skipping:
            kept.append(line)
    return kept


def test_one_arrow_notation_in_prose_and_equations(tmp_path):
    """A trick's own note says "real targets 1 -> 0.9" and G's phase "z -> G -> D" in the
    trace; the report writes → and ←, never an ASCII arrow."""
    scenario = tiny(
        tricks=[{"type": "label_smoothing", "real": 0.9}],
        trace={"steps": [0]},
        metrics={"every": None, "samples": 100, "mmd_samples": 50},
    )
    engine.run(scenario, run_dir=tmp_path / "run")
    raw = (tmp_path / "run" / "trace.jsonl").read_text(encoding="utf-8")
    assert "1 -> 0.9" in raw and "z -> G -> D" in raw  # what the trace itself says
    text = markdown.render(compose(tmp_path / "run"), "figures")[0]
    lines = _outside_updates(text)
    assert not [line for line in lines if "->" in line or "<-" in line]
    assert any("1 → 0.9" in line for line in lines)

"""Trace reports: content, the chain-rule numbers against the trace, formats, banners, CLI,
reporter plugins, GAN sections.

The chain-rule lines are parsed back from the text and compared with the trace file read
as plain JSON here (not through the report code). The classic two-layer example uses the
weights of Matt Mazur's "A Step by Step Backpropagation Example", whose hand-derived numbers
(dE/dw5 = 0.082167041, w5+ = 0.35891648, dE/dw1 = 0.000438568, ...) are the independent
reference.
"""

from __future__ import annotations

import json
import math
import re
import textwrap
from pathlib import Path

import numpy as np
import pytest

import engine
from engine.errors import TraceError, TracegradError
from engine.report import compose, render_html, show_text, write_report
from tests.conftest import ROOT

MAZUR = """
name: mazur
seed: 1
data: {type: inline, x: [[0.05, 0.10]], y: [[0.01, 0.99]]}
model:
  layers:
    - type: dense
      name: hidden
      units: 2
      activation: sigmoid
      init: {W: [[0.15, 0.25], [0.20, 0.30]], b: {type: constant, value: 0.35}}
    - type: dense
      name: output
      units: 2
      activation: sigmoid
      init: {W: [[0.40, 0.50], [0.45, 0.55]], b: {type: constant, value: 0.60}}
loss: {type: mse, reduction: sum, scale: 0.5}
optimizer: {type: sgd, lr: 0.5}
train: {steps: 3}
trace: {steps: [0], last: true}
"""

XOR = """
name: xor-batch
seed: 3
data: {type: xor}
model:
  layers:
    - {type: dense, name: hidden, units: 3, activation: tanh}
    - {type: dense, name: output, units: 1, activation: sigmoid}
loss: {type: bce}
optimizer: {type: sgd, lr: 0.5, momentum: 0.9}
train: {steps: 4, eval_every: 2}
trace: {steps: [0, 1]}
"""

# no activation on the first layer, batch norm, an activation layer, dropout, and softmax
# fused with cross-entropy: ∂L/∂W is the two-factor ∂L/∂z · x there
MIXED = """
name: mixed
seed: 2
data: {type: xor, repeat: 2}
model:
  layers:
    - {type: dense, name: hidden, units: 3}
    - {type: batch_norm, name: norm}
    - {type: tanh, name: act}
    - {type: dropout, name: drop, rate: 0.2}
    - {type: dense, name: output, units: 2, activation: softmax}
loss: {type: cross_entropy}
optimizer: {type: adam, lr: 0.05}
train: {steps: 3, batch_size: 4, clip_norm: 0.5}
trace: {steps: [0, 1]}
"""

TINY_GAN = """
name: tiny-gan
kind: gan
seed: 0
data: {type: ring, modes: 4, radius: 2.0, std: 0.05, samples: 500}
latent: {dim: 2}
generator:
  layers:
    - {type: dense, units: 6, activation: leaky_relu}
    - {type: dense, units: 2}
discriminator:
  layers:
    - {type: dense, units: 6, activation: leaky_relu}
    - {type: dense, units: 1}
loss: {type: non_saturating}
optimizer:
  generator: {type: adam, lr: 1.0e-3}
  discriminator: {type: adam, lr: 1.0e-3}
train: {steps: 12, batch_size: 16}
tricks:
  - {type: label_smoothing, real: 0.9}
metrics: {every: 6, samples: 100, mmd_samples: 50}
trace: {every: 6}
"""


def _run(tmp_path_factory, text: str, name: str):
    folder = tmp_path_factory.mktemp(name)
    scenario = folder / "scenario-in.yaml"
    scenario.write_text(textwrap.dedent(text), encoding="utf-8")
    return engine.run(scenario, run_dir=folder / "run")


@pytest.fixture(scope="module")
def mazur(tmp_path_factory):
    return _run(tmp_path_factory, MAZUR, "mazur")


@pytest.fixture(scope="module")
def xor(tmp_path_factory):
    return _run(tmp_path_factory, XOR, "xor")


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    return _run(tmp_path_factory, MIXED, "mixed")


@pytest.fixture(scope="module")
def mazur_html(mazur):
    return write_report(mazur.run_dir).read_text(encoding="utf-8")


def records(run, step: int, kind: str) -> dict:
    """The step's records of one type from the trace file, by layer or parameter."""
    found = {}
    for line in Path(run.trace_path).read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        if record.get("step") == step and record["type"] == kind:
            found[record.get("layer") or record.get("param")] = record
    return found


# --- parsing the walkthrough text back -------------------------------------------------------

SUBSCRIPT_DIGITS = str.maketrans("₀₁₂₃₄₅₆₇₈₉", "0123456789")


def number(text: str) -> float:
    return float(text.strip().strip("()"))


def derivations(text: str, symbol: str) -> dict[tuple, tuple[list[list[float]], float]]:
    """``symbol``'s lines, e.g. "∂L/∂W₁₂ = ... = a × b × c = r" (one line) or a Σₙ over lines
    ("= t₁", "+ t₂", ..., "= r"): {0-based index: (terms as lists of factors, result)}."""
    found = {}
    lines = [line.strip() for line in text.splitlines()]
    pattern = re.compile(rf"^{re.escape(symbol)}([₀-₉]+) = (.*)$")
    for at, line in enumerate(lines):
        match = pattern.match(line)
        if not match:
            continue
        index = tuple(int(c) - 1 for c in match.group(1).translate(SUBSCRIPT_DIGITS))
        parts = match.group(2).split(" = ")
        if len(parts) == 3:
            sums, result = [parts[1]], parts[2]
        else:
            follow = []
            for rest in lines[at + 1 :]:
                if not rest.startswith(("= ", "+ ")):
                    break
                follow.append(rest)
            sums, result = [f[2:] for f in follow[:-1]], follow[-1][2:]
        terms = [
            [number(factor) for factor in term.split(" × ")]
            for chunk in sums
            for term in chunk.split(" + ")
        ]
        found[index] = (terms, number(result))
    return found


def close(a: float, b: float) -> bool:
    """Equal to the 6 significant digits the text shows."""
    return math.isclose(a, b, rel_tol=1e-5, abs_tol=1e-12)


# --- the classic example, against its published hand derivation -----------------------------


def test_chain_rule_reproduces_the_hand_derivation(mazur):
    output = show_text(mazur.run_dir, step=0, layer="output")
    w5 = derivations(output, "∂L/∂W")[(0, 0)]
    # dE/dw5 = dE/dout_o1 · dout_o1/dnet_o1 · dnet_o1/dw5
    assert len(w5[0]) == 1
    expected = [0.74136507, 0.186815602, 0.593269992]
    assert all(close(a, b) for a, b in zip(w5[0][0], expected))
    assert close(w5[1], 0.082167041)
    line = next(x for x in output.splitlines() if x.strip().startswith("∂L/∂W₁₁"))
    assert "∂L/∂a₁ · ∂a₁/∂z₁ · ∂z₁/∂W₁₁ = 0.741365 × 0.186816 × 0.59327 = 0.082167" in line
    updated = re.search(r"W₁₁ ← W₁₁ − lr·g = 0\.4 − 0\.5 × 0\.082167 = (\S+)", output)
    assert updated and close(float(updated.group(1)), 0.35891648)
    hidden = show_text(mazur.run_dir, step=0, layer="hidden")
    w1 = derivations(hidden, "∂L/∂W")[(0, 0)]
    assert close(w1[1], 0.000438568)
    updated = re.search(r"W₁₁ ← W₁₁ − lr·g = 0\.15 − 0\.5 × \S+ = (\S+)", hidden)
    assert updated and close(float(updated.group(1)), 0.149780716)
    # the forward pass: net_h1 = w1·i1 + w2·i2 + b1 = 0.3775, out_h1 = 0.593269992
    assert "z₁ = x₁·W₁₁ + x₂·W₂₁ + b₁ = 0.05 × 0.15 + 0.1 × 0.2 + 0.35 = 0.3775" in hidden
    assert "a₁ = sigmoid(z₁) = sigmoid(0.3775) = 0.59327" in hidden


# --- every spelled-out number equals the trace -----------------------------------------------


@pytest.mark.parametrize(
    ("fixture", "step", "layer"),
    [
        ("xor", 0, "hidden"),
        ("xor", 0, "output"),
        ("xor", 1, "hidden"),
        ("mixed", 1, "hidden"),
        ("mixed", 1, "output"),
    ],
)
def test_batch_chain_rule_numbers_are_the_traces(request, fixture, step, layer):
    run = request.getfixturevalue(fixture)
    text = show_text(run.run_dir, step=step, layer=layer)
    values = {k: np.asarray(v) for k, v in records(run, step, "backward")[layer]["values"].items()}
    x = np.asarray(records(run, step, "forward")[layer]["values"]["x"])
    n = len(x)
    weights = derivations(text, "∂L/∂W")
    assert len(weights) == values["dL/dW"].size
    for (i, j), (terms, result) in weights.items():
        assert close(result, values["dL/dW"][i, j])
        assert len(terms) == n, "one term per sample of the batch"
        for k, factors in enumerate(terms):
            if "f'(z)" in values:  # ∂L/∂a · ∂a/∂z · ∂z/∂W
                expected = [values["dL/da"][k, j], values["f'(z)"][k, j], x[k, i]]
            else:  # ∂L/∂z · ∂z/∂W: no activation, or softmax fused with the loss
                expected = [values["dL/dz"][k, j], x[k, i]]
            assert len(factors) == len(expected)
            assert all(close(a, b) for a, b in zip(factors, expected)), (i, j, k)
        products = [math.prod(f) for f in terms]
        assert abs(sum(products) - result) <= 1e-5 * sum(map(abs, products)) + 1e-12
    biases = derivations(text, "∂L/∂b")
    assert {index[0] for index in biases} == set(range(values["dL/db"].size))
    for (j,), (terms, result) in biases.items():
        assert close(result, values["dL/db"][j])
        assert all(factors[-1] == 1.0 for factors in terms)
    # ∂L/∂x_i = Σ_j ∂L/∂z_j · W_ij for the first sample, W as the step used it
    W = np.asarray(records(run, step, "update")[f"{layer}.W"]["before"])
    inputs = derivations(text, "∂L/∂x")
    assert len(inputs) == W.shape[0]
    for (i,), (terms, result) in inputs.items():
        assert close(result, values["dL/dx"][0, i])
        for j, factors in enumerate(terms):
            assert close(factors[0], values["dL/dz"][0, j]) and close(factors[1], W[i, j])


def test_other_layers_and_clipping_are_shown(mixed):
    text = show_text(mixed.run_dir, step=1)
    for heading in ("Layer norm (batch_norm 3)", "Layer act (tanh)", "Layer drop (dropout p=0.2)"):
        assert heading in text
    assert "softmax and cross_entropy fused" in text
    assert "(a₁, a₂) = softmax(z₁, z₂) = (" in text
    clip = records(mixed, 1, "clip")[None]  # clip_norm 0.5: this step's norm was above it
    assert f"Gradient clipping: the global norm ‖g‖ = {clip['norm']:.6g} was above" in text


def test_update_lines_follow_the_optimizer_state(xor):
    """SGD with momentum: p ← p − lr·v with the traced velocity v."""
    text = show_text(xor.run_dir, step=1, layer="output")
    update = records(xor, 1, "update")["output.W"]
    before, after = np.asarray(update["before"]), np.asarray(update["after"])
    velocity = np.asarray(update["state"]["velocity"])
    pattern = r"W([₀-₉]+) ← W\1 − lr·v = (\S+) − 0\.5 × (\S+) = (\S+)"
    lines = re.findall(pattern, text)
    assert len(lines) == before.size
    for index, old, b, new in lines:
        i, j = (int(c) - 1 for c in index.translate(SUBSCRIPT_DIGITS))
        assert close(number(old), before[i, j]) and close(number(b), velocity[i, j])
        assert close(number(new), after[i, j])


def test_markdown_and_terminal_share_the_walkthrough_text(xor, tmp_path):
    markdown = write_report(xor.run_dir, tmp_path / "r.md").read_text(encoding="utf-8")
    terminal = show_text(xor.run_dir, step=0)
    equations = [line.strip() for line in terminal.splitlines() if "∂L/∂W" in line]
    assert equations
    for line in equations:
        assert line in markdown


# --- report content and formats --------------------------------------------------------------


def test_html_has_every_section_and_embeds_its_figures(mazur_html):
    html = mazur_html
    for anchor in ('id="overview"', 'id="network"', 'id="curves"', 'id="walkthrough"'):
        assert anchor in html
    assert "Parameter updates" in html and "Backward pass: the chain rule" in html
    assert html.count('<figure id="figure-') >= 3
    assert html.count("<svg ") == html.count("</svg>") >= 3
    assert "<link" not in html and not re.search(r"<script[^>]*\ssrc=", html)
    # one script (the step player) and its data; without the script the player stays hidden
    assert len(re.findall(r"<script>", html)) == 1
    assert re.search(r'<div class="tg-player" hidden ', html)
    assert not re.search(r"""(src|href)=["']https?:""", html)
    assert "default-src 'none'" in html
    assert "∂L/∂W₁₁ = ∂L/∂a₁ · ∂a₁/∂z₁ · ∂z₁/∂W₁₁" in html
    assert 'class="notice' not in html  # a completed run has no banner


def test_report_is_deterministic(mazur, tmp_path):
    first = write_report(mazur.run_dir, tmp_path / "a.html").read_bytes()
    second = write_report(mazur.run_dir, tmp_path / "b.html").read_bytes()
    assert first == second


def test_markdown_output_by_extension_and_by_format(mazur, tmp_path):
    path = write_report(mazur.trace_path, tmp_path / "report.md")
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# Tracegrad report: mazur")
    assert "```text" in text and "## Step by step" in text
    links = re.findall(r"!\[[^\]]*\]\((report_files/[^)]+\.svg)\)", text)
    assert links and all((tmp_path / link).is_file() for link in links)
    assert (tmp_path / links[0]).read_text(encoding="utf-8").startswith("<svg")
    other = write_report(mazur.trace_path, tmp_path / "notes.txt", fmt="markdown")
    assert other.read_text(encoding="utf-8").startswith("# Tracegrad report")
    with pytest.raises(TracegradError, match="cannot tell the report format"):
        write_report(mazur.trace_path, tmp_path / "report.pdf")


def test_default_output_is_report_html_in_the_run_folder(mazur):
    path = write_report(mazur.run_dir)
    assert path == mazur.run_dir / "report.html"
    assert path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def _copy_trace(run, tmp_path, edit) -> Path:
    lines = Path(run.trace_path).read_text(encoding="utf-8").splitlines()
    path = tmp_path / "trace.jsonl"
    path.write_text("\n".join(edit(lines)) + "\n", encoding="utf-8")
    return path


def test_a_run_without_end_record_still_renders_and_says_so(mazur, tmp_path):
    path = _copy_trace(mazur, tmp_path, lambda lines: lines[:-1])
    html = render_html(path)
    assert "did not finish" in html and "no end record" in html
    assert html.index("did not finish") < html.index('id="overview"')


def test_an_interrupted_run_says_so_at_the_top(mazur, tmp_path):
    def interrupt(lines):
        end = json.loads(lines[-1])
        end.update(status="interrupted", message="interrupted after 2 of 3 steps")
        return [*lines[:-1], json.dumps(end)]

    html = render_html(_copy_trace(mazur, tmp_path, interrupt))
    assert "status &#x27;interrupted&#x27;" in html
    assert html.index("interrupted after 2 of 3 steps") < html.index('id="overview"')


def test_a_failed_run_renders_its_failing_step(tmp_path, write_scenario):
    path = write_scenario(
        """
        name: diverge
        data: {type: inline, x: [[1000.0]], y: [[0.0]]}
        model: {layers: [{type: dense, name: out, units: 1}]}
        loss: {type: mse}
        optimizer: {type: sgd, lr: 10.0}
        train: {steps: 100}
        """
    )
    result = engine.run(path, run_dir=tmp_path / "run")
    assert result.status == "failed"
    html = render_html(result.run_dir)
    assert "status &#x27;failed&#x27;" in html and "the loss is inf" in html
    assert f'id="step-{result.steps_completed}"' in html


# --- command line ----------------------------------------------------------------------------


def test_cli_report_and_show(cli, mazur, tmp_path):
    done = cli("report", mazur.run_dir, "-o", tmp_path / "r.md")
    assert done.code == 0 and "r.md" in done.out
    assert (tmp_path / "r.md").is_file()
    done = cli("report", mazur.run_dir, "-o", tmp_path / "r.html", "--steps", "1")
    assert done.code == 0
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert 'id="step-0"' in html and 'id="step-2"' not in html
    done = cli("show", mazur.trace_path, "--step", "2", "--layer", "output")
    assert done.code == 0 and "Step 2" in done.out and "Layer hidden" not in done.out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("report", "{tmp}/missing"), "no trace at"),
        (("show", "{tmp}/missing"), "no trace at"),
        (("show", "{run}", "--step", "1"), "step 1 was not traced; traced steps: 0, 2"),
        (("show", "{run}", "--layer", "nope"), "no layer 'nope'"),
        (("report", "{run}", "--format", "pdf"), "unknown report format 'pdf'"),
    ],
)
def test_cli_errors_exit_2_without_traceback(cli, mazur, tmp_path, args, message):
    values = {"tmp": tmp_path, "run": mazur.run_dir}
    done = cli(*(a.format(**values) for a in args))
    assert done.code == 2
    assert message in done.err and "Traceback" not in done.err


def test_run_with_report_flag(cli, tmp_path, write_scenario):
    path = write_scenario(MAZUR)
    done = cli("run", path, "--run-dir", tmp_path / "run", "--report", "-q")
    assert done.code == 0
    assert (tmp_path / "run" / "report.html").is_file()
    assert "report:" in done.out


def test_run_result_report_and_notebook_html(mazur):
    fragment = mazur._repr_html_()
    assert fragment.startswith("<style>") and 'class="tg-report"' in fragment
    assert "<html" not in fragment
    assert mazur.report().name == "report.html"


def test_run_result_without_trace_has_no_report():
    result = engine.run(ROOT / "scenarios" / "walkthrough.yaml", trace=False)
    with pytest.raises(TraceError, match="no trace"):
        result.report()
    assert result._repr_html_().startswith("<pre>")


# --- reporter plugins: the documented example ------------------------------------------------


def documented_plugin() -> str:
    """The example plugin of docs/reports.md (its first ```python block)."""
    text = (ROOT / "docs" / "reports.md").read_text(encoding="utf-8")
    return re.search(r"```python\n(.*?)```", text, re.S).group(1)


def test_the_documented_reporter_plugin_adds_its_section(mazur, tmp_path):
    plugin = tmp_path / "slowest_layer.py"
    plugin.write_text(documented_plugin(), encoding="utf-8")
    path = write_report(mazur.run_dir, tmp_path / "r.html", plugins=[str(plugin)])
    html = path.read_text(encoding="utf-8")
    assert 'id="smallest-gradients"' in html
    # the section's table is in the order the plugin sorted it: smallest mean norm first
    history = mazur.history
    means = {
        name: np.mean([h[f"grad_norm.{name}"] for h in history]) for name in ("hidden", "output")
    }
    first = min(means, key=means.get)
    section = html[html.index('id="smallest-gradients"') :]
    assert section.index(f"<td>{first}</td>") < section.index(
        f"<td>{max(means, key=means.get)}</td>"
    )


def test_reporter_options_are_validated(mazur):
    with pytest.raises(TracegradError, match="bad options for reporter 'walkthrough'"):
        compose(mazur.run_dir, options={"walkthrough": {"max_steps": 0}})
    with pytest.raises(TracegradError, match="no reporter named 'nope'"):
        compose(mazur.run_dir, options={"nope": {}})


# --- GAN reports -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def gan(tmp_path_factory):
    return _run(tmp_path_factory, TINY_GAN, "gan")


def test_gan_report_has_its_sections_and_sample_plots(gan):
    html = render_html(gan.run_dir)
    for anchor in ('id="networks"', 'id="curves"', 'id="samples"', 'id="tricks"'):
        assert anchor in html
    for figure in ("gan-losses", "gan-verdicts", "modes", "high-quality"):
        assert f'id="figure-{figure}"' in html
    # batches of the traced steps (16 × 2 numbers: whole in the trace), and the trained G
    for step in (0, 6, 11):
        assert f'id="figure-samples-step-{step}"' in html
    assert 'id="figure-samples-final"' in html
    final = html[html.index('id="figure-samples-final"') :]
    assert "<image" in final[: final.index("</svg>")], "D's decision surface as a heat map"
    assert "Trick: label_smoothing" in html and "real targets 1 → 0.9" in html
    assert "D phase: the discriminator learns" in html and "D was frozen" in html


def test_gan_labels_table_shows_the_targets_after_tricks(gan):
    html = render_html(gan.run_dir)
    table = html[html.index("D&#x27;s real targets") :]
    row = re.search(
        r"<tr><td class=\"num\">0</td><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td>", table
    )
    assert row.groups() == ("all 0.9", "all 0", "all 1")


def test_gan_show_follows_the_gradient_from_d_into_g(gan):
    text = show_text(gan.run_dir, step=0)
    g_phase = text[text.index("G phase") :]
    backward_g = g_phase[g_phase.index("Backward pass through G") :]
    # G's last layer has no activation: its ∂L/∂z is D's ∂L/∂x at G's samples
    assert "∂L/∂z comes from layer D.dense0: its ∂L/∂x (no activation: a = z)." in backward_g
    assert "D is frozen in this phase" in g_phase


def test_a_phase_repeated_many_times_shows_its_first_and_last(tmp_path, write_scenario):
    path = write_scenario(TINY_GAN.replace("batch_size: 16}", "batch_size: 16, d_steps: 5}"))
    run = engine.run(path, overrides={"train.steps": 2}, run_dir=tmp_path / "run")
    text = show_text(run.run_dir, step=0)
    assert "D phase: the discriminator learns (update 1 of 5)" in text
    assert "D phase: the discriminator learns (update 5 of 5)" in text
    assert "(update 2 of 5)" not in text
    assert "This phase ran 5 times in step 0" in text


def test_a_broken_section_is_reported_not_fatal(mazur, tmp_path):
    plugin = tmp_path / "broken_section.py"
    plugin.write_text(
        textwrap.dedent(
            """
            from typing import Literal

            from engine import ComponentConfig, hookimpl
            from engine.components import Reporter


            class BrokenConfig(ComponentConfig):
                type: Literal["broken"] = "broken"


            class Broken(Reporter):
                def sections(self, report):
                    raise ValueError("no such column")


            @hookimpl
            def tracegrad_register_reporters(register):
                register("broken", Broken, BrokenConfig)
            """
        ),
        encoding="utf-8",
    )
    html = write_report(mazur.run_dir, tmp_path / "r.html", plugins=[str(plugin)]).read_text()
    assert "reporter &#x27;broken&#x27; could not be made (ValueError: no such column)" in html
    assert 'id="walkthrough"' in html


def test_a_dense_layers_activation_shows_its_own_formula(xor):
    """f in "a = f(z)" is named with the activation's formula (a plugin's too)."""
    from engine.plugins import load_registry

    tanh = load_registry(autoload=False).get("activations", "tanh").implementation.formula
    text = show_text(xor.run_dir, step=0, layer="hidden")
    assert f"f is tanh: {tanh}" in text or f"f is tanh: `{tanh}`" in text

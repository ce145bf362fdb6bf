"""The step player in a real browser, driven by real mouse clicks and key presses.

Headless Chromium (``tests/test_report_browser.py``'s DevTools pipe) opens the report of the
walkthrough and of a short ring8 GAN run, clicks Next, presses ← and →, moves the slider
with the keyboard, plays and pauses, clicks units and edges, and checks that the equation
shown ends in the trace's own number (formatted as the report formats it). Any console
error fails the test. Screenshots of the phases go to test-artifacts/; with
TRACEGRAD_UPDATE_README_SCREENSHOT=1 they also replace the ones in docs/images/.
"""

from __future__ import annotations

import json
import os
import shutil
import time

import pytest

import engine
from engine.report import write_report
from engine.report.numbers import fmt
from engine.trace.reader import read_trace
from tests.conftest import ROOT, SCENARIOS
from tests.test_report_browser import ARTIFACTS, CHROMIUM, Browser, pytestmark  # noqa: F401

IMAGES = ROOT / "docs" / "images"

STATE = """
(() => {
  const p = document.querySelector('.tg-player');
  return {hidden: p.hidden, step: +p.dataset.step, phase: +p.dataset.phase,
          title: p.querySelector('.tg-phase').textContent,
          equation: p.querySelector('.tg-eq').textContent};
})()
"""


def _point(key: str) -> str:
    """The viewport point to click on element ``key``: a unit's or bias's centre, or 40% along
    an edge from its source (clear of the edges that cross at the middle)."""
    return f"""
(() => {{
  const node = document.querySelector('.tg-player [data-key="{key}"]');
  node.scrollIntoView({{block: 'center'}});
  if (node.tagName === 'line') {{
    const m = node.getScreenCTM(), svg = node.ownerSVGElement, p = svg.createSVGPoint();
    const t = 0.4, a = ['x1', 'y1', 'x2', 'y2'].map(k => +node.getAttribute(k));
    p.x = a[0] + t * (a[2] - a[0]); p.y = a[1] + t * (a[3] - a[1]);
    const q = p.matrixTransform(m);
    return {{x: q.x, y: q.y}};
  }}
  const box = node.getBoundingClientRect();
  return {{x: box.x + box.width / 2, y: box.y + box.height / 2}};
}})()
"""


class Page:
    """One report page in the browser, with real input events."""

    def __init__(self, browser: Browser, session: str):
        self.browser, self.session = browser, session

    def state(self) -> dict:
        return self.browser.evaluate(self.session, STATE)

    def click_at(self, point: dict) -> None:
        for kind in ("mousePressed", "mouseReleased"):
            event = {"type": kind, "x": point["x"], "y": point["y"], "button": "left"}
            self.browser.call("Input.dispatchMouseEvent", {**event, "clickCount": 1}, self.session)

    def click(self, key: str) -> dict:
        """Click element ``key`` (a data-key of the stage) and return the player's state."""
        self.click_at(self.browser.evaluate(self.session, _point(key)))
        return self.state()

    def button(self, act: str) -> dict:
        selector = f'.tg-player button[data-act="{act}"]'
        point = self.browser.evaluate(
            self.session,
            f"(() => {{ const b = document.querySelector('{selector}');"
            "b.scrollIntoView({block: 'center'}); const r = b.getBoundingClientRect();"
            "return {x: r.x + r.width / 2, y: r.y + r.height / 2}; })()",
        )
        self.click_at(point)
        return self.state()

    def key(self, name: str, code: int) -> dict:
        for kind in ("keyDown", "keyUp"):
            event = {"type": kind, "key": name, "code": name, "windowsVirtualKeyCode": code}
            self.browser.call("Input.dispatchKeyEvent", event, self.session)
        return self.state()

    def right(self) -> dict:
        return self.key("ArrowRight", 39)

    def left(self) -> dict:
        return self.key("ArrowLeft", 37)

    def until(self, title_part: str, limit: int = 60) -> dict:
        """Press → until the phase's title contains ``title_part``."""
        state = self.state()
        for _ in range(limit):
            if title_part in state["title"]:
                return state
            state = self.right()
        raise AssertionError(f"no phase '{title_part}'; last: {state['title']}")

    def shot(self, name: str) -> None:
        box = self.browser.evaluate(
            self.session,
            "(() => { const r = document.querySelector('.tg-player').getBoundingClientRect();"
            "return {x: r.x, y: r.y + scrollY, width: r.width, height: r.height}; })()",
        )
        clip = {"x": box["x"] - 6, "y": box["y"] - 6, "width": box["width"] + 12}
        clip["height"] = box["height"] + 12
        path = ARTIFACTS / f"{name}.png"
        self.browser.screenshot(self.session, path, clip)
        assert path.stat().st_size > 5_000
        if os.environ.get("TRACEGRAD_UPDATE_README_SCREENSHOT"):
            shutil.copyfile(path, IMAGES / path.name)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    chromium = Browser(CHROMIUM, tmp_path_factory.mktemp("chromium-profile"))
    yield chromium
    chromium.close()


def _records(trace, step, kind, **match):
    return [
        r
        for r in trace.step_records(step)
        if r["type"] == kind and all(r.get(k) == v for k, v in match.items())
    ]


def _first(value) -> float:
    """Sample 1's first number of a trace value: whole (nested lists) or summarized (the
    summary's head holds the first numbers in row order)."""
    if isinstance(value, dict):
        return value["head"][0]
    while isinstance(value, list):
        value = value[0]
    return value


def _focus_player(page: Page) -> None:
    page.browser.evaluate(page.session, "document.querySelector('.tg-player').focus()")


def test_supervised_step_in_the_player(browser, tmp_path):
    run = engine.run(SCENARIOS / "walkthrough.yaml", run_dir=tmp_path / "run")
    trace = read_trace(run.trace_path)
    report = write_report(run.run_dir, tmp_path / "report.html")
    page = Page(browser, browser.open(report.resolve().as_uri()))
    state = page.state()
    assert not state["hidden"], "the script shows the player"
    assert (state["step"], state["phase"]) == (0, 0)
    assert "forward through hidden" in state["title"]

    # forward: a hidden unit's z and a, with the trace's numbers
    hidden = _records(trace, 0, "forward", layer="hidden")[0]["values"]
    state = page.click("n:1:0")
    assert state["equation"].startswith("hidden: z₁ = x₁·W₁₁ + x₂·W₂₁ + b₁")
    assert f"= {fmt(hidden['z'][0][0])}\n" in state["equation"]
    assert state["equation"].endswith(f"= {fmt(hidden['a'][0][0])}")
    page.shot("player-supervised-forward")
    title = browser.evaluate(page.session, _title("n:1:0"))
    assert title.endswith(f"= {hidden['a'][0][0]!r}"), "hover shows the full-precision value"

    # Next (a click) and the keys move through the phases
    assert page.button("next")["phase"] == 1
    assert page.left()["phase"] == 0
    assert page.right()["phase"] == 1
    loss = _records(trace, 0, "loss")[0]
    state = page.until("loss")
    assert state["equation"].startswith("L = 0.5 · Σ (ŷ − y)²\n  = 0.5 · ((")
    assert state["equation"].endswith(f"\n  = {fmt(loss['value'])}")
    state = page.click("n:2:0")
    y_hat, y = loss["prediction"][0][0], loss["target"][0][0]
    assert state["equation"].endswith(
        f"∂L/∂ŷ₁ = 2 · 0.5 · (ŷ₁ − y₁) = 1 × ({fmt(y_hat)} − {fmt(y)}) = "
        f"{fmt(loss['dL/dprediction'][0][0])}"
    )
    page.shot("player-supervised-loss")

    # backward: ∂L/∂W₁₁ of the output layer as the product of its three factors
    back = _records(trace, 0, "backward", layer="output")[0]["values"]
    state = page.until("backward through output")
    state = page.click("e:output:0:0")
    factors = (back["dL/da"][0][0], back["f'(z)"][0][0], hidden["a"][0][0])
    product = " × ".join(fmt(f) for f in factors)
    assert state["equation"].endswith(f"= {product} = {fmt(back['dL/dW'][0][0])}")
    page.shot("player-supervised-backward")

    # the update: before ← after with the learning rate
    update = _records(trace, 0, "update", param="hidden.W")[0]
    state = page.until("updates")
    state = page.click("e:hidden:0:0")
    assert state["equation"].endswith(f"= {fmt(update['after'][0][0])}")
    assert f"{fmt(update['before'][0][0])} − {fmt(update['lr'])} ×" in state["equation"]
    page.shot("player-supervised-update")

    # the slider by keyboard moves to the next traced step; Play advances by itself
    browser.evaluate(page.session, "document.querySelector('.tg-player input').focus()")
    state = page.key("ArrowRight", 39)
    assert state["step"] == trace.traced_steps[1] and state["phase"] == 0
    _focus_player(page)
    page.button("play")
    time.sleep(2.5)
    playing = page.button("play")  # pause
    assert playing["phase"] >= 1
    time.sleep(1.3)
    assert page.state()["phase"] == playing["phase"], "paused"
    assert browser.console_errors() == []


def _title(key: str) -> str:
    return f"document.querySelector('.tg-player [data-key=\"{key}\"] > title').textContent"


def test_gan_step_in_the_player(browser, tmp_path):
    overrides = {"train.steps": 2, "train.batch_size": 32, "metrics.every": 2}
    overrides |= {"metrics.samples": 300, "metrics.mmd_samples": 60}
    run = engine.run(SCENARIOS / "gan" / "ring8.yaml", overrides=overrides, run_dir=tmp_path)
    trace = read_trace(run.trace_path)
    report = write_report(run.run_dir, tmp_path / "report.html")
    page = Page(browser, browser.open(report.resolve().as_uri()))
    data = json.loads(
        browser.evaluate(page.session, "document.querySelector('.tg-player-data').textContent")
    )
    columns = [c["name"] for c in data["stage"]["columns"]]
    d_input = next(i for i, name in enumerate(columns) if name.endswith("= D input"))
    d_first = d_input + 1

    # D on the real batch: D's first unit, value as the trace has it
    state = page.state()
    assert "D: forward through D.dense0 (real batch)" in state["title"]
    real = _records(trace, 0, "forward", layer="D.dense0", batch="real", phase="d")[0]
    state = page.click(f"n:{d_first}:0")
    assert state["equation"].split("=")[-1].split()[0] == fmt(_first(real["values"]["z"]))
    page.shot("player-gan-d-real-forward")

    fake_loss = _records(trace, 0, "loss", batch="fake", phase="d")[0]
    state = page.until("D: loss (fake batch)")
    assert state["equation"].endswith(f"L = {fmt(fake_loss['value'])}")
    page.shot("player-gan-d-fake-loss")

    page.until("D: updates")
    page.shot("player-gan-d-update")

    # G's phase: D drawn frozen, its backward pass only carries the gradient to G
    state = page.until("D frozen")
    frozen = browser.evaluate(
        page.session, "document.querySelectorAll('.tg-player .tg-band.frozen').length"
    )
    assert frozen == len([c for c in data["stage"]["columns"] if c["network"] == "D"])
    page.shot("player-gan-g-through-frozen-d")

    handoff = _records(trace, 0, "handoff")[0]
    state = page.until("hand-off")
    state = page.click(f"n:{d_input}:0")
    assert state["equation"] == f"∂L/∂G(z)₁ = {fmt(_first(handoff['dL/dG(z)']))}"
    page.shot("player-gan-handoff")

    update = _records(trace, 0, "update", param="G.dense2.b")[0]
    state = page.until("G: updates")
    state = page.click("b:G.dense2:0")
    before, after = fmt(update["before"][0]), fmt(update["after"][0])
    assert f"b₁ ← b₁ − lr·m̂/(√v̂ + ε) = {before} − " in state["equation"]  # G's Adam
    assert state["equation"].endswith(f"b₁: {before} → {after}")
    page.shot("player-gan-g-update")
    assert browser.console_errors() == []


VISIBLE_PICTURES = """
[...document.querySelectorAll('figure[data-step]')]
  .filter(f => !f.hidden && f.getBoundingClientRect().height > 0).map(f => +f.dataset.step)
"""


def test_the_student_chooses_the_sample_to_follow(browser, tmp_path):
    """The list "Follow" is reached with Tab and changed with ↓: every unit's value and
    equation is then the chosen sample's; the pictures of what was learned follow the
    slider's step."""
    run = engine.run(SCENARIOS / "xor.yaml", overrides={"train.steps": 30}, run_dir=tmp_path)
    trace = read_trace(run.trace_path)
    report = write_report(run.run_dir, tmp_path / "report.html")
    page = Page(browser, browser.open(report.resolve().as_uri()))
    picker = ".tg-player select.tg-sample"
    label = browser.evaluate(page.session, f"document.querySelector('{picker}').ariaLabel")
    assert label == "Sample of the batch to follow"
    options = browser.evaluate(
        page.session, f"[...document.querySelector('{picker}').options].map(o => o.text)"
    )
    assert options == [f"sample {n} of 4" for n in range(1, 5)]
    assert browser.evaluate(page.session, VISIBLE_PICTURES) == [0, 0]  # surface, unit maps

    hidden = _records(trace, 0, "forward", layer="hidden")[0]["values"]
    state = page.click("n:1:0")
    assert state["equation"].endswith(f"= {fmt(hidden['a'][0][0])}")
    browser.evaluate(page.session, "document.querySelector('.tg-player input').focus()")
    page.key("Tab", 9)
    focused = "document.activeElement.classList.contains('tg-sample')"
    assert browser.evaluate(page.session, focused), "Tab reaches the list"
    page.key("ArrowDown", 40)
    page.key("ArrowDown", 40)
    sample = browser.evaluate(page.session, "+document.querySelector('.tg-player').dataset.sample")
    assert sample == 2
    state = page.click("n:1:0")  # sample 3's z₁ and a₁ with its own x
    x = hidden["x"][2]
    assert f"= {fmt(x[0])} × " in state["equation"] and f"+ {fmt(x[1])} × " in state["equation"]
    assert f"= {fmt(hidden['z'][2][0])}\n" in state["equation"]
    assert state["equation"].endswith(f"= {fmt(hidden['a'][2][0])}")
    value = browser.evaluate(
        page.session,
        "document.querySelector('.tg-player [data-key=\"n:0:1\"] .tg-value').textContent",
    )
    assert float(value) == pytest.approx(x[1])
    state = page.until("backward through output")
    back = _records(trace, 0, "backward", layer="output")[0]["values"]
    state = page.click("n:2:0")
    assert state["equation"].split("= ")[-1] == fmt(back["dL/dz"][2][0])
    page.shot("player-sample-choice")

    # the slider by keyboard: the next traced step, its pictures only; the sample stays
    browser.evaluate(page.session, "document.querySelector('.tg-player input').focus()")
    state = page.key("ArrowRight", 39)
    assert state["step"] == trace.traced_steps[1]
    assert browser.evaluate(page.session, VISIBLE_PICTURES) == [1, 1]
    page.key("End", 35)
    assert browser.evaluate(page.session, VISIBLE_PICTURES) == [29, 29]
    _section_shot(page, "learned", "learned-xor")
    sample = browser.evaluate(page.session, "+document.querySelector('.tg-player').dataset.sample")
    assert sample == 2
    assert browser.console_errors() == []


def _section_shot(page: Page, heading: str, name: str) -> None:
    """A screenshot of the section under heading id ``heading`` (as the page shows it now)."""
    box = page.browser.evaluate(
        page.session,
        f"(() => {{ const s = document.getElementById('{heading}').closest('section');"
        "s.scrollIntoView(); const r = s.getBoundingClientRect();"
        "return {x: r.x, y: r.y + scrollY, width: r.width, height: r.height}; })()",
    )
    path = ARTIFACTS / f"{name}.png"
    page.browser.screenshot(page.session, path, box)
    assert path.stat().st_size > 5_000
    if os.environ.get("TRACEGRAD_UPDATE_README_SCREENSHOT"):
        shutil.copyfile(path, IMAGES / path.name)


LEAKY = """
name: player-leaky
seed: 0
data: {type: inline, x: [[0.5, 1.0]], y: [[0.2]]}
model:
  layers:
    - {type: dense, name: hidden, units: 2, activation: {type: leaky_relu, negative_slope: 0.2},
       init: {W: [[-0.4, 0.3], [-0.2, 0.6]], b: {type: constant, value: 0.1}}}
    - {type: dense, name: output, units: 1}
loss: {type: mse}
optimizer: {type: sgd, lr: 0.1}
train: {steps: 1}
trace: {steps: [0]}
"""


def test_an_activation_with_options_in_the_player(browser, tmp_path):
    """leaky_relu with negative_slope 0.2: hidden unit 1's z is negative, so the player's
    f'(z₁) is the rule's other branch, the slope 0.2 itself, which is the trace's f'(z)."""
    path = tmp_path / "leaky.yaml"
    path.write_text(LEAKY, encoding="utf-8")
    run = engine.run(path, run_dir=tmp_path / "run")
    trace = read_trace(run.trace_path)
    report = write_report(run.run_dir, tmp_path / "report.html")
    page = Page(browser, browser.open(report.resolve().as_uri()))
    back = _records(trace, 0, "backward", layer="hidden")[0]["values"]
    z = _records(trace, 0, "forward", layer="hidden")[0]["values"]["z"][0][0]
    assert z < 0 and back["f'(z)"][0][0] == 0.2
    _focus_player(page)
    page.until("backward through hidden")
    state = page.click("n:1:0")
    assert f"f'(z₁) = 1 if z₁ > 0 else α = 0.2 (z₁ = {fmt(z)} ≤ 0, α = 0.2)" in state["equation"]
    assert state["equation"].endswith(f"= {fmt(back['dL/dz'][0][0])}")
    assert browser.console_errors() == []


def test_an_adam_update_in_the_player(browser, tmp_path):
    """The update phase writes Adam's rule with the step's numbers (m̂, v̂ from the traced
    state) and before → after, the trace's own numbers, at the second traced step."""
    path = tmp_path / "adam.yaml"
    text = LEAKY.replace("{type: sgd, lr: 0.1}", "{type: adam, lr: 0.1}")
    path.write_text(text.replace("steps: 1}", "steps: 2}").replace("[0]", "[0, 1]"), "utf-8")
    run = engine.run(path, run_dir=tmp_path / "run")
    trace = read_trace(run.trace_path)
    update = _records(trace, 1, "update", param="hidden.W")[0]
    report = write_report(run.run_dir, tmp_path / "report.html")
    page = Page(browser, browser.open(report.resolve().as_uri()))
    browser.evaluate(page.session, "document.querySelector('.tg-player input').focus()")
    assert page.key("ArrowRight", 39)["step"] == 1
    _focus_player(page)
    page.until("updates (adam")
    state = page.click("e:hidden:0:0")
    before, after = fmt(update["before"][0][0]), fmt(update["after"][0][0])
    assert f"W₁₁ ← W₁₁ − lr·m̂/(√v̂ + ε) = {before} − 0.1 × (" in state["equation"]
    assert state["equation"].endswith(f"W₁₁: {before} → {after}")
    assert f"∂L/∂W₁₁ = {fmt(update['grad'][0][0])}" in state["equation"]
    assert browser.console_errors() == []

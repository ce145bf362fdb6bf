"""The report of every bundled scenario in a real browser.

Headless Chromium opens each report from a file:// URL. The test fails on any console error
(a Content-Security-Policy violation, a script error, a resource that did not load) and
checks that every <img>, every inline <svg> and every image inside an SVG was decoded with a
non-zero size. Screenshots go to test-artifacts/ (git-ignored); with
TRACEGRAD_UPDATE_README_SCREENSHOT=1 the walkthrough's chain rule also replaces
docs/images/report.png, the screenshot in the README.

Chromium is driven over the DevTools protocol through a pipe (``--remote-debugging-pipe``:
JSON messages ended by a NUL byte, read from file descriptor 3 and written to 4), so the
browser is the only thing to install: ``apt-get install -y chromium`` on Debian or Ubuntu.
Without it the test is skipped, saying so.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import select
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import yaml

import engine
from engine.report import write_report
from tests.conftest import ROOT, SCENARIOS

CHROMIUM = os.environ.get("TRACEGRAD_CHROMIUM") or next(
    (shutil.which(name) for name in ("chromium", "chromium-browser") if shutil.which(name)), None
)
pytestmark = pytest.mark.skipif(
    CHROMIUM is None or os.name != "posix",
    reason="Chromium is not installed (Debian/Ubuntu: apt-get install -y chromium), so the "
    "reports were not checked in a browser",
)

ARTIFACTS = ROOT / "test-artifacts"
README_SCREENSHOT = ROOT / "docs" / "images" / "report.png"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--remote-debugging-pipe",
)
WIDTH = 1100


class Browser:
    """Headless Chromium, spoken to over the DevTools pipe."""

    def __init__(self, executable: str, profile: Path):
        to_browser, self._write = os.pipe()
        self._read, from_browser = os.pipe()

        def descriptors():  # in the child: the pipe ends become fds 3 and 4
            reading, writing = os.dup(to_browser), os.dup(from_browser)
            os.dup2(reading, 3)
            os.dup2(writing, 4)

        self.process = subprocess.Popen(
            [executable, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            close_fds=False,
            preexec_fn=descriptors,
        )
        os.close(to_browser)
        os.close(from_browser)
        self._buffer, self._next_id, self.events = b"", 0, []

    def _receive(self, deadline: float) -> dict:
        while b"\0" not in self._buffer:
            remaining = deadline - time.monotonic()
            ready, _, _ = select.select([self._read], [], [], max(remaining, 0))
            if not ready:
                raise TimeoutError("Chromium did not answer in time")
            chunk = os.read(self._read, 1 << 20)
            if not chunk:
                raise EOFError("Chromium closed the DevTools pipe")
            self._buffer += chunk
        message, _, self._buffer = self._buffer.partition(b"\0")
        return json.loads(message)

    def call(self, method: str, params: dict | None = None, session=None, timeout=60.0):
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._write, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            answer = self._receive(deadline)
            if answer.get("id") == self._next_id:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                return answer.get("result", {})
            self.events.append(answer)

    def open(self, url: str) -> str:
        """A new page showing ``url``, loaded; returns its session id."""
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})
        session = session["sessionId"]
        for domain in ("Runtime", "Log", "Page"):
            self.call(f"{domain}.enable", session=session)
        metrics = {"width": WIDTH, "height": 900, "deviceScaleFactor": 1, "mobile": False}
        self.call("Emulation.setDeviceMetricsOverride", metrics, session)
        self.events.clear()
        self.call("Page.navigate", {"url": url}, session)
        deadline = time.monotonic() + 60
        while not any(e.get("method") == "Page.loadEventFired" for e in self.events):
            self.events.append(self._receive(deadline))
        return session

    def evaluate(self, session: str, expression: str):
        result = self.call(
            "Runtime.evaluate",
            {"expression": expression, "awaitPromise": True, "returnByValue": True},
            session,
        )
        if "exceptionDetails" in result:
            raise RuntimeError(result["exceptionDetails"])
        return result["result"].get("value")

    def screenshot(self, session: str, path: Path, clip: dict) -> None:
        shot = self.call(
            "Page.captureScreenshot",
            {"format": "png", "captureBeyondViewport": True, "clip": {**clip, "scale": 1}},
            session,
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(shot["data"]))

    def console_errors(self) -> list[str]:
        errors = []
        for event in self.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                errors.append(" ".join(str(a.get("value")) for a in params.get("args", [])))
            elif method == "Runtime.exceptionThrown":
                errors.append(str(params.get("exceptionDetails", {}).get("text")))
            elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
                errors.append(params["entry"].get("text", ""))
        return errors

    def close(self) -> None:
        with contextlib.suppress(EOFError, TimeoutError, RuntimeError, OSError):
            self.call("Browser.close", timeout=10)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._read)
        os.close(self._write)


# Every image decoded: <img> elements, inline <svg> (their rendered box), and the raster
# images matplotlib embeds inside an SVG (heat maps, image grids).
CHECK_IMAGES = """
(async () => {
  const found = {img: [], svg: [], inner: []};
  for (const img of document.images) {
    try { await img.decode(); } catch (e) {}
    found.img.push([img.src.slice(0, 40), img.naturalWidth, img.naturalHeight]);
  }
  for (const svg of document.querySelectorAll("svg")) {
    if (svg.parentElement.closest("svg")) continue;
    const box = svg.getBoundingClientRect();
    found.svg.push([(svg.closest("figure") || {}).id || "", box.width, box.height]);
  }
  for (const node of document.querySelectorAll("svg image")) {
    const image = new Image();
    image.src = node.getAttribute("xlink:href") || node.getAttribute("href");
    try { await image.decode(); } catch (e) {}
    found.inner.push([image.src.slice(0, 40), image.naturalWidth, image.naturalHeight]);
  }
  return found;
})()
"""

CHAIN_RULE_BOX = """
(() => {
  const heading = document.querySelector('[id^="step-0-backward"]');
  const box = heading.parentElement.getBoundingClientRect();
  return {x: box.x, y: box.y + window.scrollY, width: box.width, height: box.height};
})()
"""

PAGE_HEIGHT = "document.documentElement.scrollHeight"


def bundled_scenarios() -> list[Path]:
    return sorted(SCENARIOS.glob("*.yaml")) + sorted(SCENARIOS.glob("*/*.yaml"))


def short_run(path: Path, run_dir: Path):
    """The scenario with few steps (the walkthrough as it is: it is the README's picture).

    The test checks rendering, not training: a GAN runs 2 steps on small batches, and a
    trick that boosts D's updates per step is capped at 5 of them.
    """
    if path.name == "walkthrough.yaml":
        return engine.run(path, run_dir=run_dir)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    overrides = {"train.steps": 20}
    if data.get("kind") == "gan":
        overrides = {
            "train.steps": 2,
            "train.batch_size": 32,
            "metrics.every": 2,
            "metrics.samples": 300,
            "metrics.mmd_samples": 60,
        }
        tricks = [
            {
                k: min(v, 5) if k.endswith("d_steps") and isinstance(v, int) else v
                for k, v in trick.items()
            }
            for trick in data.get("tricks") or []
        ]
        if tricks:
            overrides["tricks"] = tricks
    return engine.run(path, overrides=overrides, run_dir=run_dir)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    chromium = Browser(CHROMIUM, tmp_path_factory.mktemp("chromium-profile"))
    yield chromium
    chromium.close()


@pytest.mark.parametrize("scenario", bundled_scenarios(), ids=lambda p: p.stem)
def test_report_renders_in_chromium(browser, scenario, tmp_path):
    run = short_run(scenario, tmp_path / "run")
    report = write_report(run.run_dir, tmp_path / "report.html")
    session = browser.open(report.resolve().as_uri())
    assert browser.console_errors() == []
    # the player hides the pictures of the steps it is not on (they follow its slider):
    # each hidden one is a step's picture, and all are shown again to be measured
    unhidden = browser.evaluate(
        session,
        "[...document.querySelectorAll('figure[hidden]')].map(f => (f.hidden = false,"
        " f.dataset.step !== undefined))",
    )
    assert all(unhidden)
    found = browser.evaluate(session, CHECK_IMAGES)
    assert found["svg"], "the report has figures"
    for kind in ("img", "svg", "inner"):
        for name, width, height in found[kind]:
            assert width > 0 and height > 0, f"{kind} {name} was not decoded or has no size"
    height = min(browser.evaluate(session, PAGE_HEIGHT), 2400)
    clip = {"x": 0, "y": 0, "width": WIDTH, "height": height}
    browser.screenshot(session, ARTIFACTS / f"report-{scenario.stem}.png", clip)
    if scenario.name == "walkthrough.yaml":
        box = browser.evaluate(session, CHAIN_RULE_BOX)
        clip = {
            "x": max(box["x"] - 16, 0),
            "y": max(box["y"] - 12, 0),
            "width": box["width"] + 32,
            "height": min(box["height"] + 24, 1400),
        }
        crop = ARTIFACTS / "report-chain-rule.png"
        browser.screenshot(session, crop, clip)
        assert crop.stat().st_size > 10_000
        if os.environ.get("TRACEGRAD_UPDATE_README_SCREENSHOT"):  # refresh the README's picture
            shutil.copyfile(crop, README_SCREENSHOT)
    assert browser.console_errors() == []

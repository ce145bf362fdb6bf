"""Reports in a Jupyter notebook: a real kernel (ipykernel) executes a notebook (nbclient)
that shows two runs; each cell's output is its report with the step player, and the two
reports share no id. The two outputs, put in one page as a notebook puts them, are then
driven in headless Chromium: each player moves alone, and each contents link lands in its
own report."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.conftest import ROOT, SCENARIOS

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

CELLS = [
    "import engine",
    "xor = engine.run({xor!r}, run_dir={first!r}, overrides={{'train.steps': 12}})\nxor",
    "walk = engine.run({walk!r}, run_dir={second!r})\nwalk",
]


def execute(tmp_path: Path) -> list[str]:
    """Run the notebook in a fresh kernel; the text/html of each cell that shows a report."""
    values = {
        "xor": str(SCENARIOS / "xor.yaml"),
        "walk": str(SCENARIOS / "walkthrough.yaml"),
        "first": str(tmp_path / "xor"),
        "second": str(tmp_path / "walk"),
    }
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(cell.format(**values)) for cell in CELLS]
    env_path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    os.environ["PYTHONPATH"] = env_path  # the kernel imports this tree's engine
    client = nbclient.NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()
    nbformat.write(notebook, tmp_path / "reports.ipynb")
    shown = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            assert output.get("output_type") != "error", output
            html = output.get("data", {}).get("text/html")
            if html:
                shown.append(html)
    return shown


def ids_of(html: str) -> list[str]:
    return re.findall(r'\bid="([^"]+)"', html)


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    return execute(tmp_path_factory.mktemp("notebook"))


def test_a_kernel_shows_each_run_as_its_report_with_the_player(outputs):
    assert len(outputs) == 2
    for html in outputs:
        assert 'class="tg-player"' in html and 'class="tg-player-data"' in html
        assert "<script>" in html  # the player's script comes with each report
        assert "What the network learned" in html


def test_two_reports_in_one_notebook_share_no_id(outputs):
    first, second = (ids_of(html) for html in outputs)
    assert len(first) == len(set(first)) and len(second) == len(set(second))
    assert not set(first) & set(second)
    for html, own in zip(outputs, (first, second)):
        links = re.findall(r'href="#([^"]+)"', html) + re.findall(r"url\(#([^)]+)\)", html)
        assert links and set(links) <= set(own), "every link stays in its own report"
        assert "overview" not in own and "step-0" not in own  # no bare, shared names


def test_each_player_and_each_link_keeps_to_its_own_report(outputs, tmp_path):
    from tests.test_report_browser import CHROMIUM, Browser

    if CHROMIUM is None:
        pytest.skip("Chromium is not installed (apt-get install -y chromium)")
    page = tmp_path / "notebook.html"
    cells = "".join(f'<div class="output">{html}</div>' for html in outputs)
    page.write_text(f"<!DOCTYPE html><meta charset='utf-8'><body>{cells}</body>", "utf-8")
    browser = Browser(CHROMIUM, tmp_path / "profile")
    try:
        session = browser.open(page.as_uri())
        phases = "[...document.querySelectorAll('.tg-player')].map(p => +p.dataset.phase)"
        assert browser.evaluate(session, phases) == [0, 0]
        point = browser.evaluate(
            session,
            "(() => { const b = document.querySelectorAll('.tg-player')[1]"
            ".querySelector('button[data-act=\"next\"]'); b.scrollIntoView({block: 'center'});"
            "const r = b.getBoundingClientRect();"
            "return {x: r.x + r.width / 2, y: r.y + r.height / 2}; })()",
        )
        for kind in ("mousePressed", "mouseReleased"):
            event = {"type": kind, "button": "left", "clickCount": 1, **point}
            browser.call("Input.dispatchMouseEvent", event, session)
        assert browser.evaluate(session, phases) == [0, 1], "only the second player moved"
        # the second report's contents link to its overview lands in the second report
        landed = browser.evaluate(
            session,
            "(() => { const reports = document.querySelectorAll('.tg-report');"
            "const link = reports[1].querySelector('nav.toc a'); link.click();"
            "const target = document.getElementById(location.hash.slice(1));"
            "return [link.getAttribute('href'), reports[1].contains(target),"
            " reports[0].contains(target)]; })()",
        )
        assert landed[0].endswith("-overview") and landed[1:] == [True, False]
        assert browser.console_errors() == []
    finally:
        browser.close()


def test_a_page_has_each_id_once(tmp_path):
    """matplotlib's own group and image ids (the same in every figure) are left out."""
    import engine
    from engine.report import render_html

    run = engine.run(SCENARIOS / "walkthrough.yaml", run_dir=tmp_path / "walk")
    html = render_html(run.trace_path)
    found = ids_of(html)
    assert len(found) == len(set(found)) and "overview" in found

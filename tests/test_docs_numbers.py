"""Every number the docs quote from a run comes from a bundled scenario, and is recomputed.

Two markers in the Markdown say where the numbers come from:

    <!-- numbers: scenarios/mazur.yaml [key=value ...] -->  ...  <!-- /numbers -->
        every `code` span (or line of a fenced block) between them holding a decimal number
        occurs, word for word, in what the product writes for that scenario: its report (the
        walkthrough's text, the step player's equations) or its trace's worked values; a
        decimal number outside a code span there is an error (quote it so it is checked)

    <!-- results: ... -->  followed by a table
        each row names a scenario file and states results in phrases this test knows
        ("97.2% validation accuracy", "validation MSE 0.0079", ...): each is measured from a
        full run, rounded as the table rounds it; a phrase with a number it does not know
        fails, so the table cannot quote what no test checks

    <!-- recorded: benchmarks/results/NAME.json columns=KEY,...,METRIC:DECIMALS -->  + a table
        a table too expensive to re-measure in a test (a sweep's ablation, a benchmark over
        seeds): its runs' raw results are committed in that file, recorded on the pinned CPU
        paths of tests/trace_digests.py by the documented command
        (``python -m tests.recorded_results SWEEP benchmarks/results/NAME.json``); the table's
        rows must be exactly the aggregation of the file (``tests.recorded_results.table``:
        one row per configuration, means ± std (min – max), rounding, run counts), and one
        cheap run of each file (``RERUN``) is run again on the pinned paths and must give the
        recorded metrics bit for bit. A new expensive table: record its sweep, put the marker
        with its columns above the table (``python -m tests.recorded_results --table FILE
        COLUMNS`` prints the rows), and name one run of it in ``RERUN``.

Beyond the marked places, docs/reports.md quotes no number of 4 or more significant digits.
"""

from __future__ import annotations

import functools
import html
import json
import re

import pytest
import yaml

import engine
from engine.report import render_html, write_report
from engine.trace.reader import read_trace
from tests import recorded_results
from tests.conftest import ROOT

DOCS = sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md")])
NUMBERS = re.compile(r"<!-- numbers: (\S+)((?: \S+=\S+)*) -->(.*?)<!-- /numbers -->", re.S)
RESULTS = re.compile(r"<!-- results: [^>]*-->\n+((?:\|.*\n)+)")
RECORDED = re.compile(r"<!-- recorded: (\S+) columns=(\S+) -->\n((?:\|.*\n)+)")
DECIMAL = re.compile(r"(?<![\w.])-?\d+\.\d+")


def spans(text: str) -> tuple[list[str], str]:
    """The code spans and fenced lines of ``text``, and the text without them."""
    quoted = []
    for block in re.findall(r"```[a-z]*\n(.*?)```", text, re.S):
        quoted += [line for line in block.splitlines() if line.strip()]
    rest = re.sub(r"```[a-z]*\n.*?```", " ", text, flags=re.S)
    quoted += re.findall(r"`([^`]+)`", rest)
    return quoted, re.sub(r"`[^`]+`", " ", rest)


def squeeze(text: str) -> str:
    return " ".join(text.split())


def marked() -> list[tuple[str, str, str, dict]]:
    """(doc, scenario, marked text, overrides) of every numbers marker in the docs."""
    found = []
    for doc in DOCS:
        for scenario, settings, text in NUMBERS.findall(doc.read_text(encoding="utf-8")):
            overrides = dict(item.split("=", 1) for item in settings.split())
            overrides = {key: yaml.safe_load(value) for key, value in overrides.items()}
            found.append((doc.relative_to(ROOT).as_posix(), scenario, text, overrides))
    return found


def product_text(scenario: str, overrides: str, folder: str) -> str:
    """What the product writes of a scenario: the Markdown report, the step player's
    equations and the trace's worked values, whitespace squeezed."""
    from pathlib import Path

    run = engine.run(ROOT / scenario, run_dir=Path(folder), overrides=json.loads(overrides))
    parts = [write_report(run.trace_path, Path(folder) / "report.md").read_text("utf-8")]
    page = render_html(run.trace_path)
    for data in re.findall(r'class="tg-player-data">(.*?)</script>', page, re.S):
        for step in json.loads(data.replace("<\\/", "</"))["steps"]:
            for phase in step["phases"]:
                for text in (phase.get("eq") or {}).values():
                    parts += text if isinstance(text, list) else [text]
    parts += [html.unescape(p) for p in re.findall(r"<pre[^>]*>(.*?)</pre>", page, re.S)]
    for record in read_trace(run.trace_path).records:
        worked = record.get("worked")
        parts += list(worked.values()) if isinstance(worked, dict) else [str(worked or "")]
    return squeeze("\n".join(parts))


def test_the_docs_mark_the_numbers_they_quote():
    places = marked()
    assert {scenario for _, scenario, _, _ in places} >= {
        "scenarios/mazur.yaml",
        "scenarios/walkthrough.yaml",
    }
    for _, scenario, _, _ in places:
        assert (ROOT / scenario).is_file(), scenario


@pytest.mark.parametrize(
    ("doc", "scenario", "text", "overrides"),
    marked(),
    ids=[f"{doc}:{scenario}" for doc, scenario, _, _ in marked()],
)
def test_each_quoted_number_is_what_the_product_writes(doc, scenario, text, overrides, tmp_path):
    quoted, rest = spans(text)
    loose = DECIMAL.findall(rest)
    assert not loose, f"{doc}: numbers outside a code span cannot be checked: {loose}"
    checked = [q for q in quoted if DECIMAL.search(q)]
    assert checked, f"{doc}: a numbers marker for {scenario} around no number"
    product = product_text(scenario, json.dumps(overrides, sort_keys=True), str(tmp_path))
    for quote in checked:
        assert squeeze(quote) in product, f"{doc} quotes `{quote}`; {scenario} does not write it"


def test_reports_md_quotes_no_number_outside_the_marked_places():
    text = (ROOT / "docs" / "reports.md").read_text(encoding="utf-8")
    text = NUMBERS.sub(" ", text)
    long = [n for n in DECIMAL.findall(text) if len(n.strip("-0.").replace(".", "")) >= 4]
    assert not long, f"docs/reports.md quotes {long} without saying where they come from"


# --- measured results ------------------------------------------------------------------------


def rounded(value: float, shown: str) -> str:
    """``value`` with as many decimals as ``shown`` has."""
    decimals = len(shown.split(".")[1]) if "." in shown else 0
    return f"{value:.{decimals}f}"


@functools.cache
def full_run(path):
    """A scenario run in full, without a trace (as the README's table was measured)."""
    return engine.run(path, trace=False)


def first_perfect_step(path) -> str:
    """The number of steps after which every training sample is classified right."""
    run = engine.run(path, trace=False, overrides={"train.eval_every": 1})
    return str(next(i + 1 for i, row in enumerate(run.history) if row.get("accuracy") == 1.0))


def loss_from_to(paths, shown):
    losses = [row["loss"] for row in full_run(paths[0]).history]
    return _like(losses[0], shown[0]), _like(losses[-1], shown[1]), str(len(losses))


def perfect_after(paths, shown):
    return first_perfect_step(paths[0]), str(len(full_run(paths[0]).history))


def validation_mse(paths, shown):
    return (rounded(full_run(paths[0]).metrics["val_loss"], shown[0]),)


def noise_floor(paths, shown):
    """The mean squared error of predicting the noiseless curve: the noise's variance."""
    return (rounded(engine.load_scenario(paths[0]).spec.data.noise ** 2, shown[0]),)


def validation_accuracy(paths, shown):
    return (rounded(100 * full_run(paths[0]).metrics["val_accuracy"], shown[0]),)


def parameter_count(paths, shown):
    return (str(sum(p.value.size for p in full_run(paths[0]).network.parameters)),)


def gradient_ratios(paths, shown):
    """For each of the row's scenarios: ‖∂L/∂θ‖ of the first layer over the last's at step
    0, and the final accuracy in percent."""
    measured = []
    for path, ratio, accuracy in zip(paths, shown[0::2], shown[1::2]):
        run = full_run(path)
        first = run.history[0]
        norms = [key for key in first if key.startswith("grad_norm.")]
        value = first[norms[0]] / first[norms[-1]]
        measured += [_like(value, ratio), rounded(100 * run.metrics["accuracy"], accuracy)]
    return tuple(measured)


def _like(value: float, shown: str) -> str:
    """``value`` written as ``shown`` is: "2.2e-4" or "0.19"."""
    if "e" not in shown:
        return rounded(value, shown)
    mantissa, exponent = shown.split("e")
    text = f"{value:.{len(mantissa.split('.')[1]) if '.' in mantissa else 0}e}"
    head, power = text.split("e")
    return f"{head}e{int(power)}"


#: A result phrase (its numbers as groups) -> what the row's scenarios give for them.
PHRASES = {
    r"error (\d+\.\d+) → (\d[\d.e-]*) in (\d+) steps": loss_from_to,
    r"100% accuracy after (\d+) steps \((\d+) run\)": perfect_after,
    r"validation MSE (\d+\.\d+)": validation_mse,
    r"(\d+\.\d+)% validation accuracy": validation_accuracy,
    r"noise floor ≈ (\d+\.\d+)": noise_floor,
    r"(\d+) parameters": parameter_count,
    r"first/last layer gradient ratio (\S+) \(stuck at (\d+)%\) vs (\S+) \((\d+)%\)": (
        gradient_ratios
    ),
}


def result_rows() -> list[tuple[tuple[str, ...], str]]:
    """(scenario files, result cell) of each row of every results table."""
    rows = []
    for doc in DOCS:
        for table in RESULTS.findall(doc.read_text(encoding="utf-8")):
            for line in table.splitlines()[2:]:
                cells = [c.strip() for c in line.strip("|").split("|")]
                rows.append((tuple(re.findall(r"`([\w/]+\.yaml)`", cells[0])), cells[-1]))
    return rows


def test_the_readme_marks_its_results_table():
    names = {name for names, _ in result_rows() for name in names}
    assert {"mazur.yaml", "walkthrough.yaml", "xor.yaml", "cnn_digits.yaml"} <= names


@pytest.mark.parametrize(
    ("names", "cell"), result_rows(), ids=[" ".join(n) for n, _ in result_rows()]
)
def test_each_stated_result_is_measured(names, cell):
    paths = [ROOT / "scenarios" / name for name in names]
    rest = cell
    for phrase, measure in PHRASES.items():
        for match in re.finditer(phrase, cell):
            shown = match.groups()
            assert measure(paths, shown) == shown, f"{names}: '{match.group(0)}'"
            rest = rest.replace(match.group(0), " ")
    unknown = re.findall(r"\d", rest)
    assert not unknown, f"{names}: no test measures the numbers of '{rest.strip()}'"


# --- recorded results (expensive tables) -----------------------------------------------------

#: The recorded runs run again: for each table at least one, the cheapest that still says
#: something (a 5,000-step ring8 run that covers every mode, about 20 s on an idle core).
RERUN = {
    "benchmarks/results/ring8_tricks.json": "c7-seed0",
    "benchmarks/results/gan_ring8.json": "seed0",
}


def recorded_tables() -> list[tuple[str, list[str], list[str], list[list[str]]]]:
    """(doc, results files, columns, the table's body rows as cells) of every recorded marker."""
    found = []
    for doc in DOCS:
        for results, columns, table in RECORDED.findall(doc.read_text(encoding="utf-8")):
            rows = [
                [cell.strip() for cell in line.strip().strip("|").split("|")]
                for line in table.splitlines()[2:]
            ]
            name = doc.relative_to(ROOT).as_posix()
            found.append((name, results.split(","), columns.split(","), rows))
    return found


def test_the_readme_ablation_is_recorded():
    tables = recorded_tables()
    files = {name for _, results, _, _ in tables for name in results}
    assert "benchmarks/results/ring8_tricks.json" in files
    for doc, results, _, _ in tables:
        assert set(results) & set(RERUN), f"{doc}: name a run of {results} in RERUN"


@pytest.mark.parametrize(
    ("doc", "results", "columns", "rows"),
    recorded_tables(),
    ids=[f"{doc}:{','.join(results)}" for doc, results, _, _ in recorded_tables()],
)
def test_each_recorded_table_is_its_raw_file_aggregated(doc, results, columns, rows):
    for name in results:
        data = json.loads((ROOT / name).read_text(encoding="utf-8"))
        assert data["complete"], f"{name} is missing runs; record it again"
        assert data["environment"].items() >= recorded_results.PINNED.items()
    assert all(len(row) == len(columns) for row in rows), f"{doc}: columns do not match"
    assert rows == recorded_results.table([ROOT / name for name in results], columns), (
        f"{doc}: the table is not {results} aggregated; print it with "
        f"python -m tests.recorded_results --table {','.join(results)} {','.join(columns)}"
    )


def test_aggregation_rounds_and_counts_as_documented():
    assert recorded_results.aggregate([0.0, 8.0, 2.0, 2.0, 0.0], 1) == "2.4 ± 3.3 (0 – 8)"
    assert recorded_results.aggregate([8.0, 8.0], 1) == "8 ± 0"
    assert recorded_results.aggregate([0.9024, 0.9052], 3) == "0.904 ± 0.002 (0.902 – 0.905)"
    assert recorded_results.aggregate([92.24, 94.7], 1, "%") == "93.5% ± 1.7% (92.2% – 94.7%)"
    assert recorded_results.aggregate([0.25], 2) == "0.25"


@pytest.mark.parametrize(("results", "run_id"), sorted(RERUN.items()))
def test_a_recorded_run_gives_its_recorded_metrics_again(results, run_id):
    data = json.loads((ROOT / results).read_text(encoding="utf-8"))
    (recorded,) = [run for run in data["runs"] if run["id"] == run_id]
    again = recorded_results.rerun_pinned(results, run_id)
    assert again["status"] == recorded["status"] == "completed"
    assert (again["overrides"], again["run_seed"], again["steps"]) == (
        recorded["overrides"],
        recorded["run_seed"],
        recorded["steps"],
    )
    assert again["metrics"] == recorded["metrics"]


def test_the_readme_sentence_after_the_ablation_is_what_the_runs_gave():
    """The sentence under the README's ablation table reads the runs of ring8_tricks.json:
    seeds that collapse (fewer than 8 modes), seeds that reach all 8."""
    recorded = ROOT / "benchmarks" / "results" / "ring8_tricks.json"
    runs = json.loads(recorded.read_text(encoding="utf-8"))["runs"]

    def modes(loss: str, lr: float, removed: str | None) -> list[float]:
        wanted = {"loss.type": loss, "optimizer.discriminator.lr": lr, "removed": removed}
        return [run["metrics"]["modes"] for run in runs if run["columns"] == wanted]

    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    said = re.search(
        r"label smoothing is what makes training reliable \(without it (\d) of 5 seeds "
        r"collapse\); with minimax it makes no difference; with D at 1e-4 most seeds fail "
        r"whatever is removed \(one seed in five reaches all 8 modes with minimax\)",
        readme,
    )
    assert said, "README.md no longer says what the ablation shows"
    assert modes("non_saturating", 0.001, None) == [8.0] * 5
    assert sum(m < 8 for m in modes("non_saturating", 0.001, "label_smoothing")) == int(said[1])
    assert modes("minimax", 0.001, None) == modes("minimax", 0.001, "label_smoothing") == [8.0] * 5
    for loss in ("minimax", "non_saturating"):
        for removed in (None, "label_smoothing"):
            reached = sum(m == 8 for m in modes(loss, 0.0001, removed))
            assert reached == (1 if loss == "minimax" else 0), (loss, removed)

"""The README's set-up commands are real: .ci/run runs the test command verbatim."""

from __future__ import annotations

import re

from tests.conftest import ROOT


def _shell_blocks(text: str) -> list[str]:
    return re.findall(r"```sh\n(.*?)```", text, flags=re.S)


def test_set_up_is_two_commands_and_ci_runs_the_second_verbatim():
    readme = (ROOT / "README.md").read_text()
    set_up = readme.split("## Set up", 1)[1].split("\n## ", 1)[0]
    commands = [block.strip() for block in _shell_blocks(set_up)]
    assert len(commands) == 2
    install_and_run, install_and_test = commands
    assert "pip install" in install_and_run and "tracegrad run scenarios/" in install_and_run
    assert "[test]" in install_and_test and "pytest" in install_and_test
    ci_lines = (ROOT / ".ci" / "run").read_text().splitlines()
    assert install_and_test in ci_lines


def test_the_main_job_scenario_exists():
    readme = (ROOT / "README.md").read_text()
    set_up = readme.split("## Set up", 1)[1]
    scenario = re.search(r"tracegrad run (scenarios/\S+)", set_up).group(1)
    assert (ROOT / scenario).is_file()

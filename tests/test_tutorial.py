"""The tutorials (docs/zh/tutorial.md and its English mirror docs/tutorial.md) stay true: the
source article's sections in order, a bundled scenario and its report command in each, the
same scenarios in both languages, numbers the walkthrough scenario really produces, and the
report's own words where they quote the report."""

from __future__ import annotations

import re

import pytest
from babel.messages.pofile import read_po

import engine
from engine.report import show_text
from tests.conftest import ROOT, WALKTHROUGH

ZH = (ROOT / "docs" / "zh" / "tutorial.md").read_text(encoding="utf-8")
EN = (ROOT / "docs" / "tutorial.md").read_text(encoding="utf-8")
#: The article's sections (its 5.1 ... 6.5), as the Chinese tutorial titles them.
ARTICLE = [
    "5.1 什么是反向传播",
    "5.2 反向传播是如何工作的",
    "5.3 为什么需要反向传播",
    "5.4 手推 BP",
    "5.5 从输入层到输出层的变化",
    "6. GAN",
    "6.1 生成器",
    "6.2 判别器",
    "6.3 训练技巧",
    "6.4 目标函数",
    "6.5 算法流程",
]


def sections(text: str) -> list[tuple[str, str]]:
    parts = re.split(r"^## ", text, flags=re.M)[1:]
    return [(part.split("\n", 1)[0], part) for part in parts]


def scenarios_of(body: str) -> list[str]:
    return re.findall(r"\]\((?:\.\./)+scenarios/([\w/]+\.yaml)\)", body)


def test_the_chinese_tutorial_follows_the_article():
    titles = [title for title, _body in sections(ZH)]
    assert [t.rstrip("？?") for t in titles] == ARTICLE


def test_the_english_tutorial_mirrors_it():
    zh, en = sections(ZH), sections(EN)
    assert [t.split(" ", 1)[0] for t, _b in en] == [t.split(" ", 1)[0] for t, _b in zh]
    for (title, zh_body), (_title, en_body) in zip(zh, en):
        assert scenarios_of(zh_body) == scenarios_of(en_body), title


@pytest.mark.parametrize("text,lang", [(ZH, " --lang zh"), (EN, "")], ids=["zh", "en"])
def test_each_section_links_a_scenario_and_its_report(text, lang):
    for title, body in sections(text):
        linked = scenarios_of(body)
        assert linked, f"{title}: no scenario"
        for name in linked:
            assert (ROOT / "scenarios" / name).is_file(), name
        commands = re.findall(r"`tracegrad run scenarios/([\w/]+\.yaml) --report([^`]*)`", body)
        assert commands, f"{title}: no report command"
        for name, options in commands:
            assert name in linked, f"{title}: the report of a scenario the section does not link"
            assert options == lang


@pytest.fixture(scope="module")
def walkthrough_numbers(tmp_path_factory) -> str:
    """Everything the walkthrough scenario prints: the run summary and its traced steps."""
    run = engine.run(WALKTHROUGH, run_dir=tmp_path_factory.mktemp("tutorial") / "run")
    return run.summary() + "".join(show_text(run.run_dir, step, None) for step in (0, 1, 99))


@pytest.mark.parametrize("text", [ZH, EN], ids=["zh", "en"])
def test_every_quoted_number_is_one_the_scenario_produces(text, walkthrough_numbers):
    quoted = set(re.findall(r"(?<![\w.])-?\d+\.\d{3,}", text))
    assert len(quoted) >= 5
    produced = set(re.findall(r"(?<![\w.])-?\d+\.\d{3,}", walkthrough_numbers))
    assert quoted - produced == set()
    # the derivations are lines of the walkthrough as `tracegrad show` prints them
    for line in re.findall(r"^(∂L/∂W₁₁ = .* = \S+|W₁₁ ← .*)$", text, flags=re.M):
        if any(c.isdigit() for c in line):
            assert line in walkthrough_numbers, line


def _catalog():
    with (ROOT / "engine/locale/zh/LC_MESSAGES/tracegrad.po").open("rb") as file:
        return read_po(file)


def _what_to_look_at(text: str, label: str) -> list[str]:
    lines = re.findall(rf"^- {label}[：:](.*?)(?=^- |^## |\Z)", text, flags=re.M | re.S)
    return [" ".join(q.split()) for line in lines for q in re.findall(r'"([^"]+)"', line)]


def test_the_report_words_the_tutorials_quote_are_the_reports():
    catalog = [m for m in _catalog() if m.id]
    english = [m.id[0] if isinstance(m.id, tuple) else m.id for m in catalog]
    chinese = [m.string[0] if isinstance(m.string, tuple) else m.string for m in catalog]
    zh, en = _what_to_look_at(ZH, "看什么"), _what_to_look_at(EN, "What to look at")
    assert len(zh) > 10 and len(en) > 10
    for phrase in zh:
        assert any(phrase in text for text in chinese), phrase
    for phrase in en:
        assert any(phrase in text for text in english), phrase

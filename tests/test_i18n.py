"""Chinese on the command line and in reports: --lang, TRACEGRAD_LANG, gettext's variables,
errors that keep their file:line:col and "did you mean", a plugin's own catalog."""

from __future__ import annotations

import re
import sys

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo

from engine import i18n
from engine.i18n import _, language, set_language, translate_for
from engine.report import show_text, write_report
from tests.conftest import WALKTHROUGH

TYPO = """
name: typo
data: {type: xor}
model:
  layers:
    - {type: dense, units: 4, activation: sigmoud}
    - {type: dense, units: 1, activation: sigmoid}
loss: {type: bce}
optimizer: {type: sgd, lr: 0.5}
train: {steps: 10}
"""
HAN = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(autouse=True)
def environment(monkeypatch):
    """No language chosen, none of gettext's variables set; restored after the test."""
    for variable in ("TRACEGRAD_LANG", *i18n.ENVIRONMENT):
        monkeypatch.delenv(variable, raising=False)
    previous = i18n._chosen
    set_language(None)
    yield monkeypatch
    set_language(previous)


# --- which language -------------------------------------------------------------------------


def test_english_is_the_default():
    assert language() == "en"
    assert _("Overview") == "Overview"


@pytest.mark.parametrize("variable", i18n.ENVIRONMENT)
def test_each_gettext_variable_selects_chinese(environment, variable):
    environment.setenv(variable, "zh_CN.UTF-8")
    assert language() == "zh"
    assert _("Overview") == "概览"


def test_gettext_variables_in_gettext_order(environment):
    environment.setenv("LANG", "zh_CN.UTF-8")
    environment.setenv("LC_MESSAGES", "C")
    assert language() == "en"  # LC_MESSAGES comes before LANG
    environment.setenv("LANGUAGE", "fr:zh")
    assert language() == "zh"  # the first of LANGUAGE's list that has a catalog


def test_a_locale_without_a_catalog_means_english(environment):
    environment.setenv("LANG", "fr_FR.UTF-8")
    assert language() == "en"


def test_tracegrad_lang_before_gettext_variables(environment):
    environment.setenv("LC_ALL", "zh_CN.UTF-8")
    environment.setenv("TRACEGRAD_LANG", "en")
    assert language() == "en"
    environment.setenv("TRACEGRAD_LANG", "zh")
    environment.setenv("LC_ALL", "C")
    assert language() == "zh"


def test_lang_option_before_tracegrad_lang(environment, cli):
    environment.setenv("TRACEGRAD_LANG", "zh")
    english = cli("--lang", "en", "validate", WALKTHROUGH)
    assert english.code == 0 and "valid (" in english.out
    chinese = cli("validate", WALKTHROUGH)
    assert chinese.code == 0 and "有效（" in chinese.out


def test_lang_option_after_the_command(cli):
    result = cli("validate", WALKTHROUGH, "--lang", "zh")
    assert result.code == 0 and "有效（" in result.out
    assert language() == "en", "the command restores the caller's language"


def test_unknown_lang_option_is_a_clear_error(cli):
    result = cli("--lang", "zz", "validate", WALKTHROUGH)
    assert result.code == 2
    assert result.err.startswith("--lang: error: unknown language 'zz'")
    assert "Available: en, zh" in result.err and "Traceback" not in result.err


def test_unknown_tracegrad_lang_is_a_clear_error(environment, cli):
    environment.setenv("TRACEGRAD_LANG", "zhh")
    result = cli("validate", WALKTHROUGH)
    assert result.code == 2
    assert result.err.startswith("TRACEGRAD_LANG: error: unknown language 'zhh'")
    assert "Did you mean 'zh'?" in result.err


# --- messages -------------------------------------------------------------------------------


def test_chinese_error_keeps_its_place_and_suggestion(cli, write_scenario):
    path = write_scenario(TYPO)
    result = cli("--lang", "zh", "validate", path)
    assert result.code == 2 and "Traceback" not in result.err
    first = result.err.splitlines()[0]
    assert first.startswith(f"{path}:5:31: 错误：")
    assert "未知的激活函数 'sigmoud'" in first
    assert "你是不是想写 'sigmoid'？" in first
    assert "已注册的激活函数：" in first and "relu, sigmoid" in first
    assert "提示：" in result.err


def test_the_same_error_in_english_is_unchanged(cli, write_scenario):
    result = cli("validate", write_scenario(TYPO))
    first = result.err.splitlines()[0]
    assert first.endswith(
        ":5:31: error: model.layers.0.activation: unknown activation 'sigmoud'. "
        "Did you mean 'sigmoid'? Registered activations: elu, identity, "
        "leaky_relu, relu, sigmoid, silu, softmax, softplus, tanh"
    )


def test_pydantic_messages_are_translated(cli, write_scenario):
    path = write_scenario(TYPO.replace("sigmoud", "sigmoid").replace("steps: 10", "steps: -1"))
    result = cli("--lang", "zh", "validate", path)
    assert result.code == 2
    assert result.err.startswith(f"{path}:9:9: 错误：train.steps: 输入应大于 0（实际为 -1）")


def test_component_descriptions_in_chinese(cli):
    result = cli("--lang", "zh", "plugins", "--kind", "optimizers")
    assert result.code == 0
    assert "随机梯度下降（torch.optim.SGD），可选动量" in result.out
    assert "学习率：每一步沿梯度反方向走多远。" in result.out
    english = cli("plugins", "--kind", "optimizers")
    assert "Stochastic gradient descent (torch.optim.SGD), with momentum" in english.out


def test_help_text_is_translated(capsys):
    from engine.cli import main

    with pytest.raises(SystemExit):
        main(["--lang", "zh", "run", "--help"])
    out = capsys.readouterr().out
    assert out.startswith("用法：tracegrad run")
    assert "同时把 report.html（逐步讲解发生了什么）写入运行文件夹" in out
    assert "显示这条帮助信息并退出" in out and "选项" in out


def test_run_summary_in_chinese(cli, tmp_path):
    result = cli("--lang", "zh", "run", WALKTHROUGH, "--run-dir", tmp_path / "run", "-q")
    assert result.code == 0
    assert result.out.startswith("two-layer-walkthrough: 已完成，100 步，最终损失 ")


# --- reports --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def walkthrough_run(tmp_path_factory):
    import engine

    return engine.run(WALKTHROUGH, run_dir=tmp_path_factory.mktemp("zh") / "run")


def test_report_in_chinese(walkthrough_run, tmp_path):
    set_language("zh")
    html = write_report(walkthrough_run.run_dir, tmp_path / "report.html").read_text("utf-8")
    assert '<html lang="zh">' in html
    headings = ("概览", "网络", "单步播放器", "训练曲线", "逐步讲解", "前向传播", "反向传播")
    for heading in (*headings, "网络学到了什么"):
        assert f">{heading}" in html, heading
    assert "链式法则" in html and "梯度下降" in html
    # the step player's words travel in its data; player.js shows them
    assert '"play":"▶ 播放"' in html and '"next":"下一步 ▶"' in html
    # plot labels are inside the SVG figures
    assert re.search(r"<text[^>]*>[^<]*训练损失（批量）", html) or "训练损失（批量）" in html


def test_report_in_english_has_english_words(walkthrough_run, tmp_path):
    html = write_report(walkthrough_run.run_dir, tmp_path / "report.html").read_text("utf-8")
    assert '<html lang="en">' in html and '"play":"▶ Play"' in html
    assert not HAN.search(html)


def test_show_in_chinese(walkthrough_run):
    set_language("zh")
    text = show_text(walkthrough_run.run_dir, 0, None)
    assert "前向传播" in text and "反向传播" in text and "链式法则" in text
    assert "∂L/∂W" in text, "formulas stay as they are"
    # a Chinese character is two terminal columns wide: the underline spans the heading
    assert text.splitlines()[:2] == ["第 0 步", "======="]


# --- a plugin's own catalog -----------------------------------------------------------------

PLUGIN = '''
from typing import Literal

import numpy as np
from pydantic import Field

import engine


class SquashConfig(engine.LayerConfig):
    type: Literal["squash"] = "squash"
    k: float = Field(1.0, description="How steep the squash is.")


class Squash(engine.Activation):
    """A squashing activation: a = z / (1 + |z|)."""

    formula = "a = z / (1 + |z|)"

    def forward(self, z):
        return z / (1.0 + np.abs(z))

    def derivative(self, z, a):
        return 1.0 / (1.0 + np.abs(z)) ** 2


@engine.hookimpl
def tracegrad_register_activations(register):
    register("squash", Squash, SquashConfig)
'''


def test_a_plugin_ships_its_own_catalog(environment, tmp_path, capsys):
    package = tmp_path / "squash_plugin"
    (package / "locale" / "zh" / "LC_MESSAGES").mkdir(parents=True)
    (package / "__init__.py").write_text(PLUGIN, encoding="utf-8")
    catalog = Catalog(locale="zh", domain="squash_plugin")
    catalog.add(
        "A squashing activation: a = z / (1 + |z|).", "一种压缩型激活函数：a = z / (1 + |z|)。"
    )
    catalog.add("How steep the squash is.", "压缩的陡峭程度。")
    with (package / "locale" / "zh" / "LC_MESSAGES" / "squash_plugin.mo").open("wb") as file:
        write_mo(file, catalog)
    environment.syspath_prepend(str(tmp_path))
    try:
        from engine.cli import main

        assert (
            main(["--lang", "zh", "plugins", "--kind", "activations", "--plugin", "squash_plugin"])
            == 0
        )
        out = capsys.readouterr().out
        assert "一种压缩型激活函数：a = z / (1 + |z|)。" in out
        assert "压缩的陡峭程度。" in out
        set_language("zh")
        assert translate_for("squash_plugin", "How steep the squash is.") == "压缩的陡峭程度。"
        # the core's catalog answers what the plugin's does not
        assert translate_for("squash_plugin", "Overview") == "概览"
        set_language("en")
        assert (
            translate_for("squash_plugin", "How steep the squash is.") == "How steep the squash is."
        )
    finally:
        sys.modules.pop("squash_plugin", None)
        i18n._plugin_locale.cache_clear()


def test_argparse_usage_errors_in_chinese(cli):
    result = cli("--lang", "zh", "gradcheck", WALKTHROUGH, "--tolerance", "abc")
    assert result.code == 2
    assert result.err.startswith("用法：tracegrad gradcheck")
    assert result.err.endswith(
        "tracegrad gradcheck: 错误：参数 --tolerance：无效的 float 值：'abc'\n"
    )
    missing = cli("--lang", "zh", "run")
    assert missing.code == 2 and "缺少以下必需的参数：file" in missing.err


def test_argparse_usage_errors_in_english_are_argparse_own(cli):
    result = cli("run")
    assert result.code == 2
    assert result.err.startswith("usage: tracegrad run")
    assert result.err.endswith("tracegrad run: error: the following arguments are required: file\n")


@pytest.mark.parametrize(
    "scenario,overrides,headings",
    [
        (
            "gan/gaussian_1d.yaml",
            {"train.steps": 4, "metrics.every": 2, "trace.every": 2, "metrics.samples": 200},
            ("生成器 G", "判别器 D", "D 阶段：判别器学习", "技巧与标签", "真实样本与生成样本"),
        ),
        (
            "cnn_digits.yaml",
            {"train.steps": 2, "data.samples": 40, "train.batch_size": 8},
            ("图像层", "逐步讲解"),
        ),
    ],
    ids=["gan", "images"],
)
def test_every_section_of_other_kinds_renders_in_chinese(scenario, overrides, headings, tmp_path):
    """A translation that broke its placeholders would cost a section ("could not be made")."""
    import engine
    from tests.conftest import SCENARIOS

    run = engine.run(SCENARIOS / scenario, overrides=overrides, run_dir=tmp_path / "run")
    set_language("zh")
    html = write_report(run.run_dir, tmp_path / "report.html").read_text("utf-8")
    markdown = write_report(run.run_dir, tmp_path / "report.md").read_text("utf-8")
    assert "无法生成" not in html and "could not be made" not in html
    for heading in headings:
        assert f">{heading}" in html and heading in markdown, heading

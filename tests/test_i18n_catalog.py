"""The Chinese catalog is complete, compiled from its .po, and speaks the glossary's terms.

The message ids are extracted from the source right here (Babel, as .ci/catalogs.py does), so
a new ``_("...")`` without a translation fails this test until the catalog is regenerated and
translated (docs/translating.md).
"""

from __future__ import annotations

import io
import re
import string

import pytest
import yaml
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from engine.listing import descriptions
from engine.plugins import load_registry
from tests.conftest import ROOT

LOCALE = ROOT / "engine" / "locale"
PO = LOCALE / "zh" / "LC_MESSAGES" / "tracegrad.po"
MO = PO.with_suffix(".mo")
GLOSSARY = yaml.safe_load((LOCALE / "glossary.yaml").read_text(encoding="utf-8"))["zh"]
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2)}


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    with PO.open("rb") as file:
        return read_po(file)


def _source_ids() -> set[str]:
    """Every message id in engine/ and plugins/, extracted from the code as it is now, and
    the built-in components' descriptions as `tracegrad plugins` looks them up."""
    found = set(descriptions(load_registry()))
    for folder in ("engine", "plugins"):
        for _name, _line, message, _comments, _context in extract_from_dir(
            ROOT / folder, method_map=[("**.py", "python")], keywords=KEYWORDS
        ):
            found.add(message[0] if isinstance(message, tuple) else message)
    return found - {""}


def _singular(value):
    return value[0] if isinstance(value, (tuple, list)) else value


def _translated(catalog: Catalog) -> dict[str, str]:
    return {
        _singular(m.id): _singular(m.string)
        for m in catalog
        if m.id and _singular(m.string) and not m.fuzzy
    }


def test_every_message_id_has_a_chinese_translation(catalog):
    source = _source_ids()
    assert len(source) > 500, "extraction found the messages"
    missing = sorted(source - set(_translated(catalog)))
    assert missing == [], "run `python .ci/catalogs.py` and translate these in tracegrad.po"


def test_the_test_sees_a_missing_translation(catalog):
    """The check above is real: drop one translation and it is reported."""
    translated = _translated(catalog)
    translated.pop("Overview")
    assert "Overview" in _source_ids() - set(translated)


def test_the_compiled_catalog_is_the_po_compiled(catalog):
    fresh = io.BytesIO()
    write_mo(fresh, catalog)
    assert MO.read_bytes() == fresh.getvalue(), "run `python .ci/catalogs.py` to recompile"


def _fields(text: str) -> list[str]:
    return sorted(
        f"{name}!{conversion}:{spec}"
        for _literal, name, spec, conversion in string.Formatter().parse(text)
        if name is not None
    )


def test_translations_keep_every_placeholder(catalog):
    wrong = [
        (message_id, text)
        for message_id, text in _translated(catalog).items()
        if _fields(message_id) != _fields(text)
    ]
    assert wrong == []


def _pattern(term: str) -> re.Pattern:
    """The term as a word (plural too), not inside a key (train.steps), name or placeholder."""
    words = r"[\s-]+".join(map(re.escape, re.split(r"[\s-]+", term)))
    return re.compile(rf"(?<![\w.\-/`'{{]){words}(?:s|es)?(?![\w\-`'}}]|\.\w)", re.I)


def _prose(text: str) -> str:
    """What a translator translates: without `code` and {placeholders}."""
    return re.sub(r"\{[^}]*\}", " ", re.sub(r"`[^`]*`", " ", text))


def glossary_violations(translated: dict[str, str]) -> list[tuple[str, str, str]]:
    found = []
    for message_id, text in translated.items():
        prose = _prose(message_id)
        for term, chinese in GLOSSARY.items():  # longer terms first (the file's order)
            if _pattern(term).search(prose):
                if chinese not in text:
                    found.append((term, message_id, text))
                prose = _pattern(term).sub(" ", prose)
    return found


def test_translations_use_the_glossary_terms(catalog):
    assert glossary_violations(_translated(catalog)) == []


def test_the_glossary_check_sees_a_wrong_term():
    wrong = {"The learning rate was constant": "学习速度保持不变", "Backward pass": "反向传播"}
    assert glossary_violations(wrong) == [
        ("learning rate", "The learning rate was constant", "学习速度保持不变")
    ]
    # a key such as train.steps or a placeholder is not the word
    assert glossary_violations({"set {loss} via loss.type": "设置"}) == []


def test_glossary_has_the_textbook_terms():
    for term, chinese in {
        "backpropagation": "反向传播",
        "chain rule": "链式法则",
        "gradient descent": "梯度下降",
        "loss function": "损失函数",
        "generator": "生成器",
        "discriminator": "判别器",
        "label smoothing": "标签平滑",
        "activation": "激活函数",
        "learning rate": "学习率",
        "forward pass": "前向传播",
        "weight": "权重",
        "bias": "偏置",
        "mini-batch": "小批量",
        "overfitting": "过拟合",
    }.items():
        assert GLOSSARY[term] == chinese

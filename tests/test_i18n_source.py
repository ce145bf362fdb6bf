"""How translatable strings are written in the source: checked on the code itself."""

from __future__ import annotations

import ast

import pytest

from tests.conftest import ROOT

SOURCES = sorted(
    path
    for folder in ("engine", "plugins")
    for path in (ROOT / folder).rglob("*.py")
    if path.read_text(encoding="utf-8").count("import") and "_(" in path.read_text("utf-8")
)


def _imports_translation(tree: ast.Module) -> bool:
    return any(
        isinstance(node, ast.ImportFrom)
        and node.module == "engine.i18n"
        and any(alias.name == "_" for alias in node.names)
        for node in tree.body
    )


def _binds_underscore(function: ast.AST) -> bool:
    """A function that assigns ``_`` (``for _, x in``, ``a, _ = ``) makes every ``_()`` in it
    an UnboundLocalError."""
    for node in ast.walk(function):
        if isinstance(node, ast.Name) and node.id == "_" and isinstance(node.ctx, ast.Store):
            return True
        if isinstance(node, ast.arg) and node.arg == "_":
            return True
    return False


def _calls_underscore(function: ast.AST) -> bool:
    return any(
        isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "_"
        for node in ast.walk(function)
    )


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_function_shadows_the_translation_function(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    if not _imports_translation(tree):
        return
    shadowing = [
        f"{path.name}:{node.lineno} {node.name}"
        for node in ast.walk(tree)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        and _binds_underscore(node)
        and _calls_underscore(node)
    ]
    assert shadowing == [], "rename the throwaway '_' (it hides engine.i18n._)"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_translated_messages_are_not_f_strings(path):
    """``_(f"...")`` looks up a message that was never extracted: the text is filled in
    before the catalog sees it."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    wrong = [
        f"{path.name}:{node.lineno}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in ("_", "N_")
        and node.args
        and not isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0], ast.JoinedStr)
    ]
    assert wrong == []

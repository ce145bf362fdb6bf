"""The objects a plugin meets, described from their code: every public attribute (with its
``#:`` comment or field description) and every public method (signature and docstring).

Which objects: the contracts (the base class of every kind of component, ``ScenarioKind``,
``StepLoop``, the config bases), the types of the hooks' annotated arguments, the classes the
hooks' docstrings name in double backquotes, and, one step further, the project's classes
those name in their own attributes, signatures and docstrings.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import pkgutil
import re
import sys
import textwrap

from pydantic import BaseModel

#: Modules whose classes the reference describes (the project's own).
PROJECT_PREFIXES = ("engine.", "plugins.")
#: How far from a hook or contract the discovery follows the names it finds.
DEPTH = 2

_REFERENCE = re.compile(r"``([A-Za-z_][\w.]*)")
_IDENTIFIER = re.compile(r"[A-Za-z_][\w.]*")
#: "``batch`` is a ``GanBatch``", "``network`` and ``generator`` are ``Network`` objects".
_ARGUMENT_TYPE = re.compile(
    r"((?:``\w+``(?:, | and )?)+) (?:is|are) (?:a |an |the )?(?:validated )?``([A-Za-z_][\w.]*)``"
)


def argument_types(doc: str | None) -> dict[str, str]:
    """Argument name -> the class name a docstring gives it ("``batch`` is a ``GanBatch``")."""
    found = {}
    for names, type_name in _ARGUMENT_TYPE.findall(" ".join((doc or "").split())):
        for name in re.findall(r"``(\w+)``", names):
            found.setdefault(name, type_name)
    return found


def _project_class(value) -> bool:
    return (
        inspect.isclass(value)
        and value.__module__.startswith(PROJECT_PREFIXES)
        and not value.__name__.startswith("_")
        and not issubclass(value, BaseException)
    )


def _import_project() -> None:
    """Import every module of the project, so the index is the same whatever ran before."""
    import engine
    import plugins

    pending = [
        found.name
        for package in (engine, plugins)
        for found in pkgutil.walk_packages(package.__path__, f"{package.__name__}.")
        if not found.name.endswith("__main__")
    ]
    while pending:  # a module that needs another imported first is tried again after it
        failed = []
        for name in pending:
            try:
                importlib.import_module(name)
            except ImportError:
                failed.append(name)
        if len(failed) == len(pending):
            importlib.import_module(failed[0])  # the error, as it is
        pending = failed


def class_index() -> dict[str, type | None]:
    """Bare class name -> the project's class of that name (None when two share it)."""
    _import_project()
    index: dict[str, type | None] = {}
    for name in sorted(sys.modules):
        module = sys.modules[name]
        if module is None or not name.startswith(PROJECT_PREFIXES):
            continue
        for value in vars(module).values():
            if _project_class(value) and value.__module__ == name:
                known = index.get(value.__name__, value)
                index[value.__name__] = value if known is value else None
    return index


def resolve(text: str, home, index) -> type | None:
    """The project class ``text`` names ("GanBatch", "engine.components.Parameter"), looked
    up in ``home``'s namespace (a module or class), then by import path, then by bare name."""
    if home is not None:
        namespace = vars(sys.modules[home.__module__]) if inspect.isclass(home) else vars(home)
        value = namespace.get(text.split(".")[0])
        for part in text.split(".")[1:]:
            value = getattr(value, part, None)
        if _project_class(value):
            return value
    module, _, name = text.rpartition(".")
    if module.startswith(("engine.", "plugins.")):
        try:
            value = getattr(importlib.import_module(module), name, None)
        except ImportError:
            value = None
        if _project_class(value):
            return value
    value = index.get(text.rpartition(".")[2]) if "." not in text else None
    return value if _project_class(value) else None


def names_in_doc(doc: str | None) -> list[str]:
    return _REFERENCE.findall(doc or "")


def names_in_annotation(text: str) -> list[str]:
    return _IDENTIFIER.findall(text or "")


@dataclasses.dataclass
class Member:
    """One public attribute or method: its name, its type or signature, and its text."""

    name: str
    kind: str  # "attribute", "property" or "method"
    signature: str
    doc: str


def _comment_above(lines: list[str], lineno: int) -> str:
    """The ``#:`` comment lines right above line ``lineno`` (1-based)."""
    found = []
    index = lineno - 2
    while index >= 0 and lines[index].strip().startswith("#:"):
        found.append(lines[index].strip()[2:].strip())
        index -= 1
    return " ".join(reversed(found))


def _source_tree(cls) -> tuple[ast.ClassDef, list[str]] | None:
    try:
        source = textwrap.dedent(inspect.getsource(cls))
    except (OSError, TypeError):
        return None
    tree = ast.parse(source)
    node = next((n for n in tree.body if isinstance(n, ast.ClassDef)), None)
    return (node, source.splitlines()) if node is not None else None


def _attributes(cls) -> list[Member]:
    """Attributes written in the class body (``name: type = ...``, ``name = ...``) and those
    ``__init__`` sets on ``self``, each with its ``#:`` comment (or field description)."""
    parsed = _source_tree(cls)
    if parsed is None:
        return []
    node, lines = parsed
    source = "\n".join(lines)
    fields = cls.model_fields if issubclass(cls, BaseModel) else {}
    members: dict[str, Member] = {}

    def add(target, annotation, lineno):
        name = target.id if isinstance(target, ast.Name) else getattr(target, "attr", "")
        if not name or name.startswith("_") or name in members or name == "model_config":
            return
        text = ast.get_source_segment(source, annotation) if annotation is not None else ""
        doc = _comment_above(lines, lineno)
        if name in fields:
            from engine.listing import _field_type

            text = _field_type(fields[name])
            doc = doc or (fields[name].description or "")
        members[name] = Member(name, "attribute", text or "", doc)

    for statement in node.body:
        if isinstance(statement, ast.AnnAssign):
            add(statement.target, statement.annotation, statement.lineno)
        elif isinstance(statement, ast.Assign) and len(statement.targets) == 1:
            add(statement.targets[0], None, statement.lineno)
        elif isinstance(statement, ast.FunctionDef) and statement.name == "__init__":
            for inner in ast.walk(statement):
                targets = (
                    [inner.target]
                    if isinstance(inner, ast.AnnAssign)
                    else inner.targets
                    if isinstance(inner, ast.Assign)
                    else []
                )
                for target in targets:
                    if (
                        isinstance(target, ast.Attribute)
                        and isinstance(target.value, ast.Name)
                        and target.value.id == "self"
                    ):
                        annotation = inner.annotation if isinstance(inner, ast.AnnAssign) else None
                        add(target, annotation, inner.lineno)
    return list(members.values())


def signature_text(function) -> str:
    """``(z: np.ndarray, a: np.ndarray) -> np.ndarray`` as written (no quotes, no self)."""
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        return "(...)"
    parts, keyword_only = [], False
    for parameter in signature.parameters.values():
        if parameter.name in ("self", "cls"):
            continue
        if parameter.kind is parameter.KEYWORD_ONLY and not keyword_only:
            parts.append("*")
            keyword_only = True
        text = parameter.name
        if parameter.kind is parameter.VAR_POSITIONAL:
            text = "*" + text
        elif parameter.kind is parameter.VAR_KEYWORD:
            text = "**" + text
        if parameter.annotation is not parameter.empty:
            text += f": {_annotation(parameter.annotation)}"
        if parameter.default is not parameter.empty:
            text += (
                f"={parameter.default!r}" if text == parameter.name else f" = {parameter.default!r}"
            )
        parts.append(text)
    result = f"({', '.join(parts)})"
    if signature.return_annotation is not signature.empty:
        result += f" -> {_annotation(signature.return_annotation)}"
    return result


def _annotation(value) -> str:
    return value if isinstance(value, str) else getattr(value, "__name__", repr(value))


def members(cls) -> list[Member]:
    """The class's own public attributes, properties and methods (inherited ones are described
    with the class they come from)."""
    found = _attributes(cls)
    for name, value in vars(cls).items():
        if name.startswith("_"):
            continue
        if isinstance(value, property):
            found.append(Member(name, "property", "", inspect.cleandoc(value.__doc__ or "")))
        elif isinstance(value, (staticmethod, classmethod)) or inspect.isfunction(value):
            function = value.__func__ if hasattr(value, "__func__") else value
            doc = inspect.cleandoc(function.__doc__ or "")
            found.append(Member(name, "method", signature_text(function), doc))
    if issubclass(cls, BaseModel):  # pydantic's own machinery is not the model's
        found = [m for m in found if not m.name.startswith("model_")]
    return found


def bases(cls) -> list[type]:
    """The project classes ``cls`` derives from directly."""
    return [base for base in cls.__bases__ if _project_class(base)]


def referenced(cls, index) -> list[type]:
    """Project classes a class names: in its docstring, attributes, signatures and bases."""
    texts = names_in_doc(cls.__doc__)
    for member in members(cls):
        texts += names_in_annotation(member.signature) + names_in_doc(member.doc)
    found = [resolve(text, cls, index) for text in texts]
    return [c for c in dict.fromkeys([*found, *bases(cls)]) if c is not None and c is not cls]


def discover(roots: list[type], index, depth: int = DEPTH) -> list[type]:
    """``roots`` and the classes they name, up to ``depth`` steps away, in a stable order."""
    seen: dict[type, None] = dict.fromkeys(roots)
    frontier = list(roots)
    for _ in range(depth):
        following = []
        for cls in frontier:
            for other in referenced(cls, index):
                if other not in seen:
                    seen[other] = None
                    following.append(other)
        frontier = following
    return sorted(seen, key=qualified_name)


def qualified_name(cls) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"

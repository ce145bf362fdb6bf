"""Read YAML safely and remember where every value came from.

``load(text, filename)`` returns the plain data (safe loader only: a ``!!python/...`` tag is an
error, nothing executes) and a ``SourceMap`` from paths like ``("model", "layers", 0, "units")``
to ``file:line:column``, so a validation error can point at the offending key.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import yaml

from engine.errors import ScenarioError


@dataclass
class SourceMap:
    """Positions of keys and values in a YAML file (1-based line and column)."""

    filename: str
    positions: dict[tuple, tuple[int, int]] = field(default_factory=dict)

    def where(self, path: tuple) -> str:
        """``file:line:col`` of the deepest known prefix of ``path`` (the file if none)."""
        path = tuple(path)
        while path and path not in self.positions:
            path = path[:-1]
        line, column = self.positions.get(path, (None, None))
        return f"{self.filename}:{line}:{column}" if line else self.filename


class _UniqueKeyLoader(yaml.SafeLoader):
    """The safe loader, refusing a key given twice in one mapping (silently lost otherwise)."""

    def construct_mapping(self, node, deep=False):
        seen = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key '{key}' appears twice in one mapping", key_node.start_mark
                )
            seen[key] = True
        return super().construct_mapping(node, deep)


def load(text: str, filename: str = "<string>") -> tuple[object, SourceMap]:
    try:
        node = yaml.compose(text, Loader=_UniqueKeyLoader)
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"{filename}:{mark.line + 1}:{mark.column + 1}" if mark else filename
        problem = error.problem or str(error)
        hint = "check the indentation and the quoting around this place"
        if "python/" in str(error):
            problem = "Python-specific YAML tags are not allowed in a scenario"
            hint = "write plain YAML values; code only runs from an explicitly listed plugin"
        elif "could not determine a constructor" in str(error):
            problem = f"unsupported YAML tag: {problem}"
            hint = "write plain YAML values without '!' tags"
        raise ScenarioError(f"YAML error: {problem}", where, hint) from None
    except yaml.YAMLError as error:
        raise ScenarioError(f"YAML error: {error}", filename) from None
    source = SourceMap(filename)
    if node is not None:
        _walk(node, (), source.positions)
    return data, source


def _walk(node, path: tuple, positions: dict) -> None:
    positions.setdefault(path, (node.start_mark.line + 1, node.start_mark.column + 1))
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            child = (*path, key_node.value)
            positions[child] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            _walk(value_node, child, positions)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*path, index), positions)

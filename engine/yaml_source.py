"""Read YAML safely and remember where every value came from.

``load(text, filename)`` returns the plain data and a ``SourceMap`` from paths like
``("model", "layers", 0, "units")`` to ``file:line:column``, so a validation error can point
at the offending key.

The file is parsed once, as a stream of events (libyaml's C parser where it is installed),
and the data built from them here, without recursion, so that:

- values follow the YAML 1.2 core schema: ``true``/``false`` are the only booleans, ``1:30``
  is text (not the sexagesimal 90 of YAML 1.1), ``0o17`` and ``0x1f`` are integers;
- no tag makes code run (``!!python/...`` is an error), and unknown tags are errors;
- a key given twice, a key that is a list or a mapping, and a merge key ``<<`` are errors;
- nesting deeper than ``MAX_DEPTH`` and aliases that expand to more than ``MAX_ALIASED``
  values (an "alias bomb"), or that contain themselves, are errors, not hangs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import yaml

from engine.errors import ScenarioError
from engine.i18n import _

#: Deepest nesting of lists and mappings accepted (a scenario needs fewer than 10).
MAX_DEPTH = 100
#: Values that aliases (``*name``) may stand for, in total, counted as if copied out.
MAX_ALIASED = 100_000

_Parser = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_STR = "tag:yaml.org,2002:str"
_CORE = "tag:yaml.org,2002:"

_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
_TRUE = re.compile(r"^(?:true|True|TRUE)$")
_FALSE = re.compile(r"^(?:false|False|FALSE)$")
_DECIMAL = re.compile(r"^[-+]?[0-9]+$")
_OCTAL = re.compile(r"^0o[0-7]+$")
_HEX = re.compile(r"^0x[0-9a-fA-F]+$")
_FLOAT = re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$")
_INF = re.compile(r"^[-+]?\.(?:inf|Inf|INF)$")
_NAN = re.compile(r"^\.(?:nan|NaN|NAN)$")


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


def plain_scalar(text: str):
    """A plain (unquoted) scalar by the YAML 1.2 core schema."""
    if _NULL.match(text):
        return None
    if _TRUE.match(text):
        return True
    if _FALSE.match(text):
        return False
    if _DECIMAL.match(text):
        return int(text)
    if _OCTAL.match(text):
        return int(text[2:], 8)
    if _HEX.match(text):
        return int(text[2:], 16)
    if _FLOAT.match(text):
        return float(text)
    if _INF.match(text):
        return float("-inf") if text.startswith("-") else float("inf")
    if _NAN.match(text):
        return float("nan")
    return text


class _Error(Exception):
    def __init__(self, problem: str, mark, hint: str | None = None):
        super().__init__(problem)
        self.problem, self.mark, self.hint = problem, mark, hint


def _refuse_python(event) -> None:
    if event.tag and "python/" in event.tag:
        raise _Error(
            _("Python-specific YAML tags are not allowed in a scenario"),
            event.start_mark,
            _("write plain YAML values; code only runs from an explicitly listed plugin"),
        )


def _tagged_scalar(event):
    tag, value = event.tag, event.value
    if tag is None or tag == "!":
        return plain_scalar(value) if event.implicit[0] and tag is None else value
    _refuse_python(event)
    kind = tag.removeprefix(_CORE) if tag.startswith(_CORE) else None
    if kind == "str":
        return value
    if kind in ("int", "float", "bool", "null"):
        parsed = plain_scalar(value)
        wanted = {"int": int, "float": (int, float), "bool": bool, "null": type(None)}[kind]
        if isinstance(parsed, wanted) and not (kind != "bool" and isinstance(parsed, bool)):
            return float(parsed) if kind == "float" else parsed
        raise _Error(
            _("'{value}' is not a valid !!{kind}").format(value=value, kind=kind), event.start_mark
        )
    raise _Error(
        _("unsupported YAML tag '{tag}'").format(tag=tag),
        event.start_mark,
        _("write plain YAML values without tags"),
    )


def _check_container_tag(event, kind: str) -> None:
    _refuse_python(event)
    if event.tag not in (None, "!", _CORE + kind):
        raise _Error(
            _("unsupported YAML tag '{tag}'").format(tag=event.tag),
            event.start_mark,
            _("write plain YAML values without tags"),
        )


class _Builder:
    """Builds the data from parser events, with a stack instead of recursion."""

    def __init__(self, positions: dict):
        self.positions = positions
        self.anchors: dict[str, tuple[object, int]] = {}  # name -> (value, values inside)
        self.open_anchors: set[str] = set()
        self.aliased = 0
        # frames: [container, path, pending key or _NO_KEY, anchor, values inside]
        self.stack: list[list] = []
        self.result = None

    def _path(self) -> tuple:
        frame = self.stack[-1]
        container = frame[0]
        if isinstance(container, list):
            return (*frame[1], len(container))
        return (*frame[1], frame[2])

    def _is_key(self) -> bool:
        return (
            bool(self.stack)
            and isinstance(self.stack[-1][0], dict)
            and self.stack[-1][2] is _NO_KEY
        )

    def _place(self, value, size: int) -> None:
        if not self.stack:
            self.result = value
            return
        frame = self.stack[-1]
        frame[4] += size
        if isinstance(frame[0], list):
            frame[0].append(value)
        else:
            frame[0][frame[2]] = value
            frame[2] = _NO_KEY

    def _key(self, event, value) -> None:
        frame = self.stack[-1]
        mark = event.start_mark
        if value == "<<" and event.implicit[0] and event.tag is None:
            raise _Error(
                _("YAML merge keys (<<) are not supported in a scenario"),
                mark,
                _("write the keys out (or use --set to change a copy)"),
            )
        try:
            hash(value)
        except TypeError:  # pragma: no cover - scalars are hashable
            value = str(value)
        if value in frame[0]:
            raise _Error(_("key '{value}' appears twice in one mapping").format(value=value), mark)
        frame[2] = value
        self.positions[(*frame[1], value)] = (mark.line + 1, mark.column + 1)

    def feed(self, event) -> None:
        if isinstance(event, (yaml.StreamStartEvent, yaml.DocumentEndEvent, yaml.StreamEndEvent)):
            return
        if isinstance(event, yaml.DocumentStartEvent):
            if self.result is not None or self.positions:
                raise _Error(
                    _("the file holds more than one YAML document"),
                    event.start_mark,
                    _("a scenario is one document: remove the '---' line"),
                )
            return
        if self._is_key():
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                kind = "mapping" if isinstance(event, yaml.MappingStartEvent) else "list"
                raise _Error(
                    _("a key must be a plain value such as a name, found a {kind}").format(
                        kind=kind
                    ),
                    event.start_mark,
                    _("write 'name: value' pairs"),
                )
            if isinstance(event, yaml.AliasEvent):
                raise _Error(_("a key cannot be an alias (*name)"), event.start_mark)
            if isinstance(event, yaml.ScalarEvent):
                self._key(event, _tagged_scalar(event))
                return
        path = self._path() if self.stack else ()
        mark = event.start_mark
        if isinstance(event, yaml.ScalarEvent):
            self.positions.setdefault(path, (mark.line + 1, mark.column + 1))
            value = _tagged_scalar(event)
            if event.anchor:
                self.anchors[event.anchor] = (value, 1)
            self._place(value, 1)
        elif isinstance(event, yaml.AliasEvent):
            self.positions.setdefault(path, (mark.line + 1, mark.column + 1))
            if event.anchor in self.open_anchors:
                raise _Error(
                    _("the alias *{anchor} contains itself").format(anchor=event.anchor), mark
                )
            if event.anchor not in self.anchors:
                raise _Error(_("unknown alias *{anchor}").format(anchor=event.anchor), mark)
            value, size = self.anchors[event.anchor]
            self.aliased += size
            if self.aliased > MAX_ALIASED:
                raise _Error(
                    _("the aliases stand for more than {MAX_ALIASED:,} values").format(
                        MAX_ALIASED=MAX_ALIASED
                    ),
                    mark,
                    _("aliases repeat what they name: write the values out instead"),
                )
            self._place(value, size)
        elif isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            is_mapping = isinstance(event, yaml.MappingStartEvent)
            _check_container_tag(event, "map" if is_mapping else "seq")
            if len(self.stack) >= MAX_DEPTH:
                raise _Error(
                    _("the values are nested more than {MAX_DEPTH} levels deep").format(
                        MAX_DEPTH=MAX_DEPTH
                    ),
                    mark,
                    _("a scenario needs only a few levels"),
                )
            self.positions.setdefault(path, (mark.line + 1, mark.column + 1))
            if event.anchor:
                self.open_anchors.add(event.anchor)
            container = {} if is_mapping else []
            self.stack.append([container, path, _NO_KEY, event.anchor, 1])
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            container, _path, _key, anchor, size = self.stack.pop()
            if anchor:
                self.open_anchors.discard(anchor)
                self.anchors[anchor] = (container, size)
            self._place(container, size)


_NO_KEY = object()


def _reader_where(error: yaml.reader.ReaderError, text: str, filename: str) -> str:
    before = text[: error.position]
    line = before.count("\n") + 1
    column = error.position - (before.rfind("\n") + 1) + 1
    return f"{filename}:{line}:{column}"


def load(text: str, filename: str = "<string>") -> tuple[object, SourceMap]:
    source = SourceMap(filename)
    builder = _Builder(source.positions)
    try:
        for event in yaml.parse(text, Loader=_Parser):
            builder.feed(event)
    except _Error as error:
        mark = error.mark
        where = f"{filename}:{mark.line + 1}:{mark.column + 1}" if mark else filename
        raise ScenarioError(
            _("YAML error: {problem}").format(problem=error.problem), where, error.hint
        ) from None
    except yaml.reader.ReaderError as error:
        character = error.character
        shown = f"U+{ord(character):04X}" if isinstance(character, str) else repr(character)
        what = "a NUL byte" if character in ("\0", 0) else f"the control character {shown}"
        raise ScenarioError(
            _("YAML error: the file contains {what}, which YAML does not allow").format(what=what),
            _reader_where(error, text, filename),
            "save the scenario as plain UTF-8 text",
        ) from None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"{filename}:{mark.line + 1}:{mark.column + 1}" if mark else filename
        problem = error.problem or str(error)
        if "control characters are not allowed" in problem or "NUL" in problem:
            problem = "the file contains a control character (such as NUL), which YAML forbids"
        if "maximum nesting depth" in problem:  # libyaml's own bound, met before ours
            raise ScenarioError(
                _("YAML error: the values are nested more than {MAX_DEPTH} levels deep").format(
                    MAX_DEPTH=MAX_DEPTH
                ),
                where,
                "a scenario needs only a few levels",
            ) from None
        raise ScenarioError(
            _("YAML error: {problem}").format(problem=problem),
            where,
            "check the indentation and the quoting around here",
        ) from None
    except yaml.YAMLError as error:
        raise ScenarioError(_("YAML error: {error}").format(error=error), filename) from None
    return builder.result, source


def load_value(text: str, where: str):
    """One value written in YAML (a ``--set`` value), by the same rules as a file."""
    try:
        data, _positions = load(text, where)
    except ScenarioError as error:
        message = error.message.removeprefix("YAML error: ")
        raise ScenarioError(
            _("the value is not valid YAML: {message}").format(message=message),
            where,
            hint=_("quote text with spaces or special characters, e.g. --set name='my run'"),
        ) from None
    return data

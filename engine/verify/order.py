"""The order of the records within a traced step, checked from data each scenario kind's
rules give (``register("record_order", kind, RecordOrder(...))`` in
``tracegrad_register_rules``): the core knows no record type.

A ``RecordOrder`` is a list of ``Slot``s in the order the kind's loop writes them. A record
takes the first slot whose type and fields match; its position in the step is

    (the slot's part, the record's update number, the slot's place, the layer or parameter)

and the positions of a step's records must not decrease in file order. A part is a unit
that repeats within a step (a GAN's D updates, then its G updates); a slot ``each`` layer
or parameter of a network holds one record per layer (``index``: first to last, or last to
first for a backward pass) or per parameter, and a ``required`` slot must be filled in
every part that has records. So a swapped, moved or deleted record is named by its line.

A plugin that writes a record type of its own adds a slot to the kind's order
(``RecordOrder.add(slot, after=...)``) in its ``tracegrad_register_rules``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from engine.verify.report import VerifyReport

#: scenario kind -> RecordOrder, filled through ``tracegrad_register_rules`` (kind
#: "record_order").
ORDERS: dict = {}


@dataclass(frozen=True)
class Slot:
    """One place in a step's order: records of ``type`` whose fields match ``match`` (a
    value, or a tuple of allowed values); ``each`` "layer" (``index`` ascending),
    "layer_reversed" or "param" of ``network`` (None: every layer of the header); ``many``:
    any number of records (trick notes); ``name``: how a message names it."""

    type: str
    match: dict = field(default_factory=dict)
    part: str = ""
    required: bool = False
    each: str | None = None
    network: str | None = None
    many: bool = False
    name: str = ""

    def matches(self, record: dict) -> bool:
        if record.get("type") != self.type:
            return False
        for key, wanted in self.match.items():
            value = record.get(key)
            if value not in (wanted if isinstance(wanted, tuple) else (wanted,)):
                return False
        return True

    def describe(self) -> str:
        if self.name:
            return self.name
        fields = ", ".join(f"{k} {v}" for k, v in self.match.items() if k != "phase")
        return f"{self.type}" + (f" ({fields})" if fields else "")


@dataclass
class RecordOrder:
    """A kind's documented order of a traced step's records; ``parts`` in their order with
    a word for each ("d": "D update"); ``repeat`` the field numbering a part's repeats."""

    slots: list[Slot]
    parts: dict[str, str] = field(default_factory=lambda: {"": ""})
    repeat: str = "update"
    #: Record types that belong to no step ("scalars"): not ordered here.
    outside: tuple[str, ...] = ("scalars",)

    def add(self, slot: Slot, after: str) -> None:
        """Put ``slot`` after the last slot of type ``after`` (once: adding it again changes
        nothing)."""
        if slot in self.slots:
            return
        places = [i for i, s in enumerate(self.slots) if s.type == after]
        if not places:
            raise ValueError(f"the record order has no slot of type '{after}'")
        self.slots.insert(places[-1] + 1, slot)

    def slot_of(self, record: dict) -> int | None:
        for index, slot in enumerate(self.slots):
            if slot.matches(record):
                return index
        return None


def layers_of(header: dict, network: str | None) -> list[dict]:
    return [
        entry
        for entry in header.get("network") or []
        if network is None or entry.get("network") == network
    ]


def _member(slot: Slot, record: dict, header: dict):
    """Where in its slot a record goes: its layer index or parameter position."""
    if slot.each in ("layer", "layer_reversed"):
        index = record.get("index")
        if not isinstance(index, int) or isinstance(index, bool):
            return None
        return index if slot.each == "layer" else -index
    if slot.each == "param":
        keys = [
            f"{entry['name']}.{name}"
            for entry in layers_of(header, slot.network)
            for name in entry.get("params") or {}
        ]
        key = record.get("param")
        return keys.index(key) if key in keys else None
    return 0


def _expected(slot: Slot, header: dict) -> set:
    if slot.each in ("layer", "layer_reversed"):
        count = len(layers_of(header, slot.network))
        return {i if slot.each == "layer" else -i for i in range(count)}
    if slot.each == "param":
        return set(range(sum(len(e.get("params") or {}) for e in layers_of(header, slot.network))))
    return {0}


def check_order(trace, order: RecordOrder, report: VerifyReport) -> None:
    """Each traced step's records in ``order``, and every required record present (the
    last step of a trace that did not complete may stop anywhere)."""
    steps: dict = {}
    for record, line in zip(trace.records, trace.record_lines):
        if "step" not in record or record.get("type") in order.outside:
            continue
        steps.setdefault(record["step"], []).append((record, line))
    last = max(steps, default=None)
    for step, entries in steps.items():
        placed = _check_step(trace, order, report, step, entries)
        if step != last or (trace.end is not None and trace.end.get("status") == "completed"):
            _check_complete(trace, order, report, step, placed)


def _check_step(trace, order: RecordOrder, report: VerifyReport, step: int, entries) -> list:
    """Positions never decrease and no record comes twice; returns (line, part, repeat,
    slot index, member) of each placed record."""
    parts, placed, previous, seen = list(order.parts), [], None, set()
    for record, line in entries:
        index = order.slot_of(record)
        if index is None:
            report.unruled[f"record order: no slot for a '{record.get('type')}' record"] += 1
            continue
        slot = order.slots[index]
        member = _member(slot, record, trace.header)
        repeat = record.get(order.repeat, 0) if slot.part else 0
        where = _where(order, slot, step, repeat)
        if member is None:
            report.problems.append(
                f"structure: line {line}: {where}: a {slot.describe()} record of no layer or "
                "parameter of the header"
            )
            continue
        key = (slot.part, repeat, index, member)
        if key in seen and not slot.many:
            report.problems.append(
                f"structure: line {line}: {where}: a second {_what(slot, record)}"
            )
        place = (parts.index(slot.part), repeat, index, member)
        if previous is not None and place < previous[0]:
            report.problems.append(
                f"structure: line {line}: {where}: the {_what(slot, record)} comes after the "
                f"{previous[1]} of line {previous[2]}; a traced step writes "
                f"{_documented(order, index, previous[3])}"
            )
        previous = (place, _what(slot, record), line, index)
        placed.append((line, *key))
        seen.add(key)
    return placed


def _check_complete(trace, order: RecordOrder, report: VerifyReport, step: int, placed) -> None:
    """Every required slot of each part that has records is filled."""
    for part, repeat in dict.fromkeys((p[1], p[2]) for p in placed):
        mine = [p for p in placed if p[1:3] == (part, repeat)]
        for index, slot in enumerate(order.slots):
            if not slot.required or slot.part != part:
                continue
            missing = _expected(slot, trace.header) - {p[4] for p in mine if p[3] == index}
            if not missing:
                continue
            before = [p[0] for p in mine if p[3] < index] or [mine[0][0] - 1]
            after = max(before)
            which = _members(slot, sorted(missing), trace.header)
            report.problems.append(
                f"structure: line {after + 1}: {_where(order, slot, step, repeat)}: the "
                f"{slot.describe()} record{which} is missing (a traced step writes it after "
                f"line {after})"
            )


def _members(slot: Slot, missing: list, header: dict) -> str:
    if slot.each in ("layer", "layer_reversed"):
        return " of layer " + ", ".join(str(abs(m)) for m in missing)
    if slot.each == "param":
        keys = [
            f"{entry['name']}.{name}"
            for entry in layers_of(header, slot.network)
            for name in entry.get("params") or {}
        ]
        return " of " + ", ".join(keys[m] for m in missing)
    return ""


def _where(order: RecordOrder, slot: Slot, step: int, repeat: int) -> str:
    word = order.parts.get(slot.part, "")
    return f"step {step}" + (f", {word} {repeat}" if word else "")


def _what(slot: Slot, record: dict) -> str:
    text = f"{slot.describe()} record"
    if slot.each in ("layer", "layer_reversed"):
        text += f" of layer {record.get('index')}"
    elif slot.each == "param":
        text += f" of {record.get('param')}"
    return text


def _documented(order: RecordOrder, index: int, before: int) -> str:
    slot = order.slots[index]
    if index == before:
        return f"{slot.describe()} records in the order of the layers" + (
            " (last first)" if slot.each == "layer_reversed" else ""
        )
    return f"{order.slots[index].describe()} before {order.slots[before].describe()}"

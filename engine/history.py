"""``RunResult.history``: per-step scalars, kept compactly."""

from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Sequence
from itertools import chain
from operator import itemgetter

#: Marks a step at which a quantity was not recorded (e.g. accuracy between evaluations).
_MISSING = None
#: Python types kept in typed arrays, by array type code.
_TYPES = {"d": float, "q": int}


class StepHistory(Sequence):
    """``RunResult.history``: one dict per step, stored as columns.

    A dict per step costs about 500 bytes, so a 100,000-step run would hold 50 MB of them.
    Here the latest steps are kept as they were appended (up to ``CHUNK``), and older ones as
    one column per quantity: floats and ints in an ``array`` (8 bytes a value), anything else,
    or a quantity missing at some steps, in a list. ``history[i]`` gives step i's dict, with
    the keys and values that were appended (a value None reads as absent, as in
    ``Trace.history()``); reading, slicing, iterating and comparing work as for a list of
    dicts.
    """

    #: Steps kept as appended before they move into the columns.
    CHUNK = 1000

    def __init__(self, rows=()):
        self._columns: dict[str, array | list] = {}
        self._settled = 0  # steps stored in the columns
        self._recent: list[dict] = []
        for row in rows:
            self.append(row)

    def append(self, row: dict) -> None:
        self._recent.append(row)
        if len(self._recent) >= self.CHUNK:
            self._settle()

    def _settle(self) -> None:
        """Move the recent steps into the columns, a quantity at a time."""
        rows, self._recent = self._recent, []
        for name, count in Counter(chain.from_iterable(rows)).items():  # in order of first use
            if count == len(rows):
                self._extend(name, list(map(itemgetter(name), rows)))
            else:
                self._extend(name, [row.get(name, _MISSING) for row in rows])
        self._settled += len(rows)

    def _extend(self, name: str, values: list) -> None:
        n = self._settled
        column = self._columns.get(name)
        if column is None:
            kinds = {code for code, kind in _TYPES.items() if type(values[0]) is kind}
            column = self._columns[name] = array(kinds.pop()) if n == 0 and kinds else []
        if len(column) < n:  # absent at some steps: a list with gaps
            column = self._as_list(name)
            column.extend([_MISSING] * (n - len(column)))
        if isinstance(column, array):
            if set(map(type, values)) == {_TYPES[column.typecode]}:
                try:
                    column.extend(values)
                    return
                except OverflowError:  # an int beyond 64 bits
                    del column[n:]
            column = self._as_list(name)
        column.extend(values)

    def _as_list(self, name: str) -> list:
        column = self._columns[name]
        if isinstance(column, array):
            column = self._columns[name] = column.tolist()
        return column

    def __len__(self) -> int:
        return self._settled + len(self._recent)

    def __iter__(self):
        for index in range(len(self)):
            yield self[index]

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError("history index out of range")
        if index >= self._settled:
            return self._recent[index - self._settled]
        return {
            name: column[index]
            for name, column in self._columns.items()
            if index < len(column) and column[index] is not _MISSING
        }

    def __eq__(self, other) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, str):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other))

    def __repr__(self) -> str:
        return f"StepHistory({list(self)!r})"

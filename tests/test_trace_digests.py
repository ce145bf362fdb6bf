"""Refactors keep every bundled scenario's trace byte-identical (see tests/trace_digests.py).

A change meant to alter a trace regenerates ``tests/trace_digests.json`` with
``python -m tests.trace_digests > tests/trace_digests.json`` and says so in its commit.
"""

import json

import pytest

from tests import trace_digests

RECORDED = json.loads(trace_digests.RECORDED.read_text(encoding="utf-8"))


def test_every_bundled_scenario_has_recorded_digests():
    names = {str(p.relative_to(trace_digests.SCENARIOS)) for p in trace_digests.bundled()}
    assert {key.rsplit(" ", 1)[0] for key in RECORDED} == names


@pytest.fixture(scope="module")
def current():
    return trace_digests.pinned_current()


@pytest.mark.parametrize("key", sorted(RECORDED))
def test_trace_is_byte_identical_to_the_recorded_one(key, current):
    assert current[key] == RECORDED[key]

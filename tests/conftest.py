"""Shared fixtures: tiny generated cases and the shipped example cases."""
from __future__ import annotations

import signal
from pathlib import Path

import pytest

from tests.reference.tiny_cases import write_tiny_case

ROOT = Path(__file__).resolve().parents[1]
CASES = ROOT / "cases"
EXAMPLE_CASES = sorted(p.name for p in CASES.iterdir() if (p / "case.yaml").exists())

# A shell starts a background job with Ctrl-C ignored, and child processes inherit that: the tests
# that press Ctrl-C on a child (runner, sweep, signals) need it delivered, however pytest was started.
signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture
def tiny_case(tmp_path):
    """A factory: write_tiny_case(seed, **knobs) into a fresh folder under tmp_path."""
    counter = iter(range(10_000))

    def make(seed: int, **knobs) -> Path:
        return write_tiny_case(tmp_path / f"case{next(counter)}", seed, **knobs)

    return make

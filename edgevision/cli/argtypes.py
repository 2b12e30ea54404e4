"""argparse value types that refuse NaN, infinities, zero or negatives where they make no sense.

argparse turns the ``ValueError`` they raise into its usual one-line usage error (exit code 2).
"""

from __future__ import annotations

import argparse
import math


def _number(text: str, kind: type) -> float | int:
    try:
        value = kind(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"{text!r} is not a {kind.__name__}") from err
    if isinstance(value, float) and not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} must be a finite number")
    return value


def _at_least(kind: type, bound: float, *, strict: bool, requirement: str):
    """An argparse type: a ``kind`` number above ``bound`` (``strict``) or at least it."""

    def parse(text: str) -> float | int:
        value = _number(text, kind)
        if value < bound or (strict and value == bound):
            raise argparse.ArgumentTypeError(f"{text} must be {requirement}")
        return kind(value)

    parse.__name__ = f"{'positive' if strict else 'non_negative'}_{kind.__name__}"
    return parse


positive_int = _at_least(int, 0, strict=True, requirement="greater than 0")
non_negative_int = _at_least(int, 0, strict=False, requirement="0 or more")
positive_float = _at_least(float, 0.0, strict=True, requirement="greater than 0")
non_negative_float = _at_least(float, 0.0, strict=False, requirement="0 or more")


def unit_interval(text: str) -> float:
    """A finite float in [0, 1]."""
    value = _number(text, float)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text} must be between 0 and 1")
    return float(value)

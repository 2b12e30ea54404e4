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


def positive_int(text: str) -> int:
    """An integer > 0."""
    value = _number(text, int)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text} must be greater than 0")
    return int(value)


def non_negative_int(text: str) -> int:
    """An integer >= 0."""
    value = _number(text, int)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} must be 0 or more")
    return int(value)


def positive_float(text: str) -> float:
    """A finite float > 0."""
    value = _number(text, float)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text} must be greater than 0")
    return float(value)


def non_negative_float(text: str) -> float:
    """A finite float >= 0."""
    value = _number(text, float)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} must be 0 or more")
    return float(value)


def unit_interval(text: str) -> float:
    """A finite float in [0, 1]."""
    value = _number(text, float)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text} must be between 0 and 1")
    return float(value)

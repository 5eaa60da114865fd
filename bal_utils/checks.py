"""Argument checks shared by the package, each failing with one line that names
the field, the value and what is allowed. Imports nothing from the package."""

from __future__ import annotations

import math
import numbers


def _range_text(low, high, low_open=False, high_open=False) -> str:
    if high is None:
        return "" if low is None else (f" > {low}" if low_open else f" >= {low}")
    if low is None:
        return f" < {high}" if high_open else f" <= {high}"
    return f" in {'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"


def integer(name: str, value, low=None, high=None, *, none: bool = False) -> None:
    """``value`` is an int (not a bool) in ``[low, high]``; ``None`` passes when ``none``."""
    if value is None and none:
        return
    allowed = f"an integer{_range_text(low, high)}" + (" or None" if none else "")
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name}={value!r} is not allowed: expected {allowed}")
    if (low is not None and value < low) or (high is not None and value > high):
        raise ValueError(f"{name}={value!r} is not allowed: expected {allowed}")


def number(name: str, value, low=None, high=None, *, low_open: bool = False, high_open: bool = False) -> None:
    """``value`` is a finite real number (not a bool) within the given bounds."""
    allowed = f"a finite number{_range_text(low, high, low_open, high_open)}"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name}={value!r} is not allowed: expected {allowed}")
    ok = math.isfinite(value)
    ok = ok and (low is None or (value > low if low_open else value >= low))
    ok = ok and (high is None or (value < high if high_open else value <= high))
    if not ok:
        raise ValueError(f"{name}={value!r} is not allowed: expected {allowed}")


def choice(name: str, value, allowed) -> None:
    """``value`` is one of ``allowed``."""
    if value not in allowed:
        raise ValueError(f"{name}={value!r} is not allowed: expected one of {list(allowed)}")

"""The one exception type for bad user input, shared by every layer.

Raised at a boundary where a parameter, file or option value is not allowed. The message is one
line that names the bad value and what is allowed; the CLI prints it and exits with status 2.
"""


class InputError(ValueError):
    """A parameter, option or file that the tool cannot accept (message: one line)."""


def check_range(name: str, value: float, low: float, high: float, *, low_open: bool = False,
                high_open: bool = False, unit: str = "") -> float:
    """Return ``value`` as float if it lies in the interval, else raise :class:`InputError`.

    The interval is [low, high], with either end open on request; NaN is never allowed.
    """
    v = float(value)
    below = v <= low if low_open else v < low
    above = v >= high if high_open else v > high
    if v != v or below or above:
        lo = "(" if low_open else "["
        hi = ")" if high_open else "]"
        u = f" {unit}" if unit else ""
        raise InputError(f"{name}={value!r} is not allowed: must lie in {lo}{low:g}, {high:g}{hi}{u}")
    return v


def check_positive(name: str, value: float, unit: str = "") -> float:
    """Return ``value`` as float if it is finite and > 0, else raise :class:`InputError`."""
    return check_range(name, value, 0.0, float("inf"), low_open=True, high_open=True, unit=unit)

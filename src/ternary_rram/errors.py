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


#: Seeds are used as 64-bit signed integers (torch/numpy generators): [0, 2**63).
SEED_MAX: int = 2**63 - 1


def check_int(name: str, value: object, low: int, high: int | None = None, *, why: str = "") -> int:
    """Return ``value`` as int if it is an integer (not a bool; a float with no fraction counts) in
    [low, high] (``high`` None: no upper bound), else :class:`InputError`.

    ``why`` (optional) says where the bound comes from, e.g. "a larger grid does not fit in 24 GB".
    """
    allowed = f"an integer in [{low}, {high}]" if high is not None else f"an integer >= {low}"
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise InputError(f"{name}={value!r} is not allowed: must be {allowed}")
    if value < low or (high is not None and value > high):
        tail = f" ({why})" if why else ""
        raise InputError(f"{name}={value!r} is not allowed: must be {allowed}{tail}")
    return int(value)


def check_seed(name: str, value: object) -> int:
    """A random seed: an integer in [0, 2**63 - 1] (what a 64-bit generator state takes)."""
    return check_int(name, value, 0, SEED_MAX)


def check_number(name: str, value: object) -> float:
    """``value`` as a finite float; JSON booleans, strings and None are refused (one-line InputError)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"{name}={value!r} is not allowed: must be a number")
    try:
        v = float(value)
    except OverflowError:
        raise InputError(f"{name}={value!r} is not allowed: must be a finite number") from None
    if v != v or v in (float("inf"), float("-inf")):
        raise InputError(f"{name}={value!r} is not allowed: must be a finite number")
    return v


def format_warning(message: Warning | str, prog: str = "ternary-rram") -> str:
    """One console line for a warning: ``PROG: warning: MESSAGE`` (PROG e.g. "ternary-rram train")."""
    return f"{prog}: warning: " + " ".join(str(message).split())

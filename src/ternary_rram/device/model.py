"""Lognormal resistance model of an HfO2 RRAM device in its two states (LRS, HRS).

ln R of a device programmed into a state is

    ln R = ln(median) + d + c + r,

with ``d ~ N(0, sigma_d2d^2)`` drawn once per device (device-to-device, persistent),
``c ~ N(0, sigma_c2c^2)`` redrawn at every programming pulse (cycle-to-cycle), and
``r ~ N(0, k ln(1 + t/tau))`` the relaxation spread acquired ``t`` seconds after programming
(median unchanged). Laws and defaults: :mod:`ternary_rram.device.params`.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field

import torch

from ternary_rram.device import params as P
from ternary_rram.errors import InputError, check_positive, check_range


class State(str, enum.Enum):
    """Resistive state of one RRAM device."""

    LRS = "LRS"
    HRS = "HRS"


def as_state(state: State | str) -> State:
    """Return ``state`` as a :class:`State` (accepts "LRS"/"HRS", any case), else InputError."""
    if isinstance(state, State):
        return state
    key = str(state).strip().upper()
    try:
        return State(key)
    except ValueError:
        raise InputError(f"state={state!r} is not allowed: must be one of 'LRS', 'HRS'") from None


@dataclass(frozen=True)
class LognormalState:
    """Lognormal statistics of one state.

    Attributes:
        median: median resistance, ohm (> 0).
        sigma_d2d: device-to-device spread of ln R (>= 0).
        sigma_c2c: cycle-to-cycle spread of ln R (>= 0).
    """

    median: float
    sigma_d2d: float
    sigma_c2c: float

    def __post_init__(self) -> None:
        check_positive("median", self.median, "ohm")
        check_range("sigma_d2d", self.sigma_d2d, 0.0, float("inf"), high_open=True)
        check_range("sigma_c2c", self.sigma_c2c, 0.0, float("inf"), high_open=True)

    @property
    def sigma(self) -> float:
        """Total ln-spread right after programming, sqrt(sigma_d2d^2 + sigma_c2c^2)."""
        return math.hypot(self.sigma_d2d, self.sigma_c2c)

    @property
    def mu(self) -> float:
        """Mean of ln R, ln(median)."""
        return math.log(self.median)

    @classmethod
    def from_total(cls, median: float, sigma: float,
                   d2d_fraction: float = P.D2D_VARIANCE_FRACTION) -> LognormalState:
        """Build from a total ln-spread, giving ``d2d_fraction`` of the variance to the d2d part."""
        check_range("sigma", sigma, 0.0, float("inf"), high_open=True)
        check_range("d2d_fraction", d2d_fraction, 0.0, 1.0)
        return cls(median=float(median), sigma_d2d=sigma * math.sqrt(d2d_fraction),
                   sigma_c2c=sigma * math.sqrt(1.0 - d2d_fraction))


@dataclass(frozen=True)
class ProgrammingConditions:
    """Programming conditions of the devices.

    Attributes:
        i_compliance: SET compliance current, A (> 0); set by the access-transistor gate [S P3, P5].
        v_reset: RESET voltage, V (sign ignored: the laws use |v_reset|; must be non-zero).
    """

    i_compliance: float = P.I_COMPLIANCE_REF
    v_reset: float = -P.V_RESET_REF

    def __post_init__(self) -> None:
        check_range("i_compliance", self.i_compliance, 0.0, 1.0, low_open=True, unit="A")
        check_range("|v_reset|", abs(self.v_reset), 0.0, 10.0, low_open=True, unit="V")


def lrs_from_compliance(i_compliance: float, d2d_fraction: float = P.D2D_VARIANCE_FRACTION) -> LognormalState:
    """LRS statistics for a SET compliance current (A); laws in :mod:`params` ([D] forms)."""
    check_range("i_compliance", i_compliance, 0.0, 1.0, low_open=True, unit="A")
    median = P.LRS_V_CONST / i_compliance
    sigma = P.LRS_SIGMA_REF * (P.I_COMPLIANCE_REF / i_compliance) ** P.LRS_SIGMA_EXPONENT
    sigma = min(max(sigma, P.SIGMA_MIN), P.SIGMA_MAX)
    return LognormalState.from_total(median, sigma, d2d_fraction)


def hrs_from_reset(v_reset: float, d2d_fraction: float = P.D2D_VARIANCE_FRACTION) -> LognormalState:
    """HRS statistics for a RESET voltage (V, sign ignored); laws in :mod:`params` ([D] forms)."""
    dv = abs(v_reset) - P.V_RESET_REF
    median = P.HRS_MEDIAN_REF * math.exp(P.LN10 * P.HRS_DECADES_PER_VOLT * dv)
    sigma = min(max(P.HRS_SIGMA_REF + P.HRS_SIGMA_PER_VOLT * dv, P.SIGMA_MIN), P.SIGMA_MAX)
    return LognormalState.from_total(median, sigma, d2d_fraction)


@dataclass(frozen=True)
class Relaxation:
    """Spread of ln R growing after programming: sigma^2(t) = sigma0^2 + k ln(1 + t/tau).

    Attributes:
        k_hrs: HRS rate, ln-units^2 (>= 0).
        k_lrs: LRS rate, ln-units^2 (>= 0).
        tau: time constant, s (> 0).
    """

    k_hrs: float = P.RELAX_K_HRS
    k_lrs: float = P.RELAX_K_LRS
    tau: float = P.RELAX_TAU

    def __post_init__(self) -> None:
        check_range("k_hrs", self.k_hrs, 0.0, float("inf"), high_open=True)
        check_range("k_lrs", self.k_lrs, 0.0, float("inf"), high_open=True)
        check_positive("tau", self.tau, "s")

    def extra_variance(self, state: State, t_relax: float | torch.Tensor) -> torch.Tensor:
        """Variance added to ln R after ``t_relax`` seconds (scalar or tensor, >= 0), float64."""
        k = self.k_hrs if as_state(state) is State.HRS else self.k_lrs
        t = torch.as_tensor(t_relax, dtype=torch.float64)
        if bool(torch.any(~torch.isfinite(t))) or bool(torch.any(t < 0)):
            raise InputError(f"t_relax={t_relax!r} is not allowed: must be finite and >= 0 s")
        return k * torch.log1p(t / self.tau)


def _normal(n: int, generator: torch.Generator | None) -> torch.Tensor:
    return torch.randn(n, generator=generator, dtype=torch.float64)


def _check_n(n: int) -> int:
    if isinstance(n, bool) or int(n) != n or int(n) < 0:
        raise InputError(f"n={n!r} is not allowed: must be an integer >= 0")
    return int(n)


@dataclass(frozen=True)
class DeviceModel:
    """Resistance statistics of the two states, with relaxation.

    Attributes:
        lrs: LRS statistics.
        hrs: HRS statistics.
        relaxation: spread growth after programming.
        programming: programming conditions (the array layer takes the pulse energy from them);
            by default the reference condition the default statistics come from, None for a
            fitted model. Setting ``lrs``/``hrs`` by hand does not change it.
    """

    lrs: LognormalState = field(default_factory=lambda: lrs_from_compliance(P.I_COMPLIANCE_REF))
    hrs: LognormalState = field(default_factory=lambda: hrs_from_reset(P.V_RESET_REF))
    relaxation: Relaxation = field(default_factory=Relaxation)
    programming: ProgrammingConditions | None = field(default_factory=ProgrammingConditions)

    @classmethod
    def from_programming(cls, conditions: ProgrammingConditions | None = None, *,
                         i_compliance: float | None = None, v_reset: float | None = None,
                         relaxation: Relaxation | None = None,
                         d2d_fraction: float = P.D2D_VARIANCE_FRACTION) -> DeviceModel:
        """Model for given programming conditions (object, or ``i_compliance`` A / ``v_reset`` V)."""
        if conditions is None:
            conditions = ProgrammingConditions(
                i_compliance=P.I_COMPLIANCE_REF if i_compliance is None else i_compliance,
                v_reset=-P.V_RESET_REF if v_reset is None else v_reset)
        return cls(lrs=lrs_from_compliance(conditions.i_compliance, d2d_fraction),
                   hrs=hrs_from_reset(conditions.v_reset, d2d_fraction),
                   relaxation=relaxation if relaxation is not None else Relaxation(),
                   programming=conditions)

    def stats(self, state: State | str) -> LognormalState:
        """Statistics of one state."""
        return self.lrs if as_state(state) is State.LRS else self.hrs

    def sigma(self, state: State | str, t_relax: float = 0.0) -> float:
        """Total ln-spread of a state ``t_relax`` seconds after programming."""
        s = as_state(state)
        var = self.stats(s).sigma ** 2 + float(self.relaxation.extra_variance(s, t_relax))
        return math.sqrt(var)

    def sample_d2d(self, state: State | str, n: int,
                   generator: torch.Generator | None = None) -> torch.Tensor:
        """Persistent device-to-device offsets of ln R for ``n`` devices: float64 (n,), ln units."""
        return self.stats(state).sigma_d2d * _normal(_check_n(n), generator)

    def program(self, state: State | str, d2d_offsets: torch.Tensor,
                generator: torch.Generator | None = None, *,
                t_relax: float | torch.Tensor = 0.0) -> torch.Tensor:
        """Resistances (ohm, float64, shape of ``d2d_offsets``) after one programming pulse.

        Keeps each device's ``d2d_offsets`` (from :meth:`sample_d2d`), draws a fresh cycle-to-cycle
        part and the relaxation spread after ``t_relax`` s (scalar or tensor broadcastable).
        """
        s = as_state(state)
        st = self.stats(s)
        d = torch.as_tensor(d2d_offsets, dtype=torch.float64)
        shape = d.shape
        n = d.numel()
        extra = self.relaxation.extra_variance(s, t_relax)
        ln_r = st.mu + d.reshape(-1) + st.sigma_c2c * _normal(n, generator)
        if bool(torch.any(extra > 0)):
            sd = torch.sqrt(extra)
            sd = sd.reshape(-1) if sd.numel() == n else sd
            ln_r = ln_r + sd * _normal(n, generator)
        return torch.exp(ln_r).reshape(shape)

    def sample(self, state: State | str, n: int, generator: torch.Generator | None = None, *,
               t_relax: float | torch.Tensor = 0.0) -> torch.Tensor:
        """Resistances of ``n`` fresh devices programmed into ``state``: float64 (n,), ohm."""
        return self.program(state, self.sample_d2d(state, n, generator), generator, t_relax=t_relax)

    def program_states(self, is_lrs: torch.Tensor, z_d2d: torch.Tensor,
                       generator: torch.Generator | None = None) -> torch.Tensor:
        """One programming pulse on devices given by a state mask (True = LRS): ohm, float64.

        The law of :meth:`program` for both states in one vectorised pass: ln R = mu +
        sigma_d2d * z_d2d + sigma_c2c * z, with ``z_d2d`` each device's persistent standard-normal
        draw (same shape as ``is_lrs``) and z fresh per pulse (computed in float32).
        """
        mask = torch.as_tensor(is_lrs, dtype=torch.bool)
        lrs, hrs = self.lrs, self.hrs

        def per_state(a: float, b: float) -> torch.Tensor:
            return torch.where(mask, torch.tensor(a, dtype=torch.float32), torch.tensor(b, dtype=torch.float32))

        # float32 normals and ln R (7 significant digits; the draw is 4x cheaper than float64)
        z = torch.randn(mask.shape, generator=generator, dtype=torch.float32)
        ln_r = torch.addcmul(per_state(lrs.mu, hrs.mu), per_state(lrs.sigma_d2d, hrs.sigma_d2d),
                             z_d2d.to(torch.float32))
        ln_r.addcmul_(per_state(lrs.sigma_c2c, hrs.sigma_c2c), z)
        return ln_r.exp_().to(torch.float64)

    def sample_pairs(self, is_lrs: torch.Tensor, generator: torch.Generator | None = None, *,
                      t_relax: float = 0.0) -> torch.Tensor:
        """Resistances for a boolean mask of any shape (True = LRS, False = HRS), float64, ohm.

        Fresh devices (d2d and c2c drawn together); one vectorised pass over all elements;
        ``t_relax`` a scalar (s) here.
        """
        mask = torch.as_tensor(is_lrs, dtype=torch.bool)
        n = mask.numel()
        flat = mask.reshape(-1)
        mu = torch.where(flat, torch.tensor(self.lrs.mu, dtype=torch.float64),
                         torch.tensor(self.hrs.mu, dtype=torch.float64))
        var_l = self.lrs.sigma ** 2 + float(self.relaxation.extra_variance(State.LRS, t_relax))
        var_h = self.hrs.sigma ** 2 + float(self.relaxation.extra_variance(State.HRS, t_relax))
        sig = torch.where(flat, torch.tensor(math.sqrt(var_l), dtype=torch.float64),
                          torch.tensor(math.sqrt(var_h), dtype=torch.float64))
        z = _normal(n, generator)
        return torch.exp(mu + sig * z).reshape(mask.shape)

"""Device layer: RRAM resistance statistics (the ground floor).

Public names: :class:`State`, :class:`LognormalState`, :class:`ProgrammingConditions`,
:class:`Relaxation`, :class:`DeviceModel`, :func:`lrs_from_compliance`, :func:`hrs_from_reset`,
:func:`fit`, :func:`fit_state`, :class:`FitResult`, :class:`StateFit`, :func:`read_resistance_csv`.
Defaults and their sources: :mod:`ternary_rram.device.params`.
"""

from ternary_rram.device import params
from ternary_rram.device.fit import FitResult, StateFit, fit, fit_state, read_resistance_csv
from ternary_rram.device.model import (
    DeviceModel,
    LognormalState,
    ProgrammingConditions,
    Relaxation,
    State,
    as_state,
    hrs_from_reset,
    lrs_from_compliance,
)

__all__ = [
    "DeviceModel", "FitResult", "LognormalState", "ProgrammingConditions", "Relaxation", "State",
    "StateFit", "as_state", "fit", "fit_state", "hrs_from_reset", "lrs_from_compliance", "params",
    "read_resistance_csv",
]

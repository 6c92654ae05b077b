"""Default device parameters of the HfO2 RRAM model, each with its source.

Labels as in ``docs/physics.md``: [S Pn] a source states it, [D] a default we chose where no source
gives the number (exposed as a parameter so users can calibrate it, e.g. with :func:`fit`).
All resistances in ohm, currents in A, voltages in V, times in s; spreads ``sigma`` are standard
deviations of ln(R) (dimensionless, "ln units").

Laws (all [D] chosen forms; the trends they encode are [S P3, P5] / docs/physics.md section 3.1-3.3):

* LRS median:   R_LRS = LRS_V_CONST / I_compliance.
  The form R ~ V / I_c is the widely reported inverse dependence of the LRS on the SET compliance
  current; the constant is chosen so that I_c = 100 uA gives 5 kohm (docs/physics.md section 3.3 [D]).
* LRS spread:   sigma_LRS = LRS_SIGMA_REF * (I_COMPLIANCE_REF / I_compliance) ** LRS_SIGMA_EXPONENT.
  Lower compliance gives a more variable LRS [S P3, P5]; exponent chosen.
* HRS median:   ln R_HRS = ln HRS_MEDIAN_REF + ln(10) * HRS_DECADES_PER_VOLT * (|V_reset| - V_RESET_REF).
  A larger |V_reset| gives a higher HRS (a thicker gap); slope chosen.
* HRS spread:   sigma_HRS = clip(HRS_SIGMA_REF + HRS_SIGMA_PER_VOLT * (|V_reset| - V_RESET_REF),
  SIGMA_MIN, SIGMA_MAX). A deeper RESET gives a higher and wider HRS; slope chosen.
* Device-to-device / cycle-to-cycle split of the ln-variance: a fraction D2D_VARIANCE_FRACTION of
  sigma^2 is persistent per device, the rest is redrawn at every programming pulse.
* Relaxation: sigma^2(t) = sigma0^2 + k * ln(1 + t / RELAX_TAU); the median does not move
  (docs/physics.md section 3.3: "HRS relaxes (spreads) after programming"); k and tau chosen.
"""

from __future__ import annotations

import math

# --- reference programming conditions ----------------------------------------------------------
#: SET compliance current of the reference condition, A. [D] chosen (typical of 130 nm 1T1R HfO2,
#: where the access-transistor gate sets tens to hundreds of uA [S P3, P5]).
I_COMPLIANCE_REF: float = 100e-6
#: RESET voltage magnitude of the reference condition, V. [D] chosen.
V_RESET_REF: float = 1.5

# --- LRS -----------------------------------------------------------------------------------------
#: LRS median resistance at the reference compliance, ohm. [D] docs/physics.md section 3.3 (about 5 kohm).
LRS_MEDIAN_REF: float = 5e3
#: Constant of R_LRS = LRS_V_CONST / I_compliance, V. [D] chosen = LRS_MEDIAN_REF * I_COMPLIANCE_REF.
LRS_V_CONST: float = LRS_MEDIAN_REF * I_COMPLIANCE_REF
#: LRS ln-spread (total, d2d and c2c together) at the reference compliance. [D] docs/physics.md section 3.3 (0.1-0.2).
LRS_SIGMA_REF: float = 0.15
#: Exponent of the LRS spread growth with decreasing compliance. [D] chosen.
LRS_SIGMA_EXPONENT: float = 0.5

# --- HRS -----------------------------------------------------------------------------------------
#: HRS median resistance at the reference RESET voltage, ohm. [D] docs/physics.md section 3.3 (100 kohm - 1 Mohm).
HRS_MEDIAN_REF: float = 300e3
#: Decades of HRS median per volt of |V_reset|. [D] chosen (1.0 V -> ~95 kohm, 2.0 V -> ~950 kohm).
HRS_DECADES_PER_VOLT: float = 1.0
#: HRS ln-spread (total) at the reference RESET voltage. [D] docs/physics.md section 3.3 (0.5-1.0).
HRS_SIGMA_REF: float = 0.7
#: Growth of the HRS ln-spread per volt of |V_reset|, 1/V. [D] chosen.
HRS_SIGMA_PER_VOLT: float = 0.2

#: Bounds applied to every ln-spread produced by the programming laws. [D] chosen.
SIGMA_MIN: float = 0.02
SIGMA_MAX: float = 2.5

# --- variability split and relaxation ----------------------------------------------------------
#: Fraction of the ln-variance that is device-to-device (persistent); the rest is cycle-to-cycle. [D]
D2D_VARIANCE_FRACTION: float = 0.5
#: HRS relaxation rate k in sigma^2(t) = sigma0^2 + k ln(1 + t/tau), ln-units^2. [D] chosen
#: (after one day the HRS sigma grows from 0.70 to about 0.92).
RELAX_K_HRS: float = 0.03
#: LRS relaxation rate, ln-units^2. [D] chosen: the LRS is taken as stable.
RELAX_K_LRS: float = 0.0
#: Relaxation time constant tau, s. [D] chosen.
RELAX_TAU: float = 1.0

LN10: float = math.log(10.0)
#: Sane range of a measured or configured resistance, ohm: RRAM states lie between ~100 ohm and
#: ~10 Mohm; outside 1 ohm .. 1 Tohm a value is a typo or a unit error and is refused. [D] chosen.
RESISTANCE_MIN: float = 1.0
RESISTANCE_MAX: float = 1e12

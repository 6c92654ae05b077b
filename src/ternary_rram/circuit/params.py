"""Physical constants and defaults of the circuit layer (default transistors: SKY130 tt fit, [F]).

Every number carries its source: [P1]..[P5] from ``docs/physics.md``, a textbook, Pelgrom, or
``[D] chosen`` where no source gives it (exposed as a parameter so users can calibrate it).
Units are SI (V, s, ohm, F, J, K, A, m) unless the name says otherwise.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources

# Physical constants (CODATA 2018, exact in SI since 2019).
K_BOLTZMANN = 1.380649e-23  # J/K
Q_ELECTRON = 1.602176634e-19  # C
EPS_0 = 8.8541878128e-12  # F/m
EPS_SIO2 = 3.9 * EPS_0  # F/m, textbook SiO2 permittivity
T_NOMINAL = 300.15  # K, reference temperature of every temperature law below

# Transistor order used everywhere in the PCSA (mismatch vectors, netlists): index -> name.
TRANSISTOR_NAMES: tuple[str, ...] = ("MPC1", "MPC2", "MP1", "MN1", "MP2", "MN2", "MA1", "MA2", "MF")
N_TRANSISTORS = len(TRANSISTOR_NAMES)


def thermal_voltage(temperature: float) -> float:
    """kT/q in V at ``temperature`` (K)."""
    return K_BOLTZMANN * temperature / Q_ELECTRON


@dataclass(frozen=True)
class MOSFETParams:
    """EKV-style compact model parameters of one transistor type (per-device sizes live in PCSAParams).

    polarity: +1 NMOS, -1 PMOS. vt0: |threshold| at T_NOMINAL (V). n: slope factor. mu0: effective
    low-field mobility at T_NOMINAL (m^2/Vs). cox: gate capacitance per area (F/m^2). k_vt: |Vth|
    drop per kelvin (V/K). mu_exp: mobility temperature exponent mu ~ T^mu_exp. lambda_clm: channel
    length modulation (1/V), 0 switches it off. a_vt: Pelgrom coefficient (V*m). sigma_dibl:
    drain-induced barrier lowering, |Vth| drop per volt of |V_DS| (V/V), 0 switches it off.
    """

    polarity: int
    vt0: float
    n: float
    mu0: float
    cox: float
    k_vt: float = 1.0e-3  # textbook: Vth falls about 0.5-2 mV/K for bulk CMOS
    mu_exp: float = -1.5  # textbook phonon-limited mobility law
    lambda_clm: float = 0.05  # [D] chosen, mild CLM of a 130 nm device in the latch voltage range
    a_vt: float = 4.0e-9  # Pelgrom et al. 1989 scaling; 130 nm processes report 3.5-5 mV*um
    sigma_dibl: float = 0.0  # off in the generic set; fitted per type by `calibrate --pdk-lib`


#: Name of the shipped preset that is the default transistor set (ternary_rram/presets).
DEFAULT_PROCESS = "sky130-tt"
_MOSFET_FIELDS = ("vt0", "n", "mu0", "cox", "k_vt", "mu_exp", "lambda_clm", "a_vt", "sigma_dibl")


def _shipped_transistors(name: str) -> tuple[MOSFETParams, MOSFETParams, tuple[float, ...], tuple[float, ...]]:
    """(NMOS, PMOS, widths m, lengths m) of a shipped preset's ``pcsa`` block: the ONE copy of those numbers."""

    doc = json.loads((resources.files("ternary_rram.presets") / f"{name}.json").read_text(encoding="utf-8"))
    block = doc["pcsa"]
    tr = block["transistors"]
    nmos = MOSFETParams(polarity=+1, **{k: float(tr["nmos"][k]) for k in _MOSFET_FIELDS})
    pmos = MOSFETParams(polarity=-1, **{k: float(tr["pmos"][k]) for k in _MOSFET_FIELDS})
    widths = tuple(float(w) for w in block["widths"])
    lengths = tuple(float(x) for x in block["lengths"])
    if len(widths) != N_TRANSISTORS or len(lengths) != N_TRANSISTORS:
        raise ValueError(f"preset {name}: widths and lengths need {N_TRANSISTORS} entries")
    return nmos, pmos, widths, lengths


# [F] The DEFAULT transistors and sizes: the EKV model (with DIBL) fitted to the SkyWater SKY130
# typical corner (sky130_fd_pr__nfet_01v8 / pfet_01v8, BSIM4) at the PCSA's sizes mapped to SKY130's
# minimums (L 0.15 um, W >= 0.42 um), Pelgrom coefficients from SKY130's own mismatch model. Read from
# src/ternary_rram/presets/sky130-tt.json, which records its fit errors and the command that regenerates it
# (presets/README.md: `ternary-rram calibrate --pdk-lib LIB --corner tt --out .../sky130-tt.json`).
NMOS_DEFAULT, PMOS_DEFAULT, DEFAULT_WIDTHS, DEFAULT_LENGTHS = _shipped_transistors(DEFAULT_PROCESS)

# The GENERIC textbook 130 nm / 1.2 V set (`--process generic-130`, presets/generic-130.json, whose
# "notes" give each number's source): |Vth| 0.40 V, n 1.35/1.40, t_ox 2.5 nm (textbook), mu0 chosen
# ([D]) for about 0.3 mA from a 0.5/0.13 um NMOS at 1.2 V, no DIBL. It is NOT foundry data: fitted to
# SKY130 (docs/foundry.md) the threshold is about 0.3 V higher and the drive about 4x lower. Its widths
# (0.13 um lengths) are also the DESIGN sizes that `calibrate --pdk-lib` maps to a PDK's minimums.
NMOS_130, PMOS_130, GENERIC_WIDTHS, GENERIC_LENGTHS = _shipped_transistors("generic-130")


@dataclass(frozen=True)
class PCSAParams:
    """Sizes, capacitances and read-out settings of the precharge sense amplifier (docs/physics.md section 1.3).

    widths/lengths: per transistor in the order of TRANSISTOR_NAMES (m). Capacitances to ground (F):
    c_out (OUT and OUTb each), c_bl (BL and BLb each), c_mid (node between RRAM and access NMOS),
    c_foot (common footer node F). t_rise: SEN 0 -> VDD ramp at the start of evaluation (s).
    readout_fraction: an output reads "high" when V > readout_fraction * VDD.
    decision_fraction: decided once |OUT - OUTb| > decision_fraction * VDD.
    steps_per_tau: time steps per characteristic time of the operating point; sets the fixed step
    ``PCSA.default_dt`` (used when ``dt`` is passed, and as the SPICE step limit).
    rtol, atol_fraction, rtol_diff, atol_diff_fraction: error control of the default (adaptive)
    integration (``dt`` not given): per node the local error estimate must stay below
    atol_fraction * VDD + rtol * |V|, and that of OUT - OUTb below rtol_diff * |OUT - OUTb| +
    atol_diff_fraction * VDD (the differential mode sets every decision).
    """

    nmos: MOSFETParams = NMOS_DEFAULT  # [F] SKY130 tt fit (above)
    pmos: MOSFETParams = PMOS_DEFAULT  # [F] SKY130 tt fit (above)
    widths: tuple[float, ...] = DEFAULT_WIDTHS  # [F] design sizes (GENERIC_WIDTHS) mapped to SKY130 minimums
    lengths: tuple[float, ...] = DEFAULT_LENGTHS  # [F] SKY130 minimum length 0.15 um
    c_out: float = 3.0e-15  # [D] docs/physics.md section 1.7: node capacitances of a few fF
    c_bl: float = 10.0e-15  # [D] docs/physics.md section 1.7: grows with rows; about 64 rows of 130 nm metal
    c_mid: float = 0.5e-15  # [D] access-transistor drain junction + RRAM via
    c_foot: float = 2.0e-15  # [D] footer drain + two access sources + wiring
    t_rise: float = 20.0e-12  # [D] SEN edge of a 130 nm driver
    readout_fraction: float = 0.5  # [D] docs/physics.md section 1.5: threshold made explicit; mid-rail
    decision_fraction: float = 0.5  # [D] |OUT - OUTb| > VDD/2 counts as decided
    steps_per_tau: float = 8.0  # [D] accuracy: see tests/circuit/test_pcsa.py (dt halving)
    max_steps: int = 20000  # guard against a window far longer than the dynamics
    rtol: float = 1.0e-2  # [D] accuracy of the adaptive step: see tests/circuit/test_pcsa.py
    atol_fraction: float = 1.0e-2  # [D] absolute node tolerance as a fraction of VDD
    rtol_diff: float = 2.0e-2  # [D] relative tolerance on OUT - OUTb
    atol_diff_fraction: float = 1.0e-4  # [D] absolute tolerance on OUT - OUTb as a fraction of VDD

    def __post_init__(self) -> None:
        if len(self.widths) != N_TRANSISTORS or len(self.lengths) != N_TRANSISTORS:
            raise ValueError(f"widths and lengths need {N_TRANSISTORS} entries ({', '.join(TRANSISTOR_NAMES)})")

    def transistor_types(self) -> tuple[MOSFETParams, ...]:
        """MOSFET parameters per transistor, in TRANSISTOR_NAMES order."""
        p, n = self.pmos, self.nmos
        return (p, p, p, n, p, n, n, n, n)

    def sigma_vt(self) -> tuple[float, ...]:
        """Pelgrom threshold mismatch sigma per transistor: A_VT / sqrt(W L) (V)."""
        return tuple(t.a_vt / (w * l) ** 0.5 for t, w, l in
                     zip(self.transistor_types(), self.widths, self.lengths))


#: The default PCSA: SKY130 tt transistors and sizes (the preset's data), [D] capacitances and read-out.
DEFAULT_PCSA = PCSAParams()
#: Supplies of the default transistor set, V. DEFAULT_VDD_NOMINAL: [F] the 1.8 V rating of the SKY130 core devices
#: (docs/physics.md section 1.7). DEFAULT_VDD_LOW: the lowest supply at which the default transistors still leave
#: a comfortable ternary timing margin, measured with `ternary-rram sense --vdd 1.8 1.5 1.2 1.0 0.9 0.8
#: --samples 1000` (docs/results.md): W_high / W_low 6.2 at 1.8 V, 4.7 at 1.2 V, 2.75 at 1.0 V, 1.8 at 0.9 V,
#: none at 0.8 V (|Vth| about 0.69 V: 1.0 V is about Vth + 0.3 V).
DEFAULT_VDD_NOMINAL: float = 1.8
DEFAULT_VDD_LOW: float = 1.0
#: The generic textbook 130 nm / 1.2 V set (`--process generic-130`), same capacitances and read-out.
GENERIC_130_PCSA = PCSAParams(nmos=NMOS_130, pmos=PMOS_130, widths=GENERIC_WIDTHS, lengths=GENERIC_LENGTHS)

# Fixed device resistances for circuit-level tests and the SPICE comparison ([D] docs/physics.md section 3.3).
R_LRS = 5.0e3
R_HRS = 100.0e3

#: Global (die-to-die) process spread of the NMOS and PMOS threshold voltages, V (one sigma).
#: [D] chosen: 130 nm processes quote inter-die |Vth| spreads of 10-20 mV; the +-3 sigma corners
#: (``circuit.transforms.process_corner``) shift every transistor of one type by +-3 PROCESS_SIGMA_VT.
PROCESS_SIGMA_VT: float = 0.015

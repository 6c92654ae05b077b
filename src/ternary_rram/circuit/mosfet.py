"""EKV-style MOSFET compact model, continuous from weak to strong inversion (torch, float64).

    I_D = I_spec [F((V_P - V_S)/U_T) - F((V_P - V_D)/U_T)] (1 + lambda |V_D - V_S|~)
    F(x) = ln^2(1 + exp(x/2)),  V_P = (V_G - V_T + sigma_DIBL |V_D - V_S|~)/n,  I_spec = 2 n mu C_ox (W/L) U_T^2

Drain-induced barrier lowering lowers the threshold by sigma_DIBL per volt of |V_DS| (V_T = V_T0 -
sigma_DIBL V_DS for V_DS >> U_T), through the same smooth |.|~ so the model stays symmetric.

Voltages are taken relative to the bulk (GND for NMOS, VDD for PMOS) and mirrored for PMOS
(v = -(V - V_bulk)), so one formula serves both types; the model is source/drain symmetric.
Temperature: U_T = kT/q, V_T(T) = V_T0 - k_vt (T - T0), mu(T) = mu0 (T/T0)^mu_exp.
Mismatch: a threshold offset dvt (V) added to |V_T|; Pelgrom sigma_VT = A_VT / sqrt(W L).
``|x|~ = sqrt(x^2 + U_T^2) - U_T`` keeps channel-length modulation smooth at V_DS = 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ternary_rram.circuit.params import T_NOMINAL, MOSFETParams, thermal_voltage

Tensor = torch.Tensor


def threshold_at(p: MOSFETParams, temperature: float) -> float:
    """|V_T| (V) at ``temperature`` (K), without mismatch."""
    return p.vt0 - p.k_vt * (temperature - T_NOMINAL)


def mobility_at(p: MOSFETParams, temperature: float) -> float:
    """Mobility (m^2/Vs) at ``temperature`` (K)."""
    return p.mu0 * (temperature / T_NOMINAL) ** p.mu_exp


def specific_current(p: MOSFETParams, w: float, l: float, temperature: float) -> float:
    """I_spec = 2 n mu C_ox (W/L) U_T^2 (A)."""
    u_t = thermal_voltage(temperature)
    return 2.0 * p.n * mobility_at(p, temperature) * p.cox * (w / l) * u_t * u_t


def pelgrom_sigma(p: MOSFETParams, w: float, l: float) -> float:
    """Threshold mismatch standard deviation A_VT / sqrt(W L) (V)."""
    return p.a_vt / (w * l) ** 0.5


@dataclass(frozen=True)
class EKVCoefficients:
    """Per-transistor coefficients at one temperature, as tensors broadcastable against voltages.

    polarity (+1/-1), vt (|V_T| without mismatch, V), n, i_spec (A), lambda_clm (1/V); u_t (V) scalar;
    sigma_dibl (V/V, threshold drop per volt of |V_DS|; 0 switches DIBL off).
    """

    polarity: Tensor
    vt: Tensor
    n: Tensor
    i_spec: Tensor
    lambda_clm: Tensor
    u_t: float
    sigma_dibl: Tensor | float = 0.0

    @classmethod
    def build(cls, types: tuple[MOSFETParams, ...] | list[MOSFETParams], widths, lengths,
              temperature: float, *, device=None) -> EKVCoefficients:
        """Coefficients of k transistors (shape (k,)) from their types and sizes (m)."""
        def t(values) -> Tensor:
            return torch.tensor(list(values), dtype=torch.float64, device=device)
        return cls(
            polarity=t(p.polarity for p in types),
            vt=t(threshold_at(p, temperature) for p in types),
            n=t(p.n for p in types),
            i_spec=t(specific_current(p, w, l, temperature) for p, w, l in zip(types, widths, lengths)),
            lambda_clm=t(p.lambda_clm for p in types),
            u_t=thermal_voltage(temperature),
            sigma_dibl=t(p.sigma_dibl for p in types),
        )


def ekv_current(c: EKVCoefficients, vg: Tensor, vs: Tensor, vd: Tensor, vbulk: Tensor | float,
                dvt: Tensor | float = 0.0, *, derivatives: bool = False):
    """Drain-to-source current (A) and optionally its partial derivatives (S).

    Shapes: any, broadcast together with the coefficient tensors (e.g. (N, k) voltages, (k,)
    coefficients). Returns ``i`` or ``(i, di/dvg, di/dvs, di/dvd)``. Positive ``i`` flows into
    the drain terminal and out of the source terminal.
    """
    pol = c.polarity
    # Bulk-referenced and mirrored (PMOS) terminal voltages.
    g = pol * (vg - vbulk)
    s = pol * (vs - vbulk)
    d = pol * (vd - vbulk)
    vp = (g - (c.vt + dvt)) / c.n
    a, b, vds = torch.broadcast_tensors(vp - s, vp - d, d - s)
    return ekv_from_arguments(c, torch.stack([a, b]) * (0.5 / c.u_t), vds, derivatives=derivatives)


def ekv_from_arguments(c: EKVCoefficients, half_ab: Tensor, vds: Tensor, *, derivatives: bool = False,
                       out: Tensor | None = None, work: Tensor | None = None):
    """The EKV current from its normalised arguments; ``ekv_current`` and the batched PCSA kernel share it.

    half_ab: (2, *S), the forward and reverse arguments (V_P - V_S) / (2 U_T) and (V_P - V_D) / (2 U_T)
    stacked on dim 0; vds: (*S) V_D - V_S (V); both bulk-referenced and mirrored for PMOS. Returns
    ``i`` (A) or ``(i, di/dvg, di/dvs, di/dvd)`` (S) with respect to the real terminal voltages.
    ``out`` (3, *S): where the three derivatives go (returned as its views). ``work`` (4, 2, *S):
    scratch space a caller that evaluates many times can keep, since on CPU every fresh buffer of
    this size costs page faults comparable to the arithmetic.
    """
    if work is None:
        work = torch.empty((4, *half_ab.shape), dtype=half_ab.dtype, device=half_ab.device)
    e, sp = work[0], work[1]
    i0, root, clm, i = work[2, 0], work[2, 1], work[3, 0], work[3, 1]
    # |V_DS|~ = sqrt(V_DS^2 + U_T^2) - U_T feeds both channel-length modulation and DIBL.
    torch.mul(vds, vds, out=root).add_(c.u_t * c.u_t).sqrt_()
    torch.sub(root, c.u_t, out=clm)
    # DIBL raises V_P by sigma |V_DS|~ / n: both arguments by sigma |V_DS|~ / (2 n U_T). The caller's
    # half_ab is left untouched (the PCSA kernel reuses it); e holds the shifted arguments.
    dibl = c.sigma_dibl
    limit = 300.0 if half_ab.dtype == torch.float64 else 80.0
    if isinstance(dibl, Tensor) or dibl != 0.0:
        torch.mul(clm, dibl / (2.0 * c.n * c.u_t), out=i)
        torch.add(half_ab, i, out=e).clamp_(max=limit)
    else:
        torch.clamp(half_ab, max=limit, out=e)
    clm.mul_(c.lambda_clm).add_(1.0)
    # F = softplus^2 and F' = softplus * sigmoid share one exponential: softplus = log1p(e^x),
    # sigmoid = e^x / (1 + e^x). Arguments above 300 (far outside any circuit) are clamped so e^x
    # stays finite; there log1p(e^x) = x to double precision anyway (float32: above 80, to single precision).
    e.exp_()
    torch.log1p(e, out=sp)
    torch.sub(sp[0], sp[1], out=i0).mul_(torch.add(sp[0], sp[1], out=i)).mul_(c.i_spec)
    torch.mul(i0, clm, out=i).mul_(c.polarity)
    if not derivatives:
        return i
    if out is None:
        out = torch.empty((3, *i.shape), dtype=i.dtype, device=i.device)
    di_dg, di_ds, di_dd = out[0], out[1], out[2]
    q = torch.div(vds, root, out=root)  # d|V_DS|~ / dV_DS; root is not needed any more
    i0_dclm = i0.mul_(q).mul_(c.lambda_clm)  # i0 is not needed any more either
    for half in (0, 1):  # sigmoid = e / (1 + e), with di_dg as scratch until it is written last
        e[half].div_(torch.add(e[half], 1.0, out=di_dg))
    k = c.i_spec / c.u_t
    # F' = softplus * sigmoid; d/dv (mirrored) then chain rule dv/dV = pol: pol * (pol * x) = x.
    di0_dd = sp[1].mul_(e[1]).mul_(k)
    di0_ds = sp[0].mul_(e[0]).mul_(-k)
    torch.mul(di0_ds, clm, out=di_ds).sub_(i0_dclm)
    torch.mul(di0_dd, clm, out=di_dd).add_(i0_dclm)
    torch.add(di0_dd, di0_ds, out=di_dg).mul_(clm).div_(-c.n)
    if isinstance(dibl, Tensor) or dibl != 0.0:
        # V_P also moves with V_DS: dI/dV_P = n dI/dV_G, dV_P/dV_D = -dV_P/dV_S = sigma q / n.
        dibl_term = q.mul_(di_dg).mul_(dibl)
        di_dd.add_(dibl_term)
        di_ds.sub_(dibl_term)
    return i, di_dg, di_ds, di_dd


def drain_current(p: MOSFETParams, vg, vs, vd, *, w: float, l: float, temperature: float = T_NOMINAL,
                  vbulk: float = 0.0, dvt: Tensor | float = 0.0) -> Tensor:
    """Drain-to-source current (A) of one transistor type at terminal voltages (V, any shape).

    ``vbulk`` is the bulk voltage (0 for NMOS, VDD for PMOS); ``dvt`` a threshold offset (V).
    """
    c = EKVCoefficients.build([p], [w], [l], temperature)
    as_t = lambda v: torch.as_tensor(v, dtype=torch.float64)  # noqa: E731
    return ekv_current(c, as_t(vg), as_t(vs), as_t(vd), vbulk, dvt).reshape(torch.broadcast_shapes(
        as_t(vg).shape, as_t(vs).shape, as_t(vd).shape))

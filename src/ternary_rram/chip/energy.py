"""Energy and latency per inference of a deployed network, from its parts.

Two architectures (``reads``):

* ``"every-inference"`` (default, the seed's architecture): the XNOR happens in the sense
  amplifier, so a weight is sensed at every use: one sense per multiply-accumulate (a convolution
  weight is sensed once per output position). ``sense`` = weight uses x the mean energy per sense
  of the layer's stored cells at the operating point (transient PCSA through the column
  amplifiers' maps); ``bitline`` = weight uses x the bit-line charge of one column read. No weight
  buffer. Array latency: each layer's arrays in parallel, one full read per output position.
* ``"once"`` (near-memory, an explicit option): each weight is sensed once after programming into
  a digital buffer (SRAM, 1 bit per binary and 2 bits per ternary weight) read once per inference
  (``weight_buffer``). ``sense`` and ``bitline`` are 0 per inference; that one read's energy is
  reported apart, in ``one_time["read_after_programming"]``.

Periphery parts (laws, and the DEFAULT status of every value, in :mod:`ternary_rram.chip.params`):

* ``popcount``: XNOR + counter bits of the in-array layers (1 counter for binary, 2 for ternary
  weights per MAC), and of the last layer in the periphery.
* ``threshold``: one compare per thresholded neuron (after pooling), and the argmax compares.
* ``activation_memory``: every activation bit written once and read once per layer (SRAM), plus
  operands through registers (input bit + weight bits per MAC).
* ``first_layer``: real-valued input MACs (add/subtract per non-zero weight use), the input pixels
  read from SRAM (``input_bits`` each).
* ``last_layer``: batch-norm affine per logit.

What a total leaves out (:data:`LEAVES_OUT`, written beside every total): programming and verify
(one-time), the read after programming in ``"once"`` (one-time), clock tree, control, I/O and
off-chip data movement, leakage and static power, peripheral drivers of word lines and column
multiplexers.

Latency per inference: array reads plus the periphery's compute at its throughput.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import nn

from ternary_rram.chip.integer import LayerOps
from ternary_rram.chip.params import DEFAULT_PERIPHERY, PeripheryParams
from ternary_rram.errors import InputError
from ternary_rram.nn.layers import quantized_layers

READ_MODES: tuple[str, ...] = ("every-inference", "once")
#: What the energy per inference does not include (reported beside every total).
LEAVES_OUT: tuple[str, ...] = (
    "programming and write-verify (one-time, in one_time)",
    "the read after programming of reads='once' (one-time, in one_time)",
    "clock tree, control logic, I/O and off-chip data movement",
    "leakage and static power",
    "word-line drivers and column multiplexers")
ENERGY_PARTS: tuple[str, ...] = ("sense", "bitline", "weight_buffer", "popcount", "threshold",
                                 "activation_memory", "first_layer", "last_layer")


def check_reads(reads: str) -> str:
    """Return ``reads`` if it is a read mode, else :class:`InputError`."""
    if reads not in READ_MODES:
        raise InputError(f"reads={reads!r} is not allowed: must be one of {', '.join(READ_MODES)}")
    return reads


@dataclass(frozen=True)
class LayerRead:
    """What one full read of a layer's arrays costs (from the array layer and the sense map).

    Attributes:
        name: layer name. weights: weights (= senses per full read).
        ternary: the layer stores ternary weights (2 buffer bits; two counters).
        nonzero_fraction: fraction of non-zero stored weights (zero weights gate the counters).
        energy_sense, energy_bitline: J per full read. latency: s per full read.
    """

    name: str
    weights: int
    ternary: bool
    nonzero_fraction: float
    energy_sense: float
    energy_bitline: float
    latency: float


@dataclass(frozen=True)
class EnergyReport:
    """Energy and latency per inference by part, plus what is paid once.

    Attributes:
        reads: read mode. parts: J per inference by part (keys ``ENERGY_PARTS``).
        per_layer: J per inference per layer name (all parts that belong to a layer).
        latency_parts: s per inference: ``array_read`` and ``compute``.
        one_time: J paid once: ``programming`` (pulses + verify), ``read_after_programming``
            (sense + bit line; ``"once"`` only).
        senses_per_inference: sense operations per inference.
        energy_per_sense: mean energy of one sense over the stored cells at the operating point, J.
        periphery_defaults: periphery parameters that are still their [D] defaults.
    """

    reads: str
    parts: dict[str, float]
    per_layer: dict[str, float]
    latency_parts: dict[str, float]
    one_time: dict[str, float] = field(default_factory=dict)
    senses_per_inference: int = 0
    energy_per_sense: float = float("nan")
    periphery_defaults: tuple[str, ...] = ()

    @property
    def total(self) -> float:
        """Energy per inference, J."""
        return float(sum(self.parts.values()))

    @property
    def latency(self) -> float:
        """Latency per inference, s."""
        return float(sum(self.latency_parts.values()))

    def to_dict(self) -> dict:
        """Plain JSON-able dict (J and s), with what the total leaves out and which periphery
        energies are defaults."""
        return {"reads": self.reads, "energy_per_inference": self.total, "parts": dict(self.parts),
                "per_layer": dict(self.per_layer), "latency_per_inference": self.latency,
                "latency_parts": dict(self.latency_parts), "one_time": dict(self.one_time),
                "senses_per_inference": self.senses_per_inference,
                "energy_per_sense": self.energy_per_sense,
                "leaves_out": list(LEAVES_OUT),
                "periphery_defaults": list(self.periphery_defaults),
                "note": self.note}

    @property
    def note(self) -> str:
        """One line saying what the total is made of and what it leaves out."""
        d = ", ".join(self.periphery_defaults) if self.periphery_defaults else "none"
        return (f"energy per inference ({self.reads}) = array (sense + bit lines) + periphery; periphery "
                f"energies at their [D] defaults (chip/params.py): {d}; leaves out: "
                + "; ".join(LEAVES_OUT))


def energy_per_inference(ops: list[LayerOps], reads_info: dict[str, LayerRead], reads: str,
                         periphery: PeripheryParams = DEFAULT_PERIPHERY, *,
                         programming_energy: float = 0.0) -> EnergyReport:
    """Energy and latency of one inference (one image) from operation counts and read costs.

    Args:
        ops: per-layer operation counts (:meth:`IntegerNetwork.op_counts`), in network order.
        reads_info: per-layer read cost of the arrays, by layer name.
        reads: "once" or "every-inference".
        periphery: energy per operation and throughput of the digital periphery.
        programming_energy: J, reported in ``one_time``.
    """
    check_reads(reads)
    p = periphery
    s = p.scale
    parts = dict.fromkeys(ENERGY_PARTS, 0.0)
    per_layer: dict[str, float] = {}
    t_read = 0.0
    cycles = 0.0
    senses = 0
    one_read = 0.0
    n_weights = 0
    e_sense_read = 0.0
    for lo in ops:
        if lo.name not in reads_info:
            raise InputError(f"layer {lo.name} has no read information: deploy it first")
        r = reads_info[lo.name]
        e: dict[str, float] = dict.fromkeys(ENERGY_PARTS, 0.0)
        one_read += r.energy_sense + r.energy_bitline
        n_weights += r.weights
        e_sense_read += r.energy_sense
        w_bits = 2 if r.ternary else 1
        if reads == "every-inference":
            uses = lo.macs  # the XNOR is in the sense amplifier: one sense per weight use
            e["sense"] = uses * r.energy_sense / r.weights
            e["bitline"] = uses * r.energy_bitline / r.weights
            t_read += (uses / r.weights) * r.latency
            senses += uses
        else:
            e["weight_buffer"] = s * p.e_sram_bit * w_bits * r.weights
        counters = 2 if r.ternary else 1
        # active MACs: zero weights gate the counters (and the first layer's adders)
        active = lo.macs * r.nonzero_fraction
        if lo.real_input:
            e["first_layer"] = s * (p.e_first_mac * active + p.e_sram_bit * p.input_bits * lo.activation_bits_in)
            cycles += math.ceil(lo.macs / p.macs_per_cycle)
        else:
            e["popcount"] = s * p.e_popcount_bit * counters * active
            e["activation_memory"] = s * (p.e_sram_bit * lo.activation_bits_in
                                          + p.e_register_bit * (1 + w_bits) * lo.macs)
            cycles += math.ceil(counters * lo.macs / p.bitops_per_cycle)
        if lo.in_periphery and not lo.real_input:
            # last layer: batch-norm affine per logit, argmax compares
            e["last_layer"] = s * p.e_last_affine * lo.neurons
            e["threshold"] = s * p.e_threshold * lo.neurons
        else:
            e["threshold"] = s * p.e_threshold * lo.neurons
            e["activation_memory"] += s * p.e_sram_bit * lo.neurons  # write the output bits
        for k, v in e.items():
            parts[k] += v
        per_layer[lo.name] = float(sum(e.values()))
    latency = {"array_read": t_read, "compute": cycles / p.clock_hz}
    return EnergyReport(reads=reads, parts=parts, per_layer=per_layer, latency_parts=latency,
                        one_time={"programming": float(programming_energy),
                                  "read_after_programming": one_read if reads == "once" else 0.0},
                        senses_per_inference=senses,
                        energy_per_sense=e_sense_read / n_weights if n_weights else float("nan"),
                        periphery_defaults=p.defaults())


def traced_op_counts(model: nn.Module, input_shape: tuple[int, ...]) -> list[LayerOps]:
    """Operation counts per quantized layer of ANY model (residual, branching), traced by one pass.

    For models the integer compiler does not take (not an ``nn.Sequential``, layers with a bias,
    modules it does not know), the counts come from running ``model`` once, in eval mode, on a
    zero input of ``input_shape`` (no batch dim) with a hook on every quantized layer: its input
    and output sizes give the MACs (output size x fan-in K) and the input bits. A layer run twice
    counts twice. ``neurons`` is the layer's outputs (one threshold compare per pre-activation, an
    upper bound where pooling follows). ``in_periphery``: real-valued input (first layer) or the
    last quantized layer run (logits). A quantized layer the pass never runs gets zero counts.
    """
    layers = [(n, m) for n, m in quantized_layers(model) if m.weight_quantizer.is_quantized]
    seen: dict[str, dict[str, int]] = {}
    order: list[str] = []

    def hook_for(name: str):
        def hook(mod: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
            k = int(mod.weight[0].numel())
            outs = int(output[0].numel())
            c = seen.setdefault(name, {"macs": 0, "outputs": 0, "bits": 0})
            c["macs"] += outs * k
            c["outputs"] += outs
            c["bits"] += int(inputs[0][0].numel())
            order.append(name)
        return hook

    handles = [m.register_forward_hook(hook_for(n)) for n, m in layers]
    was_training = model.training
    p = next(iter(model.parameters()), None)
    probe = torch.zeros((1,) + tuple(int(v) for v in input_shape),
                        dtype=p.dtype if p is not None else torch.float32,
                        device=p.device if p is not None else "cpu")
    try:
        model.eval()
        with torch.no_grad():
            model(probe)
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    last = order[-1] if order else None
    out = []
    for name, m in layers:
        c = seen.get(name, {"macs": 0, "outputs": 0, "bits": 0})
        real = not m.input_quantizer.is_quantized
        out.append(LayerOps(name=name, in_periphery=real or name == last, real_input=real,
                            weights=int(m.weight.numel()), macs=c["macs"], outputs=c["outputs"],
                            neurons=c["outputs"], fan_in=int(m.weight[0].numel()),
                            activation_bits_in=c["bits"]))
    return out

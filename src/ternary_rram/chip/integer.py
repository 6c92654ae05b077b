"""Exact integer inference of what the arrays and their digital periphery compute (docs/physics.md section 6).

A quantized sequential network (``ternary_rram.nn.models``) is compiled into *stages*, one per
quantized layer, each ``layer -> [maxpool] -> batch norm -> activation -> next input quantizer``:

* **Hidden stages** (quantized input): activations ``x`` in {-1, +1} (or {-1, 0, +1} for ternary
  activations; padding counts as 0) times ternary weights ``w``. With ``z`` = zero weight and
  ``p = XNOR(x, sign w)`` the array's sum is ``2 * #(p and not z) - #(not z)`` (zero activations gate
  the counters too). It is computed here as counts of 0/1 tensors (exact in float32 below 2**24),
  giving int32 pre-activations identical to the float network's.
* Batch norm, activation and the next quantizer fold into **integer thresholds** per neuron: with
  ``s = sign(gamma)`` (+1 for gamma = 0) the output is non-decreasing in ``u = s * y``, so a binary
  output is ``+1 iff u >= t_pos`` and a ternary one adds ``0 iff t_zero <= u < t_pos``. The thresholds
  are found by evaluating the network's own modules on every integer ``y`` in [-K, K] (K the fan-in),
  so they agree with the float evaluation bit for bit, including sign(0) = +1 and gamma < 0.
* Max pooling placed before the batch norm (the VGG's ``conv -> maxpool -> BN``) pools the integer
  pre-activations (exact); pooling placed after it pools the quantized outputs (exact as well:
  max commutes with the non-decreasing activation and quantizer).
* The **first stage** (raw real-valued input) and the **last stage** (logits: batch norm without
  sign) run in the digital periphery, with the float operations of the network itself.

The result: identical integer pre-activations and identical class decisions as ``model.eval()``
evaluated with the same weights (:func:`compile_network`, :meth:`IntegerNetwork.forward`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ternary_rram.errors import InputError
from ternary_rram.nn.layers import QConv2d, QLinear, QuantizedLayer

__all__ = [
    "IntegerNetwork",
    "LayerOps",
    "Stage",
    "compile_network",
    "ternary_dot_counts",
    "xnor_popcount_dot",
]

_ACTIVATIONS = (nn.Hardtanh, nn.ReLU, nn.Identity)
_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d)
_EXACT_LIMIT = 1 << 24  # float32 holds every integer count below this exactly


def _flatten_sequential(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """Leaf modules of a (possibly nested) ``nn.Sequential`` in execution order."""
    if not isinstance(model, nn.Sequential):
        raise InputError(f"model={type(model).__name__} is not allowed in integer inference: must be an "
                         "nn.Sequential quantized network (ternary_rram.nn.models); use engine='float'")
    out: list[tuple[str, nn.Module]] = []

    def walk(prefix: str, mod: nn.Sequential) -> None:
        for name, child in mod.named_children():
            full = f"{prefix}{name}"
            if isinstance(child, nn.Sequential):
                walk(full + ".", child)
            else:
                out.append((full, child))

    walk("", model)
    return out


@dataclass
class Stage:
    """One quantized layer and the elementwise/pooling operations up to the next one.

    Attributes:
        name: module name of the quantized layer in the model.
        layer: the :class:`QConv2d` / :class:`QLinear` (its conv geometry and input quantizer).
        weight: int8 weights in {-1, 0, +1}, shape of ``layer.weight``.
        flatten_before: flatten (N, C, H, W) -> (N, C*H*W) before this layer.
        pool: ``nn.MaxPool2d`` or None; ``pool_before_norm`` says where it sits.
        norm: the batch norm module (or None), activation the activation module (or None).
        out_quantizer: the next layer's input quantizer (None for the last stage).
        real_input: True when the input is not quantized (digital periphery MACs).
        sign, t_zero, t_pos: int32 (C_out,) folded thresholds on ``u = sign * y`` (hidden outputs).
    """

    name: str
    layer: QuantizedLayer
    weight: Tensor
    flatten_before: bool = False
    pool: nn.Module | None = None
    pool_before_norm: bool = True
    norm: nn.Module | None = None
    activation: nn.Module | None = None
    out_quantizer: nn.Module | None = None
    real_input: bool = False
    sign: Tensor | None = None
    t_zero: Tensor | None = None
    t_pos: Tensor | None = None
    _cache: dict = field(default_factory=dict, repr=False)

    @property
    def is_conv(self) -> bool:
        return isinstance(self.layer, QConv2d)

    @property
    def fan_in(self) -> int:
        """Inputs per output neuron, K = C_in * k * k (conv) or in_features (linear)."""
        return int(self.weight[0].numel())

    @property
    def is_last(self) -> bool:
        return self.out_quantizer is None

    @property
    def in_periphery(self) -> bool:
        """First (real input) and last (logits) stages run in the digital periphery."""
        return self.real_input or self.is_last


def _elementwise_tail(stage: Stage, v: Tensor) -> Tensor:
    """norm -> activation -> [pool if after norm] -> out quantizer, on float ``v`` (the model's ops)."""
    if stage.norm is not None:
        v = stage.norm(v)
    if stage.activation is not None:
        v = stage.activation(v)
    if stage.pool is not None and not stage.pool_before_norm:
        v = stage.pool(v)
    if stage.out_quantizer is not None:
        v = stage.out_quantizer(v)
    return v


def _fold_thresholds(stage: Stage) -> None:
    """Integer thresholds (sign, t_zero, t_pos) from the stage's own modules over y in [-K, K]."""
    k = stage.fan_in
    c = stage.weight.shape[0]
    ys = torch.arange(-k, k + 1, dtype=torch.float32)
    grid = ys.reshape(1, 1, -1).expand(1, c, -1).contiguous()  # (1, C, L)
    if stage.is_conv:
        grid = grid.unsqueeze(-1)  # (1, C, L, 1): NCHW layout
    # Thresholds fold only what is elementwise; a pool placed after the norm is applied to outputs.
    stage_no_pool = Stage(stage.name, stage.layer, stage.weight, norm=stage.norm,
                          activation=stage.activation, out_quantizer=stage.out_quantizer)
    with torch.no_grad():
        f = _elementwise_tail(stage_no_pool, grid).reshape(c, -1)  # (C, L), values in {-1, 0, +1}
    if not bool(((f == -1) | (f == 0) | (f == 1)).all()):
        raise InputError(f"layer {stage.name}: the next input quantizer does not give values in "
                         "{-1, 0, +1}; integer inference needs binary or ternary activations")
    # Orientation: non-decreasing in y (s = +1) or non-increasing (s = -1).
    sign = torch.ones(c, dtype=torch.int32)
    if stage.norm is not None and getattr(stage.norm, "weight", None) is not None:
        gamma = stage.norm.weight.detach()
        sign = torch.where(gamma < 0, -1, 1).to(torch.int32)
    f_u = torch.where(sign.unsqueeze(1) > 0, f, f.flip(1))  # f as a function of u = s*y, u ascending
    diffs = f_u[:, 1:] - f_u[:, :-1]
    if bool((diffs < 0).any()):
        raise InputError(f"layer {stage.name}: the folded activation is not monotone; "
                         "integer thresholds need a batch norm followed by a monotone activation")
    # u = -K + index; t_pos = first u with f = +1, t_zero = first u with f >= 0 (K + 1 if never).
    n_neg = (f_u < 0).sum(1).to(torch.int32)
    n_below_pos = (f_u < 1).sum(1).to(torch.int32)
    stage.sign = sign
    stage.t_zero = n_neg - k
    stage.t_pos = n_below_pos - k


def _stage_weights(layer: QuantizedLayer, weights: dict[str, Tensor] | None, name: str) -> Tensor:
    if weights is not None and name in weights:
        w = torch.as_tensor(weights[name]).to(torch.int8)
    elif layer.read_weight is not None:
        w = layer.read_weight.detach().to(torch.int8)
    else:
        w = layer.quantized_weight_int8()
    if tuple(w.shape) != tuple(layer.weight.shape):
        raise InputError(f"weights[{name}] shape={tuple(w.shape)} is not allowed: "
                         f"must be {tuple(layer.weight.shape)}")
    if not bool(((w == -1) | (w == 0) | (w == 1)).all()):
        raise InputError(f"weights[{name}] values are not allowed: must lie in {{-1, 0, +1}}")
    return w.contiguous()


def compile_network(model: nn.Module, weights: dict[str, Tensor] | None = None) -> IntegerNetwork:
    """Compile a quantized sequential network into an :class:`IntegerNetwork`.

    Args:
        model: an ``nn.Sequential`` of quantized layers, max pools, batch norms, activations and
            flattens (every model of ``ternary_rram.nn.models``); batch norms are used with their
            running statistics (as in ``model.eval()``).
        weights: optional int8 weights per quantized-layer name (e.g. read out of the chip);
            missing names use the layer's read weights if set, else its error-free int8 weights.

    Raises:
        InputError: not an ``nn.Sequential``, a quantized layer with a bias, no quantized layer,
            float weights, float hidden activations, or modules the integer path does not know.
    """
    leaves = _flatten_sequential(model)
    stages: list[Stage] = []
    pending_flatten = False
    for name, mod in leaves:
        if isinstance(mod, (QConv2d, QLinear)):
            if mod.bias is not None:
                # The counters and folded thresholds hold no bias term: refuse rather than drop it.
                raise InputError(f"layer {name} with a bias is not allowed in integer inference; "
                                 "use engine='float'")
            if not mod.weight_quantizer.is_quantized:
                raise InputError(f"layer {name} weights='float' is not allowed: "
                                 "integer inference needs binary or ternary weights")
            if stages:
                stages[-1].out_quantizer = mod.input_quantizer
            st = Stage(name=name, layer=mod, weight=_stage_weights(mod, weights, name),
                       flatten_before=pending_flatten,
                       real_input=not mod.input_quantizer.is_quantized)
            if not st.real_input and stages and not mod.input_quantizer.is_quantized:
                raise InputError(f"layer {name}: float activations are not allowed in hidden layers")
            stages.append(st)
            pending_flatten = False
        elif isinstance(mod, nn.Flatten):
            if not stages:
                continue  # flattening the raw input: F.linear of the first stage handles (N, D)
            pending_flatten = True
        elif not stages:
            raise InputError(f"module {name} ({type(mod).__name__}) before the first quantized layer "
                             "is not allowed in integer inference")
        elif isinstance(mod, nn.MaxPool2d):
            st = stages[-1]
            st.pool = mod
            st.pool_before_norm = st.norm is None and st.activation is None
        elif isinstance(mod, _NORMS):
            stages[-1].norm = mod
        elif isinstance(mod, _ACTIVATIONS):
            stages[-1].activation = mod
        elif isinstance(mod, nn.Dropout):
            continue
        else:
            raise InputError(f"module {name} ({type(mod).__name__}) is not allowed in integer inference")
    if not stages:
        raise InputError("model has no quantized layer: nothing to run on the chip")
    for i, st in enumerate(stages):
        if 2 * st.fan_in >= _EXACT_LIMIT:
            raise InputError(f"layer {st.name} fan-in={st.fan_in} is not allowed: must be < {_EXACT_LIMIT // 2}")
        if i > 0 and st.real_input:
            raise InputError(f"layer {st.name}: float activations are not allowed after the first layer")
        if not st.is_last:
            _fold_thresholds(st)
    first_flatten = any(isinstance(m, nn.Flatten) for _, m in leaves[:1])
    return IntegerNetwork(stages, flatten_input=first_flatten)


def ternary_dot_counts(x: Tensor, w: Tensor) -> tuple[Tensor, Tensor]:
    """Counter values of the in-memory dot product for a dense matrix product.

    Args:
        x: activations (N, K) in {-1, 0, +1} (any dtype).
        w: weights (C, K) in {-1, 0, +1}.

    Returns:
        (agree, nonzero): int64 (N, C): ``#(p and not z)`` and ``#(not z)`` with p = XNOR(x, sign w)
        and z = (w == 0) or (x == 0); the sum is ``2 * agree - nonzero``.
    """
    xp, xn = (x > 0).double(), (x < 0).double()
    wp, wn = (w > 0).double(), (w < 0).double()
    agree = xp @ wp.T + xn @ wn.T
    nonzero = (xp + xn) @ (wp + wn).T
    return agree.round().long(), nonzero.round().long()


_POP8 = torch.tensor([bin(i).count("1") for i in range(256)], dtype=torch.int64)


def _pack_bits(b: Tensor) -> Tensor:
    """Pack a bool (..., K) into uint8 (..., ceil(K/8)), little-endian within a byte."""
    k = b.shape[-1]
    pad = (-k) % 8
    if pad:
        b = F.pad(b.to(torch.uint8), (0, pad))
    b = b.to(torch.int64).reshape(*b.shape[:-1], -1, 8)
    weights = 2 ** torch.arange(8, dtype=torch.int64)
    return (b * weights).sum(-1).to(torch.uint8)


def xnor_popcount_dot(x_bits: Tensor, w_sign_bits: Tensor, w_zero_bits: Tensor) -> Tensor:
    """Bit-level reference of one row read: packed XNOR, zero gating and two popcounts.

    Args:
        x_bits: bool (N, K), True for activation +1 (binary activations).
        w_sign_bits: bool (C, K), True for weight +1 (the sense output OUT of a non-zero weight).
        w_zero_bits: bool (C, K), True for a zero weight (OUT == OUTb).

    Returns:
        int64 (N, C): ``2 * popcount(XNOR(x, w_sign) & ~z) - popcount(~z)``.
    """
    xb = _pack_bits(x_bits).unsqueeze(1)  # (N, 1, B)
    sb = _pack_bits(w_sign_bits).unsqueeze(0)  # (1, C, B)
    nz = _pack_bits(~w_zero_bits).unsqueeze(0)
    p = torch.bitwise_not(torch.bitwise_xor(xb, sb)) & nz
    agree = _POP8[p.long()].sum(-1)
    nonzero = _POP8[nz.long()].sum(-1)
    return 2 * agree - nonzero


@dataclass(frozen=True)
class LayerOps:
    """Operation counts of one stage for one inference (one image).

    Attributes:
        name: layer name. in_periphery: computed by the digital periphery (first/last layer).
        real_input: first layer (real-valued MACs). weights: weight count (devices / 2).
        macs: multiply-accumulates (K per output pre-activation). outputs: pre-activations.
        neurons: thresholded outputs after pooling (threshold compares). fan_in: K.
        activation_bits_in: input activations read per inference (one bit each, binary).
    """

    name: str
    in_periphery: bool
    real_input: bool
    weights: int
    macs: int
    outputs: int
    neurons: int
    fan_in: int
    activation_bits_in: int


class IntegerNetwork:
    """The compiled integer network. Input (N, C, H, W) or (N, D) float images -> (N, classes).

    Attributes:
        stages: the :class:`Stage` list, first to last.
    """

    def __init__(self, stages: list[Stage], flatten_input: bool = False) -> None:
        self.stages = stages
        self.flatten_input = flatten_input

    def with_weights(self, weights: dict[str, Tensor]) -> IntegerNetwork:
        """A copy using other int8 weights (per layer name; thresholds are weight-independent)."""
        stages = []
        for st in self.stages:
            w = st.weight
            if st.name in weights:
                w = torch.as_tensor(weights[st.name]).to(torch.int8).contiguous()
                if w.shape != st.weight.shape:
                    raise InputError(f"weights[{st.name}] shape={tuple(w.shape)} is not allowed: "
                                     f"must be {tuple(st.weight.shape)}")
            stages.append(Stage(name=st.name, layer=st.layer, weight=w, flatten_before=st.flatten_before,
                                pool=st.pool, pool_before_norm=st.pool_before_norm, norm=st.norm,
                                activation=st.activation, out_quantizer=st.out_quantizer,
                                real_input=st.real_input, sign=st.sign, t_zero=st.t_zero, t_pos=st.t_pos))
        return IntegerNetwork(stages, flatten_input=self.flatten_input)

    # ---- per-stage computations --------------------------------------------------------------
    @staticmethod
    def _real_preact(st: Stage, x: Tensor) -> Tensor:
        """First layer in the periphery: float MACs of real inputs with the stored weights."""
        w = st.weight.to(x.dtype)
        if st.is_conv:
            lay = st.layer
            return F.conv2d(x, w, None, lay.stride, lay.padding, lay.dilation, lay.groups)
        return F.linear(x, w)

    @staticmethod
    def _count_preact(st: Stage, a: Tensor) -> Tensor:
        """Hidden/last layer: counters of the XNOR-popcount with zero gating -> int32 sums.

        ``a``: int8 activations in {-1, 0, +1}, (N, C, H, W) or (N, K).
        sum = 2 * #(p and not z) - #(not z), #(p and not z) = count(x+ w+) + count(x- w-),
        #(not z) = count(x != 0, w != 0); zero activations and padding gate both counters.

        Binary activations (no zero, so x- = valid - x+ with ``valid`` 0 only on padding) take a
        shorter route to the same counts: #(p and not z) = count(x+, w+ - w-) + count(valid, w-),
        where the second term and #(not z) = count(valid, w != 0) do not depend on the input and are
        computed once per input size: one batch convolution instead of three.
        """
        if "w01" not in st._cache:
            w = st.weight
            wp = (w > 0).float()
            wn = (w < 0).float()
            st._cache["w01"] = (torch.cat([wp, wn], 1), wp + wn, wp - wn, wn)
        w_agree, w_nz, w_diff, w_neg = st._cache["w01"]
        lay = st.layer

        def op(x: Tensor, w: Tensor) -> Tensor:
            if st.is_conv:
                return F.conv2d(x, w, None, lay.stride, lay.padding, lay.dilation, lay.groups)
            return F.linear(x, w)

        xp = (a > 0).float()
        if not bool((a == 0).any()):
            key = ("const", tuple(a.shape[1:]))
            if key not in st._cache:
                valid = torch.ones((1,) + tuple(a.shape[1:]))
                st._cache[key] = 2 * op(valid, w_neg) - op(valid, w_nz)
            return (2 * op(xp, w_diff) + st._cache[key]).to(torch.int32)
        xn = (a < 0).float()
        agree = op(torch.cat([xp, xn], 1), w_agree)
        nonzero = op(xp + xn, w_nz)
        return (2 * agree - nonzero).to(torch.int32)

    @staticmethod
    def _threshold(st: Stage, y: Tensor) -> Tensor:
        """Folded BN + activation + quantizer: int8 {-1, 0, +1} from int32 pre-activations."""
        shape = (1, -1, 1, 1) if y.dim() == 4 else (1, -1)
        u = y * st.sign.reshape(shape)
        pos = u >= st.t_pos.reshape(shape)
        zero_or_pos = u >= st.t_zero.reshape(shape)
        return (pos.to(torch.int8) + zero_or_pos.to(torch.int8) - 1).to(torch.int8)

    # ---- fast path for binary activations ---------------------------------------------------
    # Binary activations travel between stages as float 0/1 tensors (1 for +1) in the memory
    # layout the convolutions run fastest in (channels_last); each hidden stage is one matrix
    # product or convolution with the weights 2 * (w+ - w-), plus a constant that carries the
    # padding's share of the counters, then one comparison against the folded threshold. Every
    # value is an integer below 2**24, so float32 holds it exactly and any summation order gives
    # the same result: the pre-activations are those of :meth:`_count_preact`, bit for bit.

    @staticmethod
    def _op(st: Stage, x: Tensor, w: Tensor) -> Tensor:
        if st.is_conv:
            lay = st.layer
            return F.conv2d(x, w, None, lay.stride, lay.padding, lay.dilation, lay.groups)
        return F.linear(x, w)

    def _binary_preact(self, st: Stage, xp: Tensor) -> Tensor:
        """Exact pre-activations (float32 integers) of a stage with binary inputs ``xp`` in {0, 1}."""
        if "w2" not in st._cache:
            w = st.weight
            w2 = 2 * ((w > 0).float() - (w < 0).float())
            if st.is_conv:
                w2 = w2.contiguous(memory_format=torch.channels_last)
            st._cache["w2"] = w2
        key = ("const2", tuple(xp.shape[1:]))
        if key not in st._cache:
            # sum = 2 * count(x+, w+ - w-) + 2 * count(valid, w-) - count(valid, w != 0)
            w = st.weight
            wn, wnz = (w < 0).float(), (w != 0).float()
            valid = torch.ones((1,) + tuple(xp.shape[1:]))
            st._cache[key] = 2 * self._op(st, valid, wn) - self._op(st, valid, wnz)
        return self._op(st, xp, st._cache["w2"]).add_(st._cache[key])

    @staticmethod
    def _binary_threshold(st: Stage, y: Tensor) -> Tensor:
        """Folded BN + activation + binary quantizer: float 0/1 (1 for +1) from pre-activations."""
        if "sign_t" not in st._cache:
            st._cache["sign_t"] = (st.sign.float(), st.t_pos.float())
        sign, t_pos = st._cache["sign_t"]
        shape = (1, -1, 1, 1) if y.dim() == 4 else (1, -1)
        return torch.ge(y.mul_(sign.reshape(shape)), t_pos.reshape(shape)).float()

    @staticmethod
    def _binary_out(st: Stage) -> bool:
        q = st.out_quantizer
        return q is not None and getattr(q, "kind", None) == "binary"

    def _network_input(self, x: Tensor) -> Tensor:
        """``x`` as float32, flattened to (N, features) for a network that starts with a linear layer."""
        h = x.float()
        return h.flatten(1) if self.flatten_input else h

    def _forward_fast(self, x: Tensor) -> Tensor:
        """Logits as :meth:`forward`, with binary activations carried as float 0/1 tensors."""
        h = self._network_input(x)
        binary = False  # h holds 0/1 floats (True) or values / int8 codes (False)
        with torch.no_grad():
            for st in self.stages:
                if st.flatten_before:
                    h = h.flatten(1)
                if st.real_input:
                    y = self._real_preact(st, h)
                elif binary:
                    if st.is_conv and h.dim() == 4:
                        h = h.contiguous(memory_format=torch.channels_last)
                    y = self._binary_preact(st, h)
                else:
                    if h.dtype != torch.int8:  # quantized first layer: quantize the raw input
                        h = st.layer.input_quantizer(h).to(torch.int8)
                    y = self._count_preact(st, h).float()
                if st.pool is not None and st.pool_before_norm:
                    y = st.pool(y)
                if st.is_last:
                    return _elementwise_tail(st, y)
                binary = self._binary_out(st)
                if st.real_input:
                    v = _elementwise_tail(st, y)  # periphery: float BN, sign
                    h = (v > 0).float() if binary else v.to(torch.int8)
                elif binary:
                    h = self._binary_threshold(st, y)
                else:
                    h = self._threshold(st, y)
                if st.pool is not None and not st.pool_before_norm:
                    h = st.pool(h.float())  # max commutes with the monotone quantizer
                    if not binary:
                        h = h.to(torch.int8)
        return h

    def forward(self, x: Tensor, *, return_preacts: bool = False
                ) -> Tensor | tuple[Tensor, dict[str, Tensor]]:
        """Logits (N, classes) float32; with ``return_preacts`` also the pre-activations per layer.

        Pre-activations: the layer outputs before pooling, int32 for quantized inputs and float
        for the real-valued first layer.
        """
        if not return_preacts:
            return self._forward_fast(x)
        pre: dict[str, Tensor] = {}
        h = self._network_input(x)
        with torch.no_grad():
            for st in self.stages:
                if st.flatten_before:
                    h = h.flatten(1)
                if st.real_input:
                    y = self._real_preact(st, h)
                else:
                    if h.dtype != torch.int8:  # quantized first layer: quantize the raw input
                        h = st.layer.input_quantizer(h).to(torch.int8)
                    y = self._count_preact(st, h)
                pre[st.name] = y
                if st.is_last:
                    v = y.float()
                    if st.pool is not None and st.pool_before_norm:
                        v = st.pool(v)
                    h = _elementwise_tail(st, v)
                    break
                if st.pool is not None and st.pool_before_norm:
                    y = st.pool(y.float())
                    if not st.real_input:
                        y = y.to(torch.int32)
                if st.real_input:
                    h = _elementwise_tail(st, y).to(torch.int8)  # periphery: float BN, sign
                else:
                    h = self._threshold(st, y)
                    if st.pool is not None and not st.pool_before_norm:
                        h = st.pool(h.float()).to(torch.int8)
        return h, pre

    __call__ = forward

    def predict(self, x: Tensor) -> Tensor:
        """Class decisions (N,) int64: argmax of the logits."""
        return self.forward(x).argmax(1)

    def op_counts(self, input_shape: tuple[int, ...]) -> list[LayerOps]:
        """Per-stage operation counts for one input of shape ``input_shape`` (no batch dim)."""
        out: list[LayerOps] = []
        h_shape = tuple(input_shape)
        if self.flatten_input:
            h_shape = (int(torch.tensor(h_shape).prod()),)
        for st in self.stages:
            if st.flatten_before:
                h_shape = (int(torch.tensor(h_shape).prod()),)
            k = st.fan_in
            in_bits = int(torch.tensor(h_shape).prod())
            with torch.no_grad():
                probe = torch.zeros((1,) + h_shape)
                if st.is_conv:
                    lay = st.layer
                    y = F.conv2d(probe, st.weight.float(), None, lay.stride, lay.padding,
                                 lay.dilation, lay.groups)
                else:
                    y = F.linear(probe, st.weight.float())
                outputs = int(y[0].numel())
                yp = st.pool(y) if st.pool is not None else y
                neurons = int(yp[0].numel())
            out.append(LayerOps(name=st.name, in_periphery=st.in_periphery, real_input=st.real_input,
                                weights=int(st.weight.numel()), macs=outputs * k, outputs=outputs,
                                neurons=neurons, fan_in=k, activation_bits_in=in_bits))
            h_shape = tuple(yp.shape[1:])
        return out

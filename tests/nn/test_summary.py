"""Summary numbers on a tiny model, computed by hand."""

import torch
from torch import nn

from ternary_rram.nn.layers import QConv2d, QLinear
from ternary_rram.nn.summary import format_summary, summarize, total


def _tiny() -> nn.Sequential:
    conv = QConv2d(1, 2, 3, padding=1)  # 18 weights, on an 4x4 input -> 4x4 output
    lin = QLinear(8, 3)  # 24 weights, after a 2x2 pool: 2 * 2 * 2 = 8 features
    with torch.no_grad():
        conv.weight.copy_(torch.tensor([0.1, -0.1, 0.0, 0.01, 0.2, -0.2, 0.0, 0.0, 0.3] * 2).view(2, 1, 3, 3))
        lin.weight.copy_(torch.tensor([0.1, 0.0, 0.0, 0.0, -0.5, 0.0, 0.0, 0.0] * 3).view(3, 8))
    return nn.Sequential(conv, nn.MaxPool2d(2), nn.Flatten(), lin)


def test_summary_by_hand():
    rows = summarize(_tiny(), input_shape=(1, 4, 4))
    conv, lin = rows
    assert (conv.name, conv.kind, conv.weight_shape) == ("0", "conv", (2, 1, 3, 3))
    assert conv.weights == 18 and conv.cells_2t2r == 18
    assert conv.zero_fraction == 8 / 18  # 0.0, 0.01, 0.0, 0.0 per kernel
    assert conv.macs == 18 * 16
    assert (lin.weights, lin.macs, lin.cells_2t2r) == (24, 24, 24)
    assert lin.zero_fraction == 18 / 24
    t = total(rows)
    assert (t.weights, t.macs, t.cells_2t2r) == (42, 18 * 16 + 24, 42)
    assert abs(t.zero_fraction - 26 / 42) < 1e-12
    text = format_summary(rows)
    assert "total" in text and "312" in text and "0.619" in text


def test_summary_uses_model_config():
    from ternary_rram.nn.models import vgg
    rows = summarize(vgg(8))
    assert sum(r.weights for r in rows) == sum(p.numel() for n, p in vgg(8).named_parameters()
                                               if n.endswith("weight") and p.dim() > 1)
    assert rows[0].macs == 3 * 8 * 9 * 32 * 32
    assert rows[-1].macs == 512 * 10

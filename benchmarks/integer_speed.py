"""Exact integer inference against float evaluation of the same quantized network, in one process.

    python benchmarks/integer_speed.py [--width 32] [--images 512] [--repeats 5]

Builds the CIFAR-10 VGG (ternary weights, binary activations) with random latent weights (about
60 % non-zero ternary weights) and random batch-norm statistics, then times on the same images:

1. float evaluation: ``model.eval()`` forward in float32 (what ``evaluate`` runs);
2. the exact integer path: ``chip.integer.compile_network(model).forward`` (compilation excluded);
3. for reference, the same path with ``return_preacts=True``, which keeps the counter route of
   :meth:`IntegerNetwork._count_preact` (int8 activations, int32 sums: the path before the
   float-0/1 route existed).

Prints images/s of both (best of ``--repeats``, the two alternated so that a change of machine
load hits both), their ratio, and whether the logits are bit-identical. Images: the first
``--images`` CIFAR-10 test images when ``--data-dir`` (or ../shared/data/cifar-10-batches-py) exists,
else standard-normal noise (the cost does not depend on the values).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch
from torch import nn

from ternary_rram.chip.integer import compile_network
from ternary_rram.nn.data import default_cifar10_dir, load_cifar10
from ternary_rram.nn.models import vgg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root, for tests.chip.helpers
from tests.chip.helpers import randomize


def random_network(width: int, seed: int = 0) -> nn.Module:
    """VGG with N(0, 0.06) latent weights and random BN statistics, gamma of both signs, eval mode
    (the chip tests' ``randomize``)."""
    torch.manual_seed(seed)
    return randomize(vgg(width, "ternary", "binary"), torch.Generator().manual_seed(seed))


def images(n: int, data_dir: str | None) -> tuple[torch.Tensor, str]:
    path = data_dir or default_cifar10_dir()
    if path is not None:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # non-official MD5s of the JPEG copy
            data = load_cifar10(path, limit=n)
        return data.normalise(data.x_test[:n]), f"CIFAR-10 test images from {path}"
    return torch.randn(n, 3, 32, 32, generator=torch.Generator().manual_seed(1)), "standard-normal noise"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--width", type=int, default=32, help="VGG width F")
    ap.add_argument("--images", type=int, default=512, help="images per timed pass (one batch)")
    ap.add_argument("--repeats", type=int, default=5, help="timed passes of each path (best kept)")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    ap.add_argument("--data-dir", default=None, help="cifar-10-batches-py folder")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    model = random_network(args.width)
    x, source = images(args.images, args.data_dir)
    net = compile_network(model)
    with torch.no_grad():
        logits = model(x)  # warm-up of both paths (oneDNN primitive caches)
    out = net.forward(x)
    t_float, t_int, t_counter = float("inf"), float("inf"), float("inf")
    for _ in range(args.repeats):
        t = time.perf_counter()
        net.forward(x, return_preacts=True)
        t_counter = min(t_counter, time.perf_counter() - t)
        t = time.perf_counter()
        with torch.no_grad():
            model(x)
        t_float = min(t_float, time.perf_counter() - t)
        t = time.perf_counter()
        net.forward(x)
        t_int = min(t_int, time.perf_counter() - t)
    res = {"width": args.width, "images": args.images, "source": source, "threads": torch.get_num_threads(),
           "float_images_per_s": round(args.images / t_float, 1),
           "integer_images_per_s": round(args.images / t_int, 1),
           "integer_over_float": round(t_float / t_int, 3),
           "counter_path_images_per_s": round(args.images / t_counter, 1),
           "counter_path_over_float": round(t_float / t_counter, 3),
           "logits_bit_identical": bool(torch.equal(out, logits)),
           "decisions_identical": bool(torch.equal(out.argmax(1), logits.argmax(1)))}
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()

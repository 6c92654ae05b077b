"""Throughput cost of quantization: the quantized VGG against a plain float PyTorch VGG of the same shape.

Prints training and evaluation images per second of ``vgg(width)`` (ternary weights, binary
activations) and of the same network built from ``nn.Conv2d`` / ``nn.Linear`` (no quantizers),
measured alternately in one run, and the overhead ratio (goal: at most 25 % on CPU).

    python benchmarks/quant_overhead.py --width 32 --batch 128 --batches 3
"""

from __future__ import annotations

import argparse
import time

import torch
from torch import nn

from ternary_rram.nn.models import vgg


def plain_vgg(width: int, num_classes: int = 10, activation: type[nn.Module] = nn.Hardtanh) -> nn.Sequential:
    """Float VGG with the layout of ``vgg(width)`` (BN, no bias), no quantizers; ``activation``
    after each BN but the last (Hardtanh as in ``vgg``; train_speed.py uses ReLU)."""
    f = width
    layers: list[nn.Module] = []
    for cin, cout, pool in [(3, f, False), (f, f, True), (f, 2 * f, False), (2 * f, 2 * f, True),
                            (2 * f, 4 * f, False), (4 * f, 4 * f, True)]:
        layers.append(nn.Conv2d(cin, cout, 3, padding=1, bias=False))
        if pool:
            layers.append(nn.MaxPool2d(2))
        layers += [nn.BatchNorm2d(cout), activation()]
    layers += [nn.Flatten(), nn.Linear(4 * f * 16, 512, bias=False), nn.BatchNorm1d(512), activation(),
               nn.Linear(512, num_classes, bias=False), nn.BatchNorm1d(num_classes)]
    return nn.Sequential(*layers)


def images_per_s(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batches: int, train: bool,
                 clock=time.perf_counter) -> float:
    """Images per second over ``batches`` steps (a training step: forward, backward, AdamW).

    ``clock``: ``time.perf_counter`` (wall) or ``time.process_time`` (CPU time of this process,
    steadier on a shared machine; with one thread it is the compute time).
    """
    if train:
        model.train()
        opt = torch.optim.AdamW(model.parameters(), lr=0.01)
        loss_fn = nn.CrossEntropyLoss()
        step = lambda: (opt.zero_grad(), loss_fn(model(x), y).backward(), opt.step())  # noqa: E731
        step()  # warm-up
        t0 = clock()
        for _ in range(batches):
            step()
    else:
        model.eval()
        with torch.no_grad():
            model(x)  # warm-up
            t0 = clock()
            for _ in range(batches):
                model(x)
    return batches * x.shape[0] / (clock() - t0)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--width", type=int, default=32)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--batches", type=int, default=3)
    p.add_argument("--repeats", type=int, default=2, help="alternating measurements; best kept")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: leave the default)")
    p.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                   help="wall time, or process CPU time (steadier on a loaded machine)")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    x = torch.randn(args.batch, 3, 32, 32)
    y = torch.randint(0, 10, (args.batch,))
    clock = time.perf_counter if args.clock == "wall" else time.process_time
    models = {"quantized": vgg(args.width), "float": plain_vgg(args.width)}
    print(f"VGG F={args.width}, batch {args.batch}, {args.batches} batches x {args.repeats} repeats, "
          f"{torch.get_num_threads()} threads, {args.clock} clock")
    for phase, train in (("train", True), ("eval", False)):
        best = dict.fromkeys(models, 0.0)
        for _ in range(args.repeats):  # alternate so that load changes hit both alike
            for name, model in models.items():
                best[name] = max(best[name], images_per_s(model, x, y, args.batches, train, clock))
        overhead = best["float"] / best["quantized"] - 1.0
        print(f"{phase:5s}: quantized {best['quantized']:8.1f} img/s, float {best['float']:8.1f} img/s, "
              f"overhead {100 * overhead:+.1f} %")


if __name__ == "__main__":
    main()

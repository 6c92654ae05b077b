"""Training speed in float32 and bfloat16, NCHW and channels_last, and of the end-to-end trainer.

    python benchmarks/train_speed.py [--width 32] [--batch 128] [--steps 12] [--train-images 10000] [--threads N]

One process, same machine state, images/s of a training step (forward, cross-entropy, backward,
AdamW step) on a fixed random batch of ``--batch`` normalised images:

1. plain float VGG (torch Conv2d/Linear + BN + ReLU, the [C] VGG shape), float32;
2. the same, bfloat16 autocast;
3. the same, bfloat16 autocast + channels_last;
4. our ternary VGG (ternary weights, binary activations), float32;
5. the same, float32 + channels_last;
6. the same, bfloat16 autocast + channels_last (what ``train --precision bf16`` runs);

then the end-to-end trainer (``ternary_rram.nn.train.train``, precision bf16, flip+crop
augmentation, data order, batch assembly, learning-rate schedule and metric accumulation included)
for one epoch over the first ``--train-images`` CIFAR-10 training images, timed over its training
batches (the epoch's test pass, on 1000 test images, and the checkpoint write are excluded), and
how many of the trained network's class decisions on those 1000 test images differ between float32
and bf16 evaluation (why ``evaluate`` stays float32). Prints
the ratios: ternary bf16 + channels_last over ternary float32 (goal >= 2.5) and trainer over its
step rate (goal >= 0.9). Each step rate is the best of ``--blocks`` blocks of ``--steps``
steps after two warm-up steps. The trainer is timed over ``--trainer-repeats`` epochs (best kept),
each right after a block of row-6 steps, whose best is its baseline: on a shared machine the load
changes from minute to minute, so the two are compared under the same conditions.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import tempfile
import time
import warnings

import torch
import torch.nn.functional as F
from quant_overhead import plain_vgg as float_vgg  # benchmarks/ is sys.path[0] when run as a script
from torch import nn

from ternary_rram.nn.data import load_cifar10
from ternary_rram.nn.models import vgg
from ternary_rram.nn.train import TrainConfig, autocast, init_model, train

DEFAULT_DATA = "/work/shared/data/cifar-10-batches-py"


def plain_vgg(width: int, num_classes: int = 10) -> nn.Sequential:
    """The [C] VGG shape with ordinary float layers (bias-free, BN, ReLU): the float baseline."""
    return float_vgg(width, num_classes, activation=nn.ReLU)


def step_rate(model: nn.Module, batch: int, precision: str, channels_last: bool, steps: int,
              blocks: int) -> float:
    """Training images/s: best of ``blocks`` timed blocks of ``steps`` AdamW steps."""
    gen = torch.Generator().manual_seed(0)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    model = model.to(memory_format=fmt).train()
    x = torch.randn(batch, 3, 32, 32, generator=gen).contiguous(memory_format=fmt)
    y = torch.randint(0, 10, (batch,), generator=gen)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-4)
    dev = torch.device("cpu")

    def one() -> None:
        with autocast(precision, dev):
            loss = F.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(2):
        one()
    best = float("inf")
    for _ in range(blocks):
        t = time.perf_counter()
        for _ in range(steps):
            one()
        best = min(best, time.perf_counter() - t)
    return steps * batch / best


def eval_agreement(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> dict:
    """Class decisions of ``model`` evaluated in float32 and in bf16 autocast + channels_last."""
    model = model.eval()
    with torch.no_grad():
        p32 = model.to(memory_format=torch.contiguous_format)(x).argmax(1)
        model.to(memory_format=torch.channels_last)
        with autocast("bf16", torch.device("cpu")):
            p16 = model(x.contiguous(memory_format=torch.channels_last)).float().argmax(1)
    return {"images": len(y), "decisions_differ": int((p32 != p16).sum()),
            "acc_fp32": float((p32 == y).float().mean()), "acc_bf16": float((p16 == y).float().mean())}


def trainer_rate(width: int, batch: int, n_train: int, data_dir: str, repeats: int,
                 steps: int) -> tuple[float, float, dict]:
    """Images/s of one epoch of ``train`` (training batches only) on ``n_train`` CIFAR-10 images,
    best of ``repeats`` epochs, each right after a block of ``steps`` plain steps of the same network
    and precision (best of those blocks is returned too: the two rates under the same machine
    load); and the fp32-vs-bf16 evaluation decisions of the last network trained (1000 test images)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the JPEG copy's MD5s are not the official ones
        data = load_cifar10(data_dir, limit=n_train)
    data = dataclasses.replace(data, x_test=data.x_test[:1000], y_test=data.y_test[:1000])
    cfg = {"name": "vgg", "width": width, "weights": "ternary", "activations": "binary",
           "in_channels": 3, "num_classes": 10, "image_size": 32}
    config = TrainConfig(epochs=1, cycles=(1,), batch_size=batch, precision="bf16")
    best_trainer, best_step, times = 0.0, 0.0, []
    for r in range(repeats):
        best_step = max(best_step, step_rate(vgg(width, "ternary", "binary"), batch, "bf16", True, steps, 1))
        model = init_model(cfg, r)
        with tempfile.TemporaryDirectory() as out:
            res = train(model, data, config, os.path.join(out, "run"), progress=False)
        row = res.history[-1]
        times.append(round(row["train_time_s"], 2))
        best_trainer = max(best_trainer, n_train / row["train_time_s"])
    x, y = data.batch("test", torch.arange(data.n_test))
    return best_trainer, best_step, {"n_train": n_train, "augment": "flip-crop", "epochs_timed": repeats,
                                     "train_time_s": times, "eval_fp32_vs_bf16": eval_agreement(model, x, y)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--width", type=int, default=32, help="VGG width F")
    ap.add_argument("--batch", type=int, default=128, help="images per step")
    ap.add_argument("--steps", type=int, default=12, help="steps per timed block")
    ap.add_argument("--blocks", type=int, default=3, help="timed blocks per row (best kept)")
    ap.add_argument("--train-images", type=int, default=10000, help="CIFAR-10 images of the trainer epoch")
    ap.add_argument("--trainer-repeats", type=int, default=3, help="trainer epochs timed (best kept)")
    ap.add_argument("--data-dir", default=DEFAULT_DATA, help="cifar-10-batches-py folder")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    rows: dict[str, float] = {}
    for key, make, precision, cl in [
        ("plain_fp32", plain_vgg, "fp32", False),
        ("plain_bf16", plain_vgg, "bf16", False),
        ("plain_bf16_channels_last", plain_vgg, "bf16", True),
        ("ternary_fp32", lambda w: vgg(w, "ternary", "binary"), "fp32", False),
        ("ternary_fp32_channels_last", lambda w: vgg(w, "ternary", "binary"), "fp32", True),
        ("ternary_bf16_channels_last", lambda w: vgg(w, "ternary", "binary"), "bf16", True),
    ]:
        torch.manual_seed(0)
        rows[key] = round(step_rate(make(args.width), args.batch, precision, cl, args.steps, args.blocks), 1)
        print(f"{key}: {rows[key]} images/s", flush=True)
    rate, step, info = trainer_rate(args.width, args.batch, args.train_images, args.data_dir,
                                    args.trainer_repeats, args.steps)
    res = {"width": args.width, "batch": args.batch, "threads": torch.get_num_threads(),
           "load_average_1min": round(os.getloadavg()[0], 2), "step_images_per_s": rows,
           "trainer_images_per_s": round(rate, 1), "step_beside_trainer_images_per_s": round(step, 1),
           "trainer": info,
           "ternary_bf16_cl_over_fp32": round(rows["ternary_bf16_channels_last"] / rows["ternary_fp32"], 2),
           "plain_bf16_cl_over_fp32": round(rows["plain_bf16_channels_last"] / rows["plain_fp32"], 2),
           "trainer_over_step": round(rate / step, 3)}
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()

# %% [markdown]
# # A plain PyTorch model on a simulated 2T2R RRAM chip
#
# Notebook-style (`# %%` cells: open it in VS Code or Jupyter with jupytext, or run it whole with
# `python examples/notebook_api.py`; about half a minute on two CPU cores). It builds a network
# with plain `torch.nn` layers, converts it to ternary weights and binary activations, trains it a
# few steps, programs it into a chip instance at two supply voltages and prints accuracy, read
# errors and energy per inference. The Python face is described in README.md ("Python API") and
# docs/architecture.md.

# %%
import torch
from torch import nn

import ternary_rram as tr

torch.manual_seed(0)
data = tr.load_dataset("digits")  # scikit-learn's 8x8 digits, embedded: no download
print(f"digits: {data.n_train} training and {data.n_test} test images, {data.num_classes} classes")


# %% [markdown]
# ## A plain PyTorch model
# The seed VGG layout (conv pairs of width F, F, 2F, 2F, 4F, 4F with max pooling, two FC layers),
# written with `nn.Conv2d` / `nn.Linear` as any other code base would; here at F = 8 and a 64-wide
# hidden FC layer for 8x8 images.

# %%
def plain_vgg(width: int, hidden: int = 64, in_channels: int = 1, classes: int = 10) -> nn.Sequential:
    layers: list[nn.Module] = []
    f = width
    for cin, cout, pool in [(in_channels, f, False), (f, f, True), (f, 2 * f, False), (2 * f, 2 * f, True),
                            (2 * f, 4 * f, False), (4 * f, 4 * f, True)]:
        layers.append(nn.Conv2d(cin, cout, 3, padding=1, bias=False))
        if pool:
            layers.append(nn.MaxPool2d(2))
        layers += [nn.BatchNorm2d(cout), nn.Hardtanh()]
    layers += [nn.Flatten(), nn.Linear(4 * f, hidden, bias=False), nn.BatchNorm1d(hidden), nn.Hardtanh(),
               nn.Linear(hidden, classes, bias=False), nn.BatchNorm1d(classes)]
    return nn.Sequential(*layers)


model = plain_vgg(8)

# %% [markdown]
# ## Convert, then train a few steps
# `tr.convert` swaps every `Conv2d` / `Linear` for a quantized twin in place (ternary weights with
# the seed's absolute threshold 0.05, binary activations after the first layer). Training the
# converted model is ordinary PyTorch: the quantizers pass gradients straight through to the
# float weights they keep.

# %%
tr.convert(model, weights="ternary", activations="binary", threshold=0.05)
x, y = data.batch("train", torch.arange(data.n_train))
x_test, y_test = data.batch("test", torch.arange(data.n_test))
opt = torch.optim.Adam(model.parameters(), lr=1e-2)
steps = torch.Generator().manual_seed(0)
for _ in range(150):
    model.train()
    idx = torch.randint(0, data.n_train, (64,), generator=steps)
    loss = nn.functional.cross_entropy(model(x[idx]), y[idx])
    opt.zero_grad()
    loss.backward()
    opt.step()
model.eval()
with torch.no_grad():
    print(f"test accuracy with ideal ternary weights: {100 * (model(x_test).argmax(1) == y_test).float().mean():.1f} %")

# %% [markdown]
# ## Program a chip at two supply voltages
# `tr.Chip` is one fabricated instance (its seed fixes devices and sense-amplifier mismatch); the
# sense window is chosen per VDD. The amplifier pool is kept small here (8 amplifiers, 9x9-point
# maps) so that the example runs in seconds; `ternary-rram deploy` uses 16 amplifiers and 41x41.

# %%
results = {}
for vdd in (1.8, 0.85):
    chip = tr.Chip(vdd=vdd, seed=0, array=(64, 64), amplifiers=8, n_grid=9, n_mc=4)
    results[vdd] = chip.program(model).evaluate(data)
    print(results[vdd])

# %% [markdown]
# ## Accuracy and energy side by side

# %%
print(f"{'VDD (V)':>8} {'window (ns)':>12} {'accuracy (%)':>13} {'wrong reads':>12} {'energy/inference (nJ)':>22}"
      f" {'of which sense (nJ)':>20}")
for vdd, r in results.items():
    print(f"{vdd:>8.2f} {r.t_sense * 1e9:>12.3g} {100 * r.accuracy:>13.2f} {r.errors.total:>12d}"
          f" {r.energy_per_inference * 1e9:>22.4g} {r.energy_parts['sense'] * 1e9:>20.4g}")
print("energy per inference: array (sense + bit lines) + digital periphery at its default energies; "
      "it leaves out programming, clock, control, I/O and leakage (see result.energy.note)")

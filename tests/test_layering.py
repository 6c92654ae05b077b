"""The layer rule: each package imports only the layers below it (docs/architecture.md).

device < circuit < array < nn < chip < experiments < cli, with ``api.py`` (the Python face) at the top
beside cli; ``errors``, ``fileio`` and the ``presets`` data package are shared by every layer. Every
import of every module is checked, those inside functions included (the CLI imports lazily).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import ternary_rram

PACKAGE = Path(ternary_rram.__file__).parent
#: Layer rank of each top-level name under ternary_rram; a module may import ranks <= its own.
RANK: dict[str, int] = {"device": 0, "circuit": 1, "array": 2, "nn": 3, "chip": 4, "experiments": 5, "cli": 6,
                        "api": 7}
#: Imported by any layer (``__version__`` lives in the package root, which loads nothing else).
SHARED: frozenset[str] = frozenset({"errors", "fileio", "presets", "__version__"})


def _layer_of(module: Path) -> str | None:
    parts = module.relative_to(PACKAGE).with_suffix("").parts
    return parts[0] if parts[0] in RANK else None


def _imports(module: Path) -> list[tuple[int, str]]:
    """(line, dotted name) of every ternary_rram import in ``module``, relative imports resolved."""
    tree = ast.parse(module.read_text(encoding="utf-8"), filename=str(module))
    pkg = ("ternary_rram",) + module.relative_to(PACKAGE).parent.parts
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(pkg[: len(pkg) - node.level + 1])
                name = f"{base}.{node.module}" if node.module else base
            else:
                name = node.module or ""
            if name == "ternary_rram":  # from ternary_rram import x: the name x says the layer
                found += [(node.lineno, f"{name}.{a.name}") for a in node.names]
                continue
            found.append((node.lineno, name))
    return [(line, n) for line, n in found if n == "ternary_rram" or n.startswith("ternary_rram.")]


def upward_imports() -> list[str]:
    """Every import that climbs: 'module:line imports name (layer a imports layer b)'."""
    bad = []
    for module in sorted(PACKAGE.rglob("*.py")):
        layer = _layer_of(module)
        if layer is None:
            continue
        for line, name in _imports(module):
            parts = name.split(".")
            if len(parts) < 2:
                bad.append(f"{module.relative_to(PACKAGE)}:{line} imports the package root {name}")
                continue
            target = parts[1]
            if target in SHARED:
                continue
            if target not in RANK:
                bad.append(f"{module.relative_to(PACKAGE)}:{line} imports {name}, which has no layer")
            elif RANK[target] > RANK[layer]:
                bad.append(f"{module.relative_to(PACKAGE)}:{line} imports {name} ({layer} -> {target})")
    return bad


def test_no_module_imports_a_layer_above_its_own():
    assert upward_imports() == []


def test_the_checker_sees_an_upward_import(tmp_path, monkeypatch):
    """A wrong checker (one that never finds anything) fails here."""
    fake = tmp_path / "ternary_rram"
    (fake / "circuit").mkdir(parents=True)
    (fake / "circuit" / "x.py").write_text("def f():\n    from ternary_rram.chip.deploy import deploy\n")
    (fake / "circuit" / "y.py").write_text("from ..device import model\nfrom . import params\n"
                                           "from ternary_rram import errors\n")
    (fake / "device").mkdir()
    (fake / "device" / "z.py").write_text("from ..array import tiling\n")
    monkeypatch.setitem(globals(), "PACKAGE", fake)
    assert upward_imports() == ["circuit/x.py:2 imports ternary_rram.chip.deploy (circuit -> chip)",
                                "device/z.py:1 imports ternary_rram.array (device -> array)"]


@pytest.mark.parametrize("layer", sorted(RANK))
def test_every_layer_exists(layer):
    assert (PACKAGE / layer).is_dir() or (PACKAGE / f"{layer}.py").is_file()

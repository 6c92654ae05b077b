"""User-facing text cites only files of the repository: every physics.md citation names an existing section."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PHYSICS = ROOT / "docs" / "physics.md"


def _sections() -> set[str]:
    heads = re.findall(r"^#{2,3} (\d+(?:\.\d+)?)[ .]", PHYSICS.read_text(encoding="utf-8"), flags=re.M)
    return set(heads)


def _texts():
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), *sorted((ROOT / "src").rglob("*.py"))]:
        yield path, path.read_text(encoding="utf-8")


def test_physics_md_is_in_the_repository_with_numbered_sections():
    assert PHYSICS.is_file()
    assert {"1.5", "2.4", "2.6", "3.3", "4.2", "5", "7", "8"} <= _sections()


def test_every_physics_md_citation_is_in_repo_and_names_a_section_that_exists():
    sections = _sections()
    bad = []
    for path, text in _texts():
        for m in re.finditer(r"(\S*)physics\.md(?: section (\d+(?:\.\d+)?)(?:-(\d+(?:\.\d+)?))?)?", text):
            prefix, first, last = m.group(1), m.group(2), m.group(3)
            if not prefix.strip("`(\"'").endswith("docs/") and path != PHYSICS:
                bad.append(f"{path.relative_to(ROOT)}: {m.group(0)!r} (cite docs/physics.md)")
            for sec in (first, last):
                if sec and sec not in sections:
                    bad.append(f"{path.relative_to(ROOT)}: {m.group(0)!r} (no section {sec})")
    assert not bad, "\n".join(bad)


def test_user_facing_text_names_no_folder_outside_the_repository():
    from ternary_rram.cli.main import build_parser

    texts = [build_parser().format_help()]
    sub = next(a for a in build_parser()._actions if a.__class__.__name__ == "_SubParsersAction")
    texts += [p.format_help() for p in sub.choices.values()]
    texts += [(ROOT / "README.md").read_text(encoding="utf-8"), (ROOT / "docs" / "results.md").read_text("utf-8")]
    for text in texts:
        assert "../shared" not in text and "shared docs" not in text

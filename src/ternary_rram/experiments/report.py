"""Write the reproduction report: ``report.md`` and a self-contained ``report.html``.

A report is a list of :class:`Section`; each section has paragraphs, figures (PNG files in the
output folder, with the data files behind them), optional tables and a closing claims table
(:class:`Claim`: what the paper claims, what we measured, holds or not, and the criterion that
decided it). The HTML embeds every figure as a base64 PNG so the single file can be mailed around.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ternary_rram.fileio import atomic_write_text


@dataclass(frozen=True)
class Claim:
    """One row of a section's verdict table.

    Attributes:
        claim: what the paper (or docs/physics.md) claims.
        measured: what we measured, with numbers and units.
        holds: True / False from the criterion, None when it could not be tested.
        criterion: the explicit rule applied to the numbers.
        fixed_clock_only: the claim was tested with one sense window held fixed across VDD (a clock) and a
            window tuned per VDD does not support it (computed by the caller from the timing margins); a
            claim that holds is then reported as "holds only under a fixed clock".
    """

    claim: str
    measured: str
    holds: bool | None
    criterion: str
    fixed_clock_only: bool = False

    def __post_init__(self) -> None:
        if self.holds is not None:
            object.__setattr__(self, "holds", bool(self.holds))

    @property
    def verdict(self) -> str:
        """"holds", "holds only under a fixed clock", "does not hold" or "not tested"."""
        if self.holds is None:
            return "not tested"
        if self.holds:
            return "holds only under a fixed clock" if self.fixed_clock_only else "holds"
        return "does not hold"


@dataclass(frozen=True)
class Figure:
    """A figure: PNG file relative to the report folder, caption, data files behind it."""

    path: str
    caption: str
    data: tuple[str, ...] = ()


@dataclass(frozen=True)
class Table:
    """A small table: header and rows of already-formatted strings."""

    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    caption: str = ""


@dataclass(frozen=True)
class Section:
    """One report section."""

    title: str
    paragraphs: tuple[str, ...] = ()
    figures: tuple[Figure, ...] = ()
    tables: tuple[Table, ...] = ()
    claims: tuple[Claim, ...] = ()


@dataclass(frozen=True)
class Report:
    """The whole report: title, preamble paragraphs, sections."""

    title: str
    preamble: tuple[str, ...] = ()
    sections: tuple[Section, ...] = field(default_factory=tuple)


def _md_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    def esc(s: object) -> str:
        return str(s).replace("|", "\\|").replace("\n", " ")

    out = ["| " + " | ".join(esc(h) for h in header) + " |",
           "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(esc(c) for c in r) + " |" for r in rows]
    return out


def claims_rows(claims: Sequence[Claim]) -> list[tuple[str, str, str, str]]:
    """Rows (claim, measured, verdict, criterion) of a claims table."""
    return [(c.claim, c.measured, c.verdict, c.criterion) for c in claims]


CLAIM_HEADER = ("Paper claims", "We measured", "Verdict", "Criterion")


def to_markdown(report: Report) -> str:
    """Markdown text of the report (figures linked, data files listed)."""
    lines = [f"# {report.title}", ""]
    for p in report.preamble:
        lines += [p, ""]
    for i, s in enumerate(report.sections, start=1):
        lines += [f"## {i}. {s.title}", ""]
        for p in s.paragraphs:
            lines += [p, ""]
        for f in s.figures:
            lines += [f"![{f.caption}]({f.path})", "", f"*{f.caption}*"
                      + (f" Data: {', '.join(f'[{d}]({d})' for d in f.data)}." if f.data else ""), ""]
        for t in s.tables:
            if t.caption:
                lines += [f"**{t.caption}**", ""]
            lines += _md_table(t.header, t.rows) + [""]
        if s.claims:
            lines += ["**Claims**", ""] + _md_table(CLAIM_HEADER, claims_rows(s.claims)) + [""]
    return "\n".join(lines)


def _html_table(header: Sequence[str], rows: Sequence[Sequence[str]], verdict_col: int | None = None) -> str:
    e = html.escape
    head = "".join(f"<th>{e(str(h))}</th>" for h in header)
    body = []
    for r in rows:
        cells = []
        for j, c in enumerate(r):
            cls = ""
            if j == verdict_col:
                cls = {"holds": "ok", "holds only under a fixed clock": "ok", "does not hold": "bad"}.get(str(c), "na")
                cls = f' class="{cls}"'
            cells.append(f"<td{cls}>{e(str(c))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


_CSS = """body{font-family:sans-serif;max-width:60em;margin:auto;padding:1em;line-height:1.4}
img{max-width:100%}table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #999;
padding:.2em .5em;vertical-align:top}th{background:#eee}.ok{background:#d8f5d8}.bad{background:#f8d0d0}
.na{background:#eee}figcaption{font-style:italic;font-size:.9em}"""


def to_html(report: Report, folder: Path) -> str:
    """Self-contained HTML of the report; figures read from ``folder`` and embedded as base64 PNG."""
    e = html.escape
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{e(report.title)}</title>"
             f"<style>{_CSS}</style></head><body><h1>{e(report.title)}</h1>"]
    parts += [f"<p>{e(p)}</p>" for p in report.preamble]
    for i, s in enumerate(report.sections, start=1):
        parts.append(f"<h2>{i}. {e(s.title)}</h2>")
        parts += [f"<p>{e(p)}</p>" for p in s.paragraphs]
        for f in s.figures:
            png = folder / f.path
            if png.exists():
                b64 = base64.b64encode(png.read_bytes()).decode("ascii")
                img = f"<img alt='{e(f.caption)}' src='data:image/png;base64,{b64}'>"
            else:
                img = f"<p>(figure {e(f.path)} missing)</p>"
            data = f" Data: {e(', '.join(f.data))}." if f.data else ""
            parts.append(f"<figure>{img}<figcaption>{e(f.caption)}{data}</figcaption></figure>")
        for t in s.tables:
            if t.caption:
                parts.append(f"<p><b>{e(t.caption)}</b></p>")
            parts.append(_html_table(t.header, t.rows))
        if s.claims:
            parts.append("<p><b>Claims</b></p>" + _html_table(CLAIM_HEADER, claims_rows(s.claims), 2))
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(report: Report, folder: str | Path) -> tuple[Path, Path]:
    """Write ``folder/report.md`` and ``folder/report.html`` atomically; return both paths."""
    folder = Path(folder)
    md, ht = folder / "report.md", folder / "report.html"
    atomic_write_text(md, to_markdown(report))
    atomic_write_text(ht, to_html(report, folder))
    return md, ht

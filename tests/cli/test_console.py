"""The console conventions of every command: help text, one-line usage errors, --quiet, warnings."""

from __future__ import annotations

import argparse
import re
import warnings

import pytest

from ternary_rram.cli import console
from ternary_rram.cli.main import build_parser, main


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


COMMANDS = sorted(_subparsers())


def test_every_command_is_listed():
    assert {"calibrate", "demo", "deploy", "evaluate", "reproduce", "sense", "spice", "sweep", "train"} <= set(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_help_has_no_empty_or_doubled_defaults(command):
    text = _subparsers()[command].format_help()
    flat = " ".join(text.split())
    assert "(default: None)" not in flat
    assert "default: False" not in flat
    assert "==SUPPRESS==" not in flat
    # one default note per option at most: never "(default ...) (default: X)"
    for block in re.split(r"\n  (?=-)", text):
        assert len(re.findall(r"\bdefault\b", " ".join(block.split()))) <= 1, block


@pytest.mark.parametrize("command", COMMANDS)
def test_every_visible_option_has_help(command):
    for action in _subparsers()[command]._actions:
        if action.help is argparse.SUPPRESS:
            continue
        assert action.help, f"{command}: {action.option_strings or action.dest} has no help"


@pytest.mark.parametrize("command", COMMANDS)
def test_required_options_show_no_default(command):
    parser = _subparsers()[command]
    help_text = " ".join(parser.format_help().split())
    for action in parser._actions:
        if action.required and action.option_strings:
            entry = re.search(re.escape(action.option_strings[0]) + r" \S+ ([^-]*)", help_text)
            assert entry is None or "default" not in entry.group(1)


@pytest.mark.parametrize("command", COMMANDS)
def test_quiet_is_accepted_by_every_command(command):
    parser = _subparsers()[command]
    quiet = [a for a in parser._actions if "--quiet" in a.option_strings]
    assert len(quiet) == 1 and quiet[0].dest == "quiet" and quiet[0].help


@pytest.mark.parametrize("command,old", [("demo", "--no-progress"), ("sense", "--no-progress"),
                                         ("sweep", "--no-progress"), ("train", "--no-progress")])
def test_old_progress_flags_still_work_but_are_hidden(command, old):
    parser = _subparsers()[command]
    assert old not in parser.format_help()
    known = parser.parse_args([old, "--out", "o"] if command == "train" else [old])
    assert known.quiet is True


@pytest.mark.parametrize("command,argv", [("evaluate", ["ckpt", "--limit", "7"]),
                                          ("evaluate", ["ckpt", "--limit-test", "7"]),
                                          ("deploy", ["ckpt", "--out", "o", "--limit", "7"]),
                                          ("deploy", ["ckpt", "--out", "o", "--limit-test", "7"])])
def test_limit_test_is_the_name_and_limit_an_alias(command, argv):
    parser = _subparsers()[command]
    args = parser.parse_args(argv)
    assert getattr(args, "limit_test", getattr(args, "limit", None)) == 7
    text = parser.format_help()
    assert "--limit-test" in text and not re.search(r"--limit\b(?!-)", text)


def test_formatter_adds_a_default_only_where_it_says_something():
    p = argparse.ArgumentParser(formatter_class=console.HelpFormatter)
    p.add_argument("--a", type=int, default=3, help="plain")
    p.add_argument("--b", type=int, default=None, help="nothing by default")
    p.add_argument("--c", type=int, default=5, help="given already (default: five)")
    p.add_argument("--d", action="store_true", help="flag")
    p.add_argument("--e", required=True, default="x", help="required")
    p.add_argument("--f", nargs="+", default=[], help="empty list")
    text = " ".join(p.format_help().split())
    assert "plain (default: 3)" in text
    assert "nothing by default --c" in text
    assert "given already (default: five) --d" in text
    assert "flag --e" in text
    assert "required --f" in text
    assert text.endswith("empty list")


@pytest.mark.parametrize("argv", [["train", "--epochs", "x", "--out", "o"], ["sense", "--samples"],
                                  ["evaluate"], ["nope"], ["deploy", "ckpt"], ["reproduce", "--tiny", "--full"]])
def test_usage_errors_are_one_line_and_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert re.match(r"ternary-rram( \w+)?: error: ", lines[0])
    assert "usage:" not in err and "Traceback" not in err


def test_warnings_are_one_clean_line(capsys):
    previous = warnings.showwarning
    try:
        console.install_warning_format("ternary-rram train")
        warnings.warn("CIFAR-10 files in /x are not\n the official ones", UserWarning, stacklevel=1)
    finally:
        warnings.showwarning = previous
    err = capsys.readouterr().err
    assert err == "ternary-rram train: warning: CIFAR-10 files in /x are not the official ones\n"
    assert console.format_warning("a  b\nc") == "ternary-rram: warning: a b c"


@pytest.mark.parametrize("command,argv,folder", [("demo", [], "runs/demo"), ("demo", ["--cifar"], "runs/demo-cifar"),
                                                  ("sense", [], "runs/sense")])
def test_default_output_folders_are_under_the_git_ignored_runs_folder(command, argv, folder):
    from pathlib import Path

    from ternary_rram.cli import cmd_demo

    args = _subparsers()[command].parse_args(argv)
    assert Path(cmd_demo.out_folder(args) if command == "demo" else args.out) == Path(folder)
    gitignore = (Path(__file__).resolve().parents[2] / ".gitignore").read_text(encoding="utf-8").split()
    assert "runs/" in gitignore


def test_train_defaults_are_cheap_and_help_names_the_seed_recipe():
    parser = _subparsers()["train"]
    args = parser.parse_args(["--out", "o"])
    assert args.epochs <= 20 and args.cycles is None
    assert "--epochs 700" in " ".join(parser.format_help().split())

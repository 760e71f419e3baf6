"""How every command presents itself: its --help, and its one error line under `dvc repro`."""

import re

from mnist_pipeline import cli
from tests.conftest import ROOT, run


def test_help_shows_each_default_once_and_none_where_there_is_none():
    parser = cli.parser("a command")
    parser.add_argument("--jobs", type=int, help="at once (default: the cores this may use)")
    parser.add_argument("--cells", default="*", help="a pattern")
    parser.add_argument("--scheduler", help="an address")
    text = re.sub(r"\s+", " ", parser.format_help())
    assert "at once (default: the cores this may use) --cells" in text  # not "(default: None)"
    assert "a pattern (default: *)" in text
    assert "an address --" in text or text.endswith("an address ")
    assert "None" not in text and "default: False" not in text


def test_the_study_command_s_help_says_each_default_once():
    result = run(["python", "-m", "mnist_pipeline.study", "--help"], cwd=ROOT)
    text = re.sub(r"\s+", " ", result.stdout)
    assert "(default: None)" not in text and "(default: False)" not in text
    assert text.count("(default:") == 3, text  # --jobs and --scheduler say theirs; --cells *

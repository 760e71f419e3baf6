"""How every stage starts and fails: one clear line and a non-zero exit, never a traceback.

Set MNIST_PIPELINE_DEBUG=1 (or pass --debug) to see the traceback anyway.
"""

import argparse
import logging
import os
import sys
from collections.abc import Callable
from typing import NoReturn

from mnist_pipeline.errors import UserError


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Each option's default at the end of its help, unless it has none to show or its help
    already says what it is."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default in (None, False) or "(default" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)


def parser(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description, formatter_class=HelpFormatter)
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    return parser


def log(message: str) -> None:
    """Diagnostics go to stderr so stdout stays clean for data (e.g. `predict --json`)."""
    print(message, file=sys.stderr, flush=True)


def run(main: Callable[[argparse.Namespace], None], parser: argparse.ArgumentParser) -> NoReturn:
    args = parser.parse_args()
    # The package's modules report through `logging`; a stage shows their messages as it shows
    # its own, one plain line each on stderr.
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    debug = args.debug or os.environ.get("MNIST_PIPELINE_DEBUG", "") not in ("", "0")
    try:
        main(args)
    except UserError as error:
        if debug:
            raise
        log(f"error: {error}{after_dvc_removed_outputs()}")
        sys.exit(1)
    except KeyboardInterrupt:
        if debug:
            raise
        log("interrupted: stopped before writing any output")
        sys.exit(130)
    sys.exit(0)


def after_dvc_removed_outputs() -> str:
    """Under `dvc repro` (which names the stage in DVC_STAGE), how to get back the outputs DVC
    removed before it ran the stage: this command wrote none of them."""
    stage = os.environ.get("DVC_STAGE")
    if not stage:
        return ""
    return (
        f" (DVC removed {stage}'s outputs before running it: `dvc checkout {stage}` restores "
        "those in its cache, `git checkout` those in git)"
    )

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


def parser(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
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
        log(f"error: {error}")
        sys.exit(1)
    except KeyboardInterrupt:
        if debug:
            raise
        log("interrupted: stopped before writing any output")
        sys.exit(130)
    sys.exit(0)

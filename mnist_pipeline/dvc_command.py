"""The `dvc` command of this environment, for the modules that drive DVC (the study's engine,
the review report): the same DVC as the pipeline's, whatever `dvc` the PATH finds first."""

import subprocess
import sys

from mnist_pipeline.errors import UserError


def dvc(*args: str, capture: bool = False, cwd: str | None = None) -> str:
    """Run `dvc ARGS` (in the DVC project at `cwd`, default here) and return its stdout; its own
    output goes to the terminal unless captured. A failure is one line: the last line DVC printed
    when captured, else a pointer to it."""
    result = subprocess.run(
        [sys.executable, "-m", "dvc", *args], capture_output=capture, text=True, cwd=cwd
    )
    if result.returncode != 0:
        lines = [line for line in (result.stderr or "").splitlines() if line.strip()]
        why = (
            lines[-1].removeprefix("ERROR: ") if capture and lines else "its output above says why"
        )
        raise UserError(f"`dvc {' '.join(args)}` failed: {why}")
    return result.stdout or ""

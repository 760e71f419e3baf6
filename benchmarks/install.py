"""How long from nothing to a working environment, and from clone to trained models: pip and uv.

    python -m benchmarks.install                # ~20 min on 2 cores: 3 installs, 2 clones a round

Each install makes a fresh venv with empty caches, so every wheel is downloaded and unpacked:

    pip, unlocked   before the lock: `pip install -r` of the hand-pinned requirements.txt of BASE
    pip, locked     the pip-only path: `pip install -r requirements.txt` (hash-checking mode)
    uv (make)       what `make` runs: pip installs uv from the lock, `uv pip sync --require-hashes`

Clone to models is `git clone` then `make repro` (install, download MNIST, train, evaluate,
plot), at BASE (installs with pip) and at HEAD (with uv). BASE is the commit before the lock.
The paths take turns within each round, in a rotating order, so that a change in the speed of a
shared machine or network hits them all; medians are reported. pip reads no configuration file
here: a machine's pip.conf may add local mirrors that uv does not see (docs/environment.md).
"""

import argparse
import hashlib
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mnist_pipeline import runtime

ROOT = Path(__file__).resolve().parent.parent
MODELS = ["models/adam.pt", "models/sgd.pt"]


def base_commit() -> str:
    """The parent of the commit that created requirements.in: the last one that used pip."""
    created = git("log", "--diff-filter=A", "--format=%H", "--", "requirements.in").split()[-1]
    return git("rev-parse", f"{created}^")


def git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout.strip()


def clean_env(scratch: Path) -> dict[str, str]:
    """No caches, no pip configuration; an index given to pip in the environment is kept."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_"))}
    if "PIP_INDEX_URL" in os.environ:
        env["PIP_INDEX_URL"] = env["UV_DEFAULT_INDEX"] = os.environ["PIP_INDEX_URL"]
    env.update(
        PIP_CONFIG_FILE=os.devnull,
        PIP_NO_CACHE_DIR="1",
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        UV_CACHE_DIR=str(scratch / "uv-cache"),
    )
    return env


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"error: {' '.join(command)} failed in {cwd}:\n{result.stdout}{result.stderr}")
    return seconds


def install(path: str, requirements: Path, scratch: Path) -> float:
    """Seconds from no venv to every package of `requirements` installed, by `path`."""
    env = clean_env(scratch)
    shutil.copy(requirements, scratch / "requirements.txt")
    if path == "uv (make)":
        shutil.copy(ROOT / "Makefile", scratch / "Makefile")
        return timed(["make", "--silent", ".venv/.installed"], scratch, env)
    pip = [".venv/bin/python", "-m", "pip", "install", "-r", "requirements.txt"]
    return timed([sys.executable, "-m", "venv", ".venv"], scratch, env) + timed(pip, scratch, env)


def clone_to_models(commit: str, scratch: Path) -> tuple[float, list[str]]:
    """Seconds for `git clone` plus `make repro` at `commit`, and the md5 of each model."""
    env = clean_env(scratch)
    clone = scratch / "clone"
    seconds = timed(["git", "clone", "--quiet", "--no-checkout", str(ROOT), str(clone)], ROOT, env)
    seconds += timed(["git", "checkout", "--quiet", commit], clone, env)
    seconds += timed(["make", "repro"], clone, env)
    return seconds, [hashlib.md5((clone / m).read_bytes()).hexdigest() for m in MODELS]


def rounds_in_turn(paths: list[str], rounds: int, run) -> dict[str, list[float]]:
    seconds = {path: [] for path in paths}
    for round_ in range(rounds):
        for path in paths[round_ % len(paths) :] + paths[: round_ % len(paths)]:
            with tempfile.TemporaryDirectory(prefix="bench-install-") as scratch:
                seconds[path].append(run(path, Path(scratch)))
            print(f"  round {round_ + 1}  {path:<22} {seconds[path][-1]:6.1f} s", flush=True)
    return seconds


def table(seconds: dict[str, list[float]], against: str) -> None:
    reference = statistics.median(seconds[against])
    for path, runs in seconds.items():
        each = " ".join(f"{s:6.1f}" for s in runs)
        median = statistics.median(runs)
        print(f"  {path:<22} {each}   median {median:6.1f} s  {median / reference:5.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2, help="installs per path (default 2)")
    parser.add_argument("--clone-rounds", type=int, default=2, help="clones per commit")
    args = parser.parse_args()
    base, head = base_commit(), git("rev-parse", "HEAD")
    uv_pin = next(line for line in open(ROOT / "requirements.in") if line.startswith("uv=="))
    print(
        f"machine: {runtime.machine_name()}; Python {platform.python_version()}; "
        f"{uv_pin.strip()}; BASE {base[:7]}, HEAD {head[:7]}"
    )
    with tempfile.TemporaryDirectory() as folder:
        unlocked = Path(folder) / "requirements.txt"
        unlocked.write_text(git("show", f"{base}:requirements.txt") + "\n")
        requirements = {
            "pip, unlocked": unlocked,
            "pip, locked": ROOT / "requirements.txt",
            "uv (make)": ROOT / "requirements.txt",
        }
        print("install into a fresh venv, empty caches (runtime requirements):")
        installs = rounds_in_turn(
            list(requirements),
            args.rounds,
            lambda path, scratch: install(path, requirements[path], scratch),
        )
    models = {}

    def clone_run(path: str, scratch: Path) -> float:
        seconds, models[path] = clone_to_models(
            base if path.startswith("before") else head, scratch
        )
        return seconds

    print("clone to trained models (git clone, make repro):")
    clones = rounds_in_turn(["before: pip", "after: uv"], args.clone_rounds, clone_run)
    print("install (s), ratio to pip, locked:")
    table(installs, against="pip, locked")
    print("clone to trained models (s), ratio to before:")
    table(clones, against="before: pip")
    for path, md5s in models.items():
        print(
            f"  models of {path}: "
            + ", ".join(f"{m} {h}" for m, h in zip(MODELS, md5s, strict=True))
        )


if __name__ == "__main__":
    main()

"""Shared helpers: temporary clones of this project and the real `dvc` CLI run inside them."""

import os
import re
import shutil
import subprocess
import sys
import typing
from pathlib import Path

import numpy as np
import pytest
from hypothesis import settings

from mnist_pipeline import fingerprint, idx, params, runtime
from mnist_pipeline.study import protocol

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

# Property-based tests search a bounded number of examples in `make test` (pyproject.toml picks
# this profile) and a long search on demand: `make test-long` (docs/testing.md). No deadline:
# the time an example takes depends on the machine, and a slow one is not a failure.
settings.register_profile("bounded", max_examples=300, deadline=None)
settings.register_profile("long", max_examples=10_000, deadline=None)


# A prefix that runs a command with no network at all: a new network namespace, where only a
# loopback exists and it is down. Where user namespaces are not allowed (some distributions turn
# them off) commands run as they are, and the network is simply not ruled out.
NO_NETWORK = (
    ["unshare", "--map-root-user", "--net"]
    if shutil.which("unshare")
    and subprocess.run(["unshare", "-rn", "true"], capture_output=True).returncode == 0
    else []
)


class CpuModels(typing.NamedTuple):
    """CPU models for qemu-x86_64 -cpu, per vendor, and whether the study's one thread a run is
    checked besides the pipeline's threads."""

    intel: list[str]
    amd: list[str]
    study_threads: bool

    def other_vendor(self, vendor_id: str) -> list[str]:
        """The models of the vendor that is not `vendor_id` (cpuinfo's 'GenuineIntel' or
        'AuthenticAMD')."""
        return self.amd if vendor_id == "GenuineIntel" else self.intel


# What tests/test_e2e_cpus.py emulates: `make test` one CPU of each vendor, `make test-long` six
# of both vendors and several generations (Haswell 2013 to Milan 2021), at both thread counts.
X86_VENDORS = ("GenuineIntel", "AuthenticAMD")
CPU_MODELS = {
    "short": CpuModels(["Haswell"], ["EPYC-Rome"], study_threads=False),
    "long": CpuModels(
        ["Haswell", "Skylake-Client", "Cascadelake-Server-v5"],
        ["EPYC", "EPYC-Rome", "EPYC-Milan"],
        study_threads=True,
    ),
}


# tests/test_e2e_cpus.py is collected last (below) and reads the fingerprints that
# `fetched_project` starts in the background: emulated CPUs are slow (~30 s of CPU time a run,
# most of it importing torch), and the other tests leave one of the two cores idle most of the
# time, so they cost the suite far less this way than waited for in a row.
CPU_CHECK_SELECTED = pytest.StashKey[bool]()
CPU_FINGERPRINTS = pytest.StashKey[dict]()


def start_cpu_fingerprints(
    project: Path, models: CpuModels
) -> dict[tuple[str, int], subprocess.Popen]:
    """`python -m mnist_pipeline.fingerprint --cpu ...` started, not waited for, in `project`:
    under the portable pin, this CPU and every model; under the old per-vendor pin (the negative
    control), this CPU and the models of the other vendor. Keyed by (kernels, threads)."""
    here = runtime.cpu_info().get("vendor_id")
    if not shutil.which(fingerprint.QEMU) or here not in X86_VENDORS:
        return {}  # the test says why
    other = models.other_vendor(here)
    threads = {params.runtime(params.load(project / params.PARAMS_FILE)).threads}
    if models.study_threads:
        threads.add(protocol.load(project / protocol.PROTOCOL_FILE).threads)
    checks = {"portable": ["native", *models.intel, *models.amd], "avx2": ["native", *other]}
    return {
        (kernels, count): subprocess.Popen(
            # One CPU at a time per check, under Linux's idle scheduling class: they run only
            # on a core that no other test wants, and so slow the others as little as possible.
            ["chrt", "--idle", "0", "python", "-m", "mnist_pipeline.fingerprint"]
            + ["--kernels", kernels, "--threads", str(count), "--jobs", "1", "--cpu", *cpus],
            cwd=project,
            env=user_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for kernels, cpus in checks.items()
        for count in sorted(threads)
    }


def pytest_collection_modifyitems(config, items):
    """The tests that read the background fingerprints run last, when those are done."""
    late = [item for item in items if "cpu_fingerprints" in item.fixturenames]
    items[:] = [item for item in items if item not in late] + late
    config.stash[CPU_CHECK_SELECTED] = bool(late)


@pytest.fixture(scope="session")
def cpu_fingerprints(fetched_project, request) -> dict[tuple[str, int], subprocess.Popen]:
    return request.config.stash.get(CPU_FINGERPRINTS, {})


def pytest_addoption(parser):
    parser.addoption(
        "--cpu-models",
        choices=sorted(CPU_MODELS),
        default="short",
        help="which emulated CPUs tests/test_e2e_cpus.py compares (make test-long: long)",
    )


def user_env(extra: dict | None = None) -> dict:
    """The environment of a user's shell whose PATH starts with the venv (no debug tracebacks)."""
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", **(extra or {})}
    env.pop("MNIST_PIPELINE_DEBUG", None)
    return env


def run(
    args: list[str], cwd: Path, check: bool = True, env_extra: dict | None = None, **kwargs
) -> subprocess.CompletedProcess:
    """Run a command the way a user would in a shell."""
    result = subprocess.run(
        args, cwd=cwd, env=user_env(env_extra), capture_output=True, text=True, **kwargs
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"{' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
        )
    return result


def dvc(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    return run(["dvc", *args], cwd=cwd, check=check)


def one_error(result: subprocess.CompletedProcess) -> str:
    """The single `error:` line a failed command printed; fails unless there is exactly one,
    the exit status is non-zero and no traceback reached the user."""
    assert result.returncode != 0, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    return errors[0]


def clone_project(dest: Path) -> Path:
    """A fresh git repo holding this checkout's files as they are now, committed or not
    (what `git clone` would give once the change is committed)."""
    listed = (
        subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, listed):
        if (ROOT / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, dest / name)
    run(["git", "init", "-q"], cwd=dest)
    git_commit(dest, "clone")
    return dest


def set_param(project: Path, key: str, value: str) -> None:
    """Set `section.key: value` (or a top-level `key: value`) in params.yaml, keeping comments."""
    path = project / "params.yaml"
    text = path.read_text()
    *section, name = key.split(".")
    start = re.search(rf"(?m)^{section[0]}:", text).end() if section else 0
    pattern = re.compile(rf"(?m)^(\s*{name}:)[^#\n]*")
    match = pattern.search(text, start)
    assert match, f"{key} not found in params.yaml"
    path.write_text(text[: match.start()] + f"{match.group(1)} {value} " + text[match.end() :])


def write_fake_raw(folder: Path, n_train: int = 600, n_test: int = 100, seed: int = 0) -> Path:
    """Four small valid IDX files with random pixels and all ten classes, for unit tests."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        idx.write(
            folder / f"{prefix}-images-idx3-ubyte",
            rng.integers(0, 256, (n, 28, 28), dtype=np.uint8),
        )
        idx.write(folder / f"{prefix}-labels-idx1-ubyte", (np.arange(n) % 10).astype(np.uint8))
    return folder


@pytest.fixture(scope="session")
def fetched_project(tmp_path_factory, request) -> Path:
    """A clone that ran `dvc repro preprocess` with the default `auto` source: real MNIST."""
    project = clone_project(tmp_path_factory.mktemp("fetched"))
    result = dvc("repro", "preprocess", cwd=project)
    (project / "repro.log").write_text(result.stdout + result.stderr)
    if request.config.stash.get(CPU_CHECK_SELECTED, False):
        # Now that real MNIST is here: the emulated runs go on while the other tests run.
        cpus = copy_project(project, tmp_path_factory.mktemp("cpus") / "p")
        runs = start_cpu_fingerprints(cpus, CPU_MODELS[request.config.getoption("--cpu-models")])
        request.config.stash[CPU_FINGERPRINTS] = runs
        request.addfinalizer(lambda: [process.kill() for process in runs.values()])
    return project


@pytest.fixture(scope="session")
def raw_mnist(fetched_project) -> Path:
    return fetched_project / "data" / "raw"


@pytest.fixture(scope="session")
def prepared_project(fetched_project, tmp_path_factory) -> Path:
    """A copy of the fetched clone, real MNIST already through `download` and `preprocess`,
    with short training runs: copy it with `copy_project` to change it."""
    project = copy_project(fetched_project, tmp_path_factory.mktemp("prepared") / "p")
    (project / "repro.log").unlink()  # the fetched fixture's own note
    for section in ("train_adam", "train_sgd"):
        set_param(project, f"{section}.epochs", "1")
    return project


def copy_project(project: Path, dest: Path) -> Path:
    shutil.copytree(project, dest, symlinks=True)
    return dest


@pytest.fixture(scope="session")
def trained_project(prepared_project, tmp_path_factory) -> Path:
    """The whole pipeline run (1-epoch training) and committed: a baseline to compare against."""
    project = copy_project(prepared_project, tmp_path_factory.mktemp("trained") / "p")
    result = dvc("repro", cwd=project)
    git_commit(project, "baseline")
    (project / "repro.log").write_text(result.stdout + result.stderr)  # untracked: after the commit
    return project


def git_commit(project: Path, message: str) -> None:
    run(["git", "add", "-A"], cwd=project)
    run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", message], cwd=project)


class RunsCode:
    """An object whose unpickling would run a shell command: it touches `marker`."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def find_chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    if os.environ.get("CI"):
        pytest.fail("chromium is not installed; .ci/run installs it (apt-get install chromium)")
    pytest.skip(
        "chromium is not installed (apt-get install chromium): offline rendering not checked"
    )


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium driven by Playwright. The system's chromium: Playwright's own browser
    download comes from a CDN, which CI and offline machines cannot reach."""
    path = find_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, args=["--no-sandbox"])
        yield browser
        browser.close()


def open_page(browser, html: Path, **options):
    """The page at `html` in a fresh browser context, and the list its script errors go to."""
    page = browser.new_context(**options).new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(html.as_uri())
    return page, errors

"""The CPU kernel pin: in effect in a fresh process, refused where it cannot work."""

import subprocess
import sys

import pytest

from mnist_pipeline import params, runtime
from mnist_pipeline.errors import UserError
from tests.conftest import ROOT, user_env

REPORT = (
    "import sys; from mnist_pipeline import runtime; runtime.pin_cpu_kernels(sys.argv[1]); "
    "print(runtime.describe(runtime.start(threads=1, device='cpu')))"
)


def kernels_in_a_fresh_process(kernels: str) -> str:
    """What a process that pins `kernels` and then imports torch reports from inside."""
    # Started with the pin variables set the other way, so the pin has to override them.
    other = {
        "ATEN_CPU_CAPABILITY": "default",
        "MKL_ENABLE_INSTRUCTIONS": "SSE4_2",
        "MKL_CBWR": "AUTO",
    }
    result = subprocess.run(
        [sys.executable, "-c", REPORT, kernels],
        cwd=ROOT,
        env=user_env(other),
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


@pytest.mark.parametrize(
    "kernels, reported",
    [("portable", "cpu (ATen AVX2, MKL COMPATIBLE)"), ("avx2", "cpu (ATen AVX2, MKL AVX2)")],
)
def test_a_pin_is_in_effect_once_torch_loads(kernels, reported):
    if not runtime.has_avx2():
        pytest.skip("this CPU has no AVX2")
    assert kernels_in_a_fresh_process(kernels) == reported


def test_native_lets_torch_pick_the_widest_kernels():
    if "avx512f" not in runtime.cpu_info().get("flags", "").split():
        pytest.skip("this CPU has no AVX-512, so native and avx2 are the same kernels")
    assert kernels_in_a_fresh_process("native") == "cpu (ATen AVX512, MKL native)"


def test_pinning_after_torch_loaded_is_a_bug_not_a_silent_no_op():
    import torch  # noqa: F401  (what the stages must not do before pinning)

    with pytest.raises(RuntimeError, match="before torch is imported"):
        runtime.pin_cpu_kernels("portable")


def test_has_avx2_reads_the_cpu_flags(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu sse4_2 avx avx2 fma\n")
    assert runtime.has_avx2(cpuinfo)
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu sse4_2 avx\n")
    assert not runtime.has_avx2(cpuinfo)
    assert runtime.has_avx2(tmp_path / "absent")  # no /proc/cpuinfo (macOS): let torch decide


def test_a_cpu_without_avx2_is_told_to_use_native(monkeypatch):
    monkeypatch.setattr(runtime, "has_avx2", lambda: False)
    monkeypatch.setattr(runtime.platform, "machine", lambda: "x86_64")
    with pytest.raises(
        UserError, match="runtime.cpu_kernels: 'portable' needs a CPU with AVX2.*'native'"
    ):
        runtime.pin_cpu_kernels("portable")


@pytest.mark.parametrize("kernels", sorted(runtime.CPU_KERNELS))
def test_params_accept_every_kernel_set_the_runtime_knows(kernels):
    raw = {"runtime": {"device": "cpu", "cpu_kernels": kernels, "threads": 2}}
    assert params.runtime(raw).cpu_kernels == kernels


def test_an_unknown_kernel_set_names_the_key():
    raw = {"runtime": {"device": "cpu", "cpu_kernels": "avx512", "threads": 2}}
    with pytest.raises(
        UserError,
        match="runtime.cpu_kernels: expected 'portable', 'avx2' or 'native', got 'avx512'",
    ):
        params.runtime(raw)


def test_on_arm_the_x86_pin_says_it_does_not_apply(monkeypatch, caplog):
    import torch

    monkeypatch.setattr(runtime.platform, "machine", lambda: "aarch64")
    runtime.pin_cpu_kernels("portable")
    assert "this aarch64 machine uses its own kernels" in caplog.text
    assert "MKL" not in runtime.describe(torch.device("cpu"))  # torch for ARM does not use MKL

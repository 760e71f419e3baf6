"""The same bits on Intel and AMD CPUs, checked on one machine by emulating the others.

`qemu-x86_64 -cpu MODEL` shows the pipeline's process another CPU's CPUID, vendor included, which
is what MKL chooses its matrix-product code by. `python -m mnist_pipeline.fingerprint --cpu ...`
runs a few training steps of each optimizer and `evaluate`'s forward pass natively and under
each model, side by side, and exits 1 when any fingerprint differs. `make test` checks one Intel
and one AMD model; `make test-long` six, of both vendors and several generations, at the
pipeline's two threads and the study's one (`--cpu-models long`). The runs start in the
background once real MNIST is fetched, and this test, collected last, reads them
(tests/conftest.py: `start_cpu_fingerprints`).
"""

import shutil

import pytest

from mnist_pipeline import runtime
from mnist_pipeline.fingerprint import QEMU
from tests.conftest import CPU_MODELS, X86_VENDORS

pytestmark = pytest.mark.e2e


def table(process) -> tuple[int, dict[str, str]]:
    """The exit status, and each CPU's fingerprint from the table it printed."""
    stdout, stderr = process.communicate()
    print(stderr.partition("\n")[0], stdout, sep="\n")  # what was compared: `pytest -rP` shows it
    rows = dict(line.split()[:2] for line in stdout.splitlines())
    assert rows, stderr
    return process.returncode, rows


def test_intel_and_amd_compute_the_same_bits_with_the_portable_pin_and_not_without(
    cpu_fingerprints, request
):
    if not shutil.which(QEMU):
        pytest.fail(f"{QEMU} is not installed; .ci/run installs it (apt-get install qemu-user)")
    here = runtime.cpu_info().get("vendor_id")
    if here not in X86_VENDORS:
        pytest.skip("not an x86-64 CPU of Intel or AMD: nothing to compare it with")
    other = CPU_MODELS[request.config.getoption("--cpu-models")].other_vendor(here)
    assert cpu_fingerprints
    for (kernels, threads), process in cpu_fingerprints.items():
        status, rows = table(process)
        if kernels == "portable":
            # This CPU and every model, both vendors: one fingerprint.
            assert status == 0 and len(set(rows.values())) == 1, (threads, rows)
        else:
            # The check can fail: under the old per-vendor pin, the models of the other vendor
            # agree with each other and not with this CPU.
            assert status == 1, (threads, rows)
            assert len({rows[cpu] for cpu in other}) == 1, (threads, rows)
            assert rows[other[0]] != rows["native"], (threads, rows)

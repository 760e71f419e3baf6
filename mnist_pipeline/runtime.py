"""Where the arithmetic runs, set up in one place: CPU kernels, threads, seed, device.

The same params give the same model bytes only if every floating-point sum is done the same way.
Three things decide that beyond the seed:
- the CPU kernels. PyTorch (ATen) picks code for the widest instructions the CPU has, and MKL,
  which does the matrix products, picks code by CPU *vendor* as well: on AMD it adds up in another
  order than on Intel, even when told to use AVX2 on both, and the weights differ in their last
  bits after the first step. `pin_cpu_kernels` fixes the choice. Both libraries read it once,
  when they load, so it must run before torch is imported: that is why this module imports torch
  only inside `start`. `python -m mnist_pipeline.fingerprint` shows which bits a CPU computes.
- the thread count, which splits sums differently (a param: `runtime.threads`);
- the device: a GPU computes the same model with other kernels, so other bits.
"""

import logging
import os
import platform
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from mnist_pipeline.errors import UserError

if TYPE_CHECKING:
    import torch

# What each value of `runtime.cpu_kernels` puts in the environment before torch loads.
CPU_KERNELS = {
    # The same bits on every x86-64 CPU with AVX2, Intel or AMD, with or without AVX-512: ATen's
    # AVX2 code, and MKL's conditional numerical reproducibility (CBWR) mode COMPATIBLE, the one
    # mode MKL documents as giving the same results on Intel and non-Intel CPUs. Checked under
    # emulation of both vendors (docs/reproducibility.md); it costs speed (docs/speed.md).
    "portable": {"ATEN_CPU_CAPABILITY": "avx2", "MKL_CBWR": "COMPATIBLE"},
    # The AVX2 code of both libraries, without CBWR: faster, and the same bits only among CPUs
    # of one vendor. MKL_ENABLE_INSTRUCTIONS caps MKL at AVX2 on Intel; on AMD, MKL takes its own
    # path whatever it is told, so Intel and AMD CPUs write other bits from the first product.
    "avx2": {"ATEN_CPU_CAPABILITY": "avx2", "MKL_ENABLE_INSTRUCTIONS": "AVX2"},
    # Whatever each library picks for this CPU: the same bytes only on the same kind of CPU.
    "native": {},
}
PIN_VARIABLES = {name for pin in CPU_KERNELS.values() for name in pin}
X86_64 = ("x86_64", "amd64")
log = logging.getLogger(__name__)


def pin_cpu_kernels(kernels: str) -> None:
    """Set the environment that makes torch and MKL use `kernels` (a key of CPU_KERNELS)."""
    if kernels != "native":
        if platform.machine().lower() not in X86_64:
            log.warning(
                f"runtime.cpu_kernels: '{kernels}' is x86-64 code; this {platform.machine()} "
                "machine uses its own kernels (other bits than the committed models)"
            )
            return
        if not has_avx2():
            raise UserError(
                f"params.yaml: runtime.cpu_kernels: '{kernels}' needs a CPU with AVX2, and this "
                "one has none; set it to 'native' (the model bytes will differ from the "
                "committed ones)"
            )
    if "torch" in sys.modules:
        raise RuntimeError("pin_cpu_kernels() must run before torch is imported")
    for name in PIN_VARIABLES:
        os.environ.pop(name, None)
    os.environ.update(CPU_KERNELS[kernels])


def cpu_info(cpuinfo: Path = Path("/proc/cpuinfo")) -> dict[str, str]:
    """The first CPU's fields in Linux's cpuinfo ('model name', 'flags', ...); {} elsewhere."""
    try:
        lines = cpuinfo.read_text().splitlines()
    except OSError:
        return {}
    fields = {}
    for key, _, value in (line.partition(":") for line in lines):
        fields.setdefault(key.strip(), value.strip())
    return fields


def has_avx2(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """Whether the CPU has AVX2; True where Linux's cpuinfo is not there to ask (macOS)."""
    flags = cpu_info(cpuinfo).get("flags")
    return flags is None or "avx2" in flags.split()


def machine_name() -> str:
    """The CPU and its widest instructions, for the header of a benchmark: every speed depends
    on them."""
    info = cpu_info()
    flags = info.get("flags", "").split()
    isa = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "no AVX2"
    return f"{info.get('model name') or platform.processor()} ({isa}), {os.cpu_count()} cores"


def start(threads: int, device: str, seed: int | None = None) -> "torch.device":
    """Threads, deterministic algorithms, the seed (if the stage draws random numbers); returns
    the torch.device for `device`: 'cpu', 'cuda', or 'auto' (CUDA when present)."""
    import torch

    # cuBLAS needs this set before its first call to be deterministic.
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(threads)
    if seed is not None:
        torch.manual_seed(seed)
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise UserError(
            "params.yaml: runtime.device: 'cuda' asked for, but torch sees no CUDA device"
        )
    return torch.device(device)


def describe(device: "torch.device") -> str:
    """The device, and on the CPU the kernels in use as torch reports them from inside this
    process: 'cpu (ATen AVX2, MKL COMPATIBLE)'. MKL's part is what the environment asked of it:
    its reproducibility mode if one is set, else its instruction cap, else 'native'."""
    import torch

    if device.type != "cpu":
        return str(device)
    aten = f"ATen {torch.backends.cpu.get_cpu_capability()}"
    if platform.machine().lower() not in X86_64:  # torch for ARM does its products without MKL
        return f"cpu ({aten})"
    mkl = os.environ.get("MKL_CBWR") or os.environ.get("MKL_ENABLE_INSTRUCTIONS", "native")
    return f"cpu ({aten}, MKL {mkl})"

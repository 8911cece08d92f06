"""The arithmetic the networks train in: ``train.precision``, with ``auto`` resolved for this machine.

Without TensorFlow (the stages resolve it before handing out their trainings).
"""
from __future__ import annotations

import logging
from pathlib import Path

from emoser.compute.backend import visible_gpus

log = logging.getLogger(__name__)


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> set[str]:
    """The instruction-set flags this CPU reports (Linux's /proc/cpuinfo; none where it cannot be read)."""
    try:
        text = cpuinfo.read_text()
    except OSError:
        return set()
    return next((set(line.partition(":")[2].split()) for line in text.splitlines() if line.startswith("flags")), set())


def training_precision(precision: str, gpus: list[str] | None = None, flags: set[str] | None = None) -> str:
    """What ``train.precision`` means on this machine: ``float32`` or ``bfloat16`` as set; ``auto`` (the
    default) is ``bfloat16`` where the networks train on a CPU with AMX (``amx_bf16``: Intel Xeons from
    Sapphire Rapids on; there the CNN trains ~1.6x faster per epoch, and the review of a bfloat16 rebuild
    against float32 was within noise on every row: docs/benchmark.md), else ``float32``: on GPUs and on
    CPUs with only ``avx512_bf16`` (some AMD EPYCs) bfloat16's speed was not measured here, and where the
    CPU has neither, oneDNN would emulate it slowly. Resolved once, by the stage that hands out the
    trainings (not per worker), so every fold of one run computes alike; the stage records the result."""
    if precision != "auto":
        return precision
    gpus = visible_gpus() if gpus is None else gpus
    flags = cpu_flags() if flags is None else flags
    resolved = "bfloat16" if not gpus and "amx_bf16" in flags else "float32"
    log.info("train.precision auto: the networks compute in %s (%s)", resolved,
             "GPUs" if gpus else "this CPU has AMX" if resolved == "bfloat16" else "this CPU has no AMX")
    return resolved

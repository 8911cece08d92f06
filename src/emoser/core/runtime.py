"""Everything emoser does to the process on import, in one place, and what every entry point shares.

Import-time side effects (all of them; no other module has any):

- ``TF_CPP_MIN_LOG_LEVEL=2``: TensorFlow's C++ info logs mean nothing to users. oneDNN stays on
  (TensorFlow's default on x86: the report's CNN trains ~2x and the CNN-LSTM ~10x faster than with
  Eigen here); its start-up notice is dropped by ``native_stderr_silenced`` where TensorFlow is
  imported (``emoser.models.networks.architectures``).
- ``MLFLOW_DISABLE_TELEMETRY=true``: no phoning home from MLflow.
- ``MPLBACKEND=Agg``: figures are files; no display is needed or wanted.
- glibc ``mallopt``: keep freed memory (see ``_keep_freed_memory``).
- ``UMASK``: read once (``os.umask`` can only be read by setting it), for ``emoser.core.files``.

Each is a default: a variable the user set wins.
"""
from __future__ import annotations

import contextlib
import functools
import logging
import os
import sys
import warnings
from collections.abc import Callable, Iterator

from emoser.core.errors import EmoserError

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("MPLBACKEND", "Agg")

log = logging.getLogger("emoser")


def _keep_freed_memory() -> None:
    """Stop glibc from returning large freed blocks to the OS after every call.

    noisereduce and librosa allocate and free tens of MB per clip; with glibc's default
    thresholds each round trip is an mmap/munmap plus page faults, which tripled the time of
    noise reduction (38 -> 13 ms per clip measured here, mostly system time).
    """
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc (macOS, musl): nothing to tune
        return
    m_trim_threshold, m_mmap_threshold = -1, -3
    libc.mallopt(m_mmap_threshold, 256 * 2**20)
    libc.mallopt(m_trim_threshold, 512 * 2**20)


_keep_freed_memory()
UMASK = os.umask(0)
os.umask(UMASK)


@contextlib.contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """Discard what native code writes to file descriptor 2 during the block.

    TensorFlow's absl logging prints start-up notices (oneDNN) straight to fd 2 while Keras and
    TensorFlow are imported, before any log level applies. Python exceptions still surface: they
    are printed after the block, once fd 2 is back.
    """
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def setup_logging(level: int = logging.INFO) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(name)s %(levelname)s %(message)s", datefmt="%H:%M:%S")
    for noisy in ("tensorflow", "absl", "h5py", "numba", "matplotlib", "alembic", "mlflow"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # Cross-validation predicts with a new network per fold, so TensorFlow traces a new predict
    # function each time and warns of "retracing": expected here, not a problem to report.
    logging.getLogger("tensorflow").addFilter(
        lambda record: "triggered tf.function retracing" not in record.getMessage())
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=FutureWarning)
    # Keras' fit() defaults to shuffle=True and then warns that a tf.data input ignores it;
    # ours is shuffled in the pipeline (training.batches), so the warning says nothing.
    warnings.filterwarnings("ignore", message=r"`shuffle=True` was passed", category=UserWarning)


def progress_enabled() -> bool:
    """Keras's per-epoch lines only on a terminal, so logs in CI and DVC stay readable (tqdm's bars
    decide the same themselves: ``tqdm(disable=None)``)."""
    return sys.stderr.isatty()


def command_name(fn: Callable) -> str:
    """The command a main() belongs to: its module's last name, also when run as ``python -m``."""
    module = fn.__module__
    if module == "__main__":
        spec = getattr(sys.modules["__main__"], "__spec__", None)
        module = spec.name if spec is not None else module
    return module.rsplit(".", 1)[-1]


def entry_point(fn: Callable[[list[str] | None], None]) -> Callable[..., None]:
    """Wrap a command's main(): user errors become one line on stderr and exit code 2."""

    @functools.wraps(fn)
    def main(argv: list[str] | None = None) -> None:
        setup_logging()
        try:
            fn(argv)
        except EmoserError as exc:
            print(f"emoser {command_name(fn)}: error: {exc}", file=sys.stderr)
            sys.exit(2)
        except FileNotFoundError as exc:   # an input an earlier stage makes is not there (yet)
            missing = exc.filename or str(exc)
            print(f"emoser {command_name(fn)}: error: {missing} is missing; `dvc repro` makes a stage's inputs "
                  "before running it (or `dvc pull` fetches them)", file=sys.stderr)
            sys.exit(2)

    return main

"""What every stage entry point shares: quiet libraries, one logging setup, clear errors."""
from __future__ import annotations

import contextlib
import functools
import logging
import os
import sys
import warnings

# TensorFlow reads this at import time; its C++ info logs mean nothing to users. oneDNN stays on
# (TensorFlow's default on x86): it trains the report's CNN about 2x and the CNN-LSTM about 10x faster
# than Eigen here; its start-up notice is silenced where TensorFlow is imported (emoser.models).
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

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


@contextlib.contextmanager
def native_stderr_silenced():
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


class EmoserError(Exception):
    """A problem with the user's input: reported as one clear line, no traceback."""


def setup_logging(level: int = logging.INFO) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(name)s %(levelname)s %(message)s", datefmt="%H:%M:%S")
    for noisy in ("tensorflow", "absl", "h5py", "numba", "matplotlib", "alembic", "mlflow"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # Cross-validation predicts with a new network per fold, so TensorFlow traces a new predict
    # function each time and warns of "retracing": expected here, not a problem to report.
    logging.getLogger("tensorflow").addFilter(lambda record: "triggered tf.function retracing" not in record.getMessage())
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=FutureWarning)
    # Keras' fit() defaults to shuffle=True and then warns that a tf.data input ignores it;
    # ours is shuffled in the pipeline (train.batches), so the warning says nothing.
    warnings.filterwarnings("ignore", message=r"`shuffle=True` was passed", category=UserWarning)


def progress_enabled() -> bool:
    """Progress bars only on a terminal, so logs in CI and DVC stay readable."""
    return sys.stderr.isatty()


def stage(fn):
    """Wrap a stage's main(): user errors become one line on stderr and exit code 2."""

    @functools.wraps(fn)
    def main(argv=None):
        setup_logging()
        try:
            fn(argv)
        except EmoserError as exc:
            print(f"emoser {fn.__module__.rsplit('.', 1)[-1]}: error: {exc}", file=sys.stderr)
            sys.exit(2)

    return main

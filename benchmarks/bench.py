"""Speed and memory of the pipeline's hot paths, for the current params.yaml.

Prints clips/s for augment and for features (ours, and a plain serial reference of the
report's augment-and-feature code on the same clips, with the features checked to agree),
seconds per training epoch per architecture (ours vs a straightforward `model.fit` of the
same network: numpy arrays, one batch per step, the CNN-LSTM's chunks through TimeDistributed),
predict latency on one 2-s clip (the shipped network, and our model where models/ours exists),
the served model's figures where models/served exists (one file from the shell, a batch's
files/s after start-up, `mlflow models serve`'s latency per POST),
and peak RSS; with ``--scale N``, augment and features on N x the utterances (features streamed
to disk as the stage does) and one CNN epoch over all those clips streamed from that file, with
the peak RSS after each (memory should not grow with N). A measurement, not a test: machines are
noisy, so read the ratios, which come from one run. ``--write`` updates metrics/bench.json (the
machine, and the sections this run measured): commit it when a figure moves, so that
`git log -p metrics/bench.json` is the project's performance history. It is not a DVC metric.

Needs `dvc repro` to have run up to `train` (it reads data/raw, data/features, models/model).

    python benchmarks/bench.py                      # 60 utterances
    python benchmarks/bench.py --utterances 535 --write   # the whole corpus -> metrics/bench.json
    python benchmarks/bench.py --utterances 4 --quick     # every path once or thrice (the e2e test's smoke check)
    python benchmarks/bench.py --utterances 100 --scale 10 --write   # 10x the clips: time and memory
    python benchmarks/bench.py --repro              # also: each stage of the README's main command
                                                    # (`dvc exp run -S corpora.NAME.source=...`) in a fresh
                                                    # clone (empty cache), then a no-op `dvc repro` there
    python benchmarks/bench.py --only-repro --write --set corpora.emodb.source=../shared/emodb ...  # just that
    python benchmarks/bench.py --noop --write       # only a no-op `dvc repro` here (median of 3; the
                                                    # workspace must be up to date: `dvc status` clean)
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import librosa  # noqa: E402
import noisereduce  # noqa: E402
import numpy as np
import pandas as pd

from emoser.audio.augmentation import apply_copy, augment_corpus, plan_copies
from emoser.audio.io import load_audio
from emoser.core import paths
from emoser.corpora.emodb import EMOTIONS
from emoser.features.dataset import FeatureStore, Subset, load_subsets, write_features
from emoser.features.frames import extract, extract_each, fit_frames
from emoser.features.normalisation import normalise
from emoser.models.networks.architectures import (  # TF and Keras, start-up notices silenced
    Bundle,
    build_cnn_lstm_time_distributed,
    build_model,
    compile_model,
    keras,
    precision_policy,
    tf,
)
from emoser.models.networks.precision import training_precision
from emoser.models.networks.training import batches
from emoser.params.file import load_all as load_params
from emoser.params.networks import ARCHS
from emoser.serving.served import ARRAYS
from emoser.serving.served import FOLDER as SERVED


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reference_features(files: list[Path], utterances: list[str], params) -> dict[str, np.ndarray]:
    """The report's way, serially: per clip load, augment, denoise, MFCC and energy, in float64."""
    out = {}
    sr = params.audio.sample_rate
    f = params.features
    for path, utterance in zip(files, utterances):
        signal = librosa.load(path, sr=sr)[0].astype(np.float64)
        for copy in plan_copies(utterance, params.augment):
            clip = apply_copy(signal, sr, copy)
            clean = noisereduce.reduce_noise(y=clip, sr=sr)
            mfcc = librosa.feature.mfcc(y=clean, sr=sr, n_mfcc=f.n_mfcc, n_fft=f.n_fft, hop_length=f.hop_length)
            rms = librosa.feature.rms(y=clean, frame_length=f.n_fft, hop_length=f.hop_length)
            out[copy.clip] = fit_frames(np.vstack([mfcc, np.log(rms**2 + 1e-10)]), f.frames)[0]
    return out


def workers_peak_rss_mb() -> float:
    """Largest peak RSS (VmHWM) of this process's live child processes, e.g. joblib's workers (Linux)."""
    peaks = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":", 1) for line in status.read_text().splitlines() if ":" in line)
        except OSError:
            continue
        if int(fields.get("PPid", "0").strip() or 0) == os.getpid() and "VmHWM" in fields:
            peaks.append(int(fields["VmHWM"].split()[0]) / 1024)
    return max(peaks, default=0.0)


def ours(manifest: pd.DataFrame, params, scale: int = 1) -> tuple[dict, dict[str, np.ndarray]]:
    """Augment and features as the stages run them (features streamed to a features folder), then one
    training epoch of the CNN streamed from that folder over every clip, on one corpus of ``scale`` x the
    utterances (each replica named apart, so its random amounts differ). Returns the figures (seconds,
    clips/s, peak RSS after each step) and the original clips' features."""
    corpus = pd.concat([manifest.assign(utterance=manifest["utterance"] + ("" if k == 0 else f"~{k}"))
                        for k in range(scale)], ignore_index=True)
    f = params.features
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        raw = paths.corpus_data(params.roles.networks).raw
        clips = augment_corpus(corpus, raw / "wav", Path(tmp), params.audio.sample_rate, params.augment)
        augment_s = time.perf_counter() - started
        started = time.perf_counter()
        write_features(Path(tmp) / "features", clips["clip"].to_numpy(dtype=str),
                       extract_each([Path(tmp) / "wav" / f"{c}.wav" for c in clips["clip"]],
                                    params.audio.sample_rate, f), (f.n_mfcc + 1, f.frames))
        features_s = time.perf_counter() - started
        rss_features = peak_rss_mb()
        store = FeatureStore(Path(tmp) / "features")
        originals = set(manifest["utterance"])
        wanted = [i for i, c in enumerate(store.clips) if c in originals]
        original_features = dict(zip(store.clips[wanted], store.rows(np.array(wanted))))
        everything = Subset(clips.reset_index(drop=True), store, np.arange(len(store)))
        keras.utils.set_random_seed(params.train.seed)
        net = build_model("cnn", "cce", f.n_mfcc + 1, f.frames, params.architectures, params.train.learning_rate, 7)
        started = time.perf_counter()
        net.fit(batches(everything, f.normalisation, None, params.train.batch_size, 7, shuffle_seed=0), epochs=1,
                verbose=0, shuffle=False)
        epoch_s = time.perf_counter() - started
    n = len(clips)
    figures = {"clips": n, "augment_s": augment_s, "augment_clips_per_s": n / augment_s,
               "features_s": features_s, "features_clips_per_s": n / features_s,
               "features_file_mb": n * (f.n_mfcc + 1) * f.frames * 4 / 2**20,
               "peak_rss_mb_after_features": rss_features, "workers_peak_rss_mb": workers_peak_rss_mb(),
               "cnn_epoch_all_clips_s": epoch_s, "peak_rss_mb_after_epoch": peak_rss_mb()}
    return figures, original_features


def machine() -> dict:
    """What the figures were measured on."""
    def first(path: str, key: str) -> str:
        try:
            lines = Path(path).read_text().splitlines()
        except OSError:
            return "unknown"
        return next((line.split(":", 1)[1].strip() for line in lines if line.startswith(key)), "unknown")
    gpus = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"], capture_output=True,
                          text=True).stdout.split("\n") if shutil.which("nvidia-smi") else []
    return {"cpu": first("/proc/cpuinfo", "model name"), "cores": os.cpu_count(),
            "memory_gb": round(int(first("/proc/meminfo", "MemTotal").split()[0]) / 2**20, 1)
            if first("/proc/meminfo", "MemTotal") != "unknown" else None,
            "gpus": [g.strip() for g in gpus if g.strip()], "python": platform.python_version(),
            "tensorflow": tf.__version__, "matmul_gflops": round(matmul_gflops(), 1)}


def straightforward_model(arch: str, params, n_features: int, n_frames: int) -> keras.Model:
    """The report's network as it would plainly be written: TimeDistributed chunks, one batch per step."""
    if arch == "cnn_lstm":
        net = build_cnn_lstm_time_distributed(n_features, n_frames, len(EMOTIONS), params.architectures.cnn_lstm)
    else:
        net = build_model(arch, "cce", n_features, n_frames, params.architectures, params.train.learning_rate, 7)
    return compile_model(net, "cce", params.train.learning_rate, steps_per_execution=1)


def epoch_seconds(arch: str, params, train: Subset, ours: bool) -> tuple[float, keras.Model]:
    """Seconds of one training epoch, after a first one that includes tracing: ours streams its batches
    from the features folder (emoser.models.networks.training.batches), in ``train.precision``; the
    straightforward run has numpy arrays in memory, in float32."""
    keras.utils.set_random_seed(params.train.seed)
    n_features, n_frames = train.store.shape[1:]
    mode = params.features.normalisation
    if ours:    # in the arithmetic the pipeline trains in (train.precision, resolved for this machine)
        with precision_policy(training_precision(params.train.precision)):
            net = build_model(arch, "cce", n_features, n_frames, params.architectures, params.train.learning_rate, 7)
    else:
        net = straightforward_model(arch, params, n_features, n_frames)
        x = normalise(train.features, train.n_frames, mode)
        y = keras.utils.to_categorical(train.labels, len(EMOTIONS))
    times = []
    for _ in range(2):
        started = time.perf_counter()
        if ours:
            net.fit(batches(train, mode, None, params.train.batch_size, 7, shuffle_seed=0), epochs=1, verbose=0,
                    shuffle=False)   # batches() shuffles
        else:
            net.fit(x, y, batch_size=params.train.batch_size, epochs=1, verbose=0, shuffle=True)
        times.append(time.perf_counter() - started)
    return times[-1], net


def forward_gflop(net: keras.Model) -> float:
    """Multiply-adds of the convolutions, dense layers and LSTM for one clip, as GFLOP (2 per multiply-add)."""
    flops = 0
    for layer in net.layers:
        inner = getattr(layer, "layer", layer)        # TimeDistributed wraps the layer it repeats
        if isinstance(inner, (keras.layers.Conv2D, keras.layers.Conv3D, keras.layers.Dense)):
            kernel = inner.kernel.shape             # (*window, inputs, outputs)
            outputs = int(np.prod(layer.output.shape[1:-1]))   # positions the kernel is applied at
            flops += 2 * outputs * int(np.prod(kernel))
        elif isinstance(inner, keras.layers.LSTM):           # per step: input and recurrent kernels
            steps = layer.input.shape[1]
            flops += 2 * steps * int(np.prod(inner.cell.kernel.shape) + np.prod(inner.cell.recurrent_kernel.shape))
    return flops / 1e9


def matmul_gflops(n: int = 2048, repeats: int = 10) -> float:
    """This machine's float32 throughput on one large matrix product (TensorFlow, all cores)."""
    a = tf.random.normal((n, n))
    tf.linalg.matmul(a, a).numpy()
    started = time.perf_counter()
    for _ in range(repeats):
        tf.linalg.matmul(a, a).numpy()
    return 2 * n**3 * repeats / (time.perf_counter() - started) / 1e9


def repro_seconds(repo: Path, sets: list[str] = ()) -> tuple[dict[str, float], float]:
    """Wall seconds of each stage of `dvc repro` in ``repo`` (with ``sets``: `dvc exp run -S SET ...`,
    as the README's main command runs), and of a second, no-op `dvc repro`."""
    stages: dict[str, float] = {}
    command = ["dvc", "exp", "run", *(a for s in sets for a in ("-S", s))] if sets else ["dvc", "repro"]
    current, started = None, time.perf_counter()
    with subprocess.Popen(command, cwd=repo, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as process:
        for line in process.stdout:     # DVC announces each stage as it starts
            if match := re.match(r"Running stage '(.+)':", line):
                now = time.perf_counter()
                if current:
                    stages[current] = now - started
                    print(f"{current}: {stages[current]:.1f} s", flush=True)
                current, started = match.group(1).rpartition("dvc.yaml:")[2], now   # pipelines/sources/dvc.yaml:sources
    if current:
        stages[current] = time.perf_counter() - started
    if process.returncode:
        raise SystemExit(f"{' '.join(command)} failed in {repo} (exit {process.returncode})")
    return stages, _repro_once(repo)


def _repro_once(repo: Path) -> float:
    """Wall seconds of one `dvc repro` in ``repo`` (a no-op where it is up to date)."""
    started = time.perf_counter()
    subprocess.run(["dvc", "repro"], cwd=repo, check=True, capture_output=True)
    return time.perf_counter() - started


def noop_seconds(repo: Path, runs: int = 3) -> dict:
    """Wall seconds of a no-op `dvc repro` in ``repo`` (its median of ``runs``); refuses to time a
    workspace that has something to run."""
    status = subprocess.run(["dvc", "status", "--json"], cwd=repo, capture_output=True, text=True, check=True)
    if json.loads(status.stdout or "{}"):
        raise SystemExit(f"bench --noop: `dvc status` in {repo} is not clean; run `dvc repro` first")
    seconds = [_repro_once(repo) for _ in range(runs)]
    figures = {"median_s": float(np.median(seconds)), "runs_s": [round(s, 2) for s in seconds]}
    print(f"no-op dvc repro in {repo}: {figures['median_s']:.2f} s median of {runs} ({figures['runs_s']})", flush=True)
    return figures


def fresh_clone(into: Path) -> Path:
    """This repository's HEAD, cloned, with no DVC cache."""
    repo = into / "repo"
    subprocess.run(["git", "clone", "-q", str(Path.cwd()), str(repo)], check=True)
    return repo


def source_sets(sets: list[str]) -> list[str]:
    """The README main command's ``-S`` values: ``sets`` (a value naming a path here made absolute, so
    that it holds in the clone); none given: each corpus whose source in this params.yaml is a local copy."""
    if not sets:
        sets = [f"corpora.{name}.source={c.source}" for name, c in load_params().corpora.items()
                if "://" not in c.source and Path(c.source).exists()]
    out = []
    for item in sets:
        key, _, value = item.partition("=")
        out.append(f"{key}={Path(value).resolve()}" if value and Path(value).exists() else item)
    return out


# Seconds of each of 20 predictions on one file by our model (argv: model folder, wav).
OURS_PREDICT_S = """
import sys, time
from pathlib import Path
from emoser.models.classical.fusion import FusionModel
from emoser.serving.predict import OursPredictor, read_recording
predictor = OursPredictor(FusionModel.load(Path(sys.argv[1])))
for _ in range(int(sys.argv[3])):
    started = time.perf_counter()
    predictor.predict_signal(*read_recording(Path(sys.argv[2])), Path(sys.argv[2]))
    print(time.perf_counter() - started)
"""


SERVE_PYFUNC = """
import sys
import mlflow
from emoser.serving import mlflow_model
mlflow.pyfunc.save_model(sys.argv[2], **mlflow_model.model_options(sys.argv[1]), pip_requirements=[])
"""


def shell_seconds(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, capture_output=True, check=True)
    return time.perf_counter() - started


def served_figures(folder: Path, wavs: list[Path], repeats: int = 22) -> dict:
    """The served model (emoser predict's default): one file from the shell, a batch's files/s after
    start-up, and the median latency of `mlflow models serve` per 2-s clip over HTTP."""
    import base64
    import socket
    import urllib.request

    cli = [sys.executable, "-m", "emoser.serving.predict", "--model", str(folder), "--csv"]
    one = float(np.median([shell_seconds(cli + [str(wavs[0])]) for _ in range(max(1, repeats // 7))]))
    batch = shell_seconds(cli + [str(w) for w in wavs])
    figures = {"predict_cli_one_file_s": one, "predict_cli_files_per_s": (len(wavs) - 1) / max(batch - one, 1e-9),
               "predict_cli_batch_files": len(wavs)}
    print(f"emoser predict, one file from the shell (served model): {one:.2f} s wall", flush=True)
    print(f"emoser predict, {len(wavs)} files: {figures['predict_cli_files_per_s']:.1f} files/s after start-up "
          f"({batch:.1f} s in all)", flush=True)
    with tempfile.TemporaryDirectory() as tmp, socket.socket() as probe:
        subprocess.run([sys.executable, "-c", SERVE_PYFUNC, str(folder), f"{tmp}/pyfunc"], check=True,
                       capture_output=True)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        probe.close()
        started = time.perf_counter()
        server = subprocess.Popen([sys.executable, "-m", "mlflow", "models", "serve", "-m", f"{tmp}/pyfunc",
                                   "--env-manager", "local", "-h", "127.0.0.1", "-p", str(port)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            while True:
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=5).close()
                    break
                except OSError:
                    if server.poll() is not None or time.perf_counter() - started > 300:
                        raise RuntimeError("mlflow models serve did not start") from None
                    time.sleep(0.2)
            figures["serve_start_s"] = time.perf_counter() - started
            body = json.dumps({"dataframe_records": [{"name": wavs[0].name,
                                                      "audio": base64.b64encode(wavs[0].read_bytes()).decode()}]})
            latencies = []
            for _ in range(repeats):
                request = urllib.request.Request(f"http://127.0.0.1:{port}/invocations", data=body.encode(),
                                                 headers={"Content-Type": "application/json"})
                t = time.perf_counter()
                urllib.request.urlopen(request, timeout=120).read()
                latencies.append(time.perf_counter() - t)
        finally:
            server.terminate()
            server.wait(timeout=30)
    figures["serve_ms"] = warm_median_ms(latencies)
    print(f"mlflow models serve: up in {figures['serve_start_s']:.1f} s; one 2-s clip per POST: "
          f"{figures['serve_ms']:.0f} ms median", flush=True)
    return figures


SERVED_CLIP = """
import json, sys, time
import numpy as np
from pathlib import Path
from emoser.audio.io import read
from emoser.audio.speech import voiced_seconds
from emoser.serving.served import ServedModel
model = ServedModel(Path(sys.argv[1]))
signal, rate = read(Path(sys.argv[2]))
def ms(run, repeats=int(sys.argv[3])):
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return 1000 * float(np.median(times[2:]))
figures = {"served_predict_ms": ms(lambda: model.predict_signal(signal, rate)),
           "speech_vad_ms": ms(lambda: voiced_seconds(signal, rate)),
           "speech_no_speech_ms": ms(lambda: model.no_speech(signal, rate))}
for view in model.weights:
    figures[f"served_view_{view}_ms"] = ms(lambda view=view: model.views[view].features(signal, rate))
print(json.dumps(figures))
"""


def served_in_process(folder: Path, wav: Path, repeats: int = 12) -> dict:
    """One 2-s clip in one process (the budget: 300 ms): the served model's prediction, each view's
    features, and the two speech checks (voice activity, Whisper's no-speech probability). In a
    process of its own: openSMILE cannot start after TensorFlow."""
    done = subprocess.run([sys.executable, "-c", SERVED_CLIP, str(folder), str(wav), str(repeats)], capture_output=True,
                          text=True, check=True)
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    figures["served_clip_total_ms"] = (figures["served_predict_ms"] + figures["speech_vad_ms"]
                                       + figures["speech_no_speech_ms"])
    print("one 2-s clip in process: " + ", ".join(f"{k} {v:.0f}" for k, v in figures.items()), flush=True)
    return figures


def warm_median_ms(latencies: list[float]) -> float:
    """Median in milliseconds, the first two calls (warm-up) left out."""
    return 1000 * float(np.median(latencies[2:]))


def median_ms(run, repeats: int = 20) -> float:
    """Median wall milliseconds of ``run()``, warm-up left out."""
    latencies = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        latencies.append(time.perf_counter() - started)
    return warm_median_ms(latencies)


def rebuild(repo: Path, sets: list[str] = ()) -> dict:
    """Each stage's wall seconds of the README's main command (`dvc exp run -S ...`; without ``sets``:
    `dvc repro`) from an empty cache in ``repo``, a no-op rerun, and the epochs every training ran (what
    the time went on)."""
    stages, noop = repro_seconds(repo, sets)
    command = " ".join(["dvc", "exp", "run", *(f"-S {s}" for s in sets)] if sets else ["dvc", "repro"])
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=repo, capture_output=True, text=True)
    figures: dict = {"command": command, "commit": commit.stdout.strip(),
                     "stage_s": {k: round(v, 1) for k, v in stages.items()}, "total_s": round(sum(stages.values()), 1),
                     "noop_s": round(noop, 2)}
    trained = repo / paths.corpus_data(load_params(repo / "params.yaml").roles.networks).cv_predictions
    if trained.is_file():
        folds = pd.read_csv(trained, dtype=str).groupby(["model", "protocol", "fold"])["epochs_run"].first()
        figures["cv_epochs"] = {f"{m} {p}": int(e.astype(int).sum()) for (m, p), e in folds.groupby(level=[0, 1])}
    histories = sorted((repo / paths.PLOTS).glob("*/*/history.csv"))
    figures["holdout_epochs"] = {h.parent.name: len(pd.read_csv(h)) for h in histories}
    for stage, seconds in stages.items():
        print(f"{command} stage {stage}: {seconds:.1f} s")
    print(f"{command} from an empty cache: {figures['total_s']:.0f} s; no-op dvc repro: {noop:.1f} s", flush=True)
    print(f"epochs: cv {figures.get('cv_epochs')}, hold-out {figures['holdout_epochs']}", flush=True)
    return figures


def timed_rebuild(into: Path | None, sets: list[str] = ()) -> dict:
    sets = source_sets(list(sets))
    if into is not None:
        into.mkdir(parents=True, exist_ok=True)
        return rebuild(fresh_clone(into), sets)
    with tempfile.TemporaryDirectory() as tmp:
        return rebuild(fresh_clone(Path(tmp)), sets)


def _rounded(value):
    """Four significant digits: enough for a benchmark, and a 9e-05 difference stays 9e-05."""
    return float(f"{value:.4g}") if isinstance(value, float) else value


def write(results: dict, path: Path) -> None:
    """Update ``path`` (metrics/bench.json) with the sections this run measured; keep the others."""
    kept = json.loads(path.read_text()) if path.is_file() else {}
    for key, value in results.items():
        if isinstance(value, dict) and isinstance(kept.get(key), dict) and key == "scale":
            kept[key].update(value)
        else:
            kept[key] = value
    path.write_text(json.dumps(kept, indent=2) + "\n")


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--utterances", type=int, default=60, help="how many utterances (of 535) to process")
    parser.add_argument("--scale", type=int, default=1, help="replicate them N times with distinct seeds")
    parser.add_argument("--write", action="store_true", help="update metrics/bench.json with what this run measured")
    parser.add_argument("--repro", action="store_true",
                        help="time every stage of dvc repro from an empty cache in a fresh clone, and a no-op repro")
    parser.add_argument("--only-repro", action="store_true", help="--repro, and nothing else")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="--repro: the README main command's -S (repeat; a path is made absolute; default: "
                             "each corpus whose source here is a local copy)")
    parser.add_argument("--noop", action="store_true",
                        help="only a no-op `dvc repro` in this workspace, median of 3 (it must be up to date)")
    parser.add_argument("--clone-into", type=Path, help="make the fresh clone here and keep it (default: a temp "
                                                        "folder, removed), e.g. to take its dvc.lock and cache")
    parser.add_argument("--quick", action="store_true", help="3 timed calls where a figure takes the median of "
                                                             "12-22: every path run, figures rough (a smoke check)")
    args = parser.parse_args(argv)
    quick = 3 if args.quick else 0
    params = load_params()
    corpus = paths.corpus_data(params.roles.networks)   # the networks' corpus: what the hot paths run on
    results: dict = {"machine": machine()}
    print(f"machine: {results['machine']}", flush=True)
    if args.noop:
        results["noop"] = {k: _rounded(v) for k, v in noop_seconds(Path.cwd()).items()}
        if args.write:
            write(results, paths.METRICS / "bench.json")
        return results
    if args.only_repro:
        results["rebuild"] = timed_rebuild(args.clone_into, args.set)
        if args.write:
            write(results, paths.METRICS / "bench.json")
        return results

    manifest = pd.read_csv(corpus.manifest, dtype={"speaker": str}).sample(
        n=min(args.utterances, 535), random_state=0).sort_values("utterance").reset_index(drop=True)
    denoise = "each recording once" if params.augment.denoise else ("every clip" if params.features.denoise else "none")
    print(f"ours denoises {denoise} (augment.denoise, features.denoise)", flush=True)

    scaled, our_originals = ours(manifest, params, args.scale)
    scaled.update(utterances=len(manifest), scale=args.scale)
    results["scale"] = {f"{len(manifest)}x{args.scale}": {k: _rounded(v) for k, v in scaled.items()}}
    n_clips = scaled["clips"]
    print(f"ours: {n_clips} clips; augment {scaled['augment_s']:.1f} s ({scaled['augment_clips_per_s']:.1f} clips/s), "
          f"features {scaled['features_s']:.1f} s ({scaled['features_clips_per_s']:.1f} clips/s), streamed to a "
          f"{scaled['features_file_mb']:.0f} MB features file; peak RSS so far "
          f"{scaled['peak_rss_mb_after_features']:.0f} MB, largest worker {scaled['workers_peak_rss_mb']:.0f} MB",
          flush=True)
    print(f"one CNN epoch over all {n_clips} clips, streamed from that file: {scaled['cnn_epoch_all_clips_s']:.1f} s; "
          f"peak RSS {scaled['peak_rss_mb_after_epoch']:.0f} MB", flush=True)

    if args.scale == 1:
        hot: dict = {"utterances": len(manifest), "denoise": denoise}
        started = time.perf_counter()
        reference = reference_features([corpus.raw / "wav" / f for f in manifest["file"]],
                                       manifest["utterance"].tolist(), params)
        reference_s = time.perf_counter() - started
        # Features must agree on the original recordings (copies differ only by float precision of the writer).
        diff = max(float(np.abs(reference[c] - f).max()) for c, f in our_originals.items())
        biggest = max(float(np.abs(reference[c]).max()) for c in our_originals)
        ours_s = scaled["augment_s"] + scaled["features_s"]
        hot.update(augment_clips_per_s=scaled["augment_clips_per_s"],
                   features_clips_per_s=scaled["features_clips_per_s"], reference_s=reference_s,
                   speedup_vs_reference=reference_s / ours_s, features_max_abs_diff=diff)
        print(f"reference (serial, report's order): {reference_s:.1f} s ({len(reference) / reference_s:.1f} clips/s); "
              f"ours is {reference_s / ours_s:.2f}x; originals' features differ by at most "
              f"{diff:.2e} (values up to {biggest:.0f})", flush=True)

        train = load_subsets(corpus, ("train",))["train"]
        peak = results["machine"]["matmul_gflops"]
        # The straightforward runs first, with TensorFlow's defaults; then op determinism, as
        # emoser.models.networks.training trains (TensorFlow cannot turn it off again in the same process).
        plain = {arch: epoch_seconds(arch, params, train, ours=False)[0] for arch in ARCHS}
        tf.config.experimental.enable_op_determinism()
        for arch in ARCHS:
            fast, net = epoch_seconds(arch, params, train, ours=True)
            # forward + backward is about 3x the forward pass (the weights' and the inputs' gradients)
            rate = 3 * forward_gflop(net) * len(train) / fast
            hot[f"{arch}_epoch_s"], hot[f"{arch}_plain_fit_epoch_s"] = fast, plain[arch]
            hot[f"{arch}_gflops"] = rate
            print(f"{arch}: {fast:.2f} s/epoch (ours), {plain[arch]:.2f} s/epoch (straightforward model.fit), "
                  f"ratio {plain[arch] / fast:.2f} on {len(train)} clips; ours runs ~{rate:.0f} GFLOP/s of network "
                  f"work ({rate / peak:.0%} of a {peak:.0f} GFLOP/s matrix product here)", flush=True)

        bundle = Bundle.load(paths.MODELS / "model")
        wav = corpus.raw / "wav" / manifest["file"].iloc[0]

        def predict_network():
            features, n = extract(load_audio(wav, params.audio.sample_rate), params.audio.sample_rate, params.features)
            bundle.predict_proba(features[None], np.array([n]))

        hot["predict_ms"] = median_ms(predict_network, quick or 20)
        print(f"predict one 2-s clip (load, features, network): {hot['predict_ms']:.1f} ms median", flush=True)
        if (paths.OURS_MODEL / "ours.joblib").is_file():
            # In its own process: openSMILE cannot start after TensorFlow (emoser.features.opensmile.extractor).
            timed = subprocess.run([sys.executable, "-c", OURS_PREDICT_S, str(paths.OURS_MODEL), str(wav),
                                    str(quick or 20)],
                                   capture_output=True, text=True, check=True)
            hot["predict_ours_ms"] = warm_median_ms([float(v) for v in timed.stdout.split()])
            print(f"predict one 2-s clip with ours (load, ComParE functionals, voice encoder, both models): "
                  f"{hot['predict_ours_ms']:.1f} ms median", flush=True)
        if (SERVED / ARRAYS).is_file():
            wavs = [corpus.raw / "wav" / name for name in manifest["file"].iloc[:50]]
            hot.update(served_in_process(SERVED, wavs[0], quick or 12))
            hot.update(served_figures(SERVED, wavs, quick or 22))
        results["hot_paths"] = {k: _rounded(v) for k, v in hot.items()}

    if args.repro:
        results["rebuild"] = timed_rebuild(args.clone_into, args.set)

    print(f"peak RSS of this process: {peak_rss_mb():.0f} MB (joblib workers not included)")
    if args.write:
        write(results, paths.METRICS / "bench.json")
    return results


if __name__ == "__main__":
    sys.exit(main() and 0)

"""Speed and memory of the pipeline's hot paths, for the current params.yaml.

Prints clips/s for augment and for features (ours, and a plain serial reference of the
report's augment-and-feature code on the same clips, with the features checked to agree),
seconds per training epoch per architecture (ours vs a straightforward `model.fit` of the
same network: numpy arrays, one batch per step, the CNN-LSTM's chunks through TimeDistributed),
predict latency on one 2-s clip (the shipped network, and our model where models/ours exists),
the served model's figures where models/served exists (one file from the shell, a batch's
files/s after start-up, `mlflow models serve`'s latency per POST),
and peak RSS. A measurement, not a test: machines are noisy, so read the ratios, which come
from one run.

Needs `dvc repro` to have run up to `train` (it reads data/raw, data/features, models/model).

    python benchmarks/bench.py                      # 60 utterances
    python benchmarks/bench.py --utterances 535 --write   # the whole corpus; metrics/bench.json
    python benchmarks/bench.py --scale 3            # the corpus replicated 3x (distinct seeds)
    python benchmarks/bench.py --repro              # also: each stage of `dvc repro` in a fresh clone
                                                    # (empty cache), then a no-op `dvc repro` there
"""
from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import keras  # noqa: E402
import librosa  # noqa: E402
import noisereduce  # noqa: E402
import numpy as np
import pandas as pd
import tensorflow as tf  # noqa: E402

from emoser import paths
from emoser.audio import load_audio
from emoser.augmentation import apply_copy, augment_corpus, plan_copies
from emoser.corpus import EMOTIONS
from emoser.dataset import load_subsets
from emoser.features import extract, extract_all, fit_frames
from emoser.networks import Bundle, build_cnn_lstm_time_distributed, build_model, compile_model
from emoser.params import load_all as load_params
from emoser.served import ARRAYS
from emoser.served import FOLDER as SERVED
from emoser.training import batches
from emoser.variants import ARCHS


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


def ours(manifest: pd.DataFrame, params, scale: int = 1) -> tuple[float, float, int, dict[str, np.ndarray]]:
    """Wall seconds of augment and of features as the stages run them, on one corpus of ``scale`` x the
    utterances (each replica named apart, so its random amounts differ); returns original clips' features."""
    corpus = pd.concat([manifest.assign(utterance=manifest["utterance"] + ("" if k == 0 else f"~{k}"))
                        for k in range(scale)], ignore_index=True)
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        clips = augment_corpus(corpus, paths.RAW / "wav", Path(tmp), params.audio.sample_rate, params.augment)
        augment_s = time.perf_counter() - started
        started = time.perf_counter()
        features, _ = extract_all([Path(tmp) / "wav" / f"{c}.wav" for c in clips["clip"]], params.audio.sample_rate,
                                  params.features)
        features_s = time.perf_counter() - started
    originals = {c: features[i] for i, c in enumerate(clips["clip"]) if c in set(manifest["utterance"])}
    return augment_s, features_s, len(clips), originals


def straightforward_model(arch: str, params, n_features: int, n_frames: int) -> keras.Model:
    """The report's network as it would plainly be written: TimeDistributed chunks, one batch per step."""
    if arch == "cnn_lstm":
        net = build_cnn_lstm_time_distributed(n_features, n_frames, len(EMOTIONS), params.architectures.cnn_lstm)
    else:
        net = build_model(arch, "cce", n_features, n_frames, params.architectures, params.train.learning_rate)
    return compile_model(net, "cce", params.train.learning_rate, steps_per_execution=1)


def epoch_seconds(arch: str, params, x: np.ndarray, y: np.ndarray, ours: bool) -> tuple[float, keras.Model]:
    """Seconds of one training epoch, after a first one that includes tracing."""
    keras.utils.set_random_seed(params.train.seed)
    if ours:
        net = build_model(arch, "cce", x.shape[1], x.shape[2], params.architectures, params.train.learning_rate)
    else:
        net = straightforward_model(arch, params, x.shape[1], x.shape[2])
    times = []
    for _ in range(2):
        started = time.perf_counter()
        if ours:
            net.fit(batches(x, y, params.train.batch_size, shuffle_seed=0), epochs=1, verbose=0,
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


def repro_seconds(repo: Path) -> tuple[dict[str, float], float]:
    """Wall seconds of each stage of `dvc repro` in ``repo``, and of a second, no-op `dvc repro`."""
    stages: dict[str, float] = {}
    current, started = None, time.perf_counter()
    with subprocess.Popen(["dvc", "repro"], cwd=repo, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True) as process:
        for line in process.stdout:     # DVC announces each stage as it starts
            if match := re.match(r"Running stage '(.+)':", line):
                now = time.perf_counter()
                if current:
                    stages[current] = now - started
                current, started = match.group(1), now
    if current:
        stages[current] = time.perf_counter() - started
    if process.returncode:
        raise SystemExit(f"dvc repro failed in {repo} (exit {process.returncode})")
    started = time.perf_counter()
    subprocess.run(["dvc", "repro"], cwd=repo, check=True, capture_output=True)
    return stages, time.perf_counter() - started


def fresh_clone(into: Path) -> Path:
    """This repository's HEAD with the working tree's params.yaml, and no DVC cache."""
    repo = into / "repo"
    subprocess.run(["git", "clone", "-q", str(Path.cwd()), str(repo)], check=True)
    params = Path("params.yaml").read_text()
    source = load_params().fetch.source
    if "://" not in source and Path(source).exists():     # a local copy: keep pointing at it
        params = params.replace(f"source: {source}", f"source: {Path(source).resolve()}", 1)
    (repo / "params.yaml").write_text(params)
    return repo


# Seconds of each of 20 predictions on one file by our model (argv: model folder, wav).
OURS_PREDICT_S = """
import sys, time
from pathlib import Path
from emoser.fusion import FusionModel
from emoser.predict import OursPredictor, read_recording
predictor = OursPredictor(FusionModel.load(Path(sys.argv[1])))
for _ in range(20):
    started = time.perf_counter()
    predictor.predict_signal(*read_recording(Path(sys.argv[2])), Path(sys.argv[2]))
    print(time.perf_counter() - started)
"""


SERVE_PYFUNC = """
import sys
import mlflow
from emoser import mlflow_model
from pathlib import Path
mlflow.pyfunc.save_model(sys.argv[2], python_model=mlflow_model.__file__,
                         artifacts={mlflow_model.ARTIFACT: sys.argv[1]},
                         code_paths=[str(Path(mlflow_model.__file__).parent)], pip_requirements=[])
"""


def shell_seconds(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, capture_output=True, check=True)
    return time.perf_counter() - started


def served_figures(folder: Path, wavs: list[Path]) -> dict:
    """The served model (emoser predict's default): one file from the shell, a batch's files/s after
    start-up, and the median latency of `mlflow models serve` per 2-s clip over HTTP."""
    import base64
    import socket
    import urllib.request

    cli = [sys.executable, "-m", "emoser.predict", "--model", str(folder), "--csv"]
    one = float(np.median([shell_seconds(cli + [str(wavs[0])]) for _ in range(3)]))
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
            for _ in range(22):
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


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--utterances", type=int, default=60, help="how many utterances (of 535) to process")
    parser.add_argument("--scale", type=int, default=1, help="replicate them N times with distinct seeds")
    parser.add_argument("--write", action="store_true", help="write metrics/bench.json")
    parser.add_argument("--repro", action="store_true",
                        help="time every stage of dvc repro from an empty cache in a fresh clone, and a no-op repro")
    args = parser.parse_args(argv)
    params = load_params()
    manifest = pd.read_csv(paths.MANIFEST, dtype={"speaker": str}).sample(
        n=min(args.utterances, 535), random_state=0).sort_values("utterance").reset_index(drop=True)
    results: dict = {"utterances": len(manifest), "scale": args.scale}
    results["denoise"] = "each recording once" if params.augment.denoise else (
        "every clip" if params.features.denoise else "none")
    print(f"ours denoises {results['denoise']} (augment.denoise, features.denoise)", flush=True)

    augment_s, features_s, n_clips, our_originals = ours(manifest, params, args.scale)
    results.update(augment_clips_per_s=n_clips / augment_s, features_clips_per_s=n_clips / features_s,
                   augment_and_features_s=augment_s + features_s, clips=n_clips,
                   peak_rss_mb_augment_features=peak_rss_mb(), workers_peak_rss_mb=workers_peak_rss_mb())
    print(f"ours: {n_clips} clips; augment {augment_s:.1f} s ({n_clips / augment_s:.1f} clips/s), "
          f"features {features_s:.1f} s ({n_clips / features_s:.1f} clips/s); peak RSS so far "
          f"{results['peak_rss_mb_augment_features']:.0f} MB, largest worker "
          f"{results['workers_peak_rss_mb']:.0f} MB", flush=True)

    if args.scale == 1:
        started = time.perf_counter()
        reference = reference_features([paths.RAW / "wav" / f for f in manifest["file"]],
                                       manifest["utterance"].tolist(), params)
        reference_s = time.perf_counter() - started
        # Features must agree on the original recordings (copies differ only by float precision of the writer).
        diff = max(float(np.abs(reference[c] - f).max()) for c, f in our_originals.items())
        scale = max(float(np.abs(reference[c]).max()) for c in our_originals)
        results.update(reference_s=reference_s, speedup_vs_reference=reference_s / (augment_s + features_s),
                       features_max_abs_diff=diff, features_max_abs=scale)
        print(f"reference (serial, report's order): {reference_s:.1f} s ({len(reference) / reference_s:.1f} clips/s); "
              f"ours is {reference_s / (augment_s + features_s):.2f}x; originals' features differ by at most "
              f"{diff:.2e} (values up to {scale:.0f})", flush=True)

        subsets = load_subsets(("train",))["train"]
        x = subsets.features.astype(np.float32)
        y = keras.utils.to_categorical(subsets.labels, len(EMOTIONS))
        peak = matmul_gflops()
        results["matmul_gflops"] = peak
        # The straightforward runs first, with TensorFlow's defaults; then op determinism, as emoser.training
        # trains (TensorFlow cannot turn it off again in the same process).
        plain = {arch: epoch_seconds(arch, params, x, y, ours=False)[0] for arch in ARCHS}
        tf.config.experimental.enable_op_determinism()
        for arch in ARCHS:
            fast, net = epoch_seconds(arch, params, x, y, ours=True)
            # forward + backward is about 3x the forward pass (the weights' and the inputs' gradients)
            rate = 3 * forward_gflop(net) * len(x) / fast
            results[f"{arch}_epoch_s"], results[f"{arch}_plain_fit_epoch_s"] = fast, plain[arch]
            results[f"{arch}_gflops"] = rate
            print(f"{arch}: {fast:.2f} s/epoch (ours), {plain[arch]:.2f} s/epoch (straightforward model.fit), "
                  f"ratio {plain[arch] / fast:.2f} on {len(x)} clips; ours runs ~{rate:.0f} GFLOP/s of network "
                  f"work ({rate / peak:.0%} of a {peak:.0f} GFLOP/s matrix product here)", flush=True)

        bundle = Bundle.load(paths.MODELS / "model")
        wav = paths.RAW / "wav" / manifest["file"].iloc[0]

        def predict_network():
            features, n = extract(load_audio(wav, params.audio.sample_rate), params.audio.sample_rate, params.features)
            bundle.predict_proba(features[None], np.array([n]))

        results["predict_ms"] = median_ms(predict_network)
        print(f"predict one 2-s clip (load, features, network): {results['predict_ms']:.1f} ms median", flush=True)
        if (paths.OURS_MODEL / "ours.joblib").is_file():
            # In its own process: openSMILE cannot start after TensorFlow (emoser.opensmile_features.extractor).
            timed = subprocess.run([sys.executable, "-c", OURS_PREDICT_S, str(paths.OURS_MODEL), str(wav)],
                                   capture_output=True, text=True, check=True)
            results["predict_ours_ms"] = warm_median_ms([float(v) for v in timed.stdout.split()])
            print(f"predict one 2-s clip with ours (load, ComParE functionals, voice encoder, both models): "
                  f"{results['predict_ours_ms']:.1f} ms median", flush=True)
        if (SERVED / ARRAYS).is_file():
            wavs = [paths.RAW / "wav" / name for name in manifest["file"].iloc[:50]]
            results.update(served_figures(SERVED, wavs))

    if args.repro:
        with tempfile.TemporaryDirectory() as tmp:
            stages, noop = repro_seconds(fresh_clone(Path(tmp)))
        results.update(repro_stage_s=stages, repro_s=sum(stages.values()), noop_repro_s=noop)
        for stage, seconds in stages.items():
            print(f"dvc repro stage {stage}: {seconds:.1f} s")
        print(f"dvc repro from an empty cache: {sum(stages.values()):.0f} s; no-op dvc repro: {noop:.1f} s", flush=True)

    results["peak_rss_mb"] = peak_rss_mb()
    print(f"peak RSS of this process: {results['peak_rss_mb']:.0f} MB (joblib workers not included)")
    if args.write:
        (paths.METRICS / "bench.json").write_text(json.dumps(results, indent=2) + "\n")
    return results


if __name__ == "__main__":
    sys.exit(main() and 0)

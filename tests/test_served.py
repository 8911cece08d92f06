"""The served model (numpy only): every step equals the library training used, the model equals
models/ours, the CLI and a real `mlflow models serve` answer the same, and calibration holds."""
import base64
import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from conftest import SHARED_EMODB, TINY_WHISPER, ours_params, tone
from emoser.audio.io import resample
from emoser.audio.speech import VoiceActivity
from emoser.corpora.emodb import EMOTIONS
from emoser.models.classical.calibration import scaled
from emoser.models.classical.fusion import FusionModel
from emoser.models.classical.loco import standardise
from emoser.serving import export, served

# fixed weights: every view is served (nested ones may weight one 0, and it would not be)
PARAMS = ours_params(speaker_standardisation=(False,), ablation=False,
                     fusion={"views": ("compare", "voice", "whisper"), "step": 0.25, "inner_folds": 2,
                             "weights": {"compare": 0.25, "voice": 0.25, "whisper": 0.5}})
TEMPERATURE = 0.5
TWIN_TEMPERATURE = 2.0      # the adapted twin's own (stage fit fits each on its own held-out probabilities)


def _signals(path: Path):
    """The recording at its own rate, resampled to 44.1 and 8 kHz, its middle 0.1 s, and 5 ms."""
    signal, rate = sf.read(path, dtype="float32")
    middle = len(signal) // 2
    return [(signal, rate), (resample(signal, rate, 44100), 44100), (resample(signal, rate, 8000), 8000),
            (signal[middle:middle + rate // 10], rate), (signal[: rate // 200], rate)]


def _files(tiny):
    root, manifest, _ = tiny
    files = [root / "corpus" / "wav" / manifest["file"][i] for i in (0, 17, 40)]
    return files + sorted(SHARED_EMODB.glob("wav/03a01*.wav"))[:2]


def _in_a_fresh_process(function: str, *args) -> None:
    """Run this module's ``function(*args)`` in a new Python: openSMILE's library aborts a process
    that has imported TensorFlow first, as other tests in this run do."""
    code = (f"import sys; sys.path[:0] = [{str(Path(__file__).parent)!r}]; import test_served; "
            f"test_served.{function}(*sys.argv[1:])")
    result = subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True,
                            timeout=900)
    assert result.returncode == 0, result.stdout + result.stderr


def test_each_step_equals_the_library_training_used(tiny):
    _in_a_fresh_process("check_each_step", *_files(tiny))


def check_each_step(*files: str) -> None:
    import librosa
    import webrtcvad
    from resemblyzer.audio import wav_to_mel_spectrogram

    from emoser.features import whisper
    from emoser.features.opensmile import extractor, functionals_of
    from emoser.features.voice_encoder import layer_statistics, load_encoder, prepare
    from emoser.serving import whisper_encoder

    smile, reference = served.Smile("ComParE_2016"), extractor("ComParE_2016")
    encoder = load_encoder()
    arrays = {**served.VoiceView.pretrained_arrays({}),
              **served.WhisperView.pretrained_arrays({"params": {"whisper_layers": [2, 5]}})}
    whisper_ours, whisper_theirs = whisper_encoder.WhisperEncoder(arrays, served.WHISPER_HEADS), whisper.load_encoder()
    layers = [tuple(arrays[f"encoder.{n}_l{k}"] for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
              for k in range(served.ENCODER_LAYERS)]
    for path in map(Path, files):
        for signal, rate in _signals(path):
            np.testing.assert_array_equal(smile.functionals(signal, rate), functionals_of(reference, signal, rate))
            if len(signal) < rate // 100:
                assert np.isnan(smile.functionals(signal, rate)).all()
                continue
            np.testing.assert_array_equal(resample(signal, rate, 16000),
                                          librosa.resample(signal, orig_sr=rate, target_sr=16000))
            wav = served.encoder_input(signal, rate)
            np.testing.assert_array_equal(wav, prepare(signal, rate))
            mel = served.mel_power(wav, arrays["encoder.window"], arrays["encoder.mel_basis"])
            np.testing.assert_allclose(mel, wav_to_mel_spectrogram(wav), rtol=1e-5, atol=1e-7)
            np.testing.assert_allclose(served.lstm_statistics(mel, layers), layer_statistics(encoder, wav), atol=2e-6)
            wav16 = whisper.window(resample(signal, rate, 16000), 4.0)
            np.testing.assert_allclose(whisper_encoder.log_mel(wav16, arrays["whisper.window"],
                                                               arrays["whisper.mel_filters"]),
                                       whisper.log_mel(wav16), atol=1e-5)
            for window_s, pooling in ((4.0, "window"), (None, "recording")):
                np.testing.assert_allclose(
                    whisper_encoder.statistics(whisper_ours, signal, rate, arrays["whisper.window"],
                                               arrays["whisper.mel_filters"], window_s, [2, 5], pooling),
                    whisper.layer_statistics(whisper_theirs, signal, rate, window_s, [2, 5], pooling), atol=1e-3)
    pcm = (tone(1.0, 16000, 150, 0) * 32767).astype(np.int16)
    ours, theirs = VoiceActivity(3), webrtcvad.Vad(3)
    assert [ours.is_speech(pcm[i:i + 480], 16000) for i in range(0, 15360, 480)] == \
           [theirs.is_speech(pcm[i:i + 480].tobytes(), 16000) for i in range(0, 15360, 480)]


@pytest.fixture(scope="module")
def models(tiny, tiny_inputs, tmp_path_factory):
    """Our model fitted on the tiny corpus (models/ours) and as stage package exports it."""
    _, manifest, _ = tiny
    _, _, views = tiny_inputs
    facts = {"model": "ours", "feature_set": "ComParE_2016", "emotions": list(EMOTIONS), "window_s": 1.0,
             "recordings": len(manifest), "whisper": {k: TINY_WHISPER[k] for k in ("window_s", "pooling")},
             "params": PARAMS.model_dump(mode="json", include={"whisper_layers", "fusion"})}
    model = FusionModel.fit(views, manifest["label"].to_numpy(), manifest["speaker"].to_numpy(), PARAMS, facts)
    root = tmp_path_factory.mktemp("served")
    model.save(root / "ours")
    np.savez(root / "features.npz", **views)
    # the adapted twin, as stage fit makes it: trained on the corpus's features z-scored over its recordings
    same = {v: standardise(x) for v, x in views.items()}
    FusionModel.fit(same, manifest["label"].to_numpy(), manifest["speaker"].to_numpy(), PARAMS,
                    {**facts, "adaptation": "corpus", "temperature": {"value": TWIN_TEMPERATURE}}
                    ).save(root / "ours" / "adapted")
    twin, twin_facts = export.adapted_arrays(root / "ours" / "adapted")
    (root / "served").mkdir()
    np.savez(root / "served" / served.ARRAYS, **{**export.model_arrays(model), **export.encoder_arrays(model),
                                                 **export.speech_arrays(), **twin})
    (root / "served" / served.FACTS).write_text(json.dumps({**export.facts(model, TEMPERATURE), "adapted": twin_facts}))
    return model, root


def test_a_batch_from_one_set_up_is_answered_by_the_adapted_twin(tiny, models, tmp_path):
    """--adapt: each file's features z-scored over the batch, then the twin (as loco's +corpstd); the
    served twin is the library twin on the corpus's standardised features, calibrated; below
    --adapt-min recordings every row keeps the plain answer and says why."""
    _, root = models
    _in_a_fresh_process("check_adapted_twin", root)
    files = _files(tiny)
    plain = _predict_json("--model", root / "served", "--jobs", "1", *files)
    adapted = _predict_json("--model", root / "served", "--jobs", "2", "--adapt", "--adapt-min", "3", *files)
    assert len(adapted) == len(files) and all(r["note"].startswith("adapted to this batch") for r in adapted)
    refused = _predict_json("--model", root / "served", "--adapt", "--adapt-min", str(len(files) + 1), *files)
    assert [r["emotion"] for r in refused] == [r["emotion"] for r in plain]
    assert all(r["note"] == f"not adapted: {len(files)} recordings with speech in the batch, {len(files) + 1} "
                            "needed (--adapt-min)" for r in refused)
    assert [r["probabilities"] for r in adapted] != [r["probabilities"] for r in plain]


def check_adapted_twin(root: str) -> None:
    root_path = Path(root)
    twin = FusionModel.load(root_path / "ours" / "adapted")
    with np.load(root_path / "features.npz") as stored:
        views = {v: stored[v] for v in stored.files}
    mine = served.ServedModel(root_path / "served")
    batch = [{v: x[i:i + 1] for v, x in views.items()} for i in range(len(views["voice"]))]
    got = np.array(mine.adapted_probabilities(batch))
    expected = scaled(twin.predict_proba({v: standardise(x) for v, x in views.items()}), TWIN_TEMPERATURE)
    np.testing.assert_allclose(got, expected, atol=1e-6)
    assert mine.speech is not None and mine.adapted is not None and mine.adapted.emotions == mine.emotions


def test_a_batch_naming_its_speakers_is_standardised_per_speaker_unless_its_answers_depend_on_them(
        tiny, models, tmp_path):
    """--adapt --speakers: each speaker's files z-scored over their own, through the same twin, where the
    batch's per-batch answers do not depend on who speaks; where they do (here, a table that names each
    file's emotion as its speaker: every speaker holds one emotion), the per-batch answers and a note."""
    from emoser.serving.adaptation import SPEAKER_GUARD, speaker_dependence

    _, manifest, _ = tiny
    root = models[1]
    _in_a_fresh_process("check_speaker_twin", root, ",".join(manifest["speaker"].astype(str)))
    folder = tiny[0] / "corpus" / "wav"
    chosen = manifest[manifest["file"].str.contains("a01") & manifest["speaker"].isin(["03", "08"])]  # 2 x 7
    files = [folder / name for name in chosen["file"]]
    table = tmp_path / "speakers.csv"
    table.write_text("file,speaker\n" + "".join(f"{f},{s}\n" for f, s in zip(chosen["file"], chosen["speaker"])))
    batch = _predict_json("--model", root / "served", "--adapt", "--adapt-min", "3", *files)
    mine = _predict_json("--model", root / "served", "--adapt", "--adapt-min", "3", "--speakers", table, *files)
    dependence = speaker_dependence(chosen["speaker"].astype(str).tolist(), [r["emotion"] for r in batch])
    assert dependence <= SPEAKER_GUARD
    assert [r["note"] for r in mine] == [f"adapted to speaker {s} (7 recordings)" for s in chosen["speaker"]]
    assert [r["probabilities"] for r in mine] != [r["probabilities"] for r in batch]
    # every speaker holding one emotion of their own: the guard keeps the batch's answers
    table.write_text("file,speaker\n" + "".join(f"{f},{e}\n" for f, e in zip(chosen["file"], chosen["emotion"])))
    held = _predict_json("--model", root / "served", "--adapt", "--adapt-min", "3", "--speakers", table, *files)
    assert [(r["emotion"], r["probabilities"]) for r in held] == [(r["emotion"], r["probabilities"]) for r in batch]
    dependence = speaker_dependence(chosen["emotion"].tolist(), [r["emotion"] for r in batch])
    assert dependence > SPEAKER_GUARD
    assert all(r["note"] == "adapted to this batch (14 recordings with speech); not adapted to speakers: this batch's "
                            f"answers depend on who speaks (Cramér's V {dependence:.2f} > {SPEAKER_GUARD:.2f}), as "
                            "where each speaker holds few emotions, which per-speaker standardisation would remove"
               for r in held), held
    # a file the table does not name, a table without its columns: one line each, exit 2
    table.write_text("file,speaker\n" + f"{chosen['file'].iloc[0]},03\n")
    result = subprocess.run([sys.executable, "-m", "emoser.serving.predict", "--model", str(root / "served"), "--adapt",
                             "--speakers", str(table), *map(str, files[:2])], capture_output=True, text=True)
    assert result.returncode == 2 and result.stderr.strip().splitlines()[-1].endswith(
        f"--speakers {table}: no speaker for {chosen['file'].iloc[1]} (its column file names each recording)")
    table.write_text("name,who\nx.wav,03\n")
    result = subprocess.run([sys.executable, "-m", "emoser.serving.predict", "--adapt", "--speakers", str(table),
                             str(files[0])], capture_output=True, text=True)
    assert result.returncode == 2 and f"--speakers {table}: no column file, speaker" in result.stderr


def check_speaker_twin(root: str, speakers: str) -> None:
    """Per-speaker adaptation is the twin on each speaker's features standardised over their own."""
    root_path = Path(root)
    twin = FusionModel.load(root_path / "ours" / "adapted")
    with np.load(root_path / "features.npz") as stored:
        views = {v: stored[v] for v in stored.files}
    who = speakers.split(",")
    mine = served.ServedModel(root_path / "served")
    batch = [{v: x[i:i + 1] for v, x in views.items()} for i in range(len(who))]
    got = np.array(mine.adapted_probabilities(batch, who))
    own = {v: np.vstack([standardise(x[[i for i, s in enumerate(who) if s == t]]) for t in dict.fromkeys(who)])
           for v, x in views.items()}
    order = [i for t in dict.fromkeys(who) for i, s in enumerate(who) if s == t]
    expected = np.empty_like(got)
    expected[order] = scaled(twin.predict_proba(own), TWIN_TEMPERATURE)
    np.testing.assert_allclose(got, expected, atol=1e-6)


def test_the_served_model_is_our_model_calibrated(tiny, models):
    _in_a_fresh_process("check_served_model", models[1], *_files(tiny))


def check_served_model(root: str, *files: str) -> None:
    from emoser.serving.predict import OursPredictor

    root_path = Path(root)
    model = FusionModel.load(root_path / "ours")
    with np.load(root_path / "features.npz") as stored:
        views = {v: stored[v] for v in stored.files}
    mine = served.ServedModel(root_path / "served")
    raw = mine.raw_probabilities(views)
    np.testing.assert_allclose(raw, model.predict_proba(views), atol=1e-6)
    ours = OursPredictor(model)
    for path in map(Path, files):
        for signal, rate in _signals(path)[:4]:
            expected = scaled(ours.predict_signal(signal, rate, path)[None], TEMPERATURE)[0]
            got = mine.predict_signal(signal, rate)
            np.testing.assert_allclose(got, expected, atol=1e-5)
            assert got.argmax() == expected.argmax() and abs(got.sum() - 1) < 1e-9
    # T < 1 sharpens: the top class gains; the ranking stays
    p = np.array([[0.5, 0.3, 0.2]])
    assert served.calibrated(p, 0.5)[0, 0] > 0.5 and list(np.argsort(served.calibrated(p, 0.5)[0])) == [2, 1, 0]
    np.testing.assert_allclose(served.calibrated(p, 0.5), scaled(p, 0.5))


def _predict_json(*args) -> list[dict]:
    result = subprocess.run([sys.executable, "-m", "emoser.serving.predict", "--json", *map(str, args)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_the_cli_in_parallel_gives_what_it_gives_alone(tiny, models, tmp_path):
    _, root = models
    files = _files(tiny) * 3
    alone = _predict_json("--model", root / "served", "--jobs", "1", *files)
    shared = _predict_json("--model", root / "served", "--jobs", "2", *files)
    assert alone == shared and len(alone) == len(files)
    assert all(row["model"] == "ours" and row["emotion"] in EMOTIONS for row in alone)


def _silences(speech: Path, folder: Path) -> list[Path]:
    """Digital silence and constants, alone and around speech: every window of a padded file that is
    all zeros made the served model answer NaN ("anger", the argmax of NaNs) before."""
    signal, rate = sf.read(speech, dtype="float32")
    zeros = np.zeros(int(2.5 * rate), dtype=np.float32)
    cases = {"zeros": zeros, "dc": zeros + 0.25,
             "padded": np.concatenate([zeros[: rate], signal, zeros]),          # ~70 % digital silence
             "dc_padded": np.concatenate([zeros[: rate] - 0.1, signal - 0.1, zeros - 0.1]),
             "offset": np.clip(signal + 0.2, -1, 1)}
    files = []
    for name, samples in cases.items():
        files.append(folder / f"{name}.wav")
        sf.write(files[-1], samples, rate, subtype="FLOAT")
    return files


def _no_nan_anywhere(rows: list[dict], names: list[str]) -> None:
    """Every row is a real answer or a row that says why there is none; never a NaN."""
    assert [Path(r["file"]).stem for r in rows] == names
    for row in rows:
        assert "NaN" not in json.dumps(row) and json.loads(json.dumps(row, allow_nan=False)) == row
        if row["emotion"] is None:
            assert row["note"].startswith("no speech found"), row
        else:
            p = np.array(list(row["probabilities"].values()) if "probabilities" in row and row["probabilities"]
                         else [row[e] for e in EMOTIONS])
            assert np.isfinite(p).all() and abs(p.sum() - 1) < 1e-3 and row["emotion"] == EMOTIONS[p.argmax()]


def test_digital_silence_and_constants_never_give_nan(tiny, models, tmp_path):
    _, root = models
    speech = _files(tiny)[0]
    files = _silences(speech, tmp_path)
    names = ["zeros", "dc", "padded", "dc_padded", "offset"]
    for model in ("served", "ours"):
        for min_speech in ("0.5", "0"):             # 0: classify whatever the voice-activity check says
            # the speech alone last, in the same batch (no --adapt: each file is answered on its own)
            result = subprocess.run([sys.executable, "-m", "emoser.serving.predict", "--json", "--model",
                                     str(root / model), "--min-speech", min_speech, *map(str, files), str(speech)],
                                    capture_output=True, text=True, timeout=300)
            assert result.returncode == 0, result.stderr
            assert "NaN" not in result.stdout and "divide by zero" not in result.stderr
            *rows, alone = [json.loads(line) for line in result.stdout.splitlines()]
            assert Path(alone["file"]) == speech
            _no_nan_anywhere(rows, names)
            assert rows[0]["emotion"] is None and rows[1]["emotion"] is None          # nothing to hear
            # the speech around the silence is answered, as the speech alone is
            assert rows[2]["emotion"] == rows[3]["emotion"] == alone["emotion"] is not None
            assert rows[2]["probabilities"] == pytest.approx(alone["probabilities"], abs=0.02)
            assert rows[4]["emotion"] is not None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _post(url: str, body: dict) -> dict:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.loads(response.read())


@contextlib.contextmanager
def _serving(served_folder: Path, tmp_path: Path):
    """`mlflow models serve` of the pyfunc model around ``served_folder`` on a free port of 127.0.0.1;
    yields its invocations URL."""
    import mlflow

    from emoser.serving import mlflow_model

    pyfunc = tmp_path / "pyfunc"
    mlflow.pyfunc.save_model(str(pyfunc), **mlflow_model.model_options(served_folder), pip_requirements=[])
    # the whole package travels with the model (a server without emoser installed imports it from there)
    assert (pyfunc / "code" / "emoser" / "serving" / "mlflow_model.py").is_file()
    port = _free_port()
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"}
    server = subprocess.Popen([sys.executable, "-m", "mlflow", "models", "serve", "-m", str(pyfunc),
                               "--env-manager", "local", "-h", "127.0.0.1", "-p", str(port)],
                              cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=5):
                    break
            except OSError:
                assert server.poll() is None, server.stdout.read() if server.stdout else "server exited"
                assert time.monotonic() < deadline, "mlflow models serve did not start in 180 s"
                time.sleep(0.5)
        yield f"http://127.0.0.1:{port}/invocations"
    finally:
        server.terminate()
        server.wait(timeout=30)


def _record(path: Path) -> dict:
    return {"name": path.name, "audio": base64.b64encode(path.read_bytes()).decode()}


def test_mlflow_models_serve_answers_as_the_cli(tiny, models, tmp_path):
    _, root = models
    noise = tmp_path / "white_noise.wav"
    sf.write(noise, np.random.default_rng(0).uniform(-0.5, 0.5, 16000).astype(np.float32), 16000)
    files = _files(tiny)[:2] + [noise] + _silences(_files(tiny)[0], tmp_path)
    with _serving(root / "served", tmp_path) as url:
        records = [_record(p) for p in files]
        records.append({"name": "not-audio.wav", "audio": base64.b64encode(b"RIFF????WAVE").decode()})
        answer = _post(url, {"dataframe_records": records})["predictions"]
        # a request from one set-up, adapted as `emoser predict --adapt` adapts a batch of files
        batch = [_record(p) for p in _files(tiny)]
        adapted = _post(url, {"dataframe_records": batch, "params": {"adapt": True, "adapt_min": 3}})["predictions"]
        too_few = _post(url, {"dataframe_records": batch[:2], "params": {"adapt": True}})["predictions"]
        # ...and per speaker where every record names one (here: Emo-DB's, the file name's first two letters)
        named = [{**r, "speaker": r["name"][:2]} for r in batch]
        per_speaker = _post(url, {"dataframe_records": named, "params": {"adapt": True, "adapt_min": 3}})["predictions"]
        partly = _post(url, {"dataframe_records": named[:-1] + batch[-1:],
                             "params": {"adapt": True, "adapt_min": 3}})["predictions"]
    table = tmp_path / "speakers.csv"
    table.write_text("file,speaker\n" + "".join(f"{p.name},{p.name[:2]}\n" for p in _files(tiny)))
    cli_speakers = _predict_json("--model", root / "served", "--adapt", "--adapt-min", "3", "--speakers", table,
                                 *_files(tiny))
    assert [(a["emotion"], a["note"]) for a in per_speaker] == [(c["emotion"], c["note"]) for c in cli_speakers]
    assert all("speaker" in a["note"] for a in per_speaker), per_speaker
    cli_adapted = _predict_json("--model", root / "served", "--adapt", "--adapt-min", "3", *_files(tiny))
    assert [a["note"] for a in partly] == [f"{c['note']}; not adapted to speakers: 1 of {len(batch)} records name no "
                                           "speaker" for c in cli_adapted]
    assert [a["file"] for a in adapted] == [p.name for p in _files(tiny)] and len(cli_adapted) == len(adapted)
    for got, expected in zip(adapted, cli_adapted):
        assert got["note"] == expected["note"] and got["note"].startswith("adapted to this batch")
        assert [round(got[e], 4) for e in EMOTIONS] == [expected["probabilities"][e] for e in EMOTIONS]
    assert [a["note"] for a in too_few] == ["not adapted: 2 recordings with speech in the batch, 20 needed "
                                            "(--adapt-min)"] * 2
    cli = _predict_json("--model", root / "served", *files)
    assert [a["file"] for a in answer] == [p.name for p in files] + ["not-audio.wav"]
    _no_nan_anywhere(answer[2:-1], ["white_noise", "zeros", "dc", "padded", "dc_padded", "offset"])
    assert len(cli) == len(files)
    for got, expected in zip(answer, cli):
        assert got["emotion"] == expected["emotion"] and got["voiced_s"] == expected["voiced_s"]
        if expected["probabilities"]:
            assert [round(got[e], 4) for e in EMOTIONS] == [expected["probabilities"][e] for e in EMOTIONS]
    assert answer[2]["emotion"] is None and answer[2]["note"].startswith("no speech found")
    assert answer[-1]["emotion"] is None and answer[-1]["note"].startswith("error: cannot read audio")


def test_bad_rows_from_eight_concurrent_clients_fail_no_good_row(tiny, models, tmp_path):
    """Issue 37, point 7: the served model's limits (params ``mlflow.serve``, in its facts) and one error
    row per bad recording; 8 clients at once on 127.0.0.1, each request mixing good recordings with
    bad ones of every kind, and requests over the row limit: every good row is answered as the CLI
    answers it, every bad row gets its own error."""
    from concurrent.futures import ThreadPoolExecutor

    _, root = models
    folder = tmp_path / "served"
    folder.mkdir()
    (folder / served.ARRAYS).write_bytes((root / "served" / served.ARRAYS).read_bytes())
    facts = json.loads((root / "served" / served.FACTS).read_text())
    facts["limits"] = {"max_rows": 5, "max_recording_mb": 0.5, "max_seconds": 4.0}
    (folder / served.FACTS).write_text(json.dumps(facts))
    good = _files(tiny)[:2]
    expected = {Path(r["file"]).name: r["emotion"] for r in _predict_json("--model", root / "served", *good)}
    long_file, big_file = tmp_path / "long.wav", tmp_path / "big.wav"
    sf.write(long_file, tone(6.0, 16000, 180, seed=1), 16000)            # 6 s: over max_seconds
    sf.write(big_file, tone(20.0, 16000, 180, seed=2), 16000)            # 640 KB: over max_recording_mb
    bad = {"not-base64": {"name": "not-base64", "audio": "%%% not base64 %%%"},
           "not-audio": {"name": "not-audio", "audio": base64.b64encode(b"RIFF????WAVE" * 50).decode()},
           "no-audio": {"name": "no-audio", "audio": None},
           "long.wav": _record(long_file), "big.wav": _record(big_file)}
    reasons = {"not-base64": "not valid base64", "not-audio": "cannot read audio", "no-audio": "no 'audio' field",
               "long.wav": "over mlflow.serve.max_seconds", "big.wav": "over mlflow.serve.max_recording_mb"}
    rng = np.random.default_rng(0)
    requests = []
    for _ in range(16):
        rows = [_record(p) for p in good] + [bad[k] for k in rng.choice(list(bad), size=3, replace=False)]
        requests.append([rows[i] for i in rng.permutation(len(rows))])
    requests.append([_record(good[0])] * 5 + [_record(good[1])] * 2)      # 7 rows: 2 past max_rows
    with _serving(folder, tmp_path) as url, ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda rows: _post(url, {"dataframe_records": rows})["predictions"], requests))
    failed_good = answered_good = 0
    for rows, answer in zip(requests, answers):
        assert [a["file"] for a in answer] == [r["name"] for r in rows]
        for i, (row, got) in enumerate(zip(rows, answer)):
            if i >= 5:
                assert got["emotion"] is None and "over mlflow.serve.max_rows (5)" in got["note"], (i, len(rows), got)
            elif row["name"] in expected:
                answered_good += got["emotion"] == expected[row["name"]]
                failed_good += got["emotion"] != expected[row["name"]]
            else:
                assert got["emotion"] is None and got["note"].startswith("error: "), got
                assert reasons[row["name"]] in got["note"], got
    assert failed_good == 0 and answered_good == 16 * 2 + 5, (failed_good, answered_good)

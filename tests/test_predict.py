import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from conftest import SHARED_EMODB, tone
from emoser.audio.io import denoise, load_audio
from emoser.audio.speech import DEFAULT_MIN_SPEECH_S, voiced_seconds
from emoser.corpora.emodb import EMOTIONS
from emoser.models.networks.architectures import Bundle, build_model
from emoser.params.features import FeatureParams
from emoser.params.networks import ArchitectureParams
from emoser.serving.predict import predict_file, windows

FEATURES = FeatureParams(n_mfcc=8, n_fft=256, hop_length=128, frames=20, denoise=False, energy="log",
                         normalisation="utterance", jobs=1)
ARCH = ArchitectureParams.model_validate({
    "cnn": {"filters": [4], "kernel": 3, "padding": "same", "dense": 8, "dropout": 0.1},
    "cnn_lstm": {"chunks": 4, "filters": [4], "kernel": 3, "lstm_units": 4, "dense": 8, "dropout": 0.1},
})


def _model(folder):
    network = build_model("cnn", "cce", 9, 20, ARCH, 1e-3, 7)
    facts = {"name": "tiny", "arch": "cnn", "loss": "cce", "emotions": list(EMOTIONS), "sample_rate": 8000,
             "features": FEATURES.model_dump(), "protocol": "utterance"}
    Bundle(network, "utterance", None, facts).save(folder)
    return folder


def _predict(*args):
    return subprocess.run([sys.executable, "-m", "emoser.serving.predict", *map(str, args)], capture_output=True,
                          text=True, timeout=300)


def test_windows_cover_long_and_pad_short():
    assert [len(w) for w in windows(np.ones(100), 1000, 256)] == [256]
    parts = windows(np.arange(2500.0), 1000, 256)
    assert all(len(w) == 1000 for w in parts)
    assert parts[0][0] == 0 and parts[-1][-1] == 2499  # the whole signal is covered
    assert [w[0] for w in parts] == [0, 500, 1000, 1500]


def test_predict_any_rate_stereo_and_length(tmp_path):
    model = _model(tmp_path / "model")
    stereo = np.stack([tone(1.0, 44100, 200, 0), tone(1.0, 44100, 210, 1)], axis=1)
    sf.write(tmp_path / "stereo44k.wav", stereo, 44100)
    sf.write(tmp_path / "long.flac", tone(5.0, 16000, 150, 2), 16000)
    result = _predict("--model", model, "--min-speech", 0, "--json", tmp_path / "stereo44k.wav",
                      tmp_path / "long.flac")
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["file"].rsplit("/", 1)[-1] for r in rows] == ["stereo44k.wav", "long.flac"]
    for row in rows:
        assert set(row["probabilities"]) == set(EMOTIONS)
        assert abs(sum(row["probabilities"].values()) - 1) < 1e-3
        assert row["emotion"] == max(row["probabilities"], key=row["probabilities"].get)
        assert row["model"] == str(model) and row["note"] is None and row["voiced_s"] >= 0
    table = _predict("--model", model, "--min-speech", 0, tmp_path)  # a folder, terminal table
    assert table.returncode == 0 and "stereo44k.wav" in table.stdout and "anger" in table.stdout


def test_predict_bad_inputs_name_the_file(tmp_path):
    model = _model(tmp_path / "model")
    (tmp_path / "broken.wav").write_bytes(b"RIFF....WAVEfmt garbage")
    result = _predict("--model", model, tmp_path / "broken.wav")
    assert result.returncode == 2 and "broken.wav" in result.stderr and "Traceback" not in result.stderr
    sf.write(tmp_path / "silence.wav", np.zeros(8000, dtype=np.float32), 8000)
    result = _predict("--model", model, tmp_path / "silence.wav")
    assert result.returncode == 0 and "silence.wav: no speech found (Silero VAD 0.00 s, 0.00 s voiced, 0.3 s needed)" \
        in result.stdout
    result = _predict("--model", tmp_path / "nowhere", tmp_path / "silence.wav")
    assert result.returncode == 2 and "no trained model" in result.stderr
    # ...said before TensorFlow starts (seconds): a new process, as the shell's
    probe = ("import sys\nfrom pathlib import Path\nfrom emoser.core.errors import EmoserError\n"
             "from emoser.serving.predict import load_predictor\ntry:\n    load_predictor(Path(sys.argv[1]))\n"
             "except EmoserError:\n    print('tensorflow' in sys.modules)\n")
    started = subprocess.run([sys.executable, "-c", probe, str(tmp_path / "nowhere")], capture_output=True, text=True)
    assert started.stdout.strip() == "False", started.stdout + started.stderr


def test_a_model_trained_on_denoised_recordings_denoises_what_it_predicts(tmp_path):
    plain = _model(tmp_path / "plain")
    denoising = tmp_path / "denoising"
    shutil.copytree(plain, denoising)
    facts = json.loads((denoising / Bundle.FACTS_FILE).read_text())
    facts["params"] = {"augment.denoise": True}        # as train records params.yaml
    (denoising / Bundle.FACTS_FILE).write_text(json.dumps(facts))

    sf.write(tmp_path / "noisy.wav", tone(1.0, 8000, 200, 3), 8000)
    clean = denoise(load_audio(tmp_path / "noisy.wav", 8000), 8000)
    sf.write(tmp_path / "clean.wav", clean, 8000, subtype="FLOAT")
    from_noisy = predict_file(Bundle.load(denoising), tmp_path / "noisy.wav")
    np.testing.assert_allclose(from_noisy, predict_file(Bundle.load(plain), tmp_path / "clean.wav"), atol=1e-5)
    assert not np.allclose(from_noisy, predict_file(Bundle.load(plain), tmp_path / "noisy.wav"), atol=1e-4)


def test_a_batch_reports_each_file_on_its_row_and_goes_on(tmp_path):
    """Every kind of bad file gets its row and one stderr line; the good ones are classified; exit 2."""
    model = _model(tmp_path / "model")
    files = tmp_path / "in"
    files.mkdir()
    sf.write(files / "a_good.wav", tone(1.0, 8000, 200, 0), 8000)
    sf.write(files / "b_good.mp3", tone(1.0, 16000, 180, 1), 16000, format="MP3")
    sf.write(files / "c_nan.wav", np.array([0.1, np.nan] * 4000, np.float32), 8000, subtype="FLOAT")
    (files / "d_voice.m4a").write_bytes(b"\0\0\0\x18ftypM4A ")
    (files / "e_broken.flac").write_bytes(b"fLaC garbage")
    sf.write(files / "f_empty.wav", np.zeros(0, np.float32), 8000)
    (files / "notes.txt").write_text("not audio, not listed")
    result = _predict("--model", model, "--min-speech", 0, "--json", files)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    rows = {Path(r["file"]).name: r for r in map(json.loads, result.stdout.splitlines())}
    assert sorted(rows) == ["a_good.wav", "b_good.mp3", "c_nan.wav", "d_voice.m4a", "e_broken.flac", "f_empty.wav"]
    assert rows["a_good.wav"]["emotion"] in EMOTIONS and rows["b_good.mp3"]["emotion"] in EMOTIONS
    assert rows["c_nan.wav"]["note"] == "error: holds NaN or infinite samples"
    assert rows["d_voice.m4a"]["note"].startswith("error: unsupported format '.m4a'; readable: .wav, .flac")
    assert rows["e_broken.flac"]["note"].startswith("error: cannot read audio")
    assert rows["f_empty.wav"]["note"] == "error: holds no audio samples"
    errors = [line for line in result.stderr.splitlines() if line.startswith("emoser predict: error: ")]
    assert [Path(line.split(": ")[2]).name for line in errors] == [
        "c_nan.wav", "d_voice.m4a", "e_broken.flac", "f_empty.wav"], result.stderr


def test_no_speech_in_noise_dither_or_a_click():
    rng = np.random.default_rng(0)
    assert voiced_seconds((0.3 * rng.standard_normal(44100)).astype(np.float32), 22050) == 0   # white noise
    assert voiced_seconds((rng.integers(-1, 2, 44100) / 32768).astype(np.float32), 22050) == 0  # ±1 LSB dither
    assert voiced_seconds(np.zeros(22050, np.float32), 22050) == 0
    assert voiced_seconds(np.array([0.5], np.float32), 22050) == 0


@pytest.mark.skipif(not SHARED_EMODB.exists(), reason="needs the local Emo-DB copy")
def test_every_emodb_recording_has_enough_speech():
    """The default --min-speech refuses no real recording: every one has at least 0.66 s voiced
    (tests/test_speech.py checks RAVDESS's 1440)."""
    voiced = [voiced_seconds(*sf.read(f, dtype="float32")) for f in sorted((SHARED_EMODB / "wav").glob("*.wav"))]
    assert len(voiced) == 535 and min(voiced) > 2 * DEFAULT_MIN_SPEECH_S

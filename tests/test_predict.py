import json
import shutil
import subprocess
import sys

import numpy as np
import soundfile as sf

from conftest import tone
from emoser.audio import denoise, load_audio
from emoser.corpus import EMOTIONS
from emoser.networks import Bundle, build_model
from emoser.params import ArchitectureParams, FeatureParams
from emoser.predict import predict_file, windows

FEATURES = FeatureParams(n_mfcc=8, n_fft=256, hop_length=128, frames=20, denoise=False,
                         normalisation="utterance", jobs=1)
ARCH = ArchitectureParams.model_validate({
    "cnn": {"filters": [4], "kernel": 3, "dense": 8, "dropout": 0.1},
    "cnn_lstm": {"chunks": 4, "filters": [4], "kernel": 3, "lstm_units": 4, "dense": 8, "dropout": 0.1},
})


def _model(folder):
    network = build_model("cnn", "cce", 9, 20, ARCH, 1e-3)
    facts = {"name": "tiny", "arch": "cnn", "loss": "cce", "emotions": list(EMOTIONS), "sample_rate": 8000,
             "features": FEATURES.model_dump(), "protocol": "utterance"}
    Bundle(network, "utterance", None, facts).save(folder)
    return folder


def _predict(*args):
    return subprocess.run([sys.executable, "-m", "emoser.predict", *map(str, args)], capture_output=True,
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
    result = _predict("--model", model, "--json", tmp_path / "stereo44k.wav", tmp_path / "long.flac")
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["file"].rsplit("/", 1)[-1] for r in rows] == ["stereo44k.wav", "long.flac"]
    for row in rows:
        assert set(row["probabilities"]) == set(EMOTIONS)
        assert abs(sum(row["probabilities"].values()) - 1) < 1e-3
        assert row["emotion"] == max(row["probabilities"], key=row["probabilities"].get)
    table = _predict("--model", model, tmp_path)  # a folder, terminal table
    assert table.returncode == 0 and "stereo44k.wav" in table.stdout and "anger" in table.stdout


def test_predict_bad_inputs_name_the_file(tmp_path):
    model = _model(tmp_path / "model")
    (tmp_path / "broken.wav").write_bytes(b"RIFF....WAVEfmt garbage")
    result = _predict("--model", model, tmp_path / "broken.wav")
    assert result.returncode == 2 and "broken.wav" in result.stderr and "Traceback" not in result.stderr
    sf.write(tmp_path / "silence.wav", np.zeros(8000, dtype=np.float32), 8000)
    result = _predict("--model", model, tmp_path / "silence.wav")
    assert result.returncode == 2 and "silence.wav" in result.stderr and "silence" in result.stderr
    result = _predict("--model", tmp_path / "nowhere", tmp_path / "silence.wav")
    assert result.returncode == 2 and "no trained model" in result.stderr


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

import numpy as np
import pandas as pd
import soundfile as sf

from conftest import make_corpus
from emoser.audio.augmentation import apply_copy, augment_corpus, plan_copies
from emoser.audio.io import denoise, load_audio
from emoser.corpora.fetching import build_manifest
from emoser.params.augment import AugmentParams

PARAMS = AugmentParams(seed=7, pitch_copies=3, pitch_semitones=3.0, stretch_copies=3,
                       stretch_rates=(0.8, 1.2), denoise=False, jobs=1)


def test_plan_is_seeded_per_utterance():
    a = plan_copies("03a01Fa", PARAMS)
    assert [c.kind for c in a] == ["original"] + ["pitch"] * 3 + ["stretch"] * 3
    assert a == plan_copies("03a01Fa", PARAMS)
    assert a != plan_copies("03a01Fb", PARAMS)
    assert a != plan_copies("03a01Fa", PARAMS.model_copy(update={"seed": 8}))
    assert all(-3 <= c.amount <= 3 for c in a if c.kind == "pitch")
    assert all(0.8 <= c.amount <= 1.2 for c in a if c.kind == "stretch")


def test_augmentation_is_the_same_for_any_worker_count(tmp_path):
    corpus = make_corpus(tmp_path / "corpus", speakers=("03", "08"), seconds=0.4)
    manifest, _ = build_manifest(corpus)
    outs = {}
    for jobs in (1, 2):
        out = tmp_path / f"out{jobs}"
        # reversed order too: the result must not depend on which utterance comes first
        order = manifest if jobs == 1 else manifest.iloc[::-1]
        clips = augment_corpus(order, corpus / "wav", out, 8000, PARAMS.model_copy(update={"jobs": jobs}))
        outs[jobs] = (clips.sort_values("clip").reset_index(drop=True), out)
    (clips1, out1), (clips2, out2) = outs[1], outs[2]
    pd.testing.assert_frame_equal(clips1, clips2)
    assert len(clips1) == 7 * len(manifest)
    assert set(clips1.groupby("utterance").size()) == {7}
    for clip in clips1["clip"]:
        # byte for byte: the same params must give the same DVC hash
        assert (out1 / "wav" / f"{clip}.wav").read_bytes() == (out2 / "wav" / f"{clip}.wav").read_bytes(), clip
        audio, rate = sf.read(out1 / "wav" / f"{clip}.wav", dtype="float32")
        assert rate == 8000 and audio.ndim == 1 and np.abs(audio).max() > 0.05


def test_copies_are_really_changed(tmp_path):
    corpus = make_corpus(tmp_path / "corpus", speakers=("03",), seconds=0.5)
    manifest, _ = build_manifest(corpus)
    clips = augment_corpus(manifest.iloc[:1], corpus / "wav", tmp_path / "out", 8000, PARAMS)
    by_kind = clips.set_index("clip")
    original = by_kind[by_kind["kind"] == "original"].iloc[0]
    for row in by_kind[by_kind["kind"] == "stretch"].itertuples():
        # time stretch by rate r changes the length by 1/r
        assert abs(row.samples - original["samples"] / row.amount) <= 2
    for row in by_kind[by_kind["kind"] == "pitch"].itertuples():
        assert row.samples == original["samples"]
        a, _ = sf.read(tmp_path / "out" / "wav" / f"{row.Index}.wav")
        b, _ = sf.read(tmp_path / "out" / "wav" / f"{original.name}.wav")
        assert not np.allclose(a, b, atol=1e-3)


def test_denoising_before_augmenting_makes_every_copy_from_the_denoised_recording(tmp_path):
    corpus = make_corpus(tmp_path / "corpus", speakers=("03",), seconds=0.5)
    manifest, _ = build_manifest(corpus)
    manifest = manifest.iloc[:1]
    params = PARAMS.model_copy(update={"denoise": True, "pitch_copies": 1, "stretch_copies": 1})
    augment_corpus(manifest, corpus / "wav", tmp_path / "out", 8000, params)
    source = corpus / "wav" / manifest["file"].iloc[0]
    raw = load_audio(source, 8000)
    clean = denoise(raw, 8000)
    assert not np.allclose(clean, raw, atol=1e-3)            # the tone has noise to remove
    for copy in plan_copies(manifest["utterance"].iloc[0], params):
        written, rate = sf.read(tmp_path / "out" / "wav" / f"{copy.clip}.wav", dtype="float32")
        assert rate == 8000
        np.testing.assert_allclose(written, apply_copy(clean, 8000, copy), atol=1e-6)


def test_load_audio_gives_librosa_loads_samples_without_librosa(tmp_path):
    # emoser.audio.io.load_audio (soundfile + soxr) must give exactly what librosa.load(sr=...) gives:
    # every committed feature was made with librosa.load.
    import librosa
    import soundfile as sf

    rng = np.random.default_rng(3)
    for rate, channels, target in ((44100, 2, 16000), (22050, 1, 16000), (16000, 1, 16000), (8000, 2, 22050)):
        path = tmp_path / f"{rate}-{channels}.wav"
        sf.write(path, (rng.standard_normal((rate // 3, channels)) * 0.1).astype(np.float32), rate)
        ours = load_audio(path, target)
        theirs, _ = librosa.load(path, sr=target, mono=True, res_type="soxr_hq", dtype=np.float32)
        assert ours.dtype == theirs.dtype == np.float32
        np.testing.assert_array_equal(ours, theirs)

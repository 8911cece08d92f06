"""Where each stage reads and writes, relative to the repository root (DVC's working dir).

dvc.yaml names the same paths; tests/test_dvc_yaml.py checks the two agree.
"""
from dataclasses import dataclass
from pathlib import Path

DATA = Path("data")
RAW = DATA / "raw"                      # fetch: wav/, manifest.csv, fetch_report.json
MANIFEST = RAW / "manifest.csv"
AUGMENTED = DATA / "augmented"          # augment: wav/, clips.csv
CLIPS = AUGMENTED / "clips.csv"
FEATURES = DATA / "features"            # features: features.npy, clips.npy, n_frames.npy (emoser.features.dataset)
SPLIT = DATA / "split.csv"              # split: clip -> train/val/test
FOLDS = DATA / "folds.csv"              # folds: (protocol, fold, clip) -> train/val/test/unused
OPENSMILE = DATA / "opensmile"          # opensmile: <feature set>.npz per original recording
EMBEDDINGS = DATA / "embeddings"        # embeddings: the voice encoder's vector per original recording
VOICE_ENCODER = EMBEDDINGS / "voice_encoder.npz"
WHISPER = DATA / "whisper" / "whisper.npz"   # whisper: Whisper base's encoder statistics per original recording
CV = DATA / "cv"                        # baselines, cv: per-recording test predictions
BASELINE_PREDICTIONS = CV / "baselines.csv"
CV_PREDICTIONS = CV / "trained.csv"
OURS_PREDICTIONS = CV / "ours.csv"
OURS_ABLATION = CV / "ours_ablation.csv"      # ours: LOSO probabilities of each ablation row
OURS_WEIGHTS = CV / "ours_weights.csv"        # ours: each fold's fusion weights (chosen inside it)
OURS_CALIBRATION = CV / "ours_calibration.csv"  # calibrate: raw and in-fold calibrated probabilities
# Each summary as its stage writes it, DVC-cached (a stage with a `cache: false` output loses DVC's run
# cache: DVC PR #8738), and the git-tracked copy stage report publishes for reviews and `git diff`.
CV_SUMMARY = CV / "trained.json"            # cv
BASELINE_SUMMARY = CV / "baselines.json"    # baselines
OURS_SUMMARY = CV / "ours.json"             # ours
ABLATION_SUMMARY = CV / "ablation.json"     # ours
CALIBRATION_SUMMARY = CV / "calibration.json"  # calibrate
REPORTS = Path("reports")               # report: results.md, headline.md and the figures
REPORT = REPORTS / "results.md"
HEADLINE = REPORTS / "headline.md"       # the README's results table
MODELS = Path("models")
OURS_MODEL = MODELS / "ours"           # ours: our model fitted on every recording
SERVED_MODEL = MODELS / "served"       # package: our model as arrays + its temperature, for predict and MLflow
METRICS = Path("metrics")
CORPORA_METRICS = METRICS / "corpora.json"   # corpora: further corpora's LOSO and the cross-corpus scores
CORPORA_PREDICTIONS = CV / "corpora.csv"      # corpora: their test predictions, for the review's paired tests
CORPORA_REPORT = REPORTS / "corpora.md"       # corpora: the page
CALIBRATION = METRICS / "calibration.json"   # calibrate: ECE, NLL, Brier; the served model's temperature
# stage report copies each DVC-cached summary (left) to its git-tracked place (right), byte for byte
PUBLISHED = {CV_SUMMARY: METRICS / "cv.json", BASELINE_SUMMARY: METRICS / "baselines.json",
             OURS_SUMMARY: METRICS / "ours.json", ABLATION_SUMMARY: METRICS / "ablation.json",
             CALIBRATION_SUMMARY: CALIBRATION}
PLOTS = Path("plots")
PRESETS = Path("presets")                # params presets (emoser.params.presets): NAME.yaml
PRESET_RESULTS = PRESETS / "results"     # recorded runs of them: NAME-<split protocol>.json (in git)


# Further corpora (params ``corpora``): each scored by the classical models under LOSO, and against the
# main corpus (``fetch``) across corpora. Each has the main corpus's layout under its own root.
CORPORA = DATA / "corpora"


@dataclass(frozen=True)
class CorpusData:
    """Where one corpus's stages read and write: the main corpus under data/, corpus NAME under
    data/corpora/NAME/ (stage ``fetch --corpus NAME`` and the rest)."""

    root: Path

    @property
    def raw(self) -> Path:
        return self.root / "raw"

    @property
    def manifest(self) -> Path:
        return self.raw / "manifest.csv"

    @property
    def opensmile(self) -> Path:
        return self.root / "opensmile"

    @property
    def voice_encoder(self) -> Path:
        return self.root / "embeddings" / "voice_encoder.npz"

    @property
    def whisper(self) -> Path:
        return self.root / WHISPER.relative_to(DATA)

    @property
    def folds(self) -> Path:
        return self.root / "folds.csv"

    @property
    def cv(self) -> Path:
        return self.root / "cv"


def corpus_data(name: str | None = None) -> CorpusData:
    """The main corpus's places (``None``) or further corpus ``name``'s."""
    return CorpusData(DATA if name is None else CORPORA / name)

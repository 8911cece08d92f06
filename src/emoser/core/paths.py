"""Where each stage reads and writes, relative to the repository root (DVC's working dir).

Every corpus is an equal: corpus NAME's stages write under data/corpora/NAME/ (the corpus as fetched
and its views: what models train on) and data/study/NAME/ (its folds, split, the networks' inputs,
every score: what the study does with it) (``corpus_data``). Stages that train on several corpora
(fit, loco) depend on data/corpora as a whole, so a changed score never reruns them.
dvc.yaml names the same places (tests/test_dvc_yaml.py checks the two agree).
"""
from dataclasses import dataclass
from pathlib import Path

DATA = Path("data")
CORPORA = DATA / "corpora"              # one folder per corpus (params corpora): the corpus and its views
STUDY = DATA / "study"                  # one folder per corpus: what the study does with it (folds, scores)
LOCO = DATA / "loco"                    # loco: leave-one-corpus-out predictions and summary
REPORTS = Path("reports")               # report: results.md, headline.md and the figures
REPORT = REPORTS / "results.md"
HEADLINE = REPORTS / "headline.md"       # the README's results table
MODELS = Path("models")
OURS_MODEL = MODELS / "ours"           # fit: our model fitted on every recording of the corpus
SERVED_MODEL = MODELS / "served"       # package: our model as arrays + its temperature, for predict and MLflow
METRICS = Path("metrics")
CORPORA_METRICS = METRICS / "corpora.json"   # corpora: the other corpora's LOSO and the cross-corpus scores
CORPORA_PREDICTIONS = DATA / "cv" / "corpora.csv"   # corpora: their test predictions, for the review's paired tests
CORPORA_REPORT = REPORTS / "corpora.md"       # corpora: the page
CALIBRATION = METRICS / "calibration.json"   # calibrate: ECE, NLL, Brier; the served model's temperature
PLOTS = Path("plots")
PRESETS = Path("presets")                # params presets (emoser.params.presets): NAME.yaml
PRESET_RESULTS = PRESETS / "results"     # recorded runs of them: NAME-<split protocol>.json (in git)


@dataclass(frozen=True)
class CorpusData:
    """Where corpus ``name``'s stages read and write: data/corpora/NAME/ and data/study/NAME/. The corpus
    of ``roles.networks`` also has augmented/, features/ and split.csv (the networks' inputs)."""

    name: str

    @property
    def root(self) -> Path:
        return CORPORA / self.name

    @property
    def study(self) -> Path:             # folds, split, the networks' inputs, every score
        return STUDY / self.name

    @property
    def raw(self) -> Path:               # fetch: wav/, manifest.csv, fetch_report.json
        return self.root / "raw"

    @property
    def manifest(self) -> Path:
        return self.raw / "manifest.csv"

    def extracted(self, extractor: str) -> Path:   # extract: one folder per extractor (its params section)
        return self.root / extractor

    @property
    def opensmile(self) -> Path:         # <feature set>.npz per original recording
        return self.extracted("opensmile")

    @property
    def voice_encoder(self) -> Path:     # the voice encoder's statistics per original recording
        return self.extracted("embeddings") / "voice_encoder.npz"

    @property
    def whisper(self) -> Path:           # Whisper base's encoder statistics per original recording
        return self.extracted("whisper") / "whisper.npz"

    @property
    def folds(self) -> Path:             # folds: (protocol, fold, clip) -> subset, original recordings
        return self.study / "folds.csv"

    @property
    def cv(self) -> Path:                # baselines, ours, calibrate, cv: test predictions and summaries
        return self.study / "cv"

    @property
    def cross(self) -> Path:             # crosscorpus: against the networks' corpus, both ways
        return self.study / "cross"

    # the networks' corpus only (roles.networks)
    @property
    def augmented(self) -> Path:         # augment: wav/, clips.csv
        return self.study / "augmented"

    @property
    def clips(self) -> Path:
        return self.augmented / "clips.csv"

    @property
    def features(self) -> Path:          # features: features.npy, clips.npy, n_frames.npy
        return self.study / "features"

    @property
    def split(self) -> Path:             # split: clip -> train/val/test/unused
        return self.study / "split.csv"

    # cv/: each summary as its stage writes it, DVC-cached (a stage with a `cache: false` output loses
    # DVC's run cache: DVC PR #8738); stage report publishes the networks' corpus's as metrics/ (``published``)
    @property
    def baseline_predictions(self) -> Path:
        return self.cv / "baselines.csv"

    @property
    def baseline_summary(self) -> Path:
        return self.cv / "baselines.json"

    @property
    def ours_predictions(self) -> Path:
        return self.cv / "ours.csv"

    @property
    def ours_summary(self) -> Path:
        return self.cv / "ours.json"

    @property
    def ours_weights(self) -> Path:      # ours: each fold's fusion weights (chosen inside it)
        return self.cv / "ours_weights.csv"

    @property
    def ours_ablation(self) -> Path:     # ours: LOSO probabilities of each ablation row
        return self.cv / "ours_ablation.csv"

    @property
    def ablation_summary(self) -> Path:
        return self.cv / "ablation.json"

    @property
    def ours_calibration(self) -> Path:  # calibrate: raw and in-fold calibrated probabilities
        return self.cv / "ours_calibration.csv"

    @property
    def calibration_summary(self) -> Path:
        return self.cv / "calibration.json"

    @property
    def cv_predictions(self) -> Path:    # cv: the networks' per-recording test predictions
        return self.cv / "trained.csv"

    @property
    def cv_summary(self) -> Path:
        return self.cv / "trained.json"

    def published(self) -> dict[Path, Path]:
        """Stage report copies each DVC-cached summary (key) to its git-tracked place (value), byte for byte."""
        return {self.cv_summary: METRICS / "cv.json", self.baseline_summary: METRICS / "baselines.json",
                self.ours_summary: METRICS / "ours.json", self.ablation_summary: METRICS / "ablation.json",
                self.calibration_summary: CALIBRATION}


def corpus_data(name: str) -> CorpusData:
    """Corpus ``name``'s places."""
    return CorpusData(name)

"""dvc.yaml and emoser.core.paths name the same files, and every stage runs an emoser module."""
import yaml

from conftest import REPO
from emoser.core import paths


def _stages():
    return yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]


def _resolved(path: str, corpus: str = "NAME") -> str:
    """A dvc.yaml path as the code names it for corpus NAME (per-corpus stages and the networks' corpus)."""
    return path.replace("${item.corpus}", corpus).replace("${roles.networks}", corpus)


def _listed(stage: dict, key: str) -> list[str]:
    return [_resolved(next(iter(o)) if isinstance(o, dict) else o) for o in stage.get(key, [])]


def test_stage_outputs_are_the_paths_the_code_writes():
    stages, corpus = _stages(), paths.corpus_data("NAME")
    assert _listed(stages["fetch"], "outs") == [str(corpus.raw)]
    assert _listed(stages["augment"], "outs") == [str(corpus.augmented)]
    assert _listed(stages["features"], "outs") == [str(corpus.features)]
    assert _listed(stages["split"], "outs") == [str(corpus.split)]
    assert _listed(stages["folds"], "outs") == [str(corpus.folds)]
    assert _listed(stages["crosscorpus"], "outs") == [str(corpus.cross)]
    assert str(corpus.clips) in _listed(stages["split"], "deps")
    assert str(corpus.manifest) in _listed(stages["evaluate"], "deps")
    extract = stages["extract"]
    extractors = extract["matrix"]["extractor"]
    from emoser.features.extractors import EXTRACTORS
    assert extractors == list(EXTRACTORS)
    assert [_resolved(extract["outs"][0]).replace("${item.extractor}", e) for e in extractors] == [
        str(corpus.extracted(e)) for e in extractors]
    assert corpus.voice_encoder.parent == corpus.extracted("embeddings") and corpus.whisper.parent == corpus.extracted(
        "whisper")
    for name in ("opensmile", "embeddings", "whisper"):
        assert str(corpus.extracted(name)) in _listed(stages["ours"], "deps")
    assert set(_listed(stages["ours"], "outs")) == {
        str(p) for p in (corpus.ours_predictions, corpus.ours_summary, corpus.ours_weights, corpus.ours_ablation,
                         corpus.ablation_summary)}
    assert set(_listed(stages["baselines"], "outs")) == {str(corpus.baseline_predictions),
                                                         str(corpus.baseline_summary)}


def test_no_stage_pair_x_and_corpus_x_remains():
    """Every corpus is an equal: a per-corpus stage is one matrix entry per corpus, never a twin."""
    names = set(_stages())
    assert not [n for n in names if n.startswith("corpus-")], names
    per_corpus = {n for n, s in _stages().items() if s.get("matrix", {}).get("corpus") == "${corpora}"}
    assert per_corpus == {"fetch", "extract", "folds", "baselines", "ours", "crosscorpus"}


def test_every_stage_is_one_python_module_entry_point():
    for name, stage in _stages().items():
        assert stage["cmd"].startswith("python -m emoser."), name


def test_no_matrix_reads_a_param():
    # dvc 3.67 crashes when `-S` turns a matrix's param list into a scalar: matrices stay literal, except
    # the per-corpus stages, over the mapping `corpora` (`-S corpora.NAME.source=...` keeps it one;
    # docs/corpora.md warns that `-S corpora=<a scalar>` crashes dvc)
    for name, stage in _stages().items():
        for values in stage.get("matrix", {}).values():
            if values == "${corpora}":
                continue
            assert isinstance(values, list) and not any("${" in str(v) for v in values), name


def test_the_gpu_install_pins_the_same_tensorflow_with_cuda():
    """`bash setup.sh --gpu`: requirements.txt with only its TensorFlow pin swapped for the CUDA build."""
    import subprocess
    script = 'source <(sed -n "/^gpu_requirements()/,/^}/p" setup.sh); gpu_requirements requirements.txt'
    gpu = subprocess.run(["bash", "-c", script], cwd=REPO, capture_output=True, text=True, check=True).stdout
    cpu = (REPO / "requirements.txt").read_text()
    changed = [(a, b) for a, b in zip(cpu.splitlines(), gpu.splitlines()) if a != b]
    [(before, after)] = changed
    version = before.removeprefix("tensorflow-cpu==")
    assert before.startswith("tensorflow-cpu==") and after == f"tensorflow[and-cuda]=={version}"
    assert len(cpu.splitlines()) == len(gpu.splitlines())


def test_the_shipped_model_is_copied_and_trainings_depend_on_their_thread_count():
    stages = _stages()
    train = stages["train"]
    assert train["cmd"].endswith("--copy-of study/${model.arch}-${model.loss}")
    assert "models/study/${model.arch}-${model.loss}" in train["deps"]
    for name in ("study-train", "cv"):     # the thread count changes float sums, hence the weights
        assert "compute.threads_per_task" in stages[name]["params"], name
    for name, stage in stages.items():     # where the work runs is not a dependency
        assert not {"compute", "compute.scheduler", "compute.tasks"} & set(map(str, stage.get("params", []))), name


# Stages whose only job is to write git-tracked files (metrics, plots, the report, the MLflow marker)
# from cached inputs, in seconds. Every other stage keeps DVC's run cache.
PUBLISHING = {"evaluate", "study-evaluate", "report", "track", "corpora"}


def _uncached_outs(stage: dict) -> list[str]:
    """`outs` declared `cache: false`: any one of them keeps DVC from saving the stage in its run
    cache (dvc/stage/__init__.py: `no_cache_outs`; metrics and plots entries do not count)."""
    found = []
    for out in stage.get("outs", []):
        if isinstance(out, dict):
            found += [path for path, options in out.items() if options and options.get("cache") is False]
    return found


def test_only_publishing_stages_give_up_the_run_cache():
    """Going back to a setting already run restores the trainings (study-train, cv), the fits
    (baselines, ours, calibrate) and the per-clip work from the run cache: none has a `cache: false`
    output. The real round trip: tests/test_pipeline_e2e.py."""
    stages = _stages()
    for name, stage in stages.items():
        if name not in PUBLISHING:
            assert not _uncached_outs(stage), (name, _uncached_outs(stage))
    assert {"study-train", "train", "cv", "baselines", "ours", "calibrate"} <= set(stages) - PUBLISHING


def test_the_report_publishes_each_cached_summary_to_its_git_tracked_place():
    stages, corpus = _stages(), paths.corpus_data("NAME")
    report = stages["report"]
    published = {path for out in report["outs"] if isinstance(out, dict) for path in out}
    deps = _listed(report, "deps")
    for source, target in corpus.published().items():
        assert str(source.parent) in deps, source
        assert str(target) in published, target
        assert source.parent == corpus.cv and target.parent == paths.METRICS
    writers = {"cv": corpus.cv_summary, "baselines": corpus.baseline_summary, "ours": corpus.ours_summary,
               "calibrate": corpus.calibration_summary}
    for stage, path in writers.items():
        assert str(path) in _listed(stages[stage], "outs"), stage


def test_the_lock_holds_only_stages_dvc_yaml_defines():
    """DVC keeps a removed or renamed stage's entry in dvc.lock; each one is ~1,000 lines that every
    `dvc repro` parses again. Stage sources, run every time, has its own file and lock (a stage's run
    rewrites its lock: pipelines/sources/dvc.yaml)."""
    stages = _stages()
    for name in yaml.safe_load((REPO / "dvc.lock").read_text())["stages"]:
        base, matrix_item, _ = name.partition("@")
        assert base in stages and bool(matrix_item) == ("matrix" in stages[base]), f"dvc.lock: stale stage {name}"
    sources = REPO / "pipelines" / "sources"
    assert list(yaml.safe_load((sources / "dvc.yaml").read_text())["stages"]) == ["sources"]
    assert list(yaml.safe_load((sources / "dvc.lock").read_text())["stages"]) == ["sources"]
    assert yaml.safe_load((sources / "dvc.yaml").read_text())["stages"]["sources"]["always_changed"] is True


def test_fit_reads_the_held_out_fits_stage_loco_writes():
    from emoser.models.classical.loco import HeldOutViews
    stages = _stages()
    assert str(paths.LOCO) in _listed(stages["loco"], "outs")
    assert str(paths.LOCO / HeldOutViews.FILE) in _listed(stages["fit"], "deps")

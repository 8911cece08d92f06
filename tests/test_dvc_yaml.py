"""dvc.yaml and emoser.core.paths name the same files, and every stage runs an emoser module."""
import yaml

from conftest import REPO
from emoser.core import paths


def _stages():
    return yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]


def test_stage_outputs_are_the_paths_the_code_writes():
    stages = _stages()
    assert stages["fetch"]["outs"] == [str(paths.RAW)]
    assert stages["augment"]["outs"] == [str(paths.AUGMENTED)]
    assert stages["features"]["outs"] == [str(paths.FEATURES)]
    assert stages["split"]["outs"] == [str(paths.SPLIT)]
    assert str(paths.CLIPS) in stages["split"]["deps"]
    assert str(paths.MANIFEST) in stages["evaluate"]["deps"]
    assert stages["embeddings"]["outs"] == [str(paths.EMBEDDINGS)] and paths.VOICE_ENCODER.parent == paths.EMBEDDINGS
    assert str(paths.EMBEDDINGS) in stages["ours"]["deps"] and str(paths.OPENSMILE) in stages["ours"]["deps"]


def test_every_stage_is_one_python_module_entry_point():
    for name, stage in _stages().items():
        assert stage["cmd"].startswith("python -m emoser."), name


def test_no_matrix_reads_a_param():
    # dvc 3.67 crashes when `-S` turns a matrix's param list into a scalar: matrices stay literal, except
    # the further corpora's stages, over the mapping `corpora` (`-S corpora.NAME.source=...` keeps it one;
    # docs/corpora.md warns that `-S corpora=<a scalar>` crashes dvc)
    for name, stage in _stages().items():
        for values in stage.get("matrix", {}).values():
            if values == "${corpora}":
                assert name.startswith(("corpus-", "crosscorpus")), name
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
    stages = _stages()
    report = stages["report"]
    published = {path for out in report["outs"] if isinstance(out, dict) for path in out}
    for source, target in paths.PUBLISHED.items():
        assert str(source) in report["deps"], source
        assert str(target) in published, target
        assert str(source).startswith(str(paths.CV)) and target.parent == paths.METRICS
    writers = {"cv": paths.CV_SUMMARY, "baselines": paths.BASELINE_SUMMARY, "ours": paths.OURS_SUMMARY,
               "calibrate": paths.CALIBRATION_SUMMARY}
    for stage, path in writers.items():
        assert str(path) in stages[stage]["outs"], stage

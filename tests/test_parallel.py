"""The per-clip stages and cv's training tasks on a real Dask cluster (LocalCluster on 127.0.0.1)
give the same outputs as local processes."""
from __future__ import annotations

import pytest

from conftest import make_corpus
from test_entry_points import _digest, _params, _stage

distributed = pytest.importorskip("dask.distributed")


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1", processes=True,
                                  dashboard_address=None) as local_cluster:
        yield local_cluster


def test_augment_and_features_on_a_dask_cluster_match_the_local_run(tmp_path, cluster):
    corpus = make_corpus(tmp_path / "corpus", seconds=1.0)
    local, remote = tmp_path / "local", tmp_path / "dask"
    outputs = {}
    for work, scheduler in ((local, None), (remote, cluster.scheduler_address)):
        work.mkdir()
        params = _params(str(corpus), **{"compute.scheduler": scheduler, "augment.jobs": 2, "features.jobs": 2})
        for stage in ("fetch", "augment", "features"):
            result = _stage(stage, work, params)
            assert result.returncode == 0, result.stderr
            if scheduler and stage != "fetch":
                assert f"running on the Dask cluster at {scheduler} (2 workers)" in result.stderr
        made = work / "data/study/emodb"
        outputs[work] = {**_digest(made / "augmented"), **_digest(made / "features")}
    assert outputs[local] == outputs[remote]
    assert len(outputs[local]) > 20

    # The work really went through the cluster's scheduler, not a local fallback
    with distributed.Client(cluster.scheduler_address) as client:
        prefixes = client.run_on_scheduler(lambda dask_scheduler: list(dask_scheduler.task_prefixes))
    assert any("augment_utterance" in p for p in prefixes), prefixes
    assert any("extract_file" in p for p in prefixes), prefixes


def test_an_unreachable_scheduler_is_a_clear_error(tmp_path):
    corpus = make_corpus(tmp_path / "corpus", seconds=1.0)
    params = _params(str(corpus), **{"compute.scheduler": "tcp://127.0.0.1:9", "compute.connect_timeout_s": 2})
    assert _stage("fetch", tmp_path, params).returncode == 0
    result = _stage("augment", tmp_path, params)
    assert result.returncode == 2
    assert "compute.scheduler: no Dask scheduler answered at tcp://127.0.0.1:9" in result.stderr, result.stderr
    assert not (tmp_path / "data/study/emodb/augmented").exists()


def test_a_scheduler_without_a_protocol_is_a_params_error(tmp_path):
    params = _params("unused", **{"compute.scheduler": "10.0.0.5:8786"})
    result = _stage("augment", tmp_path, params)
    assert result.returncode == 2
    assert "compute.scheduler" in result.stderr and "not a Dask scheduler address" in result.stderr, result.stderr


# --- training tasks: cv's folds wherever compute says, the same predictions -------------------------------

def _fold_tasks(folder, threads=1):
    """Three LOSO folds of a tiny CNN on a synthetic features folder (7 emotions, 3 speakers)."""
    import numpy as np
    import pandas as pd

    from emoser.corpora.emodb import EMOTIONS
    from emoser.features.dataset import write_features
    from emoser.models.networks.crossval import fold_tasks
    from emoser.params.networks import ArchitectureParams, TrainParams

    rng = np.random.default_rng(0)
    rows = [(f"{s}{e}{k}", s, e, i) for s in ("03", "08", "09") for i, e in enumerate(EMOTIONS) for k in range(3)]
    clips = pd.DataFrame(rows, columns=["clip", "speaker", "emotion", "label"]).assign(utterance=lambda t: t["clip"])
    shape = (5, 20)
    features = [(rng.normal(size=shape).astype(np.float32) + label, 14) for *_, label in rows]
    write_features(folder, clips["clip"].to_numpy(dtype=str), iter(features), shape)
    folds = []
    for test in ("03", "08", "09"):
        for clip, speaker in zip(clips["clip"], clips["speaker"]):
            subset = "test" if speaker == test else ("val" if clip.endswith("0") else "train")
            folds.append(("loso", test, clip, subset))
    folds = pd.DataFrame(folds, columns=["protocol", "fold", "clip", "subset"])
    settings = TrainParams(epochs=3, batch_size=8, learning_rate=0.01, patience=5, seed=7, replicates=1)
    architectures = ArchitectureParams.model_validate({
        "cnn": {"filters": [2], "kernel": 3, "padding": "same", "dense": 4, "dropout": 0.5},
        "cnn_lstm": {"chunks": 2, "filters": [2], "kernel": 3, "lstm_units": 4, "dense": 4, "dropout": 0.5}})
    return fold_tasks("cnn-cce", "loso", settings, architectures, "utterance", threads, clips, folder, folds)


def _compute(**changes):
    from emoser.params.compute import ComputeParams
    return ComputeParams(**{"scheduler": None, "connect_timeout_s": 30, "threads_per_task": 1, "tasks": 1,
                            **changes})


def test_fold_trainings_on_worker_processes_and_a_dask_cluster_match_a_serial_run(tmp_path, cluster, caplog):
    import logging

    import numpy as np
    import tensorflow as tf

    from emoser.models.networks.tasks import run_trainings

    tasks = _fold_tasks(tmp_path / "features")[:2]
    # TensorFlow already runs in this process with its own thread count (as after other tests, or in a
    # notebook): a serial run trains each fold in a new process with the task's count, not here with
    # other numerics.
    tf.constant(1.0) + 1
    with caplog.at_level(logging.INFO, logger="emoser.models.networks.tasks"):
        here = run_trainings(tasks, _compute(tasks=1))                       # one after another, from this process
    assert "cannot switch to 1: cv cnn-cce loso fold 08 trains in a new process" in caplog.text, caplog.text
    spawned = run_trainings(tasks, _compute(tasks=2))                        # two local worker processes
    dask = run_trainings(tasks, _compute(scheduler=cluster.scheduler_address))   # the LocalCluster's workers
    workers = set(cluster.scheduler_info["workers"])
    assert {r.ran_on for r in dask} <= workers, ([r.ran_on for r in dask], workers)
    assert len({r.ran_on for r in spawned}) == 2 and all(" pid " in r.ran_on for r in spawned)
    assert {r.ran_on for r in here} == {here[0].ran_on} and here[0].ran_on not in {r.ran_on for r in spawned}
    for a, b, c in zip(here, spawned, dask):
        assert len(a.probabilities) == 21      # one test speaker's 7 emotions x 3
        assert np.array_equal(a.probabilities, b.probabilities) and np.array_equal(a.probabilities, c.probabilities)
        assert a.predictions.equals(b.predictions) and a.predictions.equals(c.predictions)


def test_a_training_task_refuses_a_thread_count_it_cannot_have(tmp_path):
    """TensorFlow fixes its threads at its first op: a second count in one process is an error, not a quiet
    run with other numerics."""
    import subprocess
    import sys
    code = ("from emoser.models.networks.training import use_threads\nimport tensorflow as tf\nuse_threads(1)\n"
            "tf.constant(1.0) + 1\nuse_threads(1)\nuse_threads(2)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode != 0
    assert "compute.threads_per_task: TensorFlow already runs with 1 threads in this process and cannot switch to 2" \
        in result.stderr, result.stderr[-2000:]

"""The per-clip stages on a real Dask cluster (LocalCluster on 127.0.0.1) give the same outputs
as the local process pool."""
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
        outputs[work] = {**_digest(work / "data/augmented"), **_digest(work / "data/features")}
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
    assert not (tmp_path / "data/augmented").exists()


def test_a_scheduler_without_a_protocol_is_a_params_error(tmp_path):
    params = _params("unused", **{"compute.scheduler": "10.0.0.5:8786"})
    result = _stage("augment", tmp_path, params)
    assert result.returncode == 2
    assert "compute.scheduler" in result.stderr and "not a Dask scheduler address" in result.stderr, result.stderr

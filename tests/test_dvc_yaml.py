"""dvc.yaml and emoser.paths name the same files, and every stage runs an emoser module."""
import yaml

from conftest import REPO
from emoser import paths


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
    # dvc 3.67 crashes when `-S` turns a matrix's param list into a scalar: matrices stay literal
    for name, stage in _stages().items():
        for values in stage.get("matrix", {}).values():
            assert isinstance(values, list) and not any("${" in str(v) for v in values), name

"""New captures to score: any folder depth, `attack` column optional."""

import pytest
from kedro.io import DatasetError

from kd_gat.datasets.captures import CaptureFolderDataset
from kd_gat.pipelines.inference.nodes import ingest_new_captures

HEADER = "timestamp,arbitration_id,data_field"


def test_unlabelled_captures_at_any_depth_without_labels(tmp_path) -> None:
    (tmp_path / "car_a" / "day_1").mkdir(parents=True)
    (tmp_path / "car_a" / "day_1" / "drive.csv").write_text(f"{HEADER}\n1.0,1E5,00FF\n1.1,0C1,\n")
    (tmp_path / "loose.csv").write_text(f"{HEADER},attack\n2.0,7FF,01,1\n")
    captures = CaptureFolderDataset(str(tmp_path), labelled=False).load()
    assert [c.relpath for c in captures] == ["car_a/day_1/drive.csv", "loose.csv"]
    frames, rejects, _ = ingest_new_captures(
        captures, {"on_invalid": "quarantine", "attack_kinds": {"x": "x"}}
    )
    assert len(rejects) == 0
    assert sorted(frames["capture"].unique()) == ["car_a/day_1/drive", "loose"]
    assert frames.loc[frames["capture"] == "car_a/day_1/drive", "attack"].tolist() == [0, 0]
    assert frames.loc[frames["capture"] == "car_a/day_1/drive", "can_id"].tolist() == [0x1E5, 0xC1]
    assert set(frames["scenario"]) == {"inference"}


def test_unlabelled_captures_follow_symlinked_folders_once(tmp_path) -> None:
    """A profile folder may link each car's recordings (`A -> .../vehicle_profiles/A`); a link
    back up the tree is not followed twice."""
    shared = tmp_path / "shared" / "B"
    shared.mkdir(parents=True)
    (shared / "idle.csv").write_text(f"{HEADER}\n1.0,1E5,00\n")
    root = tmp_path / "profiles"
    root.mkdir()
    (root / "B").symlink_to(shared, target_is_directory=True)
    (shared / "loop").symlink_to(root, target_is_directory=True)
    captures = CaptureFolderDataset(str(root), labelled=False).load()
    assert [c.relpath for c in captures] == ["B/idle.csv"]


def test_labelled_dataset_still_needs_the_label_and_the_layout(tmp_path) -> None:
    (tmp_path / "loose.csv").write_text(f"{HEADER}\n1.0,1E5,00\n")
    with pytest.raises(DatasetError, match="no captures found"):
        CaptureFolderDataset(str(tmp_path)).load()
    (tmp_path / "train_01_attack_free").mkdir()
    (tmp_path / "train_01_attack_free" / "a-1.csv").write_text(f"{HEADER}\n1.0,1E5,00\n")
    with pytest.raises(DatasetError, match=r"a-1.csv: missing column\(s\) \['attack'\]"):
        CaptureFolderDataset(str(tmp_path)).load()

import re

import pytest

from har.train.dataset import DatasetError, Video, group_of, list_videos, split_groups
from har.train.protocols import make_folds


def _touch(root, cls, name):
    p = root / cls / name
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(b"")
    return p


def test_group_from_ucf_name_else_video(tmp_path):
    assert group_of(tmp_path / "v_TaiChi_g07_c02.avi", "TaiChi") == "g07"
    assert group_of(tmp_path / "my_clip.mp4", "Wave") == "Wave/my_clip"
    assert group_of(tmp_path / "v_TaiChi_g07_c02_3.avi", "TaiChi") == "g07"  # gNN wins over a clip number


def test_hmdb_clips_cut_from_one_source_video_are_one_group(tmp_path):
    src = "April_09_brush_hair_u_nm_np1_ba_goo"
    groups = {group_of(tmp_path / f"{src}_{i}.avi", "brush_hair") for i in (0, 1, 2)}
    assert groups == {f"brush_hair/{src}"}
    assert group_of(tmp_path / "My_Hair_Routine_brush_hair_h_nm_np1_le_goo_0.avi", "brush_hair") not in groups
    # Users' own numbered files stay one video each: grouping them would leave a class one group.
    assert group_of(tmp_path / "clip_1.mp4", "Wave") == "Wave/clip_1" != group_of(tmp_path / "clip_2.mp4", "Wave")
    assert group_of(tmp_path / "IMG_1234.MOV", "Wave") == "Wave/IMG_1234"


@pytest.mark.parametrize("protocol", ["holdout", "kfold:3", "kfold:5"])
def test_no_hmdb_source_video_is_on_two_sides(tmp_path, protocol):
    for cls in ("brush_hair", "cartwheel", "wave"):
        for s in range(8):
            for i in range(3):
                _touch(tmp_path, cls, f"Movie{s}_{cls}_f_cm_np1_ba_goo_{i}.avi")
    videos, _ = list_videos(tmp_path)
    for fold in make_folds(videos, protocol, 0.2, 0.25, seed=1):
        sides = {}
        for side in ("train", "val", "test"):
            for v in getattr(fold, side):
                sides.setdefault(re.sub(r"_\d+$", "", v.path.stem), set()).add(side)
        assert fold.test and all(len(s) == 1 for s in sides.values()), fold.name  # read from the names, not v.group


def test_synthetic_names_keep_their_gnn_groups(tiny_synth):
    """`har data synth` names carry gNN, so the clip-number rule changes none of its groups (or past results)."""
    videos, _ = list_videos(tiny_synth)
    assert all(re.fullmatch(r"v_\w+_g\d\d_c\d\d", v.path.stem) for v in videos)
    assert sorted({v.group for v in videos}) == ["g01", "g02", "g03", "g04"]


def test_list_videos_classes_subset_and_errors(tmp_path):
    for cls in ("A", "B", "C"):
        for g in (1, 2):
            _touch(tmp_path, cls, f"v_{cls}_g{g:02d}_c01.avi")
    _touch(tmp_path, "A", "notes.txt")
    videos, labels = list_videos(tmp_path, ["A", "C"])
    assert labels == ["A", "C"] and len(videos) == 4
    with pytest.raises(DatasetError, match="not found"):
        list_videos(tmp_path, ["A", "Nope"])
    with pytest.raises(DatasetError, match="does not exist"):
        list_videos(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="at least two class folders"):
        list_videos(tmp_path / "empty")


@pytest.mark.parametrize("ucf_names", [True, False])
def test_split_is_group_disjoint_stratified_and_seeded(tmp_path, ucf_names):
    videos = []
    for cls in ("A", "B", "C", "D"):
        for g in range(1, 11):
            for c in (1, 2, 3):
                name = f"v_{cls}_g{g:02d}_c{c:02d}.avi" if ucf_names else f"{cls}_{g}_{c}.avi"
                videos.append(Video(tmp_path / cls / name, cls, group_of(tmp_path / cls / name, cls)))
    parts = split_groups(videos, 0.2, 0.2, seed=3)
    groups = {k: {v.group for v in vs} for k, vs in parts.items()}
    assert not (groups["train"] & groups["val"]) and not (groups["train"] & groups["test"])
    assert not (groups["val"] & groups["test"])
    assert sum(len(v) for v in parts.values()) == len(videos)
    for side in parts.values():  # every class on every side
        assert {v.label for v in side} == {"A", "B", "C", "D"}
    assert split_groups(videos, 0.2, 0.2, seed=3) == parts
    assert split_groups(videos, 0.2, 0.2, seed=4) != parts

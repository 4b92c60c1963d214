import pytest

from har.train.dataset import DatasetError, Video, group_of, list_videos, split_groups


def _touch(root, cls, name):
    p = root / cls / name
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(b"")
    return p


def test_group_from_ucf_name_else_video(tmp_path):
    assert group_of(tmp_path / "v_TaiChi_g07_c02.avi", "TaiChi") == "g07"
    assert group_of(tmp_path / "my_clip.mp4", "Wave") == "Wave/my_clip"


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

import logging
from pathlib import Path

import numpy as np
import pytest

from har.edge.capture import open_video
from har.edge.preprocess import normalize, preprocess_frame
from har.models import clips as clips_mod
from har.models.clips import Sampling, VideoError, clip_indices, load_clips, read_frames, video_clips
from har.train.dataset import Video
from tests.helpers import write_video


def _frames(n, w=96, h=72, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 255, (h, w, 3), dtype=np.uint8) for _ in range(n)]


def test_interval_indices_follow_timestamps():
    s = Sampling(seq_len=20, interval_s=0.1, clips_per_video=3)
    idx = clip_indices(90, 30.0, s)  # 3 s at 30 fps; a clip spans 1.9 s
    assert len(idx) == 3
    assert list(idx[0][:4]) == [0, 3, 6, 9]  # 0.1 s apart = every 3rd frame at 30 fps
    assert all(i.max() < 90 for i in idx)
    assert clip_indices(50, 30.0, s) == []  # 1.67 s is too short


def test_uniform_indices_reproduce_the_seed():
    idx = clip_indices(100, 25.0, Sampling(mode="uniform"))
    assert len(idx) == 1 and list(idx[0]) == list(range(0, 100, 5))


def test_clips_are_the_edge_preprocessing_of_the_same_frames(tmp_path):
    frames = _frames(40)
    path = write_video(tmp_path / "v_A_g01_c01.avi", frames, fps=10.0)
    s = Sampling(seq_len=8, interval_s=0.2, clips_per_video=1, size=32)
    clip = video_clips(path, s)[0]
    decoded, fps = read_frames(path, 32)
    assert fps == 10.0 and clip.dtype == np.uint8 and clip.shape == (8, 32, 32, 3)
    idx = clip_indices(len(decoded), fps, s)[0]
    np.testing.assert_array_equal(clip, decoded[idx])
    # The training clip equals the edge's preprocess_frame on the decoded BGR frame.

    cap = open_video(path)
    raw = [cap.read()[1] for _ in range(idx[1] + 1)][idx[1]]
    np.testing.assert_array_equal(clip[1], preprocess_frame(raw, 32))
    x = normalize(clip)
    assert x.dtype == np.float32 and 0.0 <= x.min() and x.max() <= 1.0


def test_bad_videos_are_skipped_with_one_warning(tmp_path, caplog):
    good = write_video(tmp_path / "v_A_g01_c01.avi", _frames(30), fps=10.0)
    short = write_video(tmp_path / "v_A_g02_c01.avi", _frames(3), fps=10.0)
    corrupt = tmp_path / "v_B_g01_c01.mp4"
    corrupt.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"garbage" * 100)
    missing = tmp_path / "v_B_g03_c01.mp4"
    vids = [Video(p, lab, "g") for p, lab in ((good, "A"), (short, "A"), (corrupt, "B"), (missing, "B"))]
    with caplog.at_level(logging.WARNING):
        X, y, skipped = load_clips(vids, ["A", "B"], Sampling(seq_len=10, interval_s=0.2, size=16))
    assert X.shape[0] == len(y) >= 1 and set(y) == {0}
    assert len(skipped) == 3
    warnings = [r for r in caplog.records if "skipped 3" in r.getMessage()]
    assert len(warnings) == 1 and "too short" in warnings[0].getMessage()


def test_cache_means_no_second_decode(tmp_path, monkeypatch):
    path = write_video(tmp_path / "v.avi", _frames(30), fps=10.0)
    s = Sampling(seq_len=5, interval_s=0.2, size=16)
    first = video_clips(path, s, tmp_path / "cache")
    assert len(list((tmp_path / "cache").glob("*.npz"))) == 1

    def boom(*a, **k):
        raise AssertionError("decoded again")

    monkeypatch.setattr(clips_mod, "read_frames", boom)
    np.testing.assert_array_equal(video_clips(path, s, tmp_path / "cache"), first)
    with pytest.raises(AssertionError, match="decoded again"):  # other sampling = other key
        video_clips(path, Sampling(seq_len=6, interval_s=0.2, size=16), tmp_path / "cache")


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(VideoError, match="no such file"):
        video_clips(tmp_path / "nope.mp4", Sampling())


@pytest.mark.parametrize("name", ["arm_wrestling.mp4", "flipping_pancake.mkv", "cricket_shot.gif",
                                  "drink_water_1080p.avi", "v_ApplyEyeMakeup_g01_c01.avi"])
def test_real_clips_decode_in_every_container(realclips, name):
    frames, fps = read_frames(realclips / name, 64)
    assert frames.shape[1:] == (64, 64, 3) and len(frames) > 20
    assert 5 <= fps <= 60
    clips = video_clips(realclips / name, Sampling(clips_per_video=2))
    assert clips.shape[1:] == (20, 64, 64, 3)


def test_every_cache_shares_one_root_and_an_empty_xdg_means_unset(monkeypatch, tmp_path):
    from har.edge.pose.assets import default_cache_dir as pose_cache
    from har.edge.videourl import default_cache_dir as video_cache

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert [clips_mod.default_cache_dir(), video_cache(), pose_cache()] == \
        [tmp_path / "har" / "clips", tmp_path / "har" / "videos", tmp_path / "har" / "pose"]
    monkeypatch.setenv("XDG_CACHE_HOME", "")  # not the current directory: empty means unset
    assert clips_mod.default_cache_dir() == Path.home() / ".cache" / "har" / "clips"

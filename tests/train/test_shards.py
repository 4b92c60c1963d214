"""Shards on disk give the same clips as memory, the TF augmentations behave, and a model trains from shards."""

import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest
from typer.testing import CliRunner

from har.cli.main import app
from har.models.clips import Sampling, load_clips
from har.train.augment import augment_names, flip_map, tf_augment
from har.train.config import TrainConfig
from har.train.dataset import list_videos
from har.train.pipeline import batches, choose_pipeline
from har.train.protocols import make_folds
from har.train.shards import read_shards, write_shards

TINY = Sampling(seq_len=4, size=32, clips_per_video=2)
LABELS = ["idle", "walk_left", "walk_right"]


def _sorted(clips: np.ndarray, labels: np.ndarray):
    order = sorted(range(len(labels)), key=lambda i: (int(labels[i]), clips[i].tobytes()))
    return clips[order], labels[order]


@pytest.fixture(scope="module")
def tiny_shards(tiny_synth, tmp_path_factory):
    videos, labels = list_videos(tiny_synth)
    root = tmp_path_factory.mktemp("shards")
    shards = write_shards(videos, labels, TINY, root / "shards", root / "clips", clips_per_shard=10)
    X, y, _ = load_clips(videos, labels, TINY, root / "clips")
    return shards, X, y, labels, root


def test_shards_hold_exactly_the_clips_of_the_memory_path(tiny_shards):
    shards, X, y, labels, _ = tiny_shards
    assert shards.num_clips == len(y) == 56  # 28 videos x 2 clips
    assert len(shards.parts) == 4 and len(shards.files) == 8  # a folder per group: 14 clips, 10 a shard
    assert shards.class_counts == np.bincount(y, minlength=len(labels)).tolist()
    got = [(c.numpy(), int(lab)) for c, lab in read_shards(shards, shuffle=True, seed=1, shuffle_buffer=16)]
    sx, sy = _sorted(np.stack([c for c, _ in got]), np.array([lab for _, lab in got]))
    mx, my = _sorted(X, y)
    assert sx.dtype == np.uint8 and np.array_equal(sx, mx) and np.array_equal(sy, my)


def test_one_unaugmented_epoch_from_shards_equals_memory(tiny_shards):
    shards, X, y, labels, _ = tiny_shards
    cfg = TrainConfig(normalization="scale_-1_1", sampling=TINY, shuffle_buffer=8)
    n = len(labels)
    xs, ys = zip(*[(a.numpy(), b.numpy()) for a, b in batches(shards, cfg, n, 4, training=True)], strict=True)
    x, onehot = np.concatenate(xs), np.concatenate(ys)
    assert x.dtype == np.float32 and x.min() >= -1 and x.max() <= 1 and len(x) == len(y)
    restored = np.rint((x + 1) * 127.5).astype(np.uint8)
    sx, sy = _sorted(restored, onehot.argmax(-1))
    mx, my = _sorted(X, y)
    assert np.array_equal(sx, mx) and np.array_equal(sy, my)


def _stamps(shards) -> list[int]:
    return [os.stat(p / "index.json").st_mtime_ns for p in shards.parts]


def test_shards_are_written_once_and_reused(tiny_shards, tiny_synth):
    shards, _, _, labels, root = tiny_shards
    videos, _ = list_videos(tiny_synth)
    stamps = _stamps(shards)
    again = write_shards(list(reversed(videos)), labels, TINY, root / "shards", root / "clips")
    assert again.files == shards.files and _stamps(again) == stamps
    other = write_shards(videos[:7], labels, TINY, root / "shards", root / "clips")  # other videos in each group
    assert set(other.parts).isdisjoint(shards.parts) and other.num_clips == 14
    empty = write_shards([], labels, TINY, root / "shards")  # e.g. val_fraction = 0
    assert empty.num_clips == 0 and empty.class_counts == [0] * len(labels)
    assert list(read_shards(empty, shuffle=True)) == []


def test_every_fold_reuses_the_shard_files_of_its_groups(tiny_shards, tiny_synth):
    """The data is on disk once: fold 2 of logo writes nothing, its splits are fold 1's files regrouped."""
    _, _, _, labels, root = tiny_shards
    videos, _ = list_videos(tiny_synth)
    folder = root / "fold-shards"
    fold1, fold2 = make_folds(videos, "logo", 0.25, 0.25, seed=0)[:2]

    def write(fold):
        return {k: write_shards(getattr(fold, k), labels, TINY, folder, root / "clips", clips_per_shard=10)
                for k in ("train", "val", "test")}

    first = write(fold1)
    on_disk = {p: p.stat().st_mtime_ns for p in folder.rglob("*")}
    second = write(fold2)
    assert {p: p.stat().st_mtime_ns for p in folder.rglob("*")} == on_disk  # no file written or rewritten
    assert len(list(folder.glob("*/index.json"))) == 4  # one folder per group, not one per split
    assert set(second["test"].files) <= set(first["train"].files + first["val"].files)
    assert sorted(f for s in second.values() for f in s.files) == sorted(f for s in first.values() for f in s.files)
    assert second["test"].num_clips == 14 and second["test"].class_counts == [2] * len(labels)


def test_unfinished_folders_of_ended_processes_are_removed(tiny_shards):
    _, _, _, labels, root = tiny_shards
    folder = root / "stale"
    ended = int(subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                               text=True, check=True).stdout)
    host = socket.gethostname()
    dead = [folder / f"a.tmp-{ended}", folder / f"b.tmp-{host}-{ended}"]
    kept = [folder / f"c.tmp-{host}-{os.getpid()}", folder / f"d.tmp-elsewhere-{ended}", folder / "e"]
    for p in dead + kept:
        p.mkdir(parents=True)
        (p / "shard-00000.tfrecord").write_bytes(b"partial")
    write_shards([], labels, TINY, folder)
    assert not any(p.exists() for p in dead)
    assert all(p.exists() for p in kept)  # a live writer, another host's (shared storage), a finished folder


def test_tf_augmentations_keep_shape_order_and_swap_only_flip_pairs():
    # Frame t of this clip is filled with 10 * t, so the frame order can be read back.
    clip = np.broadcast_to((np.arange(8) * 10).astype(np.uint8)[:, None, None, None], (8, 16, 16, 3)).copy()
    clip[:, :, :4] = 200  # a bright left edge shows flips
    flips = flip_map(LABELS, [["walk_left", "walk_right"]])
    jitter = tf_augment(("temporal_jitter",), None)
    for _ in range(20):
        x, _ = jitter(clip, 0)
        frames = x.numpy()[:, 0, -1, 0] / 10
        assert np.all(np.diff(frames) >= 0) and np.all(np.abs(frames - np.arange(8)) <= 1)
    flip = tf_augment(("flip",), flips)
    seen = set()
    for _ in range(30):
        x, label = flip(clip, 1)
        flipped = x.numpy()[0, 0, -1, 0] == 200
        assert int(label) == (2 if flipped else 1)
        seen.add(bool(flipped))
        x, label = flip(clip, 0)
        assert int(label) == 0  # idle keeps its label whether flipped or not
    assert seen == {True, False}
    x, label = tf_augment(("flip",), None)(clip, 1)  # no flip_pairs: never flipped
    assert np.array_equal(x.numpy(), clip) and int(label) == 1
    x, _ = tf_augment(("crop", "brightness", "shift"), None)(clip, 0)
    assert x.shape == clip.shape and 0 <= x.numpy().min() and x.numpy().max() <= 255
    assert augment_names(True) == ("brightness", "shift", "flip")
    with pytest.raises(ValueError, match="unknown augmentation"):
        augment_names(["mixup"])


def test_auto_pipeline_follows_the_memory_budget():
    small = TrainConfig(sampling=Sampling(seq_len=20, size=64, clips_per_video=3))  # 0.7 MiB a video
    assert choose_pipeline(small, 224) == "memory"  # the embedded dataset, today's path
    assert choose_pipeline(small, 13_320) == "shards"  # UCF101: 9.8 GB
    assert choose_pipeline(TrainConfig(input_pipeline="memory"), 13_320) == "memory"


def test_a_tiny_model_trains_from_shards_with_kfold(tiny_synth, tmp_path):
    """The whole `har train` path: shards, TF augmentations, two folds, mean and std in metrics.json."""
    config = tmp_path / "tiny.toml"
    config.write_text('[train]\naugment = ["brightness", "crop", "temporal_jitter", "flip"]\n'
                      'flip_pairs = [["walk_left", "walk_right"]]\nmemory_budget_gib = 0.0001\njit_compile = false\n'
                      '[train.sampling]\nseq_len = 4\nsize = 64\nclips_per_video = 1\n')
    res = CliRunner().invoke(app, ["train", "--data", str(tiny_synth), "--config", str(config), "--epochs", "1",
                                   "--classes", "idle,walk_left,walk_right",
                                   "--protocol", "kfold:4", "--folds", "2", "--out", str(tmp_path / "out"),
                                   "--cache-dir", str(tmp_path / "cache")])
    assert res.exit_code == 0, res.output
    m = json.loads((tmp_path / "out" / "lrcn" / "metrics.json").read_text())
    assert m["input_pipeline"] == "shards" and m["protocol"] == "kfold:4" and m["model_trained_on"] == "all"
    accs = [f["test_accuracy"] for f in m["folds"]]
    assert len(accs) == 2 and m["mean_accuracy"] == pytest.approx(np.mean(accs))
    assert m["std_accuracy"] == pytest.approx(np.std(accs)) and m["test_accuracy"] is None
    assert all(f["split_sizes"]["test"] == 3 for f in m["folds"])  # one group: one clip of each class
    assert all(np.asarray(f["confusion"]).sum() == 3 for f in m["folds"])
    assert np.asarray(m["pooled"]["windows"]["confusion"]).sum() == 6 and m["pooled"]["videos"] is None
    assert sorted(m["split_groups"]["train"] + m["split_groups"]["val"]) == ["g01", "g02", "g03", "g04"]
    assert "+-" in res.output and "fold 2: accuracy" in res.output
    # One shard folder per group, shared by both folds (a group trains in one fold and tests in the other).
    assert len(list((tmp_path / "cache" / "shards").glob("*/index.json"))) == 4

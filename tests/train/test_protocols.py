"""Evaluation protocols: no group on two sides of a fold, on UCF-style and per-video groups."""

import shutil

import pytest
from typer.testing import CliRunner

from har.cli.main import app
from har.train.dataset import DatasetError, list_videos
from har.train.protocols import make_folds, parse_protocol

PROTOCOLS = ["holdout", "logo", "kfold:2", "kfold:3", "official:1,2"]


@pytest.fixture(scope="module")
def ucf_style(tiny_synth, tmp_path_factory):
    """A copy of the tiny synthetic set (``v_<class>_gNN_c01.mp4``: 4 groups shared by 7 classes) with split lists."""
    root = tmp_path_factory.mktemp("ucf") / "data"
    shutil.copytree(tiny_synth, root)
    write_split_lists(root, {1: ["g01"], 2: ["g02", "g03"]})
    return root


@pytest.fixture(scope="module")
def per_video(tiny_synth, tmp_path_factory):
    """The same videos renamed without ``gNN``: each video is its own group, of one class."""
    root = tmp_path_factory.mktemp("pervideo") / "data"
    for f in sorted(tiny_synth.rglob("*.mp4")):
        (root / f.parent.name).mkdir(parents=True, exist_ok=True)
        shutil.copy(f, root / f.parent.name / f.name.replace("_g", "_take"))
    # HMDB-style lists: per class, one video tests and the rest train.
    write_split_lists(root, {1: ["take01"], 2: ["take04"]}, key="take")
    return root


def write_split_lists(root, tests: dict[int, list[str]], key="g"):
    """UCF101-format lists: ``Class/video.mp4 <label index>`` for training, bare paths for testing."""
    (root / "splits").mkdir()
    for n, held in tests.items():
        train, test = [], []
        for i, c in enumerate(sorted(p.name for p in root.iterdir() if p.is_dir() and p.name != "splits")):
            for f in sorted((root / c).glob("*.mp4")):
                tag = next(part for part in f.stem.split("_") if part.startswith(key))
                (test if tag in held else train).append((f"{c}/{f.name}", i + 1))
        (root / "splits" / f"trainlist{n:02d}.txt").write_text("".join(f"{p} {i}\n" for p, i in train))
        (root / "splits" / f"testlist{n:02d}.txt").write_text("".join(f"{p}\n" for p, _ in test))


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("layout", ["ucf_style", "per_video"])
def test_no_group_is_on_two_sides_of_any_fold(protocol, layout, request):
    root = request.getfixturevalue(layout)
    videos, labels = list_videos(root)
    if (protocol, layout) == ("logo", "per_video"):  # one model per video: refused (test below)
        with pytest.raises(DatasetError):
            make_folds(videos, protocol, 0.25, 0.25, seed=3, data_root=root)
        return
    folds = make_folds(videos, protocol, 0.25, 0.25, seed=3, data_root=root)
    for f in folds:
        g = f.groups()
        assert g["train"] and g["test"], f.name
        assert not set(g["train"]) & set(g["test"]), f.name
        assert not set(g["train"]) & set(g["val"]), f.name
        assert not set(g["val"]) & set(g["test"]), f.name
        assert {v.label for v in f.train} == set(labels)  # every class is learned in every fold
    if protocol in ("logo", "kfold:2", "kfold:3"):  # each video is tested exactly once over the folds
        tested = sorted(str(v.path) for f in folds for v in f.test)
        assert tested == sorted(str(v.path) for v in videos)
    expected = {"holdout": 1, "logo": len({v.group for v in videos}), "kfold:2": 2, "kfold:3": 3, "official:1,2": 2}
    assert len(folds) == expected[protocol]


def test_logo_holds_out_one_ucf_group_per_fold(ucf_style):
    videos, _ = list_videos(ucf_style)
    folds = make_folds(videos, "logo", 0.25, 0.25, seed=0)
    assert [f.name for f in folds] == ["g01", "g02", "g03", "g04"]
    assert all(f.groups()["test"] == [f.name] and len(f.test) == 7 for f in folds)
    assert all(len(f.groups()["val"]) == 1 for f in folds)  # a quarter of the 3 training groups, at least one


def test_logo_on_per_video_groups_is_refused_with_what_to_use(per_video, tmp_path):
    videos, _ = list_videos(per_video)
    with pytest.raises(DatasetError, match=r"logo would train 28 models, one per source video.*kfold:5"):
        make_folds(videos, "logo", 0.25, 0.25, seed=0)
    res = CliRunner().invoke(app, ["train", "--data", str(per_video), "--protocol", "logo", "--out", str(tmp_path)])
    assert res.exit_code == 2 and "one per source video" in res.output and "official:1,2,3" in res.output
    assert "Traceback" not in res.output and not list(tmp_path.iterdir())


def test_kfold_on_per_video_groups_is_stratified(per_video):
    videos, labels = list_videos(per_video)
    for f in make_folds(videos, "kfold:2", 0.25, 0.25, seed=1):
        assert sorted(v.label for v in f.test) == sorted(labels * 2)  # 2 of each class's 4 videos


def test_official_splits_follow_the_lists(ucf_style, per_video):
    videos, _ = list_videos(ucf_style)
    split1, split2 = make_folds(videos, "official:1,2", 0.25, 0.25, seed=0, data_root=ucf_style)
    assert (split1.name, split1.groups()["test"]) == ("split 1", ["g01"])
    assert split2.groups()["test"] == ["g02", "g03"]
    assert sorted(split2.groups()["train"] + split2.groups()["val"]) == ["g01", "g04"]
    videos, _ = list_videos(per_video, ["wave", "jump"])  # a class subset reads only its own lines
    (fold,) = make_folds(videos, "official:1", 0.25, 0.25, seed=0, data_root=per_video)
    assert {v.label for v in fold.test} == {"wave", "jump"} and all("take01" in v.path.name for v in fold.test)


def test_official_split_errors_say_what_to_do(ucf_style, tmp_path):
    videos, _ = list_videos(ucf_style)
    with pytest.raises(DatasetError, match="har data download"):
        make_folds(videos, "official:3", 0.25, 0.25, seed=0, data_root=ucf_style)
    bad = tmp_path / "data"
    shutil.copytree(ucf_style, bad)
    first = next(iter(sorted((bad / "wave").glob("*g01*"))))
    with open(bad / "splits" / "trainlist01.txt", "a") as f:  # a g01 video on the training side too
        f.write(f"wave/{first.name} 7\n")
    videos, _ = list_videos(bad)
    with pytest.raises(DatasetError, match="g01"):
        make_folds(videos, "official:1", 0.25, 0.25, seed=0, data_root=bad)


def test_official_lists_sharing_a_group_are_kept_with_a_warning(ucf_style, tmp_path, caplog):
    """Published lists are the protocol: a group on both sides by the file-name rule is reported, not refused."""
    data = tmp_path / "data"
    shutil.copytree(ucf_style, data)
    test_file, train_file = data / "splits" / "testlist01.txt", data / "splits" / "trainlist01.txt"
    lines = test_file.read_text().splitlines()
    moved = next(line for line in lines if line.startswith("wave/"))
    test_file.write_text("\n".join(line for line in lines if line != moved) + "\n")
    with open(train_file, "a") as f:
        f.write(f"{moved} 7\n")
    videos, _ = list_videos(data)
    with caplog.at_level("WARNING"):
        (fold,) = make_folds(videos, "official:1", 0.25, 0.25, seed=0, data_root=data)
    assert "official split 1 puts 1 group(s) (e.g. g01) on both sides" in caplog.text
    assert moved not in {str(v.path.relative_to(data)) for v in fold.test}


@pytest.mark.parametrize("spec", ["kfold", "kfold:1", "official", "official:x", "logo:2", "loo"])
def test_malformed_protocols_are_refused(spec):
    with pytest.raises(ValueError, match="protocol"):
        parse_protocol(spec)


def test_cli_refuses_a_bad_protocol_in_one_line(tiny_synth, tmp_path):
    res = CliRunner().invoke(app, ["train", "--data", str(tiny_synth), "--protocol", "kfold:1",
                                   "--out", str(tmp_path)])
    assert res.exit_code == 2 and "kfold needs one number of folds >= 2" in res.output
    assert "Traceback" not in res.output and not list(tmp_path.iterdir())

"""Dataset download end to end: real archives of real videos served from 127.0.0.1.

Each test builds a miniature of the real archive (same file names and folder
nesting: ``UCF50/<Class>/v_..._gNN_cNN.avi``, HMDB51's RAR of per-class RARs,
the official split files) and points the registry at it with a mirror URL,
exactly as a user with a local mirror would.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile

import numpy as np
import pytest
from typer.testing import CliRunner

from har.train.dataset import list_videos
from har.train.datasets import (
    DatasetDownloadError,
    DatasetSpec,
    Remote,
    download_dataset,
    get_spec,
)
from har.train.protocols import read_split_list, split_list_paths
from tests.helpers import write_video
from tests.rar import require_rar_tool, write_rar

SEED = ["WalkingWithDog", "TaiChi", "Swing", "HorseRace"]


@pytest.fixture(scope="module")
def tiny_avi(tmp_path_factory) -> bytes:
    frames = [np.full((24, 32, 3), 40 + 20 * i, np.uint8) for i in range(6)]
    return write_video(tmp_path_factory.mktemp("v") / "v.avi", frames, 10.0).read_bytes()


def _ucf_files(tiny_avi: bytes, top: str, classes: list[str], groups: int = 2) -> dict[str, bytes]:
    return {f"{top}/{c}/v_{c}_g{g:02d}_c01.avi": tiny_avi for c in classes for g in range(1, groups + 1)}


@pytest.fixture
def ucf50_rar(tmp_path, tiny_avi) -> bytes:
    return write_rar(tmp_path / "UCF50.rar", _ucf_files(tiny_avi, "UCF50", SEED + ["Basketball"])).read_bytes()


def test_ucf50_seed_classes_resume_after_a_dropped_connection(serve, tmp_path, ucf50_rar):
    require_rar_tool()
    srv = serve({"/mirror/UCF50.rar": ucf50_rar})
    srv.drop_once["/mirror/UCF50.rar"] = len(ucf50_rar) // 2
    root = tmp_path / "data"
    res = download_dataset("ucf50", root, classes=SEED, base_url=srv.url("/mirror"), progress=False)
    assert res.path == root / "ucf50" and not res.reused
    assert res.classes == sorted(SEED) and res.videos == 8 and res.split_files == []
    assert [r[1:] for r in srv.requests] == [(None, 200), (f"bytes={len(ucf50_rar) // 2}-", 206)]
    videos, labels = list_videos(res.path)
    assert labels == sorted(SEED) and len(videos) == 8 and {v.group for v in videos} == {"g01", "g02"}
    manifest = json.loads((root / "downloads" / "manifest.json").read_text())
    assert manifest[srv.url("/mirror/UCF50.rar")] == {"file": "UCF50.rar", "size": len(ucf50_rar),
                                                       "sha256": hashlib.sha256(ucf50_rar).hexdigest()}
    assert (root / "downloads" / "UCF50.rar").read_bytes() == ucf50_rar

    again = download_dataset("ucf50", root, classes=["TaiChi"], base_url=srv.url("/mirror"), progress=False)
    assert again.reused and again.classes == ["TaiChi"] and len(srv.requests) == 2  # no network at all

    with pytest.raises(DatasetDownloadError, match=r"ucf50 has no class Taichi \(did you mean TaiChi\?\)"):
        download_dataset("ucf50", root, classes=["Taichi"], base_url=srv.url("/mirror"), progress=False)
    assert sorted(p.name for p in res.path.iterdir()) == [".complete"] + sorted(SEED)  # earlier copy intact


def test_recorded_sha256_catches_a_corrupted_archive_later(serve, tmp_path, ucf50_rar):
    require_rar_tool()
    srv = serve({"/UCF50.rar": ucf50_rar})
    root = tmp_path / "data"
    download_dataset("ucf50", root, classes=["Swing", "TaiChi"], base_url=srv.url(""), progress=False)
    archive = root / "downloads" / "UCF50.rar"
    data = bytearray(archive.read_bytes())
    data[len(data) // 2] ^= 0xFF  # bit rot on disk
    archive.write_bytes(bytes(data))
    with pytest.raises(DatasetDownloadError, match=r"UCF50\.rar has sha256 .* expected .*delete .*UCF50\.rar and "
                                                   r"rerun; the expected values are those recorded in .*manifest\.json"):
        download_dataset("ucf50", root, base_url=srv.url(""), progress=False)


def test_published_sha256_is_enforced(serve, tmp_path, tiny_avi):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for k, v in _ucf_files(tiny_avi, "UCF-101", ["A", "B"]).items():
            z.writestr(k, v)
    srv = serve({"/v.zip": buf.getvalue()})
    good = hashlib.sha256(buf.getvalue()).hexdigest()
    spec = DatasetSpec("mini", "mini", Remote(srv.url("/v.zip"), sha256="f" * 64))
    with pytest.raises(DatasetDownloadError, match=rf"v\.zip has sha256 {good}, expected f{{64}}"):
        download_dataset(spec, tmp_path, progress=False)
    assert not (tmp_path / "mini").exists() and not (tmp_path / "downloads" / "v.zip").exists()
    ok = DatasetSpec("mini", "mini", Remote(srv.url("/v.zip"), sha256=good, size=len(buf.getvalue())))
    assert download_dataset(ok, tmp_path, progress=False).videos == 4


def test_ucf101_splits_are_normalized(serve, tmp_path, tiny_avi):
    videos = io.BytesIO()
    with zipfile.ZipFile(videos, "w") as z:
        for k, v in _ucf_files(tiny_avi, "UCF-101", ["ApplyEyeMakeup", "Archery", "Biking"]).items():
            z.writestr(k, v)
    splits = io.BytesIO()
    with zipfile.ZipFile(splits, "w") as z:
        z.writestr("ucfTrainTestlist/classInd.txt", "1 ApplyEyeMakeup\r\n2 Archery\r\n3 Biking\r\n")
        for n in (1, 2):
            train = "".join(f"{c}/v_{c}_g02_c01.avi {i}\r\n" for i, c in enumerate(["ApplyEyeMakeup", "Archery",
                                                                                      "Biking"], 1))
            z.writestr(f"ucfTrainTestlist/trainlist0{n}.txt", train)
            z.writestr(f"ucfTrainTestlist/testlist0{n}.txt",
                       "".join(f"{c}/v_{c}_g01_c01.avi\r\n" for c in ["ApplyEyeMakeup", "Archery", "Biking"]))
    srv = serve({"/UCF101.zip": videos.getvalue(), "/splits.zip": splits.getvalue()})
    real = get_spec("ucf101")
    spec = DatasetSpec("ucf101", real.title, Remote(srv.url("/UCF101.zip")), Remote(srv.url("/splits.zip")),
                       split_format=real.split_format)
    res = download_dataset(spec, tmp_path, classes=["Archery", "Biking"], progress=False)
    assert [p.name for p in res.split_files] == ["testlist01.txt", "testlist02.txt", "trainlist01.txt",
                                                 "trainlist02.txt"]
    assert (res.path / "splits" / "trainlist01.txt").read_text() == \
        "Archery/v_Archery_g02_c01.avi\nBiking/v_Biking_g02_c01.avi\n"
    train, test = split_list_paths(res.path, 1)
    assert read_split_list(test) == ["Archery/v_Archery_g01_c01.avi", "Biking/v_Biking_g01_c01.avi"]
    assert all((res.path / r).is_file() for r in read_split_list(train) + read_split_list(test))
    assert not split_list_paths(res.path, 3)[0].exists()


def test_hmdb51_rar_of_rars_and_split_files(serve, tmp_path, tiny_avi):
    require_rar_tool()
    classes = ["brush_hair", "wave"]
    inner = {c: write_rar(tmp_path / f"{c}.rar", {f"{c}/{c}_clip{i}.avi": tiny_avi for i in range(3)})
             for c in classes}
    outer = write_rar(tmp_path / "hmdb51_org.rar", {f"{c}.rar": p.read_bytes() for c, p in inner.items()})
    split_files = {f"testTrainMulti_7030_splits/{c}_test_split{n}.txt":
                   f"{c}_clip0.avi 1 \n{c}_clip1.avi 2 \n{c}_clip2.avi 0 \n".encode()
                   for c in classes for n in (1, 2, 3)}
    splits = write_rar(tmp_path / "test_train_splits.rar", split_files)
    srv = serve({"/h/hmdb51_org.rar": outer.read_bytes(), "/h/test_train_splits.rar": splits.read_bytes()})
    res = download_dataset("hmdb51", tmp_path / "data", base_url=srv.url("/h/"), progress=False)
    assert res.classes == classes and res.videos == 6 and len(res.split_files) == 6
    assert not list(res.path.rglob("*.rar"))
    split = (res.path / "splits")
    assert split.joinpath("trainlist02.txt").read_text() == "brush_hair/brush_hair_clip0.avi\nwave/wave_clip0.avi\n"
    assert split.joinpath("testlist02.txt").read_text() == "brush_hair/brush_hair_clip1.avi\nwave/wave_clip1.avi\n"
    assert len(read_split_list(split_list_paths(res.path, 3)[0])) == 2


def test_truncated_dataset_archive_leaves_no_dataset(serve, tmp_path, tiny_avi):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for k, v in _ucf_files(tiny_avi, "X", ["A", "B"]).items():
            z.writestr(k, v)
    srv = serve({"/x.zip": buf.getvalue()[: len(buf.getvalue()) // 2]})  # the server itself has half a file
    spec = DatasetSpec("x", "x", Remote(srv.url("/x.zip")))
    with pytest.raises(DatasetDownloadError, match="not a readable zip archive"):
        download_dataset(spec, tmp_path, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".x.lock", "downloads"]  # no x/, no staging folder
    assert not (tmp_path / "downloads" / "manifest.json").exists()  # a corrupt first download is not a reference

    (tmp_path / "downloads" / "x.zip").unlink()  # what the error told the user to do
    srv.files["/x.zip"] = buf.getvalue()  # the server's file is whole again
    assert download_dataset(spec, tmp_path, progress=False).videos == 4
    manifest = json.loads((tmp_path / "downloads" / "manifest.json").read_text())
    assert manifest[srv.url("/x.zip")]["sha256"] == hashlib.sha256(buf.getvalue()).hexdigest()


def _zip_bytes(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for k, v in files.items():
            z.writestr(k, v)
    return buf.getvalue()


def test_other_classes_are_added_to_the_ones_already_there(serve, tmp_path, tiny_avi):
    srv = serve({"/v.zip": _zip_bytes(_ucf_files(tiny_avi, "X", ["A", "B", "C"]))})
    spec = DatasetSpec("x", "x", Remote(srv.url("/v.zip")))
    download_dataset(spec, tmp_path, classes=["A"], progress=False)
    res = download_dataset(spec, tmp_path, classes=["B"], progress=False)
    assert res.classes == ["B"] and not res.reused and len(srv.requests) == 1  # the archive was reused
    assert sorted(p.name for p in res.path.iterdir() if p.is_dir()) == ["A", "B"]
    assert json.loads((res.path / ".complete").read_text())["classes"] == ["A", "B"]
    assert download_dataset(spec, tmp_path, classes=["A", "B"], progress=False).reused


def test_free_space_is_checked_before_downloading_without_a_size(serve, tmp_path):
    srv = serve({"/v.zip": b"PK" + b"\0" * 1000})
    srv.omit_length = True  # the server does not say how big the file is
    spec = DatasetSpec("x", "x", Remote(srv.url("/v.zip"), approx_bytes=10**15))  # a petabyte
    with pytest.raises(DatasetDownloadError, match="not enough disk space for v.zip: .* needed, .* free"):
        download_dataset(spec, tmp_path, progress=False)
    assert not (tmp_path / "downloads" / "v.zip.part").exists()


def test_cli_seed_preset_and_errors(serve, tmp_path, ucf50_rar):
    require_rar_tool()
    from har.cli.main import app

    srv = serve({"/UCF50.rar": ucf50_rar})
    runner = CliRunner()
    res = runner.invoke(app, ["data", "download", "--preset", "seed", "--dir", str(tmp_path), "--base-url",
                              srv.url("/"), "-q"])
    assert res.exit_code == 0, res.output
    assert f"{tmp_path / 'ucf50'}: 8 videos in 4 classes (ready)" in res.output
    assert "no official split files: leave-one-group-out" in res.output
    assert f"next: har train --preset seed --data {tmp_path / 'ucf50'}" in res.output
    res = runner.invoke(app, ["data", "download", "kinetics", "--dir", str(tmp_path)])
    assert res.exit_code == 2 and "unknown dataset 'kinetics'; choose from ucf50, ucf101, hmdb51" in res.output
    res = runner.invoke(app, ["data", "download", "hmdb51", "--dir", str(tmp_path), "--base-url",
                              srv.url("/nothing"), "-q"])
    assert res.exit_code == 2 and "hmdb51_org.rar was not found (HTTP 404)" in res.output
    assert "Traceback" not in res.output


def test_train_preset_seed_downloads_then_trains_both_models_with_the_seed_settings(
        serve, tmp_path, tiny_avi, monkeypatch):
    require_rar_tool()
    from har.cli.main import app

    rar = write_rar(tmp_path / "UCF50.rar", _ucf_files(tiny_avi, "UCF50", SEED + ["Basketball"], groups=4))
    srv = serve({"/UCF50.rar": rar.read_bytes()})
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HAR_DATASET_MIRROR", srv.url("/"))
    res = CliRunner().invoke(app, ["train", "--preset", "seed", "--epochs", "1", "--seq-len", "4",
                                   "--out", "art", "--cache-dir", "cache"])
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in (tmp_path / "data" / "ucf50").iterdir()) == [".complete"] + sorted(SEED)
    for name in ("convlstm", "lrcn"):
        cfg = json.loads((tmp_path / "art" / name / "config.json").read_text())
        assert cfg["classes"] == SEED and cfg["normalization"] == "scale_0_1" and cfg["batch_size"] == 4
        assert cfg["sampling"]["mode"] == "uniform" and cfg["sampling"]["seq_len"] == 4  # the flag wins
        assert f"{name}: test accuracy" in res.output
    assert len(srv.requests) == 1  # downloaded once, then reused by the second model

    res = CliRunner().invoke(app, ["train", "--preset", "seed", "--data", str(tmp_path / "elsewhere")])
    assert res.exit_code == 2 and "does not hold the classes WalkingWithDog, TaiChi" in res.output
    # Options are checked before anything is downloaded (from an empty folder: nothing there yet).
    monkeypatch.chdir(tmp_path / "art")
    for args, says in ((["--protocol", "kfold:1"], "kfold needs one number of folds >= 2"),
                       (["--encoder", "pose"], "the seed preset trains the pixel models"),
                       (["--model", "resnet"], "resnet")):
        res = CliRunner().invoke(app, ["train", "--preset", "seed", *args])
        assert res.exit_code == 2 and says in res.output and "Traceback" not in res.output, res.output
    assert len(srv.requests) == 1 and not (tmp_path / "art" / "data").exists()


def test_registry_has_the_official_sources():
    assert get_spec("UCF50").videos.url == "https://www.crcv.ucf.edu/data/UCF50.rar"
    ucf101 = get_spec("ucf101")
    assert ucf101.videos.url == "https://www.crcv.ucf.edu/data/UCF101/UCF101.rar"
    assert ucf101.splits.filename == "UCF101TrainTestSplits-RecognitionTask.zip" and ucf101.splits.sha256
    hmdb = get_spec("hmdb51")
    assert hmdb.nested and [hmdb.videos.filename, hmdb.splits.filename] == ["hmdb51_org.rar", "test_train_splits.rar"]
    assert Remote("https://a/b/UCF50.rar").at("http://mirror/x/") == "http://mirror/x/UCF50.rar"

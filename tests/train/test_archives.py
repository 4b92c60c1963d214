"""Archive extraction on real zip, tar and RAR files built here.

RAR files come from :func:`write_rar`, a minimal RAR 4.x writer ("stored"
method, no compression): enough for the real extractors (unar, bsdtar, unrar,
7z) to read, with real header and file CRCs, so corruption is detectable.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from har.train.archives import (
    ArchiveError,
    extract,
    extract_into,
    is_complete,
    rar_tool,
    read_marker,
    staging_dir,
)
from tests.rar import RAR_TOOLS, require_rar_tool, write_rar

FILES = {"UCF50/TaiChi/v_TaiChi_g01_c01.avi": b"taichi" * 500, "UCF50/Swing/v_Swing_g02_c01.avi": b"swing"}


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and p.name != ".complete"}


def _zip(path: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for k, v in files.items():
            z.writestr(k, v)
    return path


def _tar(path: Path, files: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as t:
        for k, v in files.items():
            info = tarfile.TarInfo(k)
            info.size = len(v)
            t.addfile(info, io.BytesIO(v))
    return path


@pytest.mark.parametrize("make", [_zip, _tar], ids=["zip", "tar.gz"])
def test_zip_and_tar_extract_atomically_with_a_marker(tmp_path, make):
    archive = make(tmp_path / ("a.zip" if make is _zip else "a.tar.gz"), FILES)
    dest = extract(archive, tmp_path / "out", info={"sha256": "abc"})
    assert _tree(dest) == FILES and is_complete(dest)
    assert read_marker(dest) == {"archive": archive.name, "sha256": "abc"}
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == [".out.lock"]  # no staging left


@pytest.mark.parametrize("tool", RAR_TOOLS or ["none"])
def test_rar_extracts_with_each_installed_tool(tmp_path, monkeypatch, tool):
    require_rar_tool()
    monkeypatch.setenv("HAR_RAR_TOOL", tool)
    assert rar_tool() == tool
    dest = extract(write_rar(tmp_path / "a.rar", FILES), tmp_path / "out")
    assert _tree(dest) == FILES


def test_nested_rar_of_rars_is_unpacked(tmp_path):
    require_rar_tool()
    inner = {cls: write_rar(tmp_path / f"{cls}.rar", {f"{cls}/{cls}_{i}.avi": bytes([i]) * 100 for i in range(2)})
             for cls in ("wave", "sit")}
    outer = write_rar(tmp_path / "outer.rar", {f"{c}.rar": p.read_bytes() for c, p in inner.items()})
    dest = extract(outer, tmp_path / "out", nested=True)
    assert sorted(_tree(dest)) == ["sit/sit_0.avi", "sit/sit_1.avi", "wave/wave_0.avi", "wave/wave_1.avi"]


def _assert_clean_failure(tmp_path: Path, archive: Path, match: str) -> None:
    with pytest.raises(ArchiveError, match=match):
        extract(archive, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out")] == [".out.lock"]  # no staging


def test_truncated_archives_leave_nothing_behind(tmp_path):
    data = _zip(tmp_path / "full.zip", FILES).read_bytes()
    (tmp_path / "t.zip").write_bytes(data[: len(data) // 2])
    _assert_clean_failure(tmp_path, tmp_path / "t.zip", "not a readable zip archive.*download again")
    data = _tar(tmp_path / "full.tgz", FILES).read_bytes()
    (tmp_path / "t.tgz").write_bytes(data[: len(data) // 2])
    _assert_clean_failure(tmp_path, tmp_path / "t.tgz", "not a readable tar archive.*download again")
    require_rar_tool()
    data = write_rar(tmp_path / "full.rar", FILES).read_bytes()
    (tmp_path / "t.rar").write_bytes(data[: len(data) // 2])
    _assert_clean_failure(tmp_path, tmp_path / "t.rar", "could not be unpacked by .*corrupt or incomplete")


def test_corrupt_archives_are_clear_errors(tmp_path):
    data = bytearray(_zip(tmp_path / "ok.zip", {"a/b.avi": os.urandom(4000)}).read_bytes())
    data[60] ^= 0xFF  # inside the compressed data: the CRC check catches it
    (tmp_path / "c.zip").write_bytes(bytes(data))
    _assert_clean_failure(tmp_path, tmp_path / "c.zip", r"c\.zip .*(corrupt|not a readable zip)")
    (tmp_path / "junk.rar").write_bytes(b"Rar!\x1a\x07\x00" + os.urandom(64))
    if rar_tool() is not None:
        _assert_clean_failure(tmp_path, tmp_path / "junk.rar", "(could not be unpacked|unpacked to no files)")
    (tmp_path / "junk.bin").write_bytes(os.urandom(64))
    _assert_clean_failure(tmp_path, tmp_path / "junk.bin", "is not a zip, tar or RAR archive")


def test_path_traversal_is_refused(tmp_path):
    _assert_clean_failure(tmp_path, _zip(tmp_path / "evil.zip", {"../evil.avi": b"x"}), "unsafe path '../evil.avi'")
    _assert_clean_failure(tmp_path, _tar(tmp_path / "evil.tar", {"/etc/evil": b"x"}), "unsafe path '/etc/evil'")
    assert not (tmp_path.parent / "evil.avi").exists()


@pytest.mark.parametrize("tool", RAR_TOOLS or ["none"])
@pytest.mark.parametrize("evil", ["../evil.avi", "/tmp/har-evil.avi"])
def test_rar_with_an_unsafe_member_is_refused_before_anything_is_written(tmp_path, monkeypatch, tool, evil):
    require_rar_tool()
    monkeypatch.setenv("HAR_RAR_TOOL", tool)
    archive = write_rar(tmp_path / "evil.rar", {"ok/a.avi": b"fine", evil: b"evil"})
    _assert_clean_failure(tmp_path, archive, f"unsafe path '{evil}'.*refusing it")
    assert not (tmp_path.parent / "evil.avi").exists()
    assert not os.path.exists("/tmp/har-evil.avi")


def test_staging_leaves_a_live_process_s_folder_alone(tmp_path):
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    try:
        for pid in (live.pid, int(dead.stdout)):
            (tmp_path / f".out.partial-{pid}-1").mkdir()
        tmp = staging_dir(tmp_path / "out")
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted([f".out.partial-{live.pid}-1", tmp.name])
    finally:
        live.kill()
        live.wait()


def test_missing_rar_tool_names_the_debian_packages(tmp_path, monkeypatch):
    monkeypatch.setenv("HAR_RAR_TOOL", "no-such-tool")  # as if none were installed
    with pytest.raises(ArchiveError, match=r"no RAR extractor is installed; run `sudo apt-get install unar "
                                           r"\(or libarchive-tools for bsdtar\)`"):
        extract(write_rar(tmp_path / "a.rar", FILES), tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_complete_destination_is_reused_and_foreign_folder_kept(tmp_path):
    archive = _zip(tmp_path / "a.zip", FILES)
    dest = extract(archive, tmp_path / "out")
    (dest / "mine.txt").write_text("kept")
    assert extract(archive, dest) == dest and (dest / "mine.txt").read_text() == "kept"
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("hands off")
    with pytest.raises(ArchiveError, match="was not made by this tool; move it away"):
        extract(archive, foreign)
    assert (foreign / "notes.txt").read_text() == "hands off"


def test_extract_into_missing_archive(tmp_path):
    with pytest.raises(ArchiveError, match="does not exist"):
        extract_into(tmp_path / "none.rar", tmp_path)

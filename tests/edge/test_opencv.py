"""OpenCV: the versions har-edge supports, proven on every real clip in ../shared/realclips.

OpenCV 4.13, 4.14 and 5.0 abort the process (``malloc_consolidate(): invalid
chunk size``, exit 134) on uncompressed AVI such as the Weizmann clips, so
har.edge.capture reads those files itself; 5.0 also segfaults on camera index
-1, so pyproject.toml pins ``<5``. Each clip is decoded in its own process: an
abort then fails this test instead of killing the test run.
"""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import tomllib
from importlib.metadata import version
from pathlib import Path

import cv2
import numpy as np
import pytest
from packaging.requirements import Requirement

from har.edge.capture import VIDEO_EXTS, RawAvi, open_video
from har.edge.sources import FileSource, SourceError

ROOT = Path(__file__).resolve().parents[2]
DECODE = """
import json, sys
from har.edge.sources import FileSource
src = FileSource(sys.argv[1])
n, shape = 0, None
for _, frame in src:
    n, shape = n + 1, frame.shape
print(json.dumps({"frames": n, "shape": shape, "fps": src.fps}))
"""


def _opencv_requirement() -> Requirement:
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    return next(Requirement(d) for d in deps if d.startswith("opencv-python-headless"))


def test_the_pin_excludes_opencv_5_and_admits_the_installed_version():
    req = _opencv_requirement()
    assert not req.specifier.contains("5.0.0.93"), f"{req} admits OpenCV 5, which crashes on AVI and camera -1"
    installed = version("opencv-python-headless")
    assert req.specifier.contains(installed), f"installed OpenCV {installed} is outside the pin {req}"


def test_every_real_clip_decodes_in_a_process_of_its_own(realclips):
    clips = sorted(p for p in realclips.rglob("*") if p.suffix.lower() in VIDEO_EXTS)
    assert len(clips) >= 10 and any(p.parent.parent.name == "actions" for p in clips)
    problems = []
    for clip in clips:
        proc = subprocess.run([sys.executable, "-c", DECODE, str(clip)], capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            problems.append(f"{clip.relative_to(realclips)}: exit {proc.returncode} {proc.stderr.strip()[-300:]}")
            continue
        out = json.loads(proc.stdout)
        if out["frames"] < 10 or len(out["shape"]) != 3 or out["shape"][2] != 3 or not 0 < out["fps"] < 1000:
            problems.append(f"{clip.relative_to(realclips)}: {out}")
    assert not problems, "\n".join(problems)


def test_predict_on_an_uncompressed_avi(realclips, colour_bundle):
    clip = realclips / "actions" / "walk" / "weizmann_ido_walk.avi"
    code = "import sys; from har.edge.cli import main; sys.argv[0] = 'har-edge'; main()"
    proc = subprocess.run([sys.executable, "-c", code, "predict", str(clip), "--bundle", str(colour_bundle)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, (proc.returncode, proc.stderr[-1000:])
    assert "Action Predicted:" in proc.stdout


def _chunk(cid: bytes, body: bytes) -> bytes:
    return cid + struct.pack("<I", len(body)) + body + b"\0" * (len(body) & 1)


def _raw_avi(path: Path, frames: list[np.ndarray], fps: float = 12.5) -> Path:
    """A BI_RGB 24-bit AVI as the Weizmann clips are stored (OpenCV's writer cannot make one)."""
    h, w = frames[0].shape[:2]
    row = (w * 3 + 3) & ~3
    avih = struct.pack("<14I", int(1e6 / fps), 0, 0, 0x10, len(frames), 0, 1, row * h, w, h, 0, 0, 0, 0)
    strh = b"vids" + b"\0" * 16 + struct.pack("<II", 2, int(fps * 2)) + b"\0" * 28
    strf = struct.pack("<IiiHHI", 40, w, h, 1, 24, 0) + b"\0" * 20
    pad = bytes(row - w * 3)
    movi = b"".join(_chunk(b"00db", b"".join(r.tobytes() + pad for r in f[::-1])) for f in frames)
    hdrl = _chunk(b"avih", avih) + _chunk(b"LIST", b"strl" + _chunk(b"strh", strh) + _chunk(b"strf", strf))
    body = b"AVI " + _chunk(b"LIST", b"hdrl" + hdrl) + _chunk(b"LIST", b"movi" + movi)
    path.write_bytes(_chunk(b"RIFF", body) + bytes(64))  # trailing zeros, as in the Weizmann files
    return path


def test_uncompressed_avi_is_read_without_ffmpeg_frame_for_frame(tmp_path):
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 256, (30, 42, 3), np.uint8) for _ in range(7)]  # odd width: padded rows
    cap = open_video(_raw_avi(tmp_path / "raw.avi", frames))
    assert isinstance(cap, RawAvi) and cap.get(cv2.CAP_PROP_FPS) == 12.5
    assert cap.get(cv2.CAP_PROP_FRAME_COUNT) == 7 and cap.get(cv2.CAP_PROP_FRAME_WIDTH) == 42
    got = []
    while (frame := cap.read())[0]:
        got.append(frame[1])
    cap.release()
    assert len(got) == 7 and all(np.array_equal(a, b) for a, b in zip(got, frames, strict=True))


def test_a_truncated_or_fake_avi_ends_cleanly_or_is_refused_in_one_sentence(tmp_path):
    frames = [np.full((16, 16, 3), i * 30, np.uint8) for i in range(6)]
    data = _raw_avi(tmp_path / "full.avi", frames).read_bytes()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(data[: len(data) * 2 // 3])
    assert 1 <= sum(1 for _ in FileSource(cut)) < 6
    fake = tmp_path / "fake.avi"
    fake.write_bytes(b"RIFF\x10\x00\x00\x00AVI LIST" + bytes(40))
    assert RawAvi.probe(fake) is None
    with pytest.raises(SourceError, match="cannot open"):
        FileSource(fake)


def test_compressed_avi_still_goes_to_opencv(tmp_path):
    path = tmp_path / "mjpg.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (32, 32))
    for _ in range(3):
        writer.write(np.zeros((32, 32, 3), np.uint8))
    writer.release()
    assert RawAvi.probe(path) is None and sum(1 for _ in FileSource(path)) == 3

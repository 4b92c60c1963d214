"""OpenCV: the versions har-edge supports, proven on every real clip in ../shared/realclips.

OpenCV 5.0 aborts the process (``malloc_consolidate(): invalid chunk size``,
exit 134) on uncompressed AVI such as the Weizmann clips, and segfaults on
camera index -1, so pyproject.toml pins ``<5``. Each clip is decoded in its own
process: an abort then fails this test instead of killing the test run.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from importlib.metadata import version
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
VIDEO_EXTS = {".avi", ".mp4", ".mkv", ".mov", ".webm", ".m4v", ".gif", ".mpg", ".mpeg"}
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

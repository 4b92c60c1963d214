"""Numerical agreement between an x86 and an arm64 install: the same landmarks and the same events.

Run by ``deploy/arm64/test-arm64.sh`` (``make test-arm64``) once with the
host's Python and once inside the emulated arm64 root:

* ``dump OUT``: the pose estimator (1 thread) on the frames the device's
  sampler keeps from every clip under ``--clips``, landmarks in pixels,
  NaN where nobody was found, plus the installed wheels' platform tags;
* ``concat OUT``: the clips joined into one uncompressed video, long enough
  for ``har-edge run`` to classify windows and emit events;
* ``compare X86 ARM64 --events-x86 A --events-arm64 B --out RESULT.json``:
  the largest landmark difference in pixels, where the two found a pose
  in different frames, and whether the events agree (kind, label, media
  time); exits 1 when landmarks differ by more than a pixel or the events
  differ.

Timing under emulation means nothing and is not measured.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

import numpy as np

TOLERANCE_PX = 1.0
WHEELS = ("numpy", "opencv-python-headless", "ai-edge-litert")


def clips(root: Path) -> list[Path]:
    return sorted(p for p in Path(root).glob("*/*") if p.suffix.lower() in (".avi", ".mp4", ".mkv"))


def wheel_tags() -> dict[str, str]:
    """Each runtime wheel's version and platform tag (from its WHEEL file): aarch64 or x86_64."""
    out = {}
    for name in WHEELS:
        try:
            d = distribution(name)
        except PackageNotFoundError:
            out[name] = "not installed"
            continue
        tags = [line.split(":", 1)[1].strip() for line in (d.read_text("WHEEL") or "").splitlines()
                if line.startswith("Tag:")]
        out[name] = f"{d.version} {tags[0] if tags else '?'}"
    return out


def dump(root: Path, out: Path, frames: int | None = None) -> None:
    """``frames``: only the first N sampled frames of each clip (emulation is slow; the estimator runs
    frame after frame, so a prefix is computed exactly as in the whole run)."""
    from har.edge.pose.estimator import PoseEstimator
    from har.edge.preprocess import rgb_frame
    from har.edge.sampler import IntervalSampler
    from har.edge.sources import FileSource

    out.mkdir(parents=True, exist_ok=True)
    arrays = {}
    for path in clips(root):
        est = PoseEstimator(threads=1)
        src = FileSource(path)
        sampler = IntervalSampler(0.1)
        sampler.set_frame_period(1.0 / src.fps)
        rows = []
        for ts, frame in src:
            if frames is not None and len(rows) >= frames:
                break
            if sampler.accept(ts):
                pose = est.process(rgb_frame(frame))
                rows.append(pose.xy_pixels() if pose is not None else np.full((33, 2), np.nan, np.float32))
        arrays[f"{path.parent.name}/{path.name}"] = np.stack(rows)
    np.savez(out / "landmarks.npz", **arrays)
    info = {"machine": platform.machine(), "python": platform.python_version(), "wheels": wheel_tags()}
    (out / "platform.json").write_text(json.dumps(info, indent=2) + "\n")
    print(json.dumps(info))


def concat(root: Path, out: Path) -> None:
    import cv2

    from har.edge.capture import open_video

    writer = None
    for path in clips(root):
        cap = open_video(path)
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            if writer is None:
                h, w = frame.shape[:2]
                writer = cv2.VideoWriter(str(out), 0, 25.0, (w, h))  # fourcc 0: uncompressed, no codec in the way
            writer.write(frame)
        cap.release()
    if writer is None:
        sys.exit(f"no clips under {root}")
    writer.release()


def _events(path: Path) -> list[tuple]:
    """Action events as (kind, label, media time); state heartbeats follow the wall clock and are left out."""
    out = []
    for line in Path(path).read_text().splitlines():
        e = json.loads(line)
        if e.get("kind") != "state":
            out.append([e.get("kind"), e.get("label"), round(float(e.get("ts", 0.0)), 2)])
    return out


def compare(x86: Path, arm: Path, events_x86: Path, events_arm: Path, result: Path) -> int:
    a, b = np.load(x86 / "landmarks.npz"), np.load(arm / "landmarks.npz")
    per_clip, worst, found_mismatch = {}, 0.0, 0
    for name in sorted(a.files):
        n = min(len(a[name]), len(b[name]))  # a prefix when one side ran with --frames
        pa, pb = a[name][:n], b[name][:n]
        both = np.isfinite(pa[:, 0, 0]) & np.isfinite(pb[:, 0, 0])
        mismatch = int((np.isfinite(pa[:, 0, 0]) != np.isfinite(pb[:, 0, 0])).sum())
        diff = np.linalg.norm(pa[both] - pb[both], axis=-1) if both.any() else np.zeros(1)
        per_clip[name] = {"frames": int(len(pa)), "found_both": int(both.sum()), "found_differs": mismatch,
                          "max_px": round(float(diff.max()), 4), "median_px": round(float(np.median(diff)), 4)}
        worst = max(worst, float(diff.max()))
        found_mismatch += mismatch
    ran = Path(events_arm).is_file()
    ev_a, ev_b = _events(events_x86), (_events(events_arm) if ran else [])
    ok = worst <= TOLERANCE_PX and found_mismatch == 0 and (not ran or (ev_a == ev_b and len(ev_a) > 0))
    summary = {"ok": ok, "max_landmark_px": round(worst, 4), "tolerance_px": TOLERANCE_PX,
               "frames_found_differently": found_mismatch, "clips": per_clip,
               "events": {"ran": ran, "x86": len(ev_a), "arm64": len(ev_b), "same": ev_a == ev_b,
                          "first": ev_a[:6]},
               "platforms": {"x86": json.loads((x86 / "platform.json").read_text()),
                             "arm64": json.loads((arm / "platform.json").read_text())}}
    result.write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps({k: summary[k] for k in ("ok", "max_landmark_px", "frames_found_differently", "events")}))
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("dump")
    d.add_argument("out", type=Path)
    d.add_argument("--clips", type=Path, required=True)
    d.add_argument("--frames", type=int, default=None, help="only the first N sampled frames of each clip")
    c = sub.add_parser("concat")
    c.add_argument("out", type=Path)
    c.add_argument("--clips", type=Path, required=True)
    m = sub.add_parser("compare")
    m.add_argument("x86", type=Path)
    m.add_argument("arm64", type=Path)
    m.add_argument("--events-x86", type=Path, required=True)
    m.add_argument("--events-arm64", type=Path, required=True)
    m.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    if args.cmd == "dump":
        dump(args.clips, args.out, args.frames)
    elif args.cmd == "concat":
        concat(args.clips, args.out)
    else:
        return compare(args.x86, args.arm64, args.events_x86, args.events_arm64, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Numerical agreement between an x86 and an arm64 install: the same landmarks and the same events.

Run by ``deploy/arm64/test-arm64.sh`` (``make test-arm64``) once with the
host's Python and once inside the emulated arm64 root:

* ``dump OUT``: the pose estimator (1 thread, full landmark model) on the frames the device's
  sampler keeps from every clip under ``--clips``, landmarks in pixels,
  NaN where nobody was found, plus the installed wheels' platform tags;
* ``concat OUT``: the clips joined into one uncompressed video, long enough
  for ``har-edge run`` to classify windows and emit events;
* ``run VIDEO OUT``: ``har-edge run`` on a file (deploy/arm64/record.py), its events
  with the landmarks and window probabilities they were decided from;
* ``compare X86 ARM64 --events-x86 A --events-arm64 B --out RESULT.json``:
  the largest landmark difference in pixels (full model from ``dump``, the
  model ``har-edge run`` chose from ``run``), where the two found a pose in
  different frames, the largest difference of any window's class
  probabilities, and whether the events agree (kind, label, media time);
  where they part, the deciding window and whether it was borderline
  (deploy/arm64/decide.py). Exits 1 when a criterion of :func:`verdicts`
  fails.
* ``capture``/``apply``: the landmark models on identical crops
  (deploy/arm64/sameinput.py), the kernels apart from tracking.

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


def xnnpack_in_use() -> bool:
    """Whether LiteRT's default XNNPACK delegate took the landmark graph (if not, its builtin kernels run it)."""
    from har.edge.litert import load_interpreter
    from har.edge.pose.assets import pose_models

    interpreter = load_interpreter(pose_models().landmarks)
    return any(op["op_name"] == "DELEGATE" for op in interpreter._get_ops_details())


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
    info = {"machine": platform.machine(), "python": platform.python_version(), "wheels": wheel_tags(),
            "xnnpack": xnnpack_in_use()}
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


def _landmarks(pa: np.ndarray, pb: np.ndarray) -> dict:
    """Largest and median distance (px) where both found a person, and in how many frames only one did."""
    n = min(len(pa), len(pb))  # a prefix when one side ran with --frames
    pa, pb = pa[:n], pb[:n]
    fa, fb = np.isfinite(pa[:, 0, 0]), np.isfinite(pb[:, 0, 0])
    both = fa & fb
    diff = np.linalg.norm(pa[both] - pb[both], axis=-1) if both.any() else np.zeros(1)
    return {"frames": int(n), "found_both": int(both.sum()), "found_differs": int((fa != fb).sum()),
            "max_px": round(float(diff.max()), 4), "median_px": round(float(np.median(diff)), 4)}


def _run(folder: Path) -> tuple[dict, dict] | None:
    if not (folder / "run.npz").is_file():
        return None
    z = np.load(folder / "run.npz")
    return {k: z[k] for k in z.files}, json.loads((folder / "run.json").read_text())


def compare_run(x86: Path, arm: Path, noise: float | None = None) -> dict:
    """``har-edge run`` on both: landmarks of its landmark model, window probabilities, events, the deciding window."""
    from decide import deciding_window

    rx, ra = _run(x86), _run(arm)
    ev_a = _events(x86 / "events.jsonl") if rx else []
    ev_b = _events(arm / "events.jsonl") if ra else []
    if rx is None or ra is None:
        return {"ran": False}
    (x, cfg), (a, _) = rx, ra
    n = min(len(x["probs"]), len(a["probs"]))
    raw = np.abs(x["probs"][:n] - a["probs"][:n]).max(axis=1)
    avg = np.abs(x["averaged"][:n] - a["averaged"][:n]).max(axis=1)
    out = {"ran": True, "landmark_model": cfg["landmark_model"],
           "landmarks": _landmarks(x["landmarks"], a["landmarks"]),
           "windows": {"x86": len(x["probs"]), "arm64": len(a["probs"]),
                       "same_times": bool(np.array_equal(x["windows_ts"][:n], a["windows_ts"][:n])),
                       "max_abs_diff_probs": round(float(raw.max()), 6),
                       "max_abs_diff_averaged": round(float(avg.max()), 6),
                       "worst_window_ts": round(float(x["windows_ts"][int(raw.argmax())]), 2)},
           "thresholds": {k: cfg[k] for k in ("enter_threshold", "exit_threshold", "average_windows")},
           "events": {"x86": len(ev_a), "arm64": len(ev_b), "same": ev_a == ev_b, "first": ev_a[:6]}}
    if ev_a != ev_b:
        i = next((k for k, (p, q) in enumerate(zip(ev_a, ev_b, strict=False)) if p != q), min(len(ev_a), len(ev_b)))
        out["events"].update(x86_from_difference=ev_a[i:i + 4], arm64_from_difference=ev_b[i:i + 4])
        decided = deciding_window(x, a, cfg, noise)
        if decided is not None:  # the landmarks of the frames that window read
            k = int(np.flatnonzero(x["frames_ts"] == x["windows_ts"][decided["window"]])[0])
            lo = max(0, k - cfg["seq_len"] + 1)
            decided["window_frames"] = [lo, k]
            decided["landmarks_in_window"] = _landmarks(x["landmarks"][lo:k + 1], a["landmarks"][lo:k + 1])
        out["deciding_window"] = decided
    return out


def verdicts(same_input: dict | None, per_clip: dict, run: dict) -> dict:
    """Each criterion and whether it holds (True/False; None: not measured this time).

    * ``kernels``: on identical crops, both landmark models within TOLERANCE_PX (the kernels themselves);
    * ``tracked_found``: a person found in the same frames, tracked per clip (full) and in ``har-edge run``;
    * ``tracked_median``: tracked landmarks typically (median) within TOLERANCE_PX. Their largest
      difference is reported, not bounded: each frame's crop follows the previous frame's landmarks, so
      last-bit differences grow where a limb moves fast (x86 against itself with its two kernel sets
      shows the same, ``x86_builtin_kernels``);
    * ``events``: the same, or parting only at a borderline decision (:mod:`decide`).
    """
    si = (same_input or {}).get("arm64")
    models = [si[m] for m in ("full", "lite") if si and m in si]
    tracked = list(per_clip.values()) + ([run["landmarks"]] if run.get("ran") else [])
    d = run.get("deciding_window") or {}
    return {"kernels": all(m["max_px"] <= TOLERANCE_PX for m in models) if models else None,
            "tracked_found": all(t["found_differs"] == 0 for t in tracked) if tracked else None,
            "tracked_median": all(t["median_px"] <= TOLERANCE_PX for t in tracked) if tracked else None,
            "events": None if not run.get("ran") else (run["events"]["same"] and run["events"]["arm64"] > 0)
            or bool(d.get("borderline"))}


def compare(x86: Path, arm: Path, events_x86: Path, events_arm: Path, result: Path,
            baseline: Path | None = None) -> int:
    """Exit status 0 when every criterion of :func:`verdicts` that was measured holds."""
    from sameinput import compare as compare_same_input

    a, b = np.load(x86 / "landmarks.npz"), np.load(arm / "landmarks.npz")
    per_clip = {name: _landmarks(a[name], b[name]) for name in sorted(a.files) if name in b.files}
    worst = max(c["max_px"] for c in per_clip.values())
    found_mismatch = sum(c["found_differs"] for c in per_clip.values())
    ran = Path(events_arm).is_file()
    # the same video on x86 with LiteRT's builtin kernels: how far two correct kernel sets on one machine part
    base_run = compare_run(x86, baseline) if baseline is not None and (baseline / "run.npz").is_file() else None
    noise = base_run["windows"]["max_abs_diff_averaged"] if base_run else None
    run = compare_run(x86, arm, noise) if ran else {"ran": False}
    same_input = {other.name: compare_same_input(x86 / "same_input.npz", other / "same_input.npz")
                  for other in (arm, baseline) if other is not None and (other / "same_input.npz").is_file()
                  and (x86 / "same_input.npz").is_file()}
    if baseline is not None and (baseline / "landmarks.npz").is_file():  # the yardstick on the frames arm64 ran
        z = np.load(baseline / "landmarks.npz")
        base_clips = {n: _landmarks(a[n][:len(b[n])], z[n][:len(b[n])]) for n in per_clip if n in z.files}
        base_run = dict(base_run or {}, clips_max_px=max(c["max_px"] for c in base_clips.values()), clips=base_clips)
    checks = verdicts(same_input, per_clip, run)
    if not ran:
        events = "not run"
    elif run["events"]["same"]:
        events = "same"
    else:
        events = "differ at a borderline decision" if checks["events"] else "DIFFERENT"
    ok = all(v is not False for v in checks.values())
    summary = {"ok": ok, "checks": checks, "events_verdict": events, "max_landmark_px": round(worst, 4),
               "tolerance_px": TOLERANCE_PX, "frames_found_differently": found_mismatch, "clips": per_clip,
               "run": run, "x86_builtin_kernels": base_run, "same_input": same_input,
               "platforms": {"x86": json.loads((x86 / "platform.json").read_text()),
                             "arm64": json.loads((arm / "platform.json").read_text())}}
    result.write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps({k: summary[k] for k in ("ok", "checks", "events_verdict", "max_landmark_px")}))
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("dump")
    d.add_argument("out", type=Path)
    d.add_argument("--clips", type=Path, required=True)
    d.add_argument("--frames", type=int, default=None, help="only the first N sampled frames of each clip")
    d.add_argument("--builtin", action="store_true", help="LiteRT's builtin kernels instead of XNNPACK")
    c = sub.add_parser("concat")
    c.add_argument("out", type=Path)
    c.add_argument("--clips", type=Path, required=True)
    r = sub.add_parser("run", help="har-edge run on a file, with its landmarks and window probabilities kept")
    r.add_argument("source", type=Path)
    r.add_argument("out", type=Path)
    r.add_argument("--builtin", action="store_true", help="LiteRT's builtin kernels instead of XNNPACK")
    sc = sub.add_parser("capture", help="frames and crops of every N-th landmark run (sameinput.py), x86")
    sc.add_argument("source", type=Path)
    sc.add_argument("out", type=Path)
    sc.add_argument("--every", type=int, default=10)
    sa = sub.add_parser("apply", help="both landmark models on the captured crops (sameinput.py)")
    sa.add_argument("inputs", type=Path)
    sa.add_argument("out", type=Path)
    sa.add_argument("--builtin", action="store_true", help="LiteRT's builtin kernels instead of XNNPACK")
    m = sub.add_parser("compare")
    m.add_argument("x86", type=Path)
    m.add_argument("arm64", type=Path)
    m.add_argument("--events-x86", type=Path, required=True)
    m.add_argument("--events-arm64", type=Path, required=True)
    m.add_argument("--out", type=Path, required=True)
    m.add_argument("--baseline", type=Path, default=None,
                   help="`run --builtin` on x86: the difference between two kernel sets on one machine")
    args = ap.parse_args(argv)
    if args.cmd == "dump":
        from record import _without_xnnpack

        restore = _without_xnnpack() if args.builtin else (lambda: None)
        try:
            dump(args.clips, args.out, args.frames)
        finally:
            restore()
    elif args.cmd == "concat":
        concat(args.clips, args.out)
    elif args.cmd == "capture":
        from sameinput import capture

        capture(args.source, args.out, args.every)
    elif args.cmd == "apply":
        from sameinput import apply

        apply(args.inputs, args.out, args.builtin)
    elif args.cmd == "run":
        from record import record_run

        record_run(args.source, args.out / "events.jsonl", args.out, args.builtin)
    else:
        return compare(args.x86, args.arm64, args.events_x86, args.events_arm64, args.out, args.baseline)
    return 0


if __name__ == "__main__":
    sys.exit(main())

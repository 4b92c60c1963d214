"""Write the last arm64 run into docs/raspberry-pi.md (between its "Last arm64 run" markers) from its outputs."""

from __future__ import annotations

import json
import re
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

START, END = "<!-- arm64-result:start -->", "<!-- arm64-result:end -->"


def tests_lines(out: Path, rc: str, args: str) -> list[str]:
    """One line per pytest run in the root: ``junit.xml`` (this run's), and ``junit-*.xml`` of runs made in
    parts, each with its selection in a ``.args`` file beside it."""
    parts = sorted((out / "arm64").glob("junit-*.xml"))
    lines = [tests_line(j, j.with_suffix(".args").read_text().strip() if j.with_suffix(".args").is_file() else "?")
             for j in parts]
    junit = out / "arm64" / "junit.xml"
    if junit.is_file():
        lines.append(tests_line(junit, f"pytest tests/edge {args}"))
    elif rc != "not run":
        lines.append(f"edge tests (`pytest tests/edge {args}`): did not run to the end (exit {rc})")
    return lines


def tests_line(junit: Path, args: str) -> str:
    suite = ET.parse(junit).getroot()
    suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
    n, fail, err, skip = (int(suite.get(k, 0)) for k in ("tests", "failures", "errors", "skipped"))
    reasons, failed, skipped = {}, [], []
    for case in suite.iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            failed.append(case.get("name"))
        s = case.find("skipped")
        if s is not None:
            text = s.get("message") or ""
            msg = "need TensorFlow" if "tensorflow" in text.lower() else text.split(" (")[0].split(":")[0]
            reasons[msg] = reasons.get(msg, 0) + 1
            skipped.append(f"`{case.get('name')}` ({msg})")
    why = "; ".join(f"{v} {k}" for k, v in sorted(reasons.items(), key=lambda kv: -kv[1]))
    return (f"edge tests ({args}): {n - fail - err - skip} passed, {fail} failed, {err} errors, "
            f"{skip} skipped ({why or 'none'}) in {float(suite.get('time', 0)):.0f} s under emulation"
            + (f"; failed: {', '.join(failed)}" if failed else "")
            + (f"; skipped: {', '.join(skipped)}" if skipped else ""))


def same_input_lines(same: dict) -> list[str]:
    """The landmark models on identical crops: arm64 and x86's builtin kernels against x86 with XNNPACK."""
    out = []
    for who, what in (("arm64", "arm64 against x86"), ("x86-builtin", "x86's builtin kernels against XNNPACK")):
        s = same.get(who)
        if s:
            models = "; ".join(f"{m} model largest {s[m]['max_px']} px (p99 {s[m]['p99_px']})"
                               for m in ("full", "lite") if m in s)
            crops = ("byte-identical" if s["crops_identical"] else
                     f"differ in {s['crop_bytes_differing']} bytes (by up to {s['crop_max_abs_diff']})")
            out.append(f"- landmark models on {s['frames']} identical crops, {what}: {models}; crops {crops}")
    return out


def run_lines(run: dict) -> list[str]:
    """``har-edge run`` on the joined clips: landmarks, window probabilities, events and where they part."""
    if not run.get("ran"):
        return ["- `har-edge run` on a file: not run on arm64 this time"]
    lm, w, ev = run["landmarks"], run["windows"], run["events"]
    out = [f"- `har-edge run` on the clips joined into one file ({run['landmark_model']} landmark model): "
           f"{lm['frames']} sampled frames, largest landmark difference {lm['max_px']} px (median {lm['median_px']}), "
           f"{lm['found_differs']} frames where only one found a person; {w['arm64']} windows on arm64, {w['x86']} "
           f"on x86, largest difference of a class probability {w['max_abs_diff_probs']} (at {w['worst_window_ts']} s; "
           f"{w['max_abs_diff_averaged']} after the smoother's average)",
           f"- action events: {ev['arm64']} on arm64, {ev['x86']} on x86, "
           f"{'the same (kind, label, media time)' if ev['same'] else 'DIFFERENT'}"]
    d = run.get("deciding_window")
    if not ev["same"]:
        out.append(f"  - x86 from the first difference: {ev.get('x86_from_difference')}; arm64: "
                   f"{ev.get('arm64_from_difference')}")
    if d:
        checks = "; ".join(f"{k}: x86 {c['x86']} (margin {c['margin_x86']}), arm64 {c['arm64']} (margin "
                           f"{c['margin_arm64']}), bound {c['bound']}" for k, c in d["differing_checks"].items())
        out.append(f"  - deciding window at {d['ts']} s: averaged probabilities differ by up to "
                   f"{d['max_abs_diff_averaged']}; top 3 x86 {d['top3_x86']}, arm64 {d['top3_arm64']}; differing "
                   f"checks: {checks or 'none'}; {'borderline' if d['borderline'] else 'NOT borderline'} (bound: the "
                   "yardstick's largest difference of the averaged probabilities, twice that for the top-2 margin); "
                   f"landmarks in its frames: largest difference {d['landmarks_in_window']['max_px']} px, "
                   f"{d['landmarks_in_window']['found_differs']} frames found differently")
    return out


def main(out: str, rc: str, args: str, doc: str) -> None:
    out, doc = Path(out), Path(doc)
    result = json.loads((out / "result.json").read_text()) if (out / "result.json").is_file() else None
    lines = [f"Last run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} (`make test-arm64`):", ""]
    if result:
        arm, x86 = result["platforms"]["arm64"], result["platforms"]["x86"]
        lines += [f"- arm64 root: {arm['machine']}, Python {arm['python']}; wheels: "
                  + ", ".join(f"{k} {v}" for k, v in arm["wheels"].items()),
                  f"- x86 reference: {x86['machine']}, Python {x86['python']}; wheels: "
                  + ", ".join(f"{k} {v}" for k, v in x86["wheels"].items())]
    lines += [f"- {line}" for line in tests_lines(out, rc, args)]
    if result:
        frames = sum(c["frames"] for c in result["clips"].values())
        lines.append(f"- XNNPACK delegate in use: arm64 {arm.get('xnnpack')}, x86 {x86.get('xnnpack')}")
        lines += same_input_lines(result.get("same_input") or {})
        lines.append(f"- pose estimator tracking, full landmark model, on {len(result['clips'])} real clips ({frames} "
                     f"sampled frames compared): largest landmark difference {result['max_landmark_px']} px, "
                     f"{result['frames_found_differently']} frames where only one found a person")
        lines += run_lines(result["run"])
        base = result.get("x86_builtin_kernels")
        if base and base.get("ran"):
            lines.append(f"- yardstick, x86 against itself (LiteRT's builtin kernels instead of XNNPACK, same run): "
                         f"largest landmark difference {base['landmarks']['max_px']} px (median "
                         f"{base['landmarks']['median_px']}), class probabilities up to "
                         f"{base['windows']['max_abs_diff_probs']}, events "
                         f"{'the same' if base['events']['same'] else 'different'}"
                         + (f" (deciding window at {base['deciding_window']['ts']} s: " + "; ".join(
                             f"{k} margin {c['margin_x86']} with XNNPACK, {c['margin_arm64']} with builtin kernels"
                             for k, c in base["deciding_window"]["differing_checks"].items()) + ")"
                            if base.get("deciding_window") else "")
                         + (f"; tracking per clip with the full model, on the frames arm64 ran: largest "
                            f"{base['clips_max_px']} px" if "clips_max_px" in base else ""))
        checks = ", ".join(f"{k} {'ok' if v else 'not measured' if v is None else 'FAILED'}"
                           for k, v in result.get("checks", {}).items())
        lines.append(f"- agreement: {'ok' if result['ok'] else 'FAILED'} ({checks}; events: {result['events_verdict']})")
    else:
        lines.append("- agreement: not reached (see the run's output)")
    block = "\n".join([START, *lines, END])
    text = doc.read_text()
    if START in text:
        text = re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: block, text, flags=re.S)
    else:
        text = text.rstrip() + "\n\n## Last arm64 run\n\n" + block + "\n"
    doc.write_text(text)
    print("\n".join(lines))


if __name__ == "__main__":
    main(*sys.argv[1:5])

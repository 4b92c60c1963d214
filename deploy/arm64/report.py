"""Write the last arm64 run into docs/raspberry-pi.md (between its "Last arm64 run" markers) from its outputs."""

from __future__ import annotations

import json
import re
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

START, END = "<!-- arm64-result:start -->", "<!-- arm64-result:end -->"


def tests_line(out: Path, rc: str, args: str) -> str:
    junit = out / "arm64" / "junit.xml"
    if not junit.is_file():
        return f"edge tests (`pytest tests/edge {args}`): did not run to the end (exit {rc})"
    suite = ET.parse(junit).getroot()
    suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
    n, fail, err, skip = (int(suite.get(k, 0)) for k in ("tests", "failures", "errors", "skipped"))
    reasons = {}
    for case in suite.iter("testcase"):
        s = case.find("skipped")
        if s is not None:
            text = s.get("message") or ""
            msg = "need TensorFlow" if "tensorflow" in text.lower() else text.split(" (")[0].split(":")[0]
            reasons[msg] = reasons.get(msg, 0) + 1
    why = "; ".join(f"{v} {k}" for k, v in sorted(reasons.items(), key=lambda kv: -kv[1]))
    return (f"edge tests (`pytest tests/edge {args}`): {n - fail - err - skip} passed, {fail} failed, {err} errors, "
            f"{skip} skipped ({why or 'none'}) in {float(suite.get('time', 0)):.0f} s under emulation")


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
    lines.append(f"- {tests_line(out, rc, args)}")
    if result:
        frames = sum(c["frames"] for c in result["clips"].values())
        lines += [f"- pose estimator on {len(result['clips'])} real clips ({frames} sampled frames compared): largest "
                  f"landmark difference {result['max_landmark_px']} px (tolerance {result['tolerance_px']} px), "
                  f"{result['frames_found_differently']} frames where only one found a person",
                  (f"- `har-edge run` on the clips joined into one file: {result['events']['arm64']} action events "
                   f"on arm64, {result['events']['x86']} on x86, "
                   f"{'the same' if result['events']['same'] else 'DIFFERENT'} (kind, label, media time)")
                  if result["events"].get("ran", True) else
                  f"- `har-edge run` on a file: not run on arm64 this time ({result['events']['x86']} action events "
                  "on x86 to compare with)",
                  f"- agreement: {'ok' if result['ok'] else 'FAILED'}"]
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

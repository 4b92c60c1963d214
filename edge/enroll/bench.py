"""What enrolled labels cost per window, timed side by side with the head alone (``har bench``, ``har-edge bench``).

For every bundle given, four runners, all of them (every bundle's)
interleaved round by round in one process: the head alone (what a window
costs without enrolment), the head plus the window's embedding (its second
output, read from the same invocation; or, for a bundle exported before
the head carried it, a run of ``embed.tflite``), that plus matching against
enrolled labels (what a window costs with them), and matching alone.
Fitting (what ``har-edge enroll`` adds after encoding the recordings) is
timed on its own. The enrolled labels are :data:`LABELS` labels of
:data:`SHOTS` examples each, embeddings of random head inputs, so the
figures need no dataset; the cost does not depend on what the embeddings
hold.

``python -m har.edge.enroll.bench BUNDLE [BUNDLE ...]`` prints the table
alone, e.g. a bundle beside an older export of the same head.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from har.edge.bundle import Bundle, load_bundle

LABELS = 5
SHOTS = 5


def _runners(bundle: Bundle, rounds: int, per_round: int) -> tuple[dict, dict] | None:
    """(runners keyed by what they time, the row's other fields), or None without an embedding."""
    from har.edge.bench import summarize
    from har.edge.enroll.prototypes import PrototypeClassifier
    from har.edge.enroll.references import bundle_references
    from har.edge.interpreter import TfliteModel

    if bundle.embedding_dim is None:
        return None
    head = TfliteModel(bundle.model_file("head"))
    if bundle.head_embeds:
        def embed(x):
            head.run(x)
            return head.embedding()
        source = "head output"
    else:
        second = TfliteModel(bundle.model_file("embed"))

        def embed(x):
            head.run(x)
            return second.run(x)
        source = "embed.tflite"
    rng = np.random.default_rng(0)
    inputs = rng.normal(0, 1, (LABELS * SHOTS + 1, *head.input.shape[1:])).astype(np.float32)
    emb = np.stack([embed(x) for x in inputs])
    examples = {f"label{i}": emb[i * SHOTS:(i + 1) * SHOTS] for i in range(LABELS)}
    refs, one_shot = bundle_references(bundle.metadata, bundle.embedding_dim)
    fit_s = []
    for _ in range(rounds * per_round):
        t0 = time.perf_counter()
        clf = PrototypeClassifier(examples, refs, one_shot)
        fit_s.append(time.perf_counter() - t0)
    x = inputs[-1]
    runners = {"head": lambda: head.run(x), "head_embed": lambda: embed(x),
               "head_embed_match": lambda: clf.match(embed(x)), "match": lambda: clf.match(emb[-1])}
    row = {"bundle": str(bundle.path), "embedding_dim": bundle.embedding_dim, "embedding_from": source,
           "labels": LABELS, "shots": SHOTS, "references": len(refs), "fit_ms": summarize(fit_s)}
    return runners, row


def enroll_timings(bundle_dirs: list, rounds: int = 7, per_round: int = 20) -> list[dict | None]:
    """One result per bundle (None: it has no embedding), every bundle's runners interleaved in one run."""
    from har.edge.bench import time_interleaved

    parts = [_runners(load_bundle(b), rounds, per_round) for b in bundle_dirs]
    runners = {(i, k): fn for i, p in enumerate(parts) if p for k, fn in p[0].items()}
    timing = time_interleaved(runners, rounds=rounds, per_round=per_round) if runners else {}
    out = []
    for i, p in enumerate(parts):
        if p is None:
            out.append(None)
            continue
        out.append({**p[1], **{f"{k}_ms": timing[(i, k)] for k in p[0]}})
    return out


def enroll_timing(bundle_dir, rounds: int = 7, per_round: int = 20) -> dict | None:
    """Timings in ms (p50/p95) for one bundle, or None for a bundle without an embedding."""
    return enroll_timings([bundle_dir], rounds, per_round)[0]


def enroll_lines(results: list[dict | None]) -> list[str]:
    """A Markdown table, one row per bundle with an embedding."""
    rows = [r for r in results if r]
    if not rows:
        return []
    lines = ["| bundle | embedding from | ms/window head alone p50 / p95 | head + embedding p50 / p95 | "
             "+ matching (with enrolled labels) p50 / p95 | matching alone p50 | fitting 5 labels x 5 examples p50 |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        cells = [f"{r[k]['p50']:.3f} / {r[k]['p95']:.3f}" for k in ("head_ms", "head_embed_ms", "head_embed_match_ms")]
        lines.append(f"| {r['bundle']} | {r.get('embedding_from', 'embed.tflite')} ({r['embedding_dim']}) | "
                     f"{' | '.join(cells)} | {r['match_ms']['p50']:.4f} | {r['fit_ms']['p50']:.3f} ms |")
    return lines


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if not args:
        sys.exit("usage: python -m har.edge.enroll.bench BUNDLE [BUNDLE ...]")
    for line in enroll_lines(enroll_timings(args, rounds=15)):
        print(line)


if __name__ == "__main__":
    main()

"""What enrolled labels cost per window, timed side by side with the head alone (``har bench``, ``har-edge bench``).

Three runners interleaved round by round in one process: the head alone
(what a window costs without enrolment), the head plus the embedding model
plus matching against enrolled labels (what it costs with them), and
matching alone. Fitting (what ``har-edge enroll`` adds after encoding the
recordings) is timed on its own. The enrolled labels are
:data:`LABELS` labels of :data:`SHOTS` examples each, embeddings of
random head inputs, so the figures need no dataset; the cost does not
depend on what the embeddings hold.
"""

from __future__ import annotations

import time

import numpy as np

from har.edge.bundle import Bundle, load_bundle

LABELS = 5
SHOTS = 5


def enroll_timing(bundle_dir, rounds: int = 7, per_round: int = 20) -> dict | None:
    """Timings in ms (p50/p95), or None for a bundle without an embedding model."""
    from har.edge.bench import summarize, time_interleaved
    from har.edge.enroll.prototypes import PrototypeClassifier
    from har.edge.enroll.references import bundle_references
    from har.edge.interpreter import TfliteModel

    bundle: Bundle = load_bundle(bundle_dir)
    if bundle.embedding_dim is None:
        return None
    head, embed = TfliteModel(bundle.model_file("head")), TfliteModel(bundle.model_file("embed"))
    rng = np.random.default_rng(0)
    shape = head.input.shape[1:]
    inputs = rng.normal(0, 1, (LABELS * SHOTS + 1, *shape)).astype(np.float32)
    emb = np.stack([embed.run(x) for x in inputs])
    examples = {f"label{i}": emb[i * SHOTS:(i + 1) * SHOTS] for i in range(LABELS)}
    refs, one_shot = bundle_references(bundle.metadata, bundle.embedding_dim)
    fit_s = []
    for _ in range(rounds * per_round):
        t0 = time.perf_counter()
        clf = PrototypeClassifier(examples, refs, one_shot)
        fit_s.append(time.perf_counter() - t0)
    x = inputs[-1]
    timing = time_interleaved({"head": lambda: head.run(x),
                               "head_embed_match": lambda: clf.match(embed.run(x)) and head.run(x),
                               "match": lambda: clf.match(emb[-1])}, rounds=rounds, per_round=per_round)
    return {"bundle": str(bundle.path), "embedding_dim": bundle.embedding_dim, "labels": LABELS, "shots": SHOTS,
            "references": len(refs), "head_ms": timing["head"], "head_embed_match_ms": timing["head_embed_match"],
            "match_ms": timing["match"], "fit_ms": summarize(fit_s)}


def enroll_lines(results: list[dict | None]) -> list[str]:
    """A Markdown table, one row per bundle with an embedding."""
    rows = [r for r in results if r]
    if not rows:
        return []
    lines = ["| bundle | embedding | ms/window head alone p50 / p95 | with enrolled labels p50 / p95 | "
             "matching alone p50 | fitting 5 labels x 5 examples p50 |", "|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['bundle']} | {r['embedding_dim']} | {r['head_ms']['p50']:.3f} / {r['head_ms']['p95']:.3f} "
                     f"| {r['head_embed_match_ms']['p50']:.3f} / {r['head_embed_match_ms']['p95']:.3f} | "
                     f"{r['match_ms']['p50']:.4f} | {r['fit_ms']['p50']:.3f} ms |")
    return lines

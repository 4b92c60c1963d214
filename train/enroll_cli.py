"""``har eval-enroll``: how well ``har-edge enroll`` learns from K examples (har.train.enroll_eval)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from har.train.errors import TrainError


def render(result: dict) -> list[str]:
    """The table ``har eval-enroll`` prints and docs/enroll.md quotes: mean ± std over the draws."""
    def f(v):
        return "-" if v is None else f"{v['mean']:.3f} ± {v['std']:.3f}"

    lines = [f"{result['data']}: {result['windows']} windows, {result['classes']} classes, bundle {result['bundle']}",
             "| shots | draws | closed-set acc | acc at threshold | head (full training) | softmax regression | "
             "open set: enrolled acc | false accept, known action | false accept, unknown action |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in result["rows"]:
        lines.append(f"| {r['shots']} | {r['draws']} | {f(r['closed_accuracy'])} | "
                     f"{f(r['closed_accuracy_at_threshold'])} | {f(r['head_accuracy'])} | "
                     f"{f(r['closed_accuracy_softmax_regression'])} | {f(r['open_enrolled_accuracy_at_threshold'])} | "
                     f"{f(r['false_accept_base'])} | {f(r['false_accept_unknown'])} |")
    t = result["timing"]
    lines.append(f"fitting {t['classes']} labels of {t['shots']} examples: {t['fit_ms_p50']:.3f} ms; matching one "
                 f"window: {t['match_ms_p50']:.4f} ms (medians)")
    return lines


def register(app: typer.Typer) -> None:
    @app.command("eval-enroll")
    def eval_enroll(
        bundle: Annotated[str | None, typer.Argument(help="Bundle (default: the default pose model).")] = None,
        data: Annotated[Path | None, typer.Option(help="Class folders of clips; default: generated motion "
                                                       "(pose bundles).")] = None,
        shots: Annotated[str, typer.Option(help="Examples per class, comma-separated.")] = "1,3,5,10",
        draws: Annotated[int, typer.Option(help="Random draws of the examples per shot count.")] = 20,
        seed: Annotated[int, typer.Option(help="Seed of the draws and of the generated people.")] = 0,
        enrollers: Annotated[int, typer.Option(help="Generated people who record examples.")] = 8,
        testers: Annotated[int, typer.Option(help="Other generated people to test on.")] = 30,
        json_out: Annotated[Path | None, typer.Option("--json", help="Write the figures as JSON.")] = None,
    ) -> None:
        """Few-shot accuracy vs examples per class and open-set false accepts, group-disjoint.

        Examples:
          har eval-enroll                                   # default model, generated people
          har eval-enroll artifacts/bundle --data data/synth-eval --shots 1,5
        """
        import json

        from har.edge.default_model import bundle_or_default
        from har.train.enroll_eval import embed_folder, embed_motion, few_shot, fit_timing

        try:
            ks = [int(k) for k in shots.split(",")]
        except ValueError:
            raise TrainError(f"--shots takes comma-separated whole numbers, not {shots!r}") from None
        if not ks or min(ks) < 1 or draws < 1:
            raise TrainError("--shots and --draws must be at least 1")
        try:
            b = bundle_or_default(bundle)
            if data is None:
                if not b.is_pose:
                    raise TrainError("a pixel bundle has no generated motion to score on; pass --data DIR")
                d = embed_motion(b, enrollers, testers, seed=seed)
                where = f"generated motion (seed {seed}, {enrollers} enrolling and {testers} other people)"
            else:
                d = embed_folder(b, data, log=typer.echo)
                where = str(data)
            rows = [few_shot(d, b, k, draws, seed) for k in ks]
        except (ValueError, OSError) as e:  # a missing folder, a bundle without embedding
            raise TrainError(str(e)) from None
        result = {"bundle": str(b.path), "data": where, "windows": int(len(d.y)), "classes": len(d.classes),
                  "rows": rows, "timing": fit_timing(d, b)}
        for line in render(result):
            typer.echo(line)
        if json_out:
            json_out.parent.mkdir(parents=True, exist_ok=True)
            json_out.write_text(json.dumps(result, indent=2) + "\n")
            typer.echo(f"wrote {json_out}")

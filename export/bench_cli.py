"""``har bench``: one table and one picture to choose what to deploy (see :mod:`har.export.bench`).

Mounted on the ``har`` app by :func:`register` (from :mod:`har.cli.main`); TensorFlow and matplotlib are
only imported when the command runs, so ``har --help`` stays instant.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from har.export.errors import ExportError


def bench_cmd(
    models: Annotated[Path, typer.Option(help="Folder holding trained lrcn/ and convlstm/ model directories "
                                             "(may be empty when --bundle is given).")]
    = Path("artifacts"),
    out: Annotated[Path, typer.Option(help="Where bench.json, bench.md and pareto.png go.")] = Path("artifacts/bench"),
    data: Annotated[Path | None, typer.Option(help="Dataset root, if not where the models were trained from.")]
    = None,
    bundle: Annotated[list[Path] | None, typer.Option(help="Also benchmark this exported bundle as deployed "
                                                        "(repeat for several, e.g. a pixel and a pose bundle).")]
    = None,
    video: Annotated[Path | None, typer.Option(help="Video for the pipeline rows (default: a generated 640x480 "
                                                    "30 fps clip; use one with a person for pose bundles).")]
    = None,
    threads: Annotated[str, typer.Option(help="Interpreter thread counts, comma-separated.")] = "1,2",
    tflite_runtime_python: Annotated[Path | None, typer.Option(
        help="Python of a venv with tflite-runtime (default: .venv-tflrt/bin/python; its rows are skipped "
             "when absent).")] = None,
    samples: Annotated[int, typer.Option(help="Training clips used to calibrate int8.")] = 200,
    rounds: Annotated[int, typer.Option(help="Interleaved timing rounds (8 calls per variant each).")] = 7,
    passes: Annotated[int, typer.Option(help="Pipeline passes over the video per variant.")] = 2,
    pose_path: Annotated[Path | None, typer.Option(
        help="Instead: the pose path's cost against accuracy for this pose bundle (threads, landmarks every "
             "k-th frame, still skip, no tracking, whole or pruned landmark graph, the lite landmark model when "
             "`har models fetch pose-lite` cached it), on --real-clips and generated people; writes "
             "pose_path.json and pose_path.md.")] = None,
    real_clips: Annotated[Path | None, typer.Option(
        help="With --pose-path: labelled real clips, <dir>/<class>/<video>.")] = None,
    pose_path_bundle: Annotated[list[str] | None, typer.Option(
        help="With --pose-path: also NAME=BUNDLE (e.g. a head trained at another interval), every k.")] = None,
    reference: Annotated[list[str] | None, typer.Option(
        help="With --pose-path: also time NAME=MODEL.tflite, a stream model (MoViNet's export convention: one "
             "frame and its states in, scores and the next states out) on the same frames: what a user would "
             "run instead (docs/pose.md).")] = None,
) -> None:
    """Accuracy, latency, size, memory and pipeline throughput of every model variant, side by side.

    Keras ConvLSTM and LRCN, and TFLite fp32, dynamic, fp16, int8 and int8
    streaming, on ai-edge-litert and (from its own venv) tflite-runtime.
    Accuracy is measured on each model's held-out, group-disjoint test split.

    Example: har bench --models artifacts --out artifacts/bench --threads 1,2
             har bench --bundle artifacts/bundle --bundle artifacts/bundle-pose --video person.mp4
    """
    from har.edge.bench import parse_threads
    from har.export.bench import run_bench

    if pose_path is not None:
        _pose_path(pose_path, real_clips, pose_path_bundle or [], out, rounds, reference or [])
        return
    thread_counts = parse_threads(threads)
    for name, value in (("--samples", samples), ("--rounds", rounds), ("--passes", passes)):
        if value < 1:
            raise ExportError(f"{name} must be at least 1, not {value}")
    report = run_bench(models, out, thread_counts, data=data, bundles=bundle or [], video=video,
                       tflite_runtime=tflite_runtime_python, samples=samples, rounds=rounds, passes=passes,
                       log=typer.echo)
    for model, goals in report["goals"].items():
        known = [g for g in goals.values() if g["met"] is not None]
        missed = "; ".join(f"{g['description']} {g['value']:.4g}, target {g['target']}"
                           for g in known if not g["met"])
        typer.echo(f"{model}: {sum(g['met'] for g in known)} of {len(known)} export goals met"
                   + (f" (not met: {missed})" if missed else ""))
    bad = [r for r in report["rows"] if r["status"] != "ok"]
    typer.echo(f"{len(report['rows'])} rows ({len(bad)} without numbers); wrote {out / 'bench.md'}, "
               f"{out / 'bench.json'} and {out / 'pareto.png'}")


def _pose_path(bundle: Path, real_clips: Path | None, extra: list[str], out: Path, rounds: int,
               references: list[str] = ()) -> None:
    """``--pose-path``: the pose path's variants on real clips (and, when :func:`register` was given a scorer,
    on generated people)."""
    import json

    from har.edge.pose.assets import PoseModelsError
    from har.edge.pose.lite import lite_landmarks
    from har.edge.pose.path_bench import default_variants, measure, render

    if real_clips is None or not real_clips.is_dir():
        raise ExportError("--pose-path needs --real-clips DIR, a folder of <class>/<video> clips")
    named = _named("--pose-path-bundle", "NAME=BUNDLE", extra)
    refs = _named("--reference", "NAME=MODEL.tflite", references)
    try:
        lite = lite_landmarks()
    except PoseModelsError as e:
        lite = None
        typer.echo(f"no lite landmark rows: {e}")
    try:
        report = measure(default_variants(bundle, named, lite), real_clips, rounds=min(rounds, 3), log=typer.echo,
                         motion_accuracy=_MOTION_ACCURACY[0], references=refs)
    except (ValueError, OSError) as e:  # BundleError is a ValueError
        raise ExportError(str(e)) from None
    out.mkdir(parents=True, exist_ok=True)
    (out / "pose_path.json").write_text(json.dumps(report, indent=2) + "\n")
    (out / "pose_path.md").write_text(render(report))
    typer.echo(render(report))
    typer.echo(f"wrote {out / 'pose_path.md'} and {out / 'pose_path.json'}")


def _named(option: str, form: str, items: list[str]) -> dict[str, str]:
    named = {}
    for item in items:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            raise ExportError(f"{option} takes {form}, not {item!r}")
        named[name] = path
    return named


#: Scores a pose bundle on generated people: ``(bundle, landmark_every, actors) -> accuracy`` (set by register).
_MOTION_ACCURACY: list = [None]


def register(app: typer.Typer, motion_accuracy=None) -> None:
    """Add the ``bench`` command to the ``har`` app; ``motion_accuracy`` fills ``--pose-path``'s generated column."""
    _MOTION_ACCURACY[0] = motion_accuracy
    app.command("bench")(bench_cmd)

"""The training half of the ``har`` CLI: data, train, predict (and the motion, enroll, models groups).

The ``har`` console script is :mod:`har.cli.main`, which mounts this app and
the export side's commands. Heavy libraries (TensorFlow, matplotlib) are
imported inside the commands, so ``har --help`` is instant. Errors are
raised, never printed here: any :class:`~har.edge.errors.HarError` becomes
``error: ...`` and exit 2 (:class:`~har.train.extras.TrainGroup`).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Annotated

import typer

from har.edge.cliutil import setup_logging, version_option
from har.edge.records import ConfigError
from har.train.errors import TrainError
from har.train.extras import TrainGroup

# TrainGroup: any HarError (DatasetError, ExportError, BundleError, ...) becomes `error: ...` and exit 2, and a
# missing TensorFlow says which extra to install.
app = typer.Typer(help="har-edge workstation tools: make data, train, predict, export, benchmark.", cls=TrainGroup,
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
data_app = typer.Typer(help="Make, inspect and download datasets.", no_args_is_help=True)
app.add_typer(data_app, name="data")

def _quiet_tf() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("ABSL_MIN_LOG_LEVEL", "2")


@app.callback()
def _root(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging (also after the command).")]
          = False, version: Annotated[bool, version_option("har")] = False) -> None:
    setup_logging(verbose)
    _quiet_tf()


@data_app.command("synth")
def data_synth(
    out: Annotated[Path, typer.Option(help="Folder to write class folders of mp4 files into.")] = Path("data/synth"),
    seed: Annotated[int, typer.Option(help="Same seed, same frames.")] = 0,
    groups: Annotated[int, typer.Option(help="Actors/scenes (UCF 'gNN'), shared by all classes.")] = 32,
    clips: Annotated[int, typer.Option(help="Clips per group and class.")] = 1,
) -> None:
    """Render the embedded synthetic action dataset (no download).

    Example: har data synth --out data/synth
    """
    from har.train.synth import SynthConfig, generate

    n = generate(out, SynthConfig(groups=groups, clips_per_group=clips, seed=seed))
    typer.echo(f"wrote {n} videos to {out}")


@data_app.command("scenario")
def data_scenario(
    out: Annotated[Path, typer.Option(help="mp4 file to write.")] = Path("artifacts/demo/scenario.mp4"),
    actions: Annotated[str, typer.Option(help="Comma-separated action:seconds; 'idle' is 'nothing happening'.")]
    = "idle:3,wave:6,walk_right:3,idle:5,squat_down:3,idle:3",
    seed: Annotated[int, typer.Option()] = 0,
) -> None:
    """Render one continuous synthetic video of several actions in a row (for the edge demo).

    Example: har data scenario --actions idle:3,wave:6,jump:6,idle:5 --out scene.mp4
    """
    from har.train.synth import CLASSES, FPS, render_scenario, write_video

    segments = []
    for part in actions.split(","):
        name, _, secs = part.partition(":")
        if name not in CLASSES:
            raise ConfigError(f"unknown action {name!r}; choose from {', '.join(CLASSES)}")
        try:
            segments.append((name, float(secs or 4)))
        except ValueError:
            raise ConfigError(f"bad duration in {part!r}; use action:seconds, e.g. wave:6") from None
    write_video(out, render_scenario(segments, seed=seed), FPS)
    t, spans = 0.0, []
    for name, secs in segments:
        spans.append(f"{name} {t:.1f}-{t + secs:.1f}s")
        t += secs
    typer.echo(f"wrote {out}: " + ", ".join(spans))


@data_app.command("show")
def data_show(
    data: Annotated[Path, typer.Argument(help="Root of class folders.")],
    out: Annotated[Path, typer.Option(help="PNG to write.")] = Path("grid.png"),
    per_class: Annotated[int, typer.Option(help="Samples per class.")] = 1,
    seed: Annotated[int, typer.Option()] = 0,
    videos_dir: Annotated[Path | None, typer.Option("--videos", help="Generated motion: also write one skeleton "
                                                                     "mp4 per class into this folder.")] = None,
) -> None:
    """Write a grid of sample frames with their labels (first step of the seed study).

    For a generated motion set (`har data motion`) each row is a skeleton clip.
    """
    from har.models.clips import VideoError, read_frames
    from har.models.tracks import TRACK_SUFFIX
    from har.train import plots
    from har.train.dataset import list_videos, sample_per_class

    videos, labels = list_videos(data)

    if all(v.path.name.endswith(TRACK_SUFFIX) for v in videos):
        from har.train.motion_cli import show_motion

        n = show_motion(videos, labels, out, per_class, seed, videos_dir)
        typer.echo(f"wrote {out} ({n} skeleton clips)" + (f" and one mp4 per class in {videos_dir}" if videos_dir else ""))
        return
    samples = []
    for video in sample_per_class(videos, labels, per_class, seed):
        try:
            frames, _ = read_frames(video.path, 128)
        except VideoError as e:
            logging.warning("%s", e)
            continue
        samples.append((video.label, frames[len(frames) // 2]))
    out.parent.mkdir(parents=True, exist_ok=True)
    plots.sample_grid(samples, out)
    typer.echo(f"wrote {out} ({len(samples)} samples)")


@app.command("train")
def train_cmd(
    model: Annotated[str | None, typer.Option(help="convlstm, lrcn or all (default: lrcn; a preset's models).")]
    = None,
    data: Annotated[str | None, typer.Option(help="Root of class folders (default: data/synth).")] = None,
    config: Annotated[Path | None, typer.Option(help="TOML/YAML/JSON file; flags override it.")] = None,
    classes: Annotated[str | None, typer.Option(help="Comma-separated subset, e.g. WalkingWithDog,TaiChi,Swing,HorseRace.")] = None,
    epochs: Annotated[int | None, typer.Option(help="Max epochs (default: seed's 50 ConvLSTM / 70 LRCN).")] = None,
    batch_size: Annotated[int | None, typer.Option(help="Clips per step and replica (default: 4, as the seed).")] = None,
    patience: Annotated[int | None, typer.Option(help="EarlyStopping patience on val_loss (default: 15).")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed for split and weights.")] = None,
    sampling: Annotated[str | None, typer.Option(help="interval (default) or uniform (the seed's).")] = None,
    interval_s: Annotated[float | None, typer.Option(help="Seconds between sampled frames (default: 0.1).")] = None,
    seq_len: Annotated[int | None, typer.Option(help="Frames per clip (default: 20).")] = None,
    out: Annotated[str | None, typer.Option(help="Artifacts root (default: artifacts).")] = None,
    cache_dir: Annotated[str | None, typer.Option(help="Clip cache (default: ~/.cache/har/clips).")] = None,
    encoder: Annotated[str | None, typer.Option(help="pixels (the seed models) or pose (keypoint head "
                                                     "pose_lstm; needs `har models fetch pose`) (default: pixels).")]
    = None,
    protocol: Annotated[str | None, typer.Option(help="Evaluation: holdout, logo (leave one UCF gNN group out), kfold:K or "
                                                      "official:N[,N..] (the dataset's split lists) (default: holdout).")]
    = None,
    folds: Annotated[int | None, typer.Option(help="Run only the first N folds of the protocol (quick checks).")] = None,
    input_pipeline: Annotated[str | None, typer.Option(help="memory, shards (TFRecord on disk, streamed) or auto "
                                                            "(shards above memory_budget_gib) (default: auto).")] = None,
    strategy: Annotated[str | None, typer.Option(help="none, mirrored (this machine's GPUs) or multiworker "
                                                      "(TF_CONFIG; docs/distributed.md) (default: none).")] = None,
    init: Annotated[str | None, typer.Option(help="Pose: start from 'default' (the head shipped with har-edge) or "
                                                  "a pose model folder; fine-tunes on --data.")] = None,
    mix_motion: Annotated[float | None, typer.Option(help="Pose: add generated windows of the classes the motion "
                                                          "vocabulary knows, this many per real training window "
                                                          "(e.g. 0.5).")] = None,
    preset: Annotated[str | None, typer.Option(help="seed: the LSTM-CNN study in one command (downloads UCF50's "
                                                    "four classes into data/ucf50 unless --data has them, then "
                                                    "trains both models with the study's settings).")] = None,
) -> None:
    """Train one or both seed models and write artifacts/<model>/.

    Example: har train --model all --data data/synth
             har train --preset seed        (UCF50, the study's classes and settings)
             har train --encoder pose --data data/ucf50 --classes TaiChi,Swing
             har train --encoder pose --data data/kth --init default --mix-motion 0.5
    """
    from har.train import runner
    from har.train.distribute import task_name

    overrides = dict(data=data, epochs=epochs, batch_size=batch_size, patience=patience, seed=seed, out=out,
                     cache_dir=cache_dir, mode=sampling, interval_s=interval_s, seq_len=seq_len,
                     classes=classes.split(",") if classes else None, protocol=protocol, folds=folds,
                     input_pipeline=input_pipeline, strategy=strategy, init=init, mix_motion=mix_motion)
    for cfg, path in runner.run(runner.plan(model, encoder, preset, config, overrides)):
        if path is None:
            typer.echo(f"{cfg.model}: {task_name()} done; the chief writes the artifacts")
            continue
        _echo_metrics(cfg.model, path)


def _num(x: float | None) -> str:
    """A metric to 3 decimals, or ``n/a`` where there was nothing to measure (an empty test split)."""
    return "n/a" if x is None else f"{x:.3f}"


def _echo_metrics(name: str, path: Path) -> None:
    """One line per model; fold protocols add a line per fold, the mean +- std and the pooled results.

    Metrics are None when a test split is empty (holdout keeps no test group
    out of fewer than 3, and a model saved after cross-validation is trained
    on everything), so every number goes through :func:`_num`.
    """
    import json

    m = json.loads((path / "metrics.json").read_text())
    for f in m.get("folds", []):
        typer.echo(f"  {f['fold']}: accuracy {_num(f['test_accuracy'])}  macro-F1 {_num(f['macro_f1'])}  "
                   f"(test {f['split_sizes']['test']} clips)")
    if "folds" in m:
        from har.train.crossval import summary_lines

        for line in summary_lines(m):
            typer.echo(f"{name}: {line}")
        typer.echo(f"{name}: saved model {m['saved_model']}; params {m['num_params']:,}  "
                   f"{m['train_seconds']:.0f}s  -> {path}")
        return
    typer.echo(f"{name}: test accuracy {_num(m['test_accuracy'])}  macro-F1 {_num(m['macro_f1'])}  "
               f"params {m['num_params']:,}  {m['train_seconds']:.0f}s  -> {path}")
    if m["split_sizes"]["test"] == 0:
        typer.echo(f"{name}: no test clips, so no test accuracy: holdout sets groups aside for testing only from 3 "
                   f"groups up (per class where groups belong to one class); add videos of more groups or use "
                   f"--protocol kfold:2")


@app.command("predict")
def predict_cmd(
    video_arg: Annotated[str, typer.Argument(metavar="VIDEO", help="Video file, or a URL to download first: "
                                             "http(s) ending in .mp4/.avi/.mkv/.mov/.webm/..., or YouTube.")],
    model: Annotated[Path, typer.Option(help="A trained model directory.")] = Path("artifacts/lrcn"),
    output: Annotated[Path | None, typer.Option(help="Write an annotated copy (mp4/avi).")] = None,
    cache_dir: Annotated[Path | None, typer.Option(help="Where downloaded videos are kept "
                                                        "(default: ~/.cache/har/videos).")] = None,
) -> None:
    """Classify a whole video: prints 'Action Predicted: <label>  Confidence: <p>'.

    A URL is downloaded once (with progress, resuming if interrupted) and cached;
    YouTube needs pip install 'har-edge[youtube]'.

    Example: har predict clip.mp4 --model artifacts/lrcn --output annotated.mp4
    """
    from har.edge.videourl import local_video
    from har.train.predict import load_model_dir, predict_video, write_annotated

    try:
        video = local_video(video_arg, cache_dir)
    except (OSError, ValueError) as e:  # an unwritable cache, a malformed URL (DownloadError is a HarError)
        raise TrainError(str(e)) from None
    keras_model, folder = load_model_dir(model)
    labels, sampling = folder.labels, folder.sampling
    pred = predict_video(keras_model, labels, sampling, video, folder.normalization)
    typer.echo(f"Action Predicted: {pred.label}  Confidence: {pred.confidence:.4f}")
    if pred.padded:
        from har.edge.predict import padding_text

        typer.echo(padding_text(pred.padded, sampling.seq_len, pose=False))
    if output:
        try:
            n = write_annotated(video, output, pred, labels)
        except OSError as e:
            raise TrainError(str(e)) from None
        typer.echo(f"wrote {output} ({n} frames)")


def _mount_groups() -> None:
    """Mount the data download, motion, enroll and models commands (their heavy imports stay inside)."""
    from har.train.data_cli import register as register_data
    from har.train.enroll_cli import register as register_enroll
    from har.train.motion_cli import register as register_motion
    from har.train.pose_cli import register as register_models

    register_data(data_app)
    register_motion(app, data_app)
    register_enroll(app)
    register_models(app)


_mount_groups()

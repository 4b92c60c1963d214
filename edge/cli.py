"""The device CLI, ``har-edge``: run, predict, info, doctor (enroll: har.edge.enroll.cli).

Imports only the edge runtime (numpy, OpenCV, LiteRT); never TensorFlow.
Commands raise a :class:`~har.edge.errors.HarError` for anything the user
can fix; :class:`~har.edge.clierrors.HarGroup` prints it as one line and
exits 2, and anything else keeps its traceback because it is a bug.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from har.edge.clierrors import HarGroup
from har.edge.cliutil import hoist_verbose, setup_logging, version_option
from har.edge.errors import UsageError

app = typer.Typer(help="har-edge device runtime: live activity recognition with a TFLite bundle.", cls=HarGroup,
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
log = logging.getLogger("har.edge")

ConfigOpt = Annotated[Path | None, typer.Option("--config", "-c", help="TOML/YAML config; flags override it.",
                                                envvar="HAR_EDGE_CONFIG")]
BundleOpt = Annotated[str | None, typer.Option(help="Bundle directory (default: the config's, else the default "
                                                    "pose model shipped with har-edge).")]


@app.callback()
def _root(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging (also after the command).")]
          = False, version: Annotated[bool, version_option("har-edge")] = False) -> None:
    setup_logging(verbose)


def _load(config: Path | None, overrides: dict):
    from har.edge.config import load_config
    from har.edge.default_model import bundle_or_default

    cfg = load_config(config, overrides)
    bundle = bundle_or_default(cfg.bundle)
    if not cfg.smoother.background_labels:  # "idle" is no action unless the config lists other labels
        cfg.smoother.background_labels = bundle.background_labels
    return cfg, bundle


@app.command()
def run(
    config: ConfigOpt = None,
    bundle: BundleOpt = None,
    camera: Annotated[int | None, typer.Option(help="Camera index (USB/V4L2), e.g. 0.")] = None,
    source: Annotated[str | None, typer.Option(help="Video file, or URL: http(s) ending in .mp4/.avi/.mkv/.mov/"
                                                    ".webm/.m4v/.gif/.mpg/.mpeg or a YouTube page is downloaded "
                                                    "first and played as a file; any other rtsp:// or http:// "
                                                    "URL is read as a live stream.")] = None,
    picamera2: Annotated[bool | None, typer.Option("--picamera2", help="Raspberry Pi camera module.")] = None,
    realtime: Annotated[bool | None, typer.Option("--realtime", help="Play a --source file at its own fps.")] = None,
    loop: Annotated[bool | None, typer.Option("--loop", help="Start a --source file again at its end.")] = None,
    threads: Annotated[int | None, typer.Option(help="Interpreter threads.")] = None,
    delegate: Annotated[str | None, typer.Option(help="'edgetpu' to use a Coral accelerator.")] = None,
    stride: Annotated[int | None, typer.Option(help="Classify every N sampled frames.")] = None,
    streaming: Annotated[str | None, typer.Option(help="auto | on | off (encoder+head vs whole window).")] = None,
    jsonl: Annotated[str | None, typer.Option(help="Append events as JSON lines to this file.")] = None,
    mqtt: Annotated[bool | None, typer.Option("--mqtt/--no-mqtt", help="Publish to MQTT (the mqtt table of the config, HAR_MQTT_* env).")] = None,
    output: Annotated[str | None, typer.Option(help="Write an annotated video (mp4/avi).")] = None,
    console: Annotated[bool | None, typer.Option("--console/--no-console", help="One line per event on stdout.")] = None,
    background: Annotated[str | None, typer.Option(help="Comma-separated labels that mean 'no action'.")] = None,
    metrics_port: Annotated[int | None, typer.Option(help="Serve Prometheus metrics on PORT "
                                                         "(metrics.prometheus_host, 127.0.0.1 by default).")] = None,
    print_config: Annotated[bool, typer.Option("--print-config", help="Print the merged config and exit.")] = False,
) -> None:
    """Run live recognition from a camera, stream or file and report actions.

    Examples:
      har-edge run --camera 0 --bundle artifacts/bundle
      har-edge run --picamera2 --config /etc/har-edge/config.toml --mqtt
      har-edge run --source clip.mp4 --jsonl events.jsonl --output annotated.mp4
    """
    overrides = {
        "bundle": bundle, "source.camera": camera, "source.source": source, "source.picamera2": picamera2, "source.realtime": realtime,
        "source.loop": loop,
        "inference.threads": threads, "inference.delegate": delegate, "inference.stride": stride,
        "inference.streaming": streaming, "sinks.jsonl": jsonl, "sinks.mqtt": mqtt, "sinks.output": output,
        "sinks.console": console, "metrics.prometheus_port": metrics_port,
        "smoother.background_labels": background.split(",") if background else None,
    }
    from har.edge.config import load_config

    if print_config:
        typer.echo(json.dumps(load_config(config, overrides).to_dict(), indent=2))
        return
    cfg, bndl = _load(config, overrides)
    from har.edge.default_model import model_in_use

    log.info("model: %s", model_in_use(bndl))
    from har.edge.runtime import Runtime

    runtime = Runtime(cfg, bndl).start()
    runtime.install_signals()
    summary = runtime.run()
    log.info("done: %d frames, %d inferences, %d events", summary.frames, summary.inferences, summary.events)


@app.command()
def predict(
    video: Annotated[str, typer.Argument(help="Video file, or URL of one (http(s) ending in .mp4/.avi/... "
                                              "or YouTube), downloaded first into ~/.cache/har/videos.")],
    bundle: BundleOpt = None,
    threads: Annotated[int | None, typer.Option(help="Interpreter threads (default: the config's, else 1).")] = None,
    streaming: Annotated[str | None, typer.Option(help="auto | on | off (default: the config's, else auto).")] = None,
    config: ConfigOpt = None,
) -> None:
    """Classify one video file: prints 'Action Predicted: <label>  Confidence: <p>'.

    The answer is the mean of every window's probabilities, windows sampled at
    the bundle's rate (the same answer as `har predict` with the Keras model, up
    to quantization). A clip shorter than one window is padded at the start,
    and a second line says so. With a pose bundle, windows where a pose was
    found in too few frames give no label; if no window has enough, the answer
    is 'No action'.
    """
    import numpy as np

    from har.edge.pipeline import Classifier
    from har.edge.predict import cuts_of_file, padding_text
    from har.edge.videourl import local_video

    cfg, bndl = _load(config, {"bundle": bundle, "inference.threads": threads, "inference.streaming": streaming})
    clf = Classifier(bndl, cfg.inference.threads, None, cfg.inference.streaming)
    try:
        if "://" in video:
            video = str(local_video(video))
    except (OSError, ValueError) as e:  # an unwritable cache, a malformed URL
        raise UsageError(str(e)) from None
    cuts = list(cuts_of_file(video, bndl, clf.item, pad=True))
    if not cuts:
        raise UsageError(f"{video} has no frames to classify")
    probs = [clf.classify(c.window) for c in cuts if clf.enough_poses(c.window)]
    padded = cuts[0].padded
    if not probs:
        typer.echo(f"No action: a person was found in fewer than {bndl.min_found_fraction:.0%} of the sampled "
                   "frames of every window")
    else:
        mean = np.mean(probs, axis=0)
        k = int(mean.argmax())
        typer.echo(f"Action Predicted: {bndl.labels[k]}  Confidence: {mean[k]:.4f}")
    if padded:
        typer.echo(padding_text(padded, bndl.seq_len, bndl.is_pose))


@app.command()
def info(
    bundle: Annotated[str | None, typer.Argument(help="Bundle directory (default: the default pose model "
                                                      "shipped with har-edge).")] = None,
    threads: Annotated[int | None, typer.Option(help="Interpreter threads (default: the config's, else 1).")] = None,
    delegate: Annotated[str | None, typer.Option(help="Delegate to check, e.g. edgetpu (default: the config's).")]
    = None,
    config: ConfigOpt = None,
) -> None:
    """Show a bundle's metadata, check its hashes and tensors, list ops and the delegate in use."""
    from har.edge.bundle.describe import describe
    from har.edge.default_model import model_in_use
    from har.edge.enroll.cli import info_lines

    cfg, b = _load(config, {"bundle": bundle, "inference.threads": threads, "inference.delegate": delegate})
    typer.echo(f"model      {model_in_use(b)}\n"
               + describe(b, threads=cfg.inference.threads, delegate=cfg.inference.delegate or None))
    for line in info_lines(b):
        typer.echo(line)


@app.command()
def doctor(
    config: ConfigOpt = None,
    bundle: BundleOpt = None,
    camera: Annotated[int | None, typer.Option(help="Camera index to test.")] = None,
    picamera2: Annotated[bool, typer.Option("--picamera2", help="Test the Pi camera module.")] = False,
    mqtt: Annotated[bool, typer.Option("--mqtt", help="Connect to the broker (auth, TLS) and check the outbox "
                                                      "and JSON-lines paths are writable, even if the config "
                                                      "leaves MQTT off.")] = False,
) -> None:
    """Check interpreter, bundle, delegate, camera and broker; say what is wrong."""
    from har.edge.doctor import run_checks

    ok = run_checks(config, bundle, camera, picamera2, echo=typer.echo, mqtt=mqtt)
    raise typer.Exit(0 if ok else 1)


@app.command()
def bench(
    bundle: Annotated[str | None, typer.Argument(help="Bundle directory (default: the default pose model "
                                                      "shipped with har-edge).")] = None,
    threads: Annotated[str, typer.Option(help="Interpreter thread counts, comma-separated.")] = "1,2",
    video: Annotated[Path | None, typer.Option(help="Video file for the pipeline run (default: a generated "
                                                    "640x480 30 fps clip).")] = None,
    rounds: Annotated[int, typer.Option(help="Interleaved timing rounds (8 calls per model each).")] = 7,
    json_out: Annotated[Path | None, typer.Option("--json", help="Also write the rows as JSON here.")] = None,
    config: ConfigOpt = None,
) -> None:
    """Time this bundle on this device: latency per window and per new frame, pipeline fps, peak memory.

    The device half of `har bench`, without TensorFlow; prints the same table
    rows. Accuracy comes from the bundle's report.json when `har export` left one.

    Example: har-edge bench artifacts/bundle --threads 1,4
    """
    from har.edge.bench import bench_bundle, note_lines, parse_threads, pose_lines, table_lines
    try:
        bundle = str(_load(config, {"bundle": bundle})[1].path)
        thread_counts = parse_threads(threads)
    except ValueError as e:
        raise UsageError(str(e)) from None
    if rounds < 1:
        raise UsageError(f"--rounds must be at least 1, not {rounds}")
    if video is not None and not video.is_file():
        raise UsageError(f"video file {video} does not exist")
    result = bench_bundle(bundle, thread_counts, video, rounds=rounds)
    env = result["environment"]
    typer.echo(f"{env['cpu']} ({env['usable_cpus']} CPUs), {env['runtime']}, Python {env['python']}, "
               f"{env['date']}; decoding alone {result['decode_fps']:.0f} fps")
    for line in table_lines(result["rows"], thread_counts) + note_lines(result["rows"]) + pose_lines(result["rows"]):
        typer.echo(line)
    from har.edge.enroll.bench import enroll_lines, enroll_timing

    result["enrolment"] = [enroll_timing(bundle)]
    for line in enroll_lines(result["enrolment"]):
        typer.echo(line)
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(result, indent=2) + "\n")
        typer.echo(f"wrote {json_out}")


def _mount_models() -> None:
    """``har-edge models fetch pose``: the device needs the pose models too (no TensorFlow involved)."""
    from har.edge.enroll.cli import register as register_enroll
    from har.edge.eval_cli import register as register_eval
    from har.edge.init import register as register_init
    from har.edge.pose.cli import register

    register(app)
    register_eval(app, _load)
    register_enroll(app, _load)
    register_init(app)


_mount_models()


def main() -> None:
    """The ``har-edge`` console script; HarGroup turns a HarError into ``error: ...`` and exit 2."""
    try:
        app(args=hoist_verbose(sys.argv[1:]), prog_name="har-edge")
    except KeyboardInterrupt:  # Ctrl-C during a download or before `run` installs its signal handlers
        sys.exit(130)


if __name__ == "__main__":
    main()

"""The device CLI, ``har-edge``: run, predict, info, doctor.

Imports only the edge runtime (numpy, OpenCV, LiteRT); never TensorFlow.
"""

from __future__ import annotations

import json
import logging
import signal
import sys
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="har-edge device runtime: live activity recognition with a TFLite bundle.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
log = logging.getLogger("har.edge")

ConfigOpt = Annotated[Path | None, typer.Option("--config", "-c", help="TOML/YAML config; flags override it.",
                                                envvar="HAR_EDGE_CONFIG")]
BundleOpt = Annotated[str | None, typer.Option(help="Bundle directory (default: artifacts/bundle).")]


def fail(msg: str, code: int = 2) -> None:
    typer.secho(f"error: {msg}", fg="red", err=True)
    raise typer.Exit(code)


@app.callback()
def _root(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")] = False) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)


def _load(config: Path | None, overrides: dict):
    from har.edge.bundle import BundleError, load_bundle
    from har.edge.config import ConfigError, load_config

    try:
        cfg = load_config(config, overrides)
        bundle = load_bundle(cfg.bundle)
    except (ConfigError, BundleError) as e:
        fail(str(e))
    return cfg, bundle


def _sinks(cfg, bundle):
    from har.edge.sinks.base import MultiSink
    from har.edge.sinks.console import ConsoleSink
    from har.edge.sinks.jsonl import JsonlSink

    sinks = []
    if cfg.sinks.console:
        sinks.append(ConsoleSink(show_state=cfg.sinks.console_state))
    if cfg.sinks.jsonl:
        sinks.append(JsonlSink(cfg.sinks.jsonl, max_bytes=cfg.sinks.jsonl_max_bytes))
    if cfg.sinks.mqtt:
        from har.edge.sinks.mqtt import MqttSink

        actions = [lab for lab in bundle.labels if lab not in cfg.smoother.background_labels]
        sinks.append(MqttSink(cfg.mqtt, actions))
    return MultiSink(sinks)


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
    metrics_port: Annotated[int | None, typer.Option(help="Serve Prometheus metrics on 127.0.0.1:PORT.")] = None,
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
    from har.edge.config import ConfigError, load_config

    if print_config:
        try:
            typer.echo(json.dumps(load_config(config, overrides).to_dict(), indent=2))
        except ConfigError as e:
            fail(str(e))
        return
    cfg, bndl = _load(config, overrides)
    from har.edge.metrics import Metrics, PrometheusServer
    from har.edge.pipeline import Pipeline, PipelineError
    from har.edge.sinks.video import VideoSink
    from har.edge.sources import SourceError, open_source

    metrics = Metrics()
    sink = None
    try:
        sink = _sinks(cfg, bndl)

        def on_outage(down: bool, reason: str) -> None:
            sink.availability(not down, reason)

        src = open_source(cfg.source.camera, cfg.source.source, cfg.source.picamera2, on_outage,
                          cfg.source.width, cfg.source.height, cfg.source.realtime, cfg.source.loop,
                          cfg.source.reconnect_max_s, cfg.source.open_timeout_s)
        video = VideoSink(cfg.sinks.output, src.fps, segment_s=cfg.sinks.output_segment_s) if cfg.sinks.output else None
        pipe = Pipeline(cfg, bndl, sink, video_sink=video, metrics=metrics)
        for s in sink.sinks:
            if hasattr(s, "pending"):  # MQTT: what waits in the outbox, what the broker acknowledged
                metrics.gauges.update(mqtt_outbox_pending=lambda s=s: s.pending, mqtt_delivered=lambda s=s: s.delivered)
    except (SourceError, PipelineError, ValueError, ImportError, OSError) as e:
        if sink is not None:
            sink.stop()
        fail(str(e))
    prom = None
    if cfg.metrics.prometheus_port is not None:
        prom = PrometheusServer(metrics, cfg.metrics.prometheus_host, cfg.metrics.prometheus_port)

    def on_signal(signum, _frame):
        log.info("signal %d: stopping", signum)
        pipe.stop()
        src.stop()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        summary = pipe.run(src)
    finally:
        src.stop()
        if video is not None:
            video.stop()
        sink.stop()
        if prom is not None:
            prom.stop()
    log.info("done: %d frames, %d inferences, %d events", summary.frames, summary.inferences, summary.events)


@app.command()
def predict(
    video: Annotated[str, typer.Argument(help="Video file, or URL of one (http(s) ending in .mp4/.avi/... "
                                              "or YouTube), downloaded first into ~/.cache/har/videos.")],
    bundle: BundleOpt = None,
    threads: Annotated[int, typer.Option(help="Interpreter threads.")] = 1,
    streaming: Annotated[str, typer.Option(help="auto | on | off.")] = "auto",
) -> None:
    """Classify one video file: prints 'Action Predicted: <label>  Confidence: <p>'.

    The answer is the mean of every window's probabilities, windows sampled at
    the bundle's rate (the same answer as `har predict` with the Keras model, up
    to quantization).
    """
    import numpy as np

    from har.edge.download import DownloadError, local_video
    from har.edge.pipeline import Classifier, PipelineError
    from har.edge.predict import windows_of_file
    from har.edge.sources import SourceError

    cfg, bndl = _load(None, {"bundle": bundle})
    try:
        clf = Classifier(bndl, threads, None, streaming)
    except (PipelineError, ValueError, OSError) as e:  # BundleError is a ValueError
        fail(str(e))
    try:
        if "://" in video:
            video = str(local_video(video))
        probs = [clf.classify(w) for w in windows_of_file(video, bndl, clf.item)]
    except (SourceError, DownloadError, OSError, ValueError) as e:  # ValueError: a malformed URL
        fail(str(e))
    if not probs:
        fail(f"{video} is too short for one window ({bndl.seq_len} frames {bndl.interval_s}s apart)")
    mean = np.mean(probs, axis=0)
    k = int(mean.argmax())
    typer.echo(f"Action Predicted: {bndl.labels[k]}  Confidence: {mean[k]:.4f}")


@app.command()
def info(
    bundle: Annotated[str, typer.Argument(help="Bundle directory.")] = "artifacts/bundle",
    threads: Annotated[int, typer.Option(help="Interpreter threads.")] = 1,
    delegate: Annotated[str | None, typer.Option(help="Delegate to check, e.g. edgetpu.")] = None,
) -> None:
    """Show a bundle's metadata, check its hashes, list ops and the delegate in use."""
    from har.edge.bundle import BundleError, describe, load_bundle

    try:
        typer.echo(describe(load_bundle(bundle), threads=threads, delegate=delegate))
    except (BundleError, ValueError, OSError) as e:
        fail(str(e))


@app.command()
def doctor(
    config: ConfigOpt = None,
    bundle: BundleOpt = None,
    camera: Annotated[int | None, typer.Option(help="Camera index to test.")] = None,
    picamera2: Annotated[bool, typer.Option("--picamera2", help="Test the Pi camera module.")] = False,
) -> None:
    """Check interpreter, bundle, delegate, camera and broker; say what is wrong."""
    from har.edge.doctor import run_checks

    ok = run_checks(config, bundle, camera, picamera2, echo=typer.echo)
    raise typer.Exit(0 if ok else 1)


@app.command()
def bench(
    bundle: Annotated[str, typer.Argument(help="Bundle directory.")] = "artifacts/bundle",
    threads: Annotated[str, typer.Option(help="Interpreter thread counts, comma-separated.")] = "1,2",
    video: Annotated[Path | None, typer.Option(help="Video file for the pipeline run (default: a generated "
                                                    "640x480 30 fps clip).")] = None,
    rounds: Annotated[int, typer.Option(help="Interleaved timing rounds (8 calls per model each).")] = 7,
    json_out: Annotated[Path | None, typer.Option("--json", help="Also write the rows as JSON here.")] = None,
) -> None:
    """Time this bundle on this device: latency per window and per new frame, pipeline fps, peak memory.

    The device half of `har bench`, without TensorFlow; prints the same table
    rows. Accuracy comes from the bundle's report.json when `har export` left one.

    Example: har-edge bench artifacts/bundle --threads 1,4
    """
    from har.edge.bench import BenchError, bench_bundle, note_lines, parse_threads, pose_lines, table_lines
    from har.edge.sources import SourceError

    try:
        thread_counts = parse_threads(threads)
        if rounds < 1:
            raise ValueError(f"--rounds must be at least 1, not {rounds}")
        if video is not None and not video.is_file():
            raise ValueError(f"video file {video} does not exist")
        result = bench_bundle(bundle, thread_counts, video, rounds=rounds)
    except (ValueError, BenchError, SourceError) as e:  # BundleError is a ValueError: one sentence
        fail(str(e))
    env = result["environment"]
    typer.echo(f"{env['cpu']} ({env['usable_cpus']} CPUs), {env['runtime']}, Python {env['python']}, "
               f"{env['date']}; decoding alone {result['decode_fps']:.0f} fps")
    for line in table_lines(result["rows"], thread_counts) + note_lines(result["rows"]) + pose_lines(result["rows"]):
        typer.echo(line)
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(result, indent=2) + "\n")
        typer.echo(f"wrote {json_out}")


def _mount_models() -> None:
    """``har-edge models fetch pose``: the device needs the pose models too (no TensorFlow involved)."""
    from har.edge.pose.cli import register

    register(app)


_mount_models()


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:  # Ctrl-C during a download or before `run` installs its signal handlers
        sys.exit(130)


if __name__ == "__main__":
    main()

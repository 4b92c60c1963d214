"""``har-edge enroll``: teach the device a label from a few recordings, and manage what it learned."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from har.edge.enroll import store
from har.edge.enroll.embedding import where
from har.edge.errors import UsageError


def info_lines(bundle) -> list[str]:
    """What ``har-edge info`` says about enrolled labels of ``bundle``."""
    from har.edge.enroll.runtime import fit

    if bundle.embedding_dim is None:
        return ["enrolled   none: this bundle has no embedding output, so it cannot learn labels (re-export it)"]
    path = store.default_path(bundle)
    if not path.exists():
        return [f"enrolled   none yet (har-edge enroll --label NAME ... writes {path})",
                f"embedding  {bundle.embedding_dim} values per window ({where(bundle)})"]
    try:
        model = fit(bundle, store.read(path, bundle))
    except store.EnrolmentError as e:
        return [f"enrolled   refused: {e}"]
    lines = [f"enrolled   {len(model.labels)} label(s) from {path} (read by `har-edge run`, reloaded on change)"]
    return lines + [f"           {line}" + (" (overrides the bundle's label)" if line.split(":")[0] in bundle.labels
                                             else "") for line in model.describe()]


def register(app: typer.Typer, load) -> None:
    @app.command("enroll")
    def enroll(
        label: Annotated[str | None, typer.Option(help="The label to learn, e.g. stretch.")] = None,
        camera: Annotated[int | None, typer.Option(help="Record from this camera index, with a countdown.")] = None,
        source: Annotated[list[str] | None, typer.Option(help="A video file as one recording (repeatable).")] = None,
        start: Annotated[list[float] | None, typer.Option(help="Seconds into each --source where the action "
                                                               "starts (once per --source).")] = None,
        end: Annotated[list[float] | None, typer.Option(help="Seconds into each --source where it ends.")] = None,
        folder: Annotated[Path | None, typer.Option(help="A folder of clips, each one recording.")] = None,
        count: Annotated[int, typer.Option(help="Recordings to make from --camera.")] = 5,
        seconds: Annotated[float | None, typer.Option(help="Length of each camera recording (default: one "
                                                           "window of the bundle).")] = None,
        countdown: Annotated[float, typer.Option(help="Seconds of countdown before each camera recording.")] = 3.0,
        output: Annotated[str | None, typer.Option(help="Write the camera session with the countdown on the "
                                                        "frames (mp4/avi).")] = None,
        bundle: Annotated[str | None, typer.Option(help="Bundle directory (default: the config's, else the "
                                                        "default model).")] = None,
        config: Annotated[Path | None, typer.Option("--config", "-c", help="The config `har-edge run` uses "
                                                                           "(for its bundle).",
                                                    envvar="HAR_EDGE_CONFIG")] = None,
        enrolment: Annotated[Path | None, typer.Option(help="Enrolment file (default: beside the bundle; "
                                                            "HAR_EDGE_ENROLMENT).")] = None,
        threads: Annotated[int, typer.Option(help="Interpreter threads.")] = 1,
        list_: Annotated[bool, typer.Option("--list", help="List enrolled labels.")] = False,
        remove: Annotated[str | None, typer.Option(help="Forget an enrolled label.")] = None,
        export: Annotated[Path | None, typer.Option("--export", help="Copy the enrolment to this file.")] = None,
        import_: Annotated[Path | None, typer.Option("--import", help="Add the labels of an exported "
                                                                      "enrolment (same bundle).")] = None,
    ) -> None:
        """Teach the device a new action from a few recordings; no training, no TensorFlow.

        Examples:
          har-edge enroll --label stretch --camera 0 --count 5
          har-edge enroll --label stretch --source a.mp4 --start 3.2 --end 5.4 --source b.mp4 --start 0 --end 2
          har-edge enroll --label stretch --folder clips/stretch
          har-edge enroll --list | --remove stretch | --export stretch.json | --import stretch.json
        A running `har-edge run` picks the change up within a second (or at once on SIGHUP).
        """
        _, bndl = load(config, {"bundle": bundle})
        path = enrolment or store.default_path(bndl)
        actions = [bool(list_), remove is not None, export is not None, import_ is not None, label is not None]
        if sum(actions) != 1:
            raise UsageError("give exactly one of --label (with --camera, --source or --folder), --list, --remove, --export "
                 "and --import")
        if list_:
            for line in info_lines(bndl) if path == store.default_path(bndl) else _list(bndl, path):
                typer.echo(line)
            return
        if remove is not None:
            current = store.read(path, bndl)
            if remove not in current.labels:
                raise UsageError(f"{remove!r} is not enrolled (enrolled: {', '.join(current.labels) or 'none'})")
            del current.labels[remove]
            store.write(path, current)
            typer.echo(f"removed {remove!r}; {len(current.labels)} label(s) left in {path}")
            return
        if export is not None:
            current = store.read(path, bndl)
            store.write(export, current)
            typer.echo(f"exported {len(current.labels)} label(s) to {export}")
            return
        if import_ is not None:
            other = store.read(import_, bndl)
            current = store.merged(store.load_or_new(path, bndl), other)
            store.write(path, current)
            typer.echo(f"imported {', '.join(other.labels)} into {path}")
            return
        _record(bndl, store.check_label(label), path, camera, source, start, end, folder, count, seconds,
                countdown, output, threads)


def _list(bundle, path: Path) -> list[str]:
    from har.edge.enroll.runtime import fit

    model = fit(bundle, store.read(path, bundle))
    return [f"{len(model.labels)} label(s) in {path}"] + model.describe()


def _record(bundle, label, path, camera, sources, starts, ends, folder, count, seconds, countdown, output,
            threads) -> None:
    from har.edge.enroll.record import Recorder, folder_clips, ranges
    from har.edge.enroll.runtime import fit

    given = [camera is not None, bool(sources), folder is not None]
    if sum(given) != 1:
        raise UsageError("--label needs exactly one of --camera, --source and --folder")
    if count < 1 or (seconds is not None and seconds <= 0) or countdown < 0:
        raise UsageError("--count and --seconds must be positive and --countdown 0 or more")
    if (starts or ends) and not sources:
        raise UsageError("--start and --end go with --source")
    if output and camera is None:
        raise UsageError("--output shows the camera countdown; it goes with --camera")
    current = store.load_or_new(path, bundle)  # refuse a bad file before recording anything
    rec = Recorder(bundle, threads)
    if camera is not None:
        examples = _from_camera(rec, bundle, label, camera, count, seconds, countdown, output)
    else:
        todo = ranges(sources, starts, ends) if sources else [(str(p), None, None) for p in folder_clips(folder)]
        examples = []
        for src, a, b in todo:
            ex = rec.from_file(src, a, b)
            span = f" {a or 0:g}-{b:g} s" if b is not None else (f" from {a:g} s" if a else "")
            typer.echo(f"  {src}{span}: {ex.windows} window(s)")
            examples.append(ex)
    current.labels.setdefault(label, []).extend(examples)
    t0 = time.perf_counter()
    model = fit(bundle, current)
    fit_ms = (time.perf_counter() - t0) * 1e3
    store.write(path, current)
    j = model.labels.index(label)
    typer.echo(f"enrolled {label!r}: {len(current.labels[label])} example(s) ({len(examples)} new; encoder "
               f"{rec.seconds_encoding:.2f} s, fitting {fit_ms:.1f} ms); {model.describe()[j].split(': ', 1)[1]}")
    if label in bundle.labels:
        typer.echo(f"{label!r} is also a label of the bundle: windows like these examples now take it too")
    typer.echo(f"saved {path}; a running `har-edge run` picks it up within a second")


def _from_camera(rec, bundle, label, camera, count, seconds, countdown, output):
    from har.edge.sinks.video import VideoSink
    from har.edge.sources import open_source

    seconds = seconds or bundle.seq_len * (bundle.interval_s or 0.1)
    src = open_source(camera, None)
    video = VideoSink(output, src.fps) if output else None
    examples = []
    try:
        for i in range(count):
            name = f"{label} {i + 1}/{count}"
            frame_out = (lambda f, text: video.write(f, text, 1.0)) if video else None
            examples.append(rec.from_live(src, seconds, countdown, name, lambda t: typer.echo(t), frame_out))
            typer.echo(f"  recording {i + 1}: {examples[-1].windows} window(s)")
    finally:
        src.stop()
        if video is not None:
            video.stop()
    return examples

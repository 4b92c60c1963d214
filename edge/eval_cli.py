"""``har-edge eval``: a bundle's accuracy on a labelled folder of real videos (no TensorFlow)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from har.edge.errors import UsageError


def register(app: typer.Typer, load) -> None:
    @app.command("eval")
    def eval_cmd(
        data: Annotated[Path, typer.Argument(help="Folder of class folders of videos, e.g. KTH or Weizmann as "
                                                  "unpacked.")],
        bundle: Annotated[str | None, typer.Option(help="Bundle directory (default: the default model).")] = None,
        map_: Annotated[list[str] | None, typer.Option("--map", help="Folder class to bundle label, NAME=LABEL "
                                                                    "(repeatable); known dataset names map "
                                                                    "themselves.")] = None,
        stride: Annotated[int, typer.Option(help="Score every Nth window of a clip.")] = 1,
        threads: Annotated[int, typer.Option(help="Interpreter threads.")] = 1,
        json_out: Annotated[Path | None, typer.Option("--json", help="Also write the figures as JSON.")] = None,
        quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No line per clip.")] = False,
        landmark_every: Annotated[int | None, typer.Option(
            help="Pose bundle: run the landmark model on every k-th sampled frame (default: the bundle's "
                 "default mode).", min=1, max=4)] = None,
    ) -> None:
        """Zero-shot accuracy on real footage: per window and per clip, restricted to the folder's classes and
        over the bundle's whole vocabulary.

        Example: har-edge eval data/weizmann --json weizmann.json
        """
        from har.edge.evaluate import evaluate, render, write_json
        from har.edge.pipeline import Classifier, PipelineError
        from har.edge.predict import cuts_of_file
        from har.edge.sources import SourceError

        extra = {}
        for item in map_ or []:
            name, sep, label = item.partition("=")
            if not sep or not name or not label:
                raise UsageError(f"--map takes NAME=LABEL, not {item!r}")
            extra[name] = label
        if stride < 1:
            raise UsageError(f"--stride must be at least 1, not {stride}")
        _, bndl = load(None, {"bundle": bundle})
        unknown = sorted(v for v in extra.values() if v not in bndl.labels)
        if unknown:
            raise UsageError(f"--map names label(s) {', '.join(unknown)} that the bundle does not have "
                 f"(it has: {', '.join(bndl.labels)})")
        try:
            clf = Classifier(bndl, threads, None, "auto")
        except (PipelineError, ValueError, OSError) as e:
            raise UsageError(str(e)) from None
        if landmark_every is not None:
            if not clf.pose:
                raise UsageError("--landmark-every applies to pose bundles only")
            from har.edge.pose.modes import PoseMode

            clf._impl.modal.mode = PoseMode(landmark_every)

        def windows(path):
            clf.reset()
            try:
                for cut in cuts_of_file(path, bndl, clf.item, pad=True):  # a short clip is padded, as in predict
                    yield cut.window
            except SourceError as e:
                typer.echo(f"warning: {e}", err=True)

        def line(r):
            if not quiet:
                typer.echo(f"{r.truth}/{Path(r.path).name}: {r.clip_open or '(no answer)'} "
                           f"({r.open_hits}/{r.windows} windows {r.target or 'unmapped'})")

        try:
            summary = evaluate(bndl, data, clf, windows, extra, stride, line)
        except FileNotFoundError as e:
            raise UsageError(str(e)) from None
        typer.echo(render(summary))
        if json_out:
            write_json(summary, json_out)
            typer.echo(f"wrote {json_out}")

"""``har data motion``: write a generated motion set; and the skeleton view ``har data show`` uses for one."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from har.train.errors import TrainError


def register(app: typer.Typer, data_app: typer.Typer) -> None:
    @app.command("eval-motion")
    def eval_motion(
        bundle: Annotated[Path, typer.Argument(help="A pose bundle whose labels are motion actions (e.g. "
                                                    "har/edge/default_model).")],
        actors: Annotated[int, typer.Option(help="Generated test people.")] = 24,
        first_actor: Annotated[int, typer.Option(help="Index of the first (training never goes this far).")] = 1000,
        seed: Annotated[int, typer.Option(help="Generator seed.")] = 0,
        json_out: Annotated[Path | None, typer.Option("--json", help="Write the figures as JSON.")] = None,
        landmark_every: Annotated[int | None, typer.Option(
            help="Score as a device running the landmark model on every k-th sampled frame (default: the "
                 "bundle's default mode).", min=1, max=4)] = None,
    ) -> None:
        """Accuracy of a pose bundle on freshly generated people and cameras (per class, confusion matrix).

        Example: har eval-motion artifacts/bundle-pose --actors 24 --json motion-score.json
        """
        import json

        from har.edge.bundle import load_bundle
        from har.edge.pose.modes import every
        from har.train.motion.score import score_bundle

        try:
            b = load_bundle(bundle)
            result = score_bundle(b, actors=actors, seed=seed, first_actor=first_actor, landmark_every=landmark_every)
        except (ValueError, OSError) as e:
            raise TrainError(str(e)) from None
        typer.echo(f"accuracy {result['accuracy']:.3f} on {result['test_set']['windows']} windows of {actors} "
                   f"generated people (first actor {first_actor}, seed {seed}, landmarks on "
                   f"{every(result['test_set']['landmark_every'])})")
        for lab, r in sorted(result["per_class_recall"].items(), key=lambda kv: kv[1]):
            typer.echo(f"  {lab:16s} {r:.2f}")
        if json_out:
            json_out.write_text(json.dumps(result, indent=2) + "\n")
            typer.echo(f"wrote {json_out}")

    @data_app.command("motion")
    def data_motion(
        out: Annotated[Path, typer.Option(help="Folder to write class folders of .pose.npz takes into.")]
        = Path("data/motion"),
        actions: Annotated[str | None, typer.Option(help="Comma-separated subset of the vocabulary (default: all; "
                                                          "`--list` prints it).")] = None,
        actors: Annotated[int, typer.Option(help="Generated people; each is one group (never on two sides of a "
                                                 "split).")] = 48,
        takes: Annotated[int, typer.Option(help="Takes per actor and action, each with its own camera.")] = 2,
        seed: Annotated[int, typer.Option(help="Same seed, same takes, on every machine.")] = 0,
        first_actor: Annotated[int, typer.Option(help="Index of the first actor (a later, disjoint set of people: "
                                                      "e.g. 1000 for a test set).")] = 0,
        noise: Annotated[float, typer.Option(help="Scale of the BlazePose noise model (0: perfect keypoints).")]
        = 1.0,
        list_actions: Annotated[bool, typer.Option("--list", help="Print the action vocabulary and exit.")] = False,
    ) -> None:
        """Generate human motion as BlazePose would see it: a dataset for `har train --encoder pose`.

        Example: har data motion --out data/motion --actors 48
                 har train --encoder pose --data data/motion
        """
        from har.train.motion import ACTIONS, MotionError, write_dataset

        if list_actions:
            typer.echo("\n".join(sorted(ACTIONS)))
            return
        try:
            summary = write_dataset(out, actions.split(",") if actions else None, actors=actors, takes=takes,
                                    seed=seed, noise=noise, first_actor=first_actor)
        except MotionError as e:
            raise TrainError(str(e)) from None
        typer.echo(f"wrote {summary['files']} takes ({summary['frames']} frames, {len(summary['actions'])} actions, "
                   f"{actors} actors) to {out} in {summary['seconds']:.1f} s; a pose was found in "
                   f"{summary['mean_detected']:.0%} of frames")


def show_motion(videos, labels, out: Path, per_class: int, seed: int, videos_dir: Path | None) -> int:
    """A grid of skeleton frames per class (and an mp4 per class into ``videos_dir``); returns rows drawn."""
    import cv2

    from har.train.dataset import sample_per_class
    from har.train.motion import MotionError, read_track
    from har.train.motion.preview import grid, write_mp4

    rows = []
    for video in sample_per_class(videos, labels, per_class, seed):
        lab = video.label
        try:
            poses, fps, aspect = read_track(video.path)
        except MotionError as e:
            typer.echo(f"warning: {e}", err=True)
            continue
        rows.append((lab, poses, aspect))
        if videos_dir is not None:
            videos_dir.mkdir(parents=True, exist_ok=True)
            write_mp4(videos_dir / f"{lab}.mp4", poses, fps, aspect, lab)
    out.parent.mkdir(parents=True, exist_ok=True)
    if rows:
        cv2.imwrite(str(out), grid(rows))
    return len(rows)

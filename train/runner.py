"""``har train``'s orchestration: which families to train, their configs, a preset's data, one run each.

Why apart from the CLI: the command parses flags and prints; everything in
between (a preset's settings under the file and the flags, every config
checked before anything is downloaded or trained, the pose-or-pixel trainer,
the chief of a multi-worker run) is the runner's, and callable without typer.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from har.edge.records import ConfigError
from har.models.registry import list_models
from har.train.config import TrainConfig, load_config
from har.train.errors import TrainError


def plan(model: str | None, encoder: str | None, preset: str | None, config: Path | None,
         overrides: dict) -> list[TrainConfig]:
    """One checked config per family to train; a preset's dataset is fetched (or found) last, once all are valid.

    ``model`` is a family, ``all`` (every pixel family) or None (the preset's
    families, else the default); ``encoder="pose"`` trains the pose family.
    """
    if encoder not in (None, "pixels", "pose"):
        raise ConfigError(f"unknown encoder {encoder!r}; choose pixels or pose")
    if (overrides.get("init") or overrides.get("mix_motion")) and encoder != "pose":
        raise ConfigError("--init and --mix-motion fine-tune the pose head; add --encoder pose")
    names = (list_models("pose") if encoder == "pose" else list_models("pixels") if model == "all"
             else [model or TrainConfig.model])
    base, p = None, None
    if preset is not None:
        from har.train.presets import get_preset

        p = get_preset(preset)
        if encoder == "pose":
            raise TrainError(f"the {preset} preset trains the pixel models; for the pose encoder run `har data "
                             f"download --preset {preset}` and then `har train --encoder pose --data data/{p.dataset}`")
        names = p.models if model is None else names
        base = {**p.settings, "data": f"data/{p.dataset}", "classes": p.classes}  # file and flags override
    configs = [load_config(config, {**overrides, "model": name, "encoder": encoder}, base) for name in names]
    if p is not None:
        from har.train.presets import preset_data

        root = str(preset_data(p, configs[0].data, configs[0].classes))
        for cfg in configs:
            cfg.data = root
    return configs


def run(configs: list[TrainConfig]) -> Iterator[tuple[TrainConfig, Path | None]]:
    """Train each config in turn: ``(config, model folder)``, the folder None on a worker that is not the chief."""
    from har.train.distribute import is_chief

    for cfg in configs:
        if cfg.encoder == "pose":
            from har.train.pose import train_pose as train
        else:
            from har.train.fit import train

        path = train(cfg)
        yield cfg, (path if is_chief() else None)

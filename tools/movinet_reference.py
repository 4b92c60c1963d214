"""Build MoViNet-A0 stream as an int8 TFLite file, to time it beside the pose path (``har bench --reference``).

MoViNet-A0 stream is what a user who wants a small streaming video
classifier picks instead of a pose model, so the pose path's cost is
reported next to it, measured in the same rounds on the same frames
(docs/pose.md, "Cost against accuracy"). Google publishes trained int8
files; this machine cannot download them, so this script builds the same
graph from the architecture in ``tf-models-official`` (the settings of the
published stream models: causal, 2+1D convolutions, 2+3D squeeze-excite,
hard swish, 172x172, one frame per call, external states) with random
weights and converts it the way ``official/projects/movinet/tools/quantize_movinet.py``
does. Same ops and shapes, so the same time; its scores mean nothing, and
the bench gives the reference no accuracy.

Needs TensorFlow and, in the same environment (their own requirements are
many and unrelated; these are the ones the import reaches)::

    pip install --no-deps tf-models-official==2.20.0 tf-keras==2.21.0 gin-config tensorflow-datasets \\
        tensorflow-metadata etils immutabledict pycocotools promise toml scipy

Example::

    python tools/movinet_reference.py --out artifacts/movinet
    har bench --pose-path edge/default_model --real-clips clips/ \\
        --reference MoViNet-A0=artifacts/movinet/movinet_a0_stream_int8.tflite
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path


def main(argv: list[str] | None = None) -> Path:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("artifacts/movinet"))
    ap.add_argument("--size", type=int, default=172, help="frame side (the published A0 stream model: 172)")
    ap.add_argument("--calibration-clips", type=int, default=8)
    args = ap.parse_args(argv)
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")  # tf-models-official builds tf_keras models

    import numpy as np
    import tensorflow as tf
    from official.projects.movinet.modeling import movinet, movinet_model
    from official.projects.movinet.tools import export_saved_model

    size, out = args.size, args.out
    out.mkdir(parents=True, exist_ok=True)
    backbone = movinet.Movinet(model_id="a0", causal=True, conv_type="2plus1d", se_type="2plus3d",
                               activation="hard_swish", gating_activation="hard_sigmoid",
                               use_positional_encoding=False, use_external_states=True)
    model = movinet_model.MovinetClassifier(backbone=backbone, num_classes=600, output_states=True)
    model.build([1, 1, size, size, 3])
    export_saved_model.export_saved_model(model=model, input_shape=[1, 1, size, size, 3],
                                          export_path=str(out / "saved_model"), causal=True,
                                          bundle_input_init_states_fn=False)
    init = model.init_states(tf.constant([1, 1, size, size, 3]))
    rng = np.random.default_rng(0)

    def representative():  # frames in order with the states they produce, as quantize_movinet.py feeds them
        for _ in range(args.calibration_clips):
            states = init
            for _ in range(4):
                frame = tf.constant(rng.random((1, 1, size, size, 3), np.float32))
                yield {"image": frame, **states}
                _, states = model({"image": frame, **states})

    conv = tf.lite.TFLiteConverter.from_saved_model(str(out / "saved_model"))
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = representative
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    path = out / "movinet_a0_stream_int8.tflite"
    path.write_bytes(conv.convert())
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB, {model.count_params():,} parameters, random weights)")
    return path


if __name__ == "__main__":
    main()

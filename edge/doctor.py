"""``har-edge doctor``: check each piece a deployment needs, one line each.

Why: on a Pi most failures are environmental (no camera permission, libedgetpu
missing, broker unreachable, numpy too new for tflite-runtime). One command
that names the broken piece saves a debugging session.
"""

from __future__ import annotations

import platform
from collections.abc import Callable
from pathlib import Path

from har.edge import doctor_device as dd


def _check(echo: Callable[[str], None], name: str, fn) -> bool:
    try:
        detail = fn()
        echo(f"[ ok ] {name}: {detail}")
        return True
    except Exception as e:  # each check reports, none stops the others
        echo(f"[FAIL] {name}: {e}")
        return False


def _opencv_check() -> str:
    import cv2

    if int(cv2.__version__.split(".")[0]) >= 5:  # pip may still hold one installed before the pin
        raise RuntimeError(f"OpenCV {cv2.__version__} is not supported (it aborts on uncompressed AVI files); "
                           "pip install 'opencv-python-headless>=4.8,<5'")
    return cv2.__version__


def _pose_modes_check(cfg) -> str:
    """The pose modes the bundle declares and which one this device sustains (a few timed landmark runs)."""
    from har.edge.default_model import bundle_or_default

    b = bundle_or_default(cfg.bundle)
    if not b.is_pose:
        return "not a pose bundle"
    from har.edge.pose.adapt import bundle_modes, measure_landmark_s, sustained_mode
    from har.edge.pose.lite import choose_landmarks

    modes = bundle_modes(b)
    model = choose_landmarks(b)[1]
    landmark_s = measure_landmark_s(b, cfg.inference.threads)
    mode, cost = sustained_mode(modes, landmark_s, b.interval_s)
    names = ", ".join(m.name + (" (default)" if i == 0 else "") for i, m in enumerate(modes))
    verdict = (f"starts in {mode.name}" if mode is modes[0] else
               f"would step to {mode.name}" if mode is not None else
               "keeps up in none of them (frames will be dropped)")
    return (f"{names}; {model} landmark model {landmark_s * 1e3:.1f} ms per run at {cfg.inference.threads} thread(s) "
            f"-> {cost * 1e3:.1f} ms per sampled frame, {verdict} at {b.interval_s:g} s sampling")


def _xnnpack_check(cfg) -> str:
    """Whether the runtime's CPU delegate (XNNPACK) takes the model that costs most per frame.

    Why: when XNNPACK cannot start (its CPU detection reads ``/proc/cpuinfo``
    and ``/sys/devices/system/cpu``; a container or chroot without them) LiteRT
    silently runs its reference kernels instead, and nothing else says so.
    """
    from har.edge.bundle.schema import EDGETPU_SUFFIX
    from har.edge.default_model import bundle_or_default
    from har.edge.litert import delegate_partitions, load_interpreter

    b = bundle_or_default(cfg.bundle)
    if b.is_pose:
        from har.edge.pose.lite import choose_landmarks

        path, name = choose_landmarks(b)
        what = f"the {name} pose landmark model"
    else:
        name = next(n for n in ("encoder", "window", *b.models) if n in b.models and not n.endswith(EDGETPU_SUFFIX))
        path, what = b.model_file(name), f"the {name} model"
    taken = delegate_partitions(load_interpreter(path, cfg.inference.threads))
    if not taken:
        raise RuntimeError(f"no op of {what} ({path.name}) runs on XNNPACK: the runtime fell back to its reference "
                           "kernels, about 3 times slower (2.9x for the lite landmark model on x86); XNNPACK reads "
                           "/proc/cpuinfo and /sys/devices/system/cpu to pick its kernels, so give a container or "
                           "chroot both")
    return f"in use: it takes {what} ({path.name}) in {taken} partition(s)"


def run_checks(config: Path | None, bundle: str | None, camera: int | None, picamera2: bool,
               echo: Callable[[str], None] = print, mqtt: bool = False) -> bool:
    from har.edge.config import check_camera, load_config

    check_camera(camera, "--camera")  # an index OpenCV misreads must not reach it (OpenCV 5 crashes on -1)
    results = [_check(echo, "platform", lambda: f"{platform.machine()} Python {platform.python_version()}")]
    cfg_holder = {}

    def cfg_check():
        cfg_holder["cfg"] = load_config(config, {"bundle": bundle})
        return str(config) if config else "defaults (no config file)"

    results.append(_check(echo, "config", cfg_check))
    results.append(_check(echo, "opencv", _opencv_check))
    cfg = cfg_holder.get("cfg")

    def interp():
        from har.edge.litert import _runtime, backend_name

        module, _ = _runtime()
        return f"{backend_name()} ({module.__name__})"

    results.append(_check(echo, "interpreter", interp))
    results.append(_check(echo, "numpy", dd.numpy_abi_check))
    if cfg is not None:
        def bundle_check():
            from har.edge.default_model import bundle_or_default, model_in_use

            b = bundle_or_default(cfg.bundle)
            pose = {"bundle": ", pose models in the bundle",
                    "pose-cache": f", pose models from the pose cache {b.pose_cache}"}.get(b.pose_models_source, "")
            return (f"{model_in_use(b)} ({b.encoder_kind} encoder, {b.quantization}, "
                    f"streaming={b.has_streaming or b.is_pose}{pose})")

        results.append(_check(echo, "bundle", bundle_check))
        if cfg.inference.delegate or dd.libedgetpu_version():
            def edgetpu_check():
                from har.edge.interpreter import backend_name

                return dd.libedgetpu_check(dd.libedgetpu_version(), backend_name())

            results.append(_check(echo, "libedgetpu", edgetpu_check))
        results.append(_check(echo, "pose modes", lambda: _pose_modes_check(cfg)))
        if not cfg.inference.delegate:  # a hardware delegate has its own check below
            results.append(_check(echo, "xnnpack", lambda: _xnnpack_check(cfg)))
        if cfg.inference.delegate:
            def delegate_check():
                from har.edge.interpreter import load_delegate

                load_delegate(cfg.inference.delegate)
                return f"{cfg.inference.delegate} loaded"

            results.append(_check(echo, "delegate", delegate_check))
        if cfg.sinks.mqtt or mqtt:
            results.append(_check(echo, "mqtt broker", lambda: dd.mqtt_connect_check(cfg.mqtt)))
            results.append(_check(echo, "output paths", lambda: dd.writable_check(cfg)))
        if camera is None and not picamera2:
            camera, picamera2 = cfg.source.camera, cfg.source.picamera2
    if picamera2:
        results.append(_check(echo, "picamera2", dd.picamera2_check))
    if camera is not None or picamera2:
        def camera_check():
            from har.edge.sources import open_source

            src = open_source(camera=camera, picamera2=picamera2)
            try:
                for item in src:
                    if item is not None:
                        h, w = item[1].shape[:2]
                        return f"{'picamera2' if picamera2 else f'camera {camera}'} delivers {w}x{h} frames"
            finally:
                src.stop()
            raise RuntimeError("opened but delivered no frame")

        results.append(_check(echo, "camera", camera_check))
    else:
        cams = [str(p) for p in sorted(Path("/dev").glob("video*"))]
        echo(f"[info] cameras: {', '.join(cams) if cams else 'no /dev/video* devices'} (test one with --camera N)")
    return all(results)

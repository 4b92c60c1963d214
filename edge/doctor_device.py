"""The device-specific checks of ``har-edge doctor``: numpy vs apt's picamera2, libedgetpu vs the runtime,
and a real MQTT connection (auth, TLS) with the paths the sinks write.

Why each: picamera2 and simplejpeg from apt are built against the system
numpy, and a venv with ``--system-site-packages`` plus pip's numpy imports
them against another ABI ("numpy.dtype size changed"); Coral's own
libedgetpu 16.0 build segfaults with TFLite runtimes newer than 2.11; and a
broker that accepts TCP can still refuse our credentials or certificate.
Every check returns its one-line detail or raises with the one-line fix.
"""

from __future__ import annotations

import glob
import importlib.util
import os
import re
import subprocess
import sys
import time
from importlib.resources import files
from pathlib import Path

#: Where Debian's python3-numpy lives (what apt's picamera2 is built against).
SYSTEM_DIST_PACKAGES = "/usr/lib/python3/dist-packages"
ABI_ERRORS = ("numpy.dtype size changed", "compiled using NumPy 1.x", "_ARRAY_API not found",
              "numpy.core.multiarray failed to import")


def system_numpy(dist_packages: str = SYSTEM_DIST_PACKAGES) -> str | None:
    """The apt numpy's version, from its metadata folder name, or None."""
    for meta in sorted(glob.glob(f"{dist_packages}/numpy-*.*-info")):
        m = re.match(r"numpy-([0-9][^-]*?)(?:\.egg-info|\.dist-info)$", Path(meta).name)
        if m:
            return m.group(1)
    return None


def constraints_file(numpy_version: str | None) -> str:
    """The shipped constraints file matching a system numpy (1.x: Bookworm, 2.x: Trixie)."""
    name = "raspberrypi-bookworm.txt" if (numpy_version or "1").startswith("1.") else "raspberrypi-trixie.txt"
    return str(files("har.edge.deploy").joinpath(name))


def picamera2_check() -> str:
    """Import picamera2 in a child interpreter (an ABI mismatch can abort the process) and explain a failure."""
    if importlib.util.find_spec("picamera2") is None:
        raise RuntimeError("picamera2 is not importable here: sudo apt install python3-picamera2, and make the "
                           "venv with --system-site-packages (docs/raspberry-pi.md)")
    proc = subprocess.run([sys.executable, "-c", "import picamera2, numpy; print(numpy.__version__)"],
                          capture_output=True, text=True, timeout=60)
    if proc.returncode == 0:
        return f"picamera2 imports with numpy {proc.stdout.strip()}"
    err = proc.stderr.strip()
    if any(marker in err for marker in ABI_ERRORS):
        raise RuntimeError(abi_fix_text())
    raise RuntimeError(f"importing picamera2 failed: {(err.splitlines() or ['no output'])[-1][:200]}")


def abi_fix_text() -> str:
    import numpy

    sys_np = system_numpy()
    return (f"picamera2 from apt is built against the system numpy {sys_np or '(unknown)'}, but this venv imports "
            f"numpy {numpy.__version__} (numpy.dtype size changed); fix: {sys.executable} -m pip install "
            f"-c {constraints_file(sys_np)} numpy opencv-python-headless")


def numpy_abi_check() -> str:
    """Without picamera2 asked for: warn when the venv's numpy major differs from the system's."""
    import numpy

    sys_np = system_numpy()
    if sys_np is None:
        return f"numpy {numpy.__version__} (no system numpy at {SYSTEM_DIST_PACKAGES})"
    if sys_np.split(".")[0] != numpy.__version__.split(".")[0] and importlib.util.find_spec("picamera2"):
        raise RuntimeError(abi_fix_text())
    return f"numpy {numpy.__version__}, system numpy {sys_np}"


def libedgetpu_version() -> str | None:
    """The installed libedgetpu package version (dpkg), or None when not installed or no dpkg."""
    for pkg in ("libedgetpu1-std", "libedgetpu1-max"):
        try:
            out = subprocess.run(["dpkg-query", "-W", "-f=${Version}", pkg], capture_output=True, text=True,
                                 timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            return None
        if out.returncode == 0 and out.stdout.strip():
            return out.stdout.strip()
    return None


def runtime_tf_version(backend: str) -> tuple[int, int] | None:
    """(major, minor) of the TensorFlow Lite runtime a backend string names, for tflite-runtime; ai-edge-litert
    2.x is newer than any TF 2.11 build, which is all the mismatch check needs."""
    m = re.match(r"(ai-edge-litert|tflite-runtime) (\d+)\.(\d+)", backend)
    if not m:
        return None
    if m.group(1) == "ai-edge-litert":
        return (2, 99)
    return int(m.group(2)), int(m.group(3))


def libedgetpu_check(version: str | None, backend: str) -> str:
    """Coral's own 16.0 build (no ``tf`` in its version) with a runtime newer than TF 2.11 segfaults."""
    if version is None:
        raise RuntimeError("libedgetpu is not installed (dpkg knows no libedgetpu1-std/-max); docs/edgetpu.md "
                           "says which build matches this runtime")
    built = re.search(r"tf(\d+)\.(\d+)", version)
    runtime = runtime_tf_version(backend)
    if built is None and runtime is not None and runtime > (2, 11):
        raise RuntimeError(f"libedgetpu {version} is Coral's own build, which crashes with {backend} (TFLite newer "
                           "than 2.11, google-coral/libedgetpu#53); install a TF-matched build (docs/edgetpu.md)")
    return f"libedgetpu {version}" + (f" (built for TF {built.group(1)}.{built.group(2)})" if built else "")


def mqtt_connect_check(cfg, timeout_s: float = 8.0) -> str:
    """Connect with the config's credentials and TLS files, wait for CONNACK, disconnect."""
    from har.edge.sinks.mqtt_client import _expand, _no_pass_phrase, import_paho

    mqtt = import_paho()
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"{cfg.client_id}-doctor",
                         protocol=mqtt.MQTTv311)
    if cfg.username is not None:
        client.username_pw_set(cfg.username, cfg.password)
    if cfg.tls:
        client.tls_set(ca_certs=_expand(cfg.ca_file), certfile=_expand(cfg.cert_file),
                       keyfile=_expand(cfg.key_file), keyfile_password=_no_pass_phrase(cfg.key_file))
    result: dict = {}
    client.on_connect = lambda c, u, f, rc, p: result.setdefault("rc", rc)
    where = f"{cfg.host}:{cfg.port}"
    try:
        client.connect(cfg.host, cfg.port, keepalive=10)
    except OSError as e:  # refused, no route, DNS, TLS handshake (ssl.SSLError is an OSError)
        hint = " (TLS: check ca_file, and that the port speaks TLS)" if cfg.tls else ""
        if not cfg.tls and cfg.port == 8883:
            hint = " (port 8883 usually needs TLS: set mqtt.tls or ca_file)"
        raise RuntimeError(f"cannot connect to {where}: {getattr(e, 'strerror', None) or e}{hint}") from None
    deadline = time.monotonic() + timeout_s
    try:
        while "rc" not in result and time.monotonic() < deadline:
            client.loop(timeout=0.2)
    finally:
        client.disconnect()
    rc = result.get("rc")
    if rc is None:
        raise RuntimeError(f"{where} accepted TCP but sent no MQTT CONNACK in {timeout_s:.0f} s "
                           "(a TLS port without tls = true?)")
    if rc.is_failure:
        auth = " (set HAR_MQTT_USERNAME and HAR_MQTT_PASSWORD in the env file)" if rc.value in (4, 5, 134, 135) else ""
        raise RuntimeError(f"{where} refused the connection: {rc}{auth}")
    who = f" as {cfg.username}" if cfg.username else " anonymously"
    return f"connected to {where}{who}{' over TLS' if cfg.tls else ''}"


def writable_check(cfg) -> str:
    """The outbox (MQTT) and the JSON-lines file can be created where the config puts them."""
    from har.edge.preflight import _check_writable

    paths = {"mqtt.outbox_path": cfg.mqtt.outbox_path}
    if cfg.sinks.jsonl:
        paths["sinks.jsonl"] = cfg.sinks.jsonl
    for key, value in paths.items():
        _check_writable(Path(value).expanduser(), key)
        if Path(value).expanduser().exists() and not os.access(Path(value).expanduser(), os.W_OK):
            raise RuntimeError(f"{key} {value} exists but is not writable by this user")
    return ", ".join(f"{k} {v}" for k, v in paths.items()) + " writable"

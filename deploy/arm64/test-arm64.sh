#!/usr/bin/env bash
# The arm64 proof without a Pi (make test-arm64): a Debian bookworm arm64 root run by qemu-user-static, in
# which the base install resolves to aarch64 wheels, the edge tests pass, and the pose estimator and
# `har-edge run` agree with this x86 machine (landmarks within a pixel, the same events or a borderline
# decision, see deploy/arm64/decide.py).
# Needs root, debootstrap and qemu-user-static (apt-get install debootstrap qemu-user-static binfmt-support).
# ARM64_ROOT: where the root lives (built once, ~10 min; reused). PYTEST_ARM64: extra pytest arguments.
# AGREE_FRAMES=N: compare the full landmark model on the first N sampled frames of each clip only (the lite
# model, which `har-edge run` uses, is compared on every frame of the joined clips).
# ARM64_CPU: the CPU qemu emulates (default cortex-a72, a Raspberry Pi 4's; see docs/raspberry-pi.md for why
# not qemu's default "max"). ARM64_STEPS: any of "agree tests" (default both). HAR_ARM64_PER_FILE=N (and
# HAR_ARM64_ALSO=name,...): only the first N tests of each test file (deploy/arm64/subset.py).
# Everything emulated runs under `nice -n 19`, one process at a time, in a private mount namespace.
# Writes $ARM64_ROOT/w/out/result.json and the "Last arm64 run" section of docs/raspberry-pi.md.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
ROOT=${ARM64_ROOT:-/var/tmp/har-arm64/root}
HOST_PY=${HOST_PY:-$REPO/.venv/bin/python}
CLIPS=${REALCLIPS:-$REPO/../shared/realclips}
if [ -z "${PYTEST_ARM64+x}" ]; then PYTEST_ARM64='-m "not slow"'; fi
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
CPU=${ARM64_CPU:-cortex-a72}
STEPS=${ARM64_STEPS:-agree tests}
say() { printf '== %s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 2; }

[ "$(id -u)" = 0 ] || die "make test-arm64 needs root (debootstrap, chroot, mounts)"
command -v debootstrap >/dev/null || die "debootstrap is missing: apt-get install debootstrap qemu-user-static binfmt-support"
[ -x /usr/bin/qemu-aarch64-static ] || die "qemu-aarch64-static is missing: apt-get install qemu-user-static binfmt-support"
[ -d "$CLIPS/actions" ] || die "no real clips at $CLIPS/actions (set REALCLIPS)"
# The mounts below (and a Pi 4's /proc/cpuinfo over the host's) stay in a private namespace: never the host's
[ -n "${HAR_ARM64_NS:-}" ] || exec env HAR_ARM64_NS=1 unshare --mount --propagation private "$0" "$@"
if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc; fi
[ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] || update-binfmts --enable qemu-aarch64 || true
[ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] || die "binfmt_misc has no qemu-aarch64 entry (update-binfmts --enable qemu-aarch64)"

if [ ! -f "$ROOT/.har-base" ]; then
  say "debootstrap bookworm arm64 into $ROOT"
  mkdir -p "$ROOT"
  debootstrap --arch=arm64 --variant=minbase --include=python3,python3-venv,python3-pip,ca-certificates,mosquitto \
    bookworm "$ROOT" "$MIRROR"
  touch "$ROOT/.har-base"
fi

W=$ROOT/w
OUT=$W/out
mkdir -p "$W/har" "$W/shared/realclips" "$OUT" "$ROOT/root/.cache/har"
MOUNTS=()
cleanup() { for ((i=${#MOUNTS[@]}-1; i>=0; i--)); do umount -l "${MOUNTS[$i]}" 2>/dev/null || true; done; }
trap cleanup EXIT
bind() { mount --bind "$1" "$2"; MOUNTS+=("$2"); }
# XNNPACK (the CPU path a Pi runs) initializes cpuinfo, which on aarch64 Linux reads the processor lists in
# /sys/devices/system/cpu and /proc/cpuinfo. Under qemu-user both are the x86 host's: with them cpuinfo crashed
# in allocate_tensors, and without /sys it fails, XNNPACK is not created and LiteRT silently runs its builtin
# kernels. So the root sees a Raspberry Pi 4's: four Cortex-A72 cores (qemu emulates the same CPU, ARM64_CPU).
CPUDIR=$W/cpu
mkdir -p "$CPUDIR/sys/devices/system/cpu"
for f in possible present online; do echo 0-3 > "$CPUDIR/sys/devices/system/cpu/$f"; done
for i in 0 1 2 3; do
  printf 'processor\t: %d\nBogoMIPS\t: 108.00\nFeatures\t: fp asimd evtstrm crc32 cpuid\nCPU implementer\t: 0x41\n' "$i"
  printf 'CPU architecture: 8\nCPU variant\t: 0x0\nCPU part\t: 0xd08\nCPU revision\t: 3\n\n'
done > "$CPUDIR/cpuinfo"
printf 'Hardware\t: BCM2835\nModel\t\t: Raspberry Pi 4 Model B (emulated)\n' >> "$CPUDIR/cpuinfo"
bind /proc "$ROOT/proc"; bind /dev "$ROOT/dev"
bind "$CPUDIR/cpuinfo" "$ROOT/proc/cpuinfo"; bind "$CPUDIR/sys" "$ROOT/sys"
bind "$CLIPS" "$W/shared/realclips"
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
# pip inside the root trusts what pip trusts here (a proxy's own CA, for one)
HOST_CA=${PIP_CERT:-${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}}
[ -f "$HOST_CA" ] && cp "$HOST_CA" "$ROOT/etc/ssl/certs/host-ca.crt"

say "copy the working tree (tracked and untracked, not ignored) to $W/har"
rm -rf "$W/har" && mkdir -p "$W/har"
(cd "$REPO" && git ls-files -co --exclude-standard -z | xargs -0 tar cf - 2>/dev/null) | tar xf - -C "$W/har"
rm -rf "$ROOT/root/.cache/har/pose" && cp -r "$HOME/.cache/har/pose" "$ROOT/root/.cache/har/pose"

mkdir -p "$OUT/x86" "$OUT/arm64" "$W/tiny"
has() { [[ " $STEPS " == *" $1 "* ]]; }
say "x86 reference on this machine"
"$HOST_PY" -c "from pathlib import Path; import sys; sys.path.insert(0, '$REPO'); from tests.edge.tiny_models import build_tiny_models; build_tiny_models(Path('$W/tiny'))" 2>/dev/null
# the same runtime versions as here: agreement compares architectures, not releases
"$HOST_PY" -c "from importlib.metadata import version as v; print('\n'.join(f'{n}=={v(n)}' for n in ('numpy', 'opencv-python-headless', 'ai-edge-litert')))" > "$W/constraints.txt"
if has agree; then
  rm -rf "$OUT/x86" "$OUT/x86-builtin" "$OUT/arm64" "$OUT/result.json" && mkdir -p "$OUT/x86" "$OUT/arm64"
  "$HOST_PY" "$REPO/deploy/arm64/agree.py" dump "$OUT/x86" --clips "$CLIPS/actions"
  "$HOST_PY" "$REPO/deploy/arm64/agree.py" dump --builtin "$OUT/x86-builtin" --clips "$CLIPS/actions"
  "$HOST_PY" "$REPO/deploy/arm64/agree.py" concat "$W/concat.avi" --clips "$CLIPS/actions"
  (cd "$REPO/deploy/arm64" && "$HOST_PY" agree.py run "$W/concat.avi" "$OUT/x86" 2>/dev/null &&
   "$HOST_PY" agree.py run --builtin "$W/concat.avi" "$OUT/x86-builtin" 2>/dev/null &&
   "$HOST_PY" agree.py capture "$W/concat.avi" "$W/same_input.npz" 2>/dev/null &&
   "$HOST_PY" agree.py apply "$W/same_input.npz" "$OUT/x86/same_input.npz" 2>/dev/null &&
   "$HOST_PY" agree.py apply --builtin "$W/same_input.npz" "$OUT/x86-builtin/same_input.npz" 2>/dev/null)
fi

# QEMU_CPU: qemu's default "max" has SVE, SME and more, for which XNNPACK picks kernels that qemu emulates
# ~30x slower than the NEON ones a Cortex-A72 gets. OPENBLAS_NUM_THREADS=1: numpy's OpenBLAS would start a
# spinning thread per emulated core on a shared host.
in_root() { nice -n 19 chroot "$ROOT" /usr/bin/env -i HOME=/root PATH=/opt/har/bin:/usr/bin:/bin LANG=C.UTF-8 CI= \
              QEMU_CPU="$CPU" OPENBLAS_NUM_THREADS=1 PIP_CERT=/etc/ssl/certs/host-ca.crt PIP_DEFAULT_TIMEOUT=180 \
              HAR_TINY_MODELS=/w/tiny PYTHONPATH=/w/har/deploy/arm64 HAR_ARM64_PER_FILE="${HAR_ARM64_PER_FILE:-}" \
              HAR_ARM64_ALSO="${HAR_ARM64_ALSO:-}" /bin/bash -c "$1"; }
say "arm64 ($CPU): base install (pip resolves the wheels)"
in_root "set -e; [ -x /opt/har/bin/python ] || python3 -m venv /opt/har; cd /w/har; \
  pip install --quiet --upgrade pip; pip install --quiet -c /w/constraints.txt . pytest hypothesis pyyaml paho-mqtt jinja2; \
  python -c 'import platform; print(platform.machine())'; pip list 2>/dev/null | grep -Ei 'numpy|opencv|litert|har-edge'"

AGREE_RC=0
if has agree; then
  say "arm64: har-edge run on a file (lite landmarks, window probabilities, events), then the full model per clip"
  in_root "cd /w/har/deploy/arm64 && python agree.py run /w/concat.avi /w/out/arm64 2>/dev/null && \
    python agree.py apply /w/same_input.npz /w/out/arm64/same_input.npz 2>/dev/null && \
    python agree.py dump /w/out/arm64 --clips /w/shared/realclips/actions ${AGREE_FRAMES:+--frames $AGREE_FRAMES}"
  set +e
  (cd "$REPO/deploy/arm64" && "$HOST_PY" agree.py compare "$OUT/x86" "$OUT/arm64" \
    --events-x86 "$OUT/x86/events.jsonl" --events-arm64 "$OUT/arm64/events.jsonl" --out "$OUT/result.json" \
    --baseline "$OUT/x86-builtin")
  AGREE_RC=$?
  set -e
fi
TESTS_RC=
if has tests; then
  say "arm64: edge tests ($PYTEST_ARM64)"
  rm -f "$OUT/arm64/junit.xml" "$OUT"/arm64/junit-*  # runs made in parts before this one
  set +e
  in_root "cd /w/har && python -m pytest tests/edge -q -p no:cacheprovider -p skip_tensorflow -p subset -rs $PYTEST_ARM64 \
    --junitxml=/w/out/arm64/junit.xml" 2>&1 | tail -40 | tee "$OUT/arm64/pytest.txt"
  TESTS_RC=${PIPESTATUS[0]}
  set -e
fi
SUBSET=${HAR_ARM64_PER_FILE:+ -p subset, HAR_ARM64_PER_FILE=$HAR_ARM64_PER_FILE HAR_ARM64_ALSO=${HAR_ARM64_ALSO:-}}
"$HOST_PY" "$REPO/deploy/arm64/report.py" "$OUT" "${TESTS_RC:-not run}" "$PYTEST_ARM64$SUBSET" "$REPO/docs/raspberry-pi.md"
[ "${TESTS_RC:-0}" = 0 ] && [ "$AGREE_RC" = 0 ]

#!/usr/bin/env bash
# The arm64 proof without a Pi (make test-arm64): a Debian bookworm arm64 root run by qemu-user-static, in
# which the base install resolves to aarch64 wheels, the edge tests pass, and the pose estimator and
# `har-edge run` agree with this x86 machine (landmarks within a pixel, the same events).
# Needs root, debootstrap and qemu-user-static (apt-get install debootstrap qemu-user-static binfmt-support).
# ARM64_ROOT: where the root lives (built once, ~10 min; reused). PYTEST_ARM64: extra pytest arguments.
# AGREE_FRAMES=N: compare only the first N sampled frames of each clip (emulated inference is slow: minutes
# per frame on a busy 2-core x86 host).
# Writes $ARM64_ROOT/w/out/result.json and the "Last arm64 run" section of docs/raspberry-pi.md.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
ROOT=${ARM64_ROOT:-/var/tmp/har-arm64/root}
HOST_PY=${HOST_PY:-$REPO/.venv/bin/python}
CLIPS=${REALCLIPS:-$REPO/../shared/realclips}
if [ -z "${PYTEST_ARM64+x}" ]; then PYTEST_ARM64='-m "not slow"'; fi
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
say() { printf '== %s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 2; }

[ "$(id -u)" = 0 ] || die "make test-arm64 needs root (debootstrap, chroot, mounts)"
command -v debootstrap >/dev/null || die "debootstrap is missing: apt-get install debootstrap qemu-user-static binfmt-support"
[ -x /usr/bin/qemu-aarch64-static ] || die "qemu-aarch64-static is missing: apt-get install qemu-user-static binfmt-support"
[ -d "$CLIPS/actions" ] || die "no real clips at $CLIPS/actions (set REALCLIPS)"
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
# No /sys: under qemu-user /proc/cpuinfo is the x86 host's, and XNNPACK's cpuinfo, given the host's
# /sys/devices/system/cpu beside it, crashes in allocate_tensors (an emulation artifact; a Pi has both).
bind /proc "$ROOT/proc"; bind /dev "$ROOT/dev"
bind "$CLIPS" "$W/shared/realclips"
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
# pip inside the root trusts what pip trusts here (a proxy's own CA, for one)
HOST_CA=${PIP_CERT:-${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}}
[ -f "$HOST_CA" ] && cp "$HOST_CA" "$ROOT/etc/ssl/certs/host-ca.crt"

say "copy the working tree (tracked and untracked, not ignored) to $W/har"
rm -rf "$W/har" && mkdir -p "$W/har"
(cd "$REPO" && git ls-files -co --exclude-standard -z | xargs -0 tar cf - 2>/dev/null) | tar xf - -C "$W/har"
rm -rf "$ROOT/root/.cache/har/pose" && cp -r "$HOME/.cache/har/pose" "$ROOT/root/.cache/har/pose"

say "x86 reference on this machine"
rm -rf "$OUT"/* && mkdir -p "$OUT/x86" "$OUT/arm64" "$W/tiny"
"$HOST_PY" -c "from pathlib import Path; import sys; sys.path.insert(0, '$REPO'); from tests.edge.tiny_models import build_tiny_models; build_tiny_models(Path('$W/tiny'))" 2>/dev/null
# the same runtime versions as here: agreement compares architectures, not releases
"$HOST_PY" -c "from importlib.metadata import version as v; print('\n'.join(f'{n}=={v(n)}' for n in ('numpy', 'opencv-python-headless', 'ai-edge-litert')))" > "$W/constraints.txt"
"$HOST_PY" "$REPO/deploy/arm64/agree.py" dump "$OUT/x86" --clips "$CLIPS/actions"
"$HOST_PY" "$REPO/deploy/arm64/agree.py" concat "$W/concat.avi" --clips "$CLIPS/actions"
"$REPO/.venv/bin/har-edge" run --source "$W/concat.avi" --jsonl "$OUT/x86/events.jsonl" --no-console 2>/dev/null

in_root() { chroot "$ROOT" /usr/bin/env -i HOME=/root PATH=/opt/har/bin:/usr/bin:/bin LANG=C.UTF-8 CI= \
              PIP_CERT=/etc/ssl/certs/host-ca.crt PIP_DEFAULT_TIMEOUT=180 \
              HAR_TINY_MODELS=/w/tiny PYTHONPATH=/w/har/deploy/arm64 /bin/bash -c "$1"; }
say "arm64: base install (pip resolves the wheels)"
in_root "set -e; [ -x /opt/har/bin/python ] || python3 -m venv /opt/har; cd /w/har; \
  pip install --quiet --upgrade pip; pip install --quiet -c /w/constraints.txt . pytest hypothesis pyyaml paho-mqtt jinja2; \
  python -c 'import platform; print(platform.machine())'; pip list 2>/dev/null | grep -Ei 'numpy|opencv|litert|har-edge'"

say "arm64: edge tests ($PYTEST_ARM64)"
set +e
in_root "cd /w/har && python -m pytest tests/edge -q -p no:cacheprovider -p skip_tensorflow $PYTEST_ARM64 \
  --junitxml=/w/out/arm64/junit.xml" 2>&1 | tail -25 | tee "$OUT/arm64/pytest.txt"
TESTS_RC=${PIPESTATUS[0]}
set -e
say "arm64: pose estimator on the real clips and har-edge run on a file"
in_root "cd /w/har && python deploy/arm64/agree.py dump /w/out/arm64 --clips /w/shared/realclips/actions \
  ${AGREE_FRAMES:+--frames $AGREE_FRAMES} && \
  har-edge run --source /w/concat.avi --jsonl /w/out/arm64/events.jsonl --no-console 2>/dev/null"
set +e
"$HOST_PY" "$REPO/deploy/arm64/agree.py" compare "$OUT/x86" "$OUT/arm64" --events-x86 "$OUT/x86/events.jsonl" \
  --events-arm64 "$OUT/arm64/events.jsonl" --out "$OUT/result.json"
AGREE_RC=$?
set -e
"$HOST_PY" "$REPO/deploy/arm64/report.py" "$OUT" "$TESTS_RC" "$PYTEST_ARM64" "$REPO/docs/raspberry-pi.md"
[ "$TESTS_RC" = 0 ] && [ "$AGREE_RC" = 0 ]

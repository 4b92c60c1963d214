"""File digests: one read, several hashes. Bundles, the pose model cache and downloads all check files this way."""

from __future__ import annotations

import hashlib
from pathlib import Path

CHUNK = 1 << 20


def file_digests(path: str | Path, *names: str) -> dict[str, str]:
    """Hex digests of one file in one read, e.g. ``file_digests(p, "sha256", "md5")``.

    md5 is made with ``usedforsecurity=False``: it only checks a transfer
    against a published md5, and FIPS builds refuse md5 otherwise.
    """
    hashers = {n: hashlib.new(n, usedforsecurity=n != "md5") for n in names}
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            for h in hashers.values():
                h.update(chunk)
    return {n: h.hexdigest() for n, h in hashers.items()}


def sha256_file(path: str | Path) -> str:
    return file_digests(path, "sha256")["sha256"]

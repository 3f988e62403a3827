"""Private storage of uploaded import files: one folder per merchant inside the project
(never Reflex's public upload folder), size enforced while the upload streams, files
named by an unguessable token and purged after a day."""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

from perkstar_ui.config import settings
from perkstar_ui.services.refusals import ImportRefused

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
TOO_LARGE_MESSAGE = f"The file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB; split it into smaller files."
# Inside the project (not a shared /tmp another local user could prepare), never served.
UPLOAD_DIR = Path(settings().upload_dir)
_TOKEN = re.compile(r"[A-Za-z0-9_\-]{20,64}")



def upload_path(merchant_id: int, token: str) -> Path:
    if not _TOKEN.fullmatch(token):
        raise ImportRefused("Unknown upload; choose the file again.")
    return UPLOAD_DIR / str(merchant_id) / f"{token}.csv"


def store_upload(merchant_id: int, chunks: Iterator[bytes], limit: int = MAX_UPLOAD_BYTES) -> str:
    """Write an upload to the merchant's private folder, refusing it past ``limit``."""
    folder = UPLOAD_DIR / str(merchant_id)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    _purge_stale(folder)
    token = secrets.token_urlsafe(24)
    path = folder / f"{token}.csv"
    size = 0
    with path.open("wb") as out:
        for chunk in chunks:
            size += len(chunk)
            if size > limit:
                out.close()
                path.unlink(missing_ok=True)
                raise ImportRefused(f"The file is larger than {limit // (1024 * 1024)} MB; split it into smaller files.")
            out.write(chunk)
    return token


UPLOAD_LIFETIME_S = 24 * 3600


def _purge_stale(folder: Path) -> None:
    """Previews that were never confirmed are not kept past a day."""
    cutoff = time.time() - UPLOAD_LIFETIME_S
    for path in folder.iterdir():
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
        except OSError:
            pass


def read_upload(merchant_id: int, token: str) -> bytes:
    path = upload_path(merchant_id, token)
    if not path.exists():
        raise ImportRefused("This upload has expired; choose the file again.")
    return path.read_bytes()


def discard_upload(merchant_id: int, token: str) -> None:
    try:
        path = upload_path(merchant_id, token)
    except ImportRefused:
        return
    path.unlink(missing_ok=True)
    path.with_suffix(".checked.json").unlink(missing_ok=True)

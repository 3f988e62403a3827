"""Private storage of uploaded import files: one folder per merchant inside the project
(never Reflex's public upload folder), written to disk while the request streams in
(``receive_upload``: at most ``WRITE_BUFFER_BYTES`` in memory), size enforced as it
arrives, files named by an unguessable token and purged after a day.

Each merchant may keep a few pending uploads (previewed, not yet applied or cancelled):
``PERKSTAR_MAX_PENDING_UPLOADS`` files and ``PERKSTAR_MAX_PENDING_UPLOAD_MB`` in all. A
new upload past the count is refused (``TooManyUploads``, HTTP 429); one that would pass
the bytes (or ``MAX_UPLOAD_BYTES`` for one file) is cut off (``UploadTooLarge``, 413).
Both are decided under a per-merchant lock (``merchant_lock``), chunk by chunk, so
parallel uploads on any number of workers stay within the caps together: an advisory lock
on PostgreSQL (across machines), an ``flock`` on the merchant folder's ``.lock`` on SQLite
(one machine), never SQLite's database write lock, which every other writer (a counter's
stamps, any merchant's) would wait for while a chunk is written.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import re
import secrets
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import BinaryIO

from perkstar_ui.config import settings
from perkstar_ui.db.engine import get_engine, is_sqlite
from perkstar_ui.db.locks import exclusive
from perkstar_ui.services.refusals import ImportRefused

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MB = 1024 * 1024
TOO_LARGE_MESSAGE = f"The file is larger than {MAX_UPLOAD_BYTES // MB} MB; split it into smaller files."
# What ``receive_upload`` holds before handing it to a worker thread to write.
WRITE_BUFFER_BYTES = 256 * 1024
_TOKEN = re.compile(r"[A-Za-z0-9_\-]{20,64}")
UPLOAD_SUFFIX = ".csv"
UPLOAD_LIFETIME_S = 24 * 3600
LOCK_FILE = ".lock"  # in each merchant folder, never purged: an flock lives on its inode


class UploadTooLarge(ImportRefused):
    """The file, or the merchant's pending uploads with it, passes the byte cap (413)."""


class TooManyUploads(ImportRefused):
    """The merchant already has the most pending uploads allowed (429)."""


def upload_dir() -> Path:
    """``PERKSTAR_UPLOAD_DIR``: by default inside the project (not a shared /tmp another
    local user could prepare), never served."""
    return Path(settings().upload_dir)


def upload_path(merchant_id: int, token: str) -> Path:
    if not _TOKEN.fullmatch(token):
        raise ImportRefused("Unknown upload; choose the file again.")
    return upload_dir() / str(merchant_id) / f"{token}{UPLOAD_SUFFIX}"


def _pending(folder: Path, exclude: Path | None = None) -> list[Path]:
    return [p for p in folder.glob(f"*{UPLOAD_SUFFIX}") if p != exclude]


def pending_uploads(merchant_id: int) -> tuple[int, int]:
    """(files, bytes) of the merchant's pending uploads."""
    folder = upload_dir() / str(merchant_id)
    if not folder.is_dir():
        return 0, 0
    files = _pending(folder)
    return len(files), sum(_size(p) for p in files)


@contextlib.contextmanager
def merchant_lock(merchant_id: int) -> Iterator[None]:
    """Run the block while no other upload of the merchant runs its own (see the module
    doc); released when it ends, also on an exception or when the process dies."""
    if not is_sqlite(get_engine()):
        with exclusive(f"perkstar-uploads:{merchant_id}"):
            yield
        return
    folder = upload_dir() / str(merchant_id)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    with (folder / LOCK_FILE).open("a") as handle:  # one open file each: threads exclude too
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class _Upload:
    """One upload being written: opened with the count checked, fed chunks, then kept
    (``finish``) or removed (``abort``). A file counts as pending from the moment it is
    created, and every chunk is checked against the merchant's byte cap and written under
    the merchant's lock (``merchant_lock``: across workers and machines), so parallel
    uploads can never hold more than the cap together, nor take more places than allowed."""

    def __init__(self, merchant_id: int, limit: int) -> None:
        self.folder = upload_dir() / str(merchant_id)
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.merchant_id = merchant_id
        self.limit = limit
        self.size = 0
        config = settings()
        self.pending_cap = config.max_pending_upload_mb * MB
        self.token = secrets.token_urlsafe(24)
        self.path = self.folder / f"{self.token}{UPLOAD_SUFFIX}"
        with merchant_lock(self.merchant_id):
            _purge_stale(self.folder)
            others = _pending(self.folder)
            if len(others) >= config.max_pending_uploads:
                raise TooManyUploads(
                    f"{len(others)} imports are already waiting to be applied (at most {config.max_pending_uploads}); "
                    "apply or cancel one, or wait a day for them to expire."
                )
            self.out: BinaryIO = self.path.open("xb")

    def check_file_size(self, size: int) -> None:
        """Refuse a file that grows past its own limit (no lock needed)."""
        if size > self.limit:
            raise UploadTooLarge(f"The file is larger than {self.limit // MB} MB; split it into smaller files.")

    def write(self, chunk: bytes) -> None:
        try:
            self.check_file_size(self.size + len(chunk))
            with merchant_lock(self.merchant_id):
                held = sum(_size(p) for p in _pending(self.folder, exclude=self.path))
                if held + self.size + len(chunk) > self.pending_cap:
                    self.abort()  # gone before the lock is: a parallel upload must not count it
                    cap_mb = self.pending_cap // MB
                    raise UploadTooLarge(
                        f"Waiting imports already hold most of the {cap_mb} MB allowed; apply or cancel one first."
                        if held else f"The file is larger than {cap_mb} MB; split it into smaller files."
                    )
                self.out.write(chunk)
                self.out.flush()  # on disk before the lock goes: the next check counts it
        except BaseException:
            self.abort()
            raise
        self.size += len(chunk)

    def finish(self) -> str:
        self.out.close()
        return self.token

    def abort(self) -> None:
        self.out.close()
        self.path.unlink(missing_ok=True)


def store_upload(merchant_id: int, chunks: Iterator[bytes], limit: int = MAX_UPLOAD_BYTES) -> str:
    """Write an upload to the merchant's private folder, refusing it past ``limit``."""
    upload = _Upload(merchant_id, limit)
    try:
        for chunk in chunks:
            upload.write(chunk)
    except BaseException:
        upload.abort()
        raise
    return upload.finish()


async def receive_upload(merchant_id: int, chunks: AsyncIterator[bytes], limit: int = MAX_UPLOAD_BYTES) -> tuple[str, int]:
    """``store_upload`` for a request body arriving in pieces: each ``WRITE_BUFFER_BYTES``
    goes to disk (in a worker thread) as soon as it is in, so the file is never held whole.
    Answers (token, size)."""
    upload = await asyncio.to_thread(_Upload, merchant_id, limit)
    buffer = bytearray()
    try:
        async for chunk in chunks:
            buffer.extend(chunk)
            upload.check_file_size(upload.size + len(buffer))
            if len(buffer) >= WRITE_BUFFER_BYTES:
                await asyncio.to_thread(upload.write, bytes(buffer))
                buffer.clear()
        if buffer:
            await asyncio.to_thread(upload.write, bytes(buffer))
    except BaseException:
        await asyncio.to_thread(upload.abort)
        raise
    return await asyncio.to_thread(upload.finish), upload.size


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _purge_stale(folder: Path) -> None:
    """Previews that were never confirmed are not kept past a day."""
    cutoff = time.time() - UPLOAD_LIFETIME_S
    for path in folder.iterdir():
        if path.name == LOCK_FILE:
            continue
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

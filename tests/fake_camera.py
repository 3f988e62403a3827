"""A fake camera for Chromium: a Y4M video of a QR code, for
``--use-file-for-fake-video-capture`` (E2E tests and the counter bench).

segno draws the QR; the frames are raw YUV4MPEG2 (4:2:0): the luma plane is the picture
(black modules on white, with the quiet zone), both chroma planes are flat grey.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import segno

WIDTH, HEIGHT = 640, 480


def qr_frame(text: str, module_px: int = 10) -> np.ndarray:
    """The luma plane (HEIGHT × WIDTH, uint8) of one frame showing ``text`` as a QR code."""
    qr = segno.make(text, error="m", micro=False)
    modules = np.array([list(row) for row in qr.matrix], dtype=bool)
    border = 4
    side = (modules.shape[0] + 2 * border) * module_px
    if side > min(WIDTH, HEIGHT):
        raise ValueError("QR too large for the frame: use a smaller module size")
    picture = np.full((HEIGHT, WIDTH), 235, dtype=np.uint8)
    code = np.kron(modules, np.ones((module_px, module_px), dtype=bool))
    top, left = (HEIGHT - code.shape[0]) // 2, (WIDTH - code.shape[1]) // 2
    picture[top:top + code.shape[0], left:left + code.shape[1]][code] = 16
    return picture


def write_y4m(path: Path, luma: np.ndarray, frames: int = 10) -> Path:
    """``frames`` identical frames at 10 fps; Chromium loops the file."""
    height, width = luma.shape
    chroma = np.full((height // 2, width // 2), 128, dtype=np.uint8).tobytes()
    with Path(path).open("wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            out.write(b"FRAME\n")
            out.write(luma.tobytes())
            out.write(chroma)
            out.write(chroma)
    return Path(path)


def qr_video(path: Path, text: str) -> Path:
    return write_y4m(path, qr_frame(text))


def fake_camera_args(video: Path) -> list[str]:
    return ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-video-capture={video}"]

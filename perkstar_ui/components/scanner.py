"""The camera scanner (``counter-scan``): zxing's browser reader wrapped as a Reflex component.

``@zxing/browser`` (+ ``@zxing/library``) decode QR and Code 128 in plain JavaScript from
the camera's video frames: no WASM or anything else fetched at run time, so it works on
a network that reaches only the app. The React component is a few lines of custom code
around ``BrowserMultiFormatReader.decodeFromConstraints``: it starts the camera while
``active`` is true, calls ``on_scan(text)`` once per code (the same code again only after
3 s) and ``on_camera_error(message)`` when the camera is refused or missing; it stops the
camera when it unmounts or ``active`` turns false (the camera is touched only in an effect).
"""

from __future__ import annotations

import reflex as rx

ZXING_BROWSER = "@zxing/browser@0.2.1"
ZXING_LIBRARY = "@zxing/library@0.23.0"

_CODE = """
function counterCameraMessage(error) {
  const name = (error && error.name) || "";
  if (name === "NotAllowedError" || name === "SecurityError") {
    return "Camera access was refused. Allow the camera for this site, or type or scan the serial into the field.";
  }
  if (name === "NotFoundError" || name === "OverconstrainedError" || name === "NotReadableError") {
    return "No camera is available on this device. Type or scan the serial into the field.";
  }
  if (typeof navigator === "undefined" || !navigator.mediaDevices) {
    return "The camera needs a secure (https) connection. Type or scan the serial into the field.";
  }
  return "The camera could not start. Type or scan the serial into the field.";
}

function CounterScanner({ active, onScan, onCameraError, ...rest }) {
  const videoRef = useRef(null);
  const lastRef = useRef({ text: "", at: 0 });
  useEffect(() => {
    if (!active || !videoRef.current) return undefined;
    let controls = null;
    let stopped = false;
    const hints = new Map();
    hints.set(DecodeHintType.POSSIBLE_FORMATS, [BarcodeFormat.QR_CODE, BarcodeFormat.CODE_128]);
    const reader = new BrowserMultiFormatReader(hints, { delayBetweenScanAttempts: 80, delayBetweenScanSuccess: 300 });
    const onResult = (result) => {
      if (!result || stopped) return;
      const text = result.getText();
      const now = Date.now();
      if (text === lastRef.current.text && now - lastRef.current.at < 3000) return;
      lastRef.current = { text, at: now };
      if (onScan) onScan(text);
    };
    const fail = (error) => { if (!stopped && onCameraError) onCameraError(counterCameraMessage(error)); };
    if (typeof navigator === "undefined" || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      fail(null);
      return undefined;
    }
    reader
      .decodeFromConstraints({ audio: false, video: { facingMode: "environment" } }, videoRef.current, onResult)
      .then((started) => { if (stopped) started.stop(); else controls = started; })
      .catch(fail);
    return () => { stopped = true; if (controls) controls.stop(); };
  }, [active]);
  return jsx("video", { ref: videoRef, muted: true, playsInline: true, autoPlay: true, ...rest });
}
"""


class CounterScanner(rx.Component):
    """``<video>`` showing the camera while ``active``; ``on_scan`` gets each decoded text."""

    tag = "CounterScanner"
    library = None
    lib_dependencies: list[str] = [ZXING_BROWSER, ZXING_LIBRARY]

    active: rx.Var[bool]
    on_scan: rx.EventHandler[lambda text: [text]]
    on_camera_error: rx.EventHandler[lambda message: [message]]

    def add_imports(self) -> dict:
        return {
            ZXING_BROWSER: ["BrowserMultiFormatReader"],
            ZXING_LIBRARY: ["BarcodeFormat", "DecodeHintType"],
            "react": ["useEffect", "useRef"],
            "@emotion/react": ["jsx"],
        }

    def add_custom_code(self) -> list[str]:
        return [_CODE]


counter_scanner = CounterScanner.create

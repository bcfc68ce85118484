"""The Live tab's page side: how a dreamed frame reaches the page and how the page measures itself.

Each dreamed frame comes back as one small message (``feed``: a JSON string with the frame as a JPEG
data URL, the camera clock it answers and the server's status line), which the page's script puts
into a plain ``<img>``: no file per frame in Gradio's cache, no second request to fetch it. The
script stamps each camera frame the browser sends with the page's clock (the ``clock:`` input, in
the body of Gradio's request: ``clock:STREAM:MS``), so the latency it shows is camera frame sent to its
dream on screen, measured on one clock; STREAM counts the page's streams, so the server knows a new
one (a fresh dream) from the next frame of the last. The counts are in ``window.dreamerLive`` (the
tests read them).
"""

from __future__ import annotations

import base64
import io
import json

import numpy as np
from PIL import Image

CLOCK = "clock:"  # the stamp's prefix; the page replaces the value after it with its clock, in ms
JPEG_QUALITY = 85

VIEW = """
<div id="live-view-box">
  <img id="live-view" alt="the dream appears here once the camera streams">
  <div id="live-meter">press Record under the camera to start</div>
  <div id="live-server"></div>
</div>
"""

VIEW_CSS = """
#live-view { width: 100%; min-height: 240px; object-fit: contain; background: #111; border-radius: 6px; }
#live-meter, #live-server { font-family: monospace; margin-top: 4px; }
"""

# Runs once when the feed renders: stamp outgoing camera frames, show each dream, count and time them.
FEED_JS = """
const live = (window.dreamerLive = {frames: 0, latency: [], shown: [], streaming: false, stream: 0});
const stamp = v => (typeof v === 'string' && v.startsWith('CLOCK') ? `CLOCK${live.stream}:${performance.now()}` : v);
const plain = window.fetch;
window.fetch = function (url, options) {
  const where = String(url);
  if (where.endsWith('/close') && where.includes('/stream/')) {
    live.streaming = false;
    live.stream += 1;
  } else if ((where.includes('/stream/') || where.includes('/queue/join')) && typeof options?.body === 'string') {
    try {
      const body = JSON.parse(options.body);
      if (Array.isArray(body.data) && body.data.some(v => stamp(v) !== v)) {
        body.data = body.data.map(stamp);
        options = {...options, body: JSON.stringify(body)};
        live.streaming = true;
      }
    } catch (e) { /* not a stream chunk: sent as it was */ }
  }
  return plain.call(this, url, options);
};
const median = xs => { const s = [...xs].sort((a, b) => a - b); return s.length ? s[Math.floor(s.length / 2)] : NaN; };
watch('value', () => {
  if (!props.value) return;
  const message = JSON.parse(props.value);
  const view = document.querySelector('#live-view');
  view.src = message.src;
  document.querySelector('#live-server').innerText = message.server;
  view.decode().then(() => {
    const now = performance.now();
    live.frames += 1;
    live.shown.push(now);
    const sent = parseFloat(String(message.clock).split(':')[2]);
    if (sent > 0) live.latency.push(now - sent);
    const recent = live.shown.filter(t => t > now - 2000);
    const fps = recent.length > 1 ? (recent.length - 1) / ((recent.at(-1) - recent[0]) / 1000) : 0;
    const latency = median(live.latency.slice(-20));
    document.querySelector('#live-meter').innerText =
      `page: ${fps.toFixed(1)} fps, ${Math.round(latency)} ms from camera frame to its dream on screen`;
  }).catch(() => {});
});
""".replace("CLOCK", CLOCK)

# The Stop button's page half: end the camera's stream the way its own button does (the server half
# cancels the frame in progress).
STOP_JS = """
() => {
  const record = document.querySelector('#live-camera button[aria-label="capture photo"]');
  if (window.dreamerLive && window.dreamerLive.streaming && record) record.click();
  document.querySelector('#live-meter').innerText = 'stopped; press Record under the camera to start again';
}
"""


def data_url(image: np.ndarray) -> str:
    """A (H, W, 3) uint8 frame as a JPEG data URL."""
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, "JPEG", quality=JPEG_QUALITY)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def stamp(clock: str | None) -> tuple[str, float | None]:
    """(the page's stream number, the page's clock in ms) of a ``clock:STREAM:MS`` stamp; ("", None) if unstamped."""
    parts = (clock or "").split(":")
    try:
        return parts[1], float(parts[2])
    except (IndexError, ValueError):
        return "", None


def feed_message(image: np.ndarray, clock: str | None, server: str) -> str:
    """What the feed carries for one dreamed frame: its picture, the camera stamp it answers, the status."""
    return json.dumps({"src": data_url(image), "clock": clock or "", "server": server})

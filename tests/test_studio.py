"""The studio: a real server on a free localhost port, driven by headless Chromium and by gradio_client."""

from __future__ import annotations

import json
import socket
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from chromium import DevTools
from click.testing import CliRunner
from PIL import Image

from dreamer.cli import cli
from dreamer.engine import Engine
from dreamer.outputs.metadata import read_metadata
from dreamer.spec.schema import knobs, to_dict
from dreamer.spec.specs import DreamSpec, MotionSpec, VisSpec

gr = pytest.importorskip("gradio", reason="the studio is the [studio] extra")
client_lib = pytest.importorskip("gradio_client")

from dreamer.studio import StudioConfig, serve  # noqa: E402 - needs gradio
from dreamer.studio.forms import command  # noqa: E402

SMALL = DreamSpec(max_side=96, octaves=3, steps=10, seed=1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def server(random_engine: Engine, tmp_path: Path) -> Iterator[str]:
    """The studio on the random-weight model with tiny previews, on a free 127.0.0.1 port."""
    config = StudioConfig(
        cache=tmp_path / "cache",
        dream_base=SMALL,
        thumb_spec=VisSpec(size=32, steps=2, seed=0),
        vis_base=VisSpec(size=32, steps=4, batch=8, seed=0),
        zoom_motion=MotionSpec(frames=2),
    )
    port = free_port()
    demo = serve(random_engine, config, port=port)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        demo.close()


def render_args(photo: Path, **changes: Any) -> dict[str, Any]:
    """Every parameter of the /render endpoint: the photo, no painted mask, no style, the knobs."""
    knob_values = to_dict(SMALL) | changes
    return dict(photo=client_lib.handle_file(str(photo)), painted_mask=None, style="(none)", **knob_values)


def grid_args(spec: VisSpec) -> dict[str, Any]:
    """The look knobs of the /grid and /maps endpoints (the grid tab's form: no accent knobs)."""
    from dreamer.spec.profiles import profile

    names = profile("studio-grid").part(VisSpec).names()
    return {k: v for k, v in to_dict(spec).items() if k in names}


def test_render_stop_and_bad_input_through_the_http_api(server: str, cat: Path, tmp_path: Path) -> None:
    client = client_lib.Client(server, verbose=False)
    image, status = client.predict(**render_args(cat, steps=2), api_name="/render")
    assert status.startswith("done") and Image.open(image).size == (96, 64)
    png, line, history = client.predict(api_name="/result")  # what the page asks for after a render
    meta = read_metadata(png)
    assert meta["spec"]["steps"] == 2 and meta["spec"]["seed"] == 1 and meta["input"] == "cat.png"
    assert Image.open(png).size == (96, 64)
    assert line == command(meta["spec"], "cat.png", DreamSpec) and "--steps 2" in line and "--seed 1" in line
    assert len(history) == 1 and max(Image.open(history[0]["image"]).size) <= 160

    # Stop: a long render ends within a step of the request, keeping its last preview.
    job = client.submit(**render_args(cat, steps=400, octaves=1), api_name="/render")
    deadline = time.time() + 60
    while time.time() < deadline and not any(o[1].startswith("step") for o in job.outputs()):
        time.sleep(0.05)
    client.predict(api_name="/stop")
    preview, status = job.result(timeout=60)
    assert status.startswith("stopped after"), status
    done = int(status.split()[2])
    assert 0 < done < 400 and Image.open(preview).size == (96, 64)
    after_stop = client.predict(api_name="/result")  # a Gradio "no change" for each: the last result stays
    assert len(after_stop) == 3 and all(o == {"__type__": "update"} for o in after_stop)

    # Bad input: a one-line error naming the problem (no server folders), and the next request works.
    text = tmp_path / "notes.png"
    text.write_text("not a photo")
    bad = [
        (render_args(text), "notes.png: not an image file Pillow can read"),
        (render_args(cat, steps=-1), "steps must be at least 0"),
        (render_args(cat, layers=["blocks.99"]), "has no layer 'blocks.99'"),
        (render_args(cat, model="vgg16"), "--allow-downloads"),
    ]
    for args, message in bad:
        with pytest.raises(client_lib.exceptions.AppError) as caught:
            client.predict(**args, api_name="/render")
        assert message in str(caught.value) and "/tmp" not in str(caught.value)
    client.predict(**render_args(cat, steps=1), api_name="/render")
    *_, history = client.predict(api_name="/result")
    assert len(history) == 2  # this session's finished renders only: the stopped and failed ones added nothing


def test_other_tabs_through_the_http_api(server: str, cat: Path) -> None:
    client = client_lib.Client(server, verbose=False)
    endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    for name in ("/grid", "/maps"):  # each tab exposes only its own knobs: the accent ones are accent's
        taken = {p["parameter_name"] for p in endpoints[name]["parameters"]}
        assert "size" in taken and not taken & {"accent_layer", "accent_weight"}, (name, taken)
    vis = grid_args(VisSpec(size=32, steps=4, batch=8, seed=0))
    image, status, png = client.predict(layer="blocks.2", channels="0-3", classes="", **vis, api_name="/grid")
    assert status.startswith("done") and read_metadata(png)["kind"] == "grid"
    photo = client_lib.handle_file(str(cat))
    image, status, png = client.predict(photo=photo, layer="blocks.2", top=2, channels="", **vis, api_name="/maps")
    assert read_metadata(png)["kind"] == "maps" and Image.open(image).size[0] > 64
    motion = to_dict(MotionSpec(frames=2))
    motion["pan"] = "0,0"
    image, status, gif = client.predict(photo=photo, **motion, api_name="/zoom")
    assert Image.open(gif).n_frames == 2 and status.startswith("2 frames")
    with pytest.raises(client_lib.exceptions.AppError, match="at most 48"):
        client.predict(photo=photo, **(motion | {"frames": 49}), api_name="/zoom")


def test_grid_with_an_emptied_steps_box_runs_the_default_steps(server: str) -> None:
    """An emptied steps box means the parametrisation's default count (it was ``None // 8``: a TypeError)."""
    client = client_lib.Client(server, verbose=False)
    vis = grid_args(VisSpec(size=32, batch=8, seed=0)) | {"steps": ""}
    job = client.submit(layer="blocks.2", channels="0-3", classes="", **vis, api_name="/grid")
    deadline = time.time() + 120
    while time.time() < deadline and not job.done() and not any(o[1].startswith("step") for o in job.outputs()):
        time.sleep(0.05)
    client.predict(api_name="/stop")
    image, status, png = job.result(timeout=60)
    assert status.startswith("stopped") and png is None, status
    assert any(o[1].endswith(f" of {VisSpec().step_count}") for o in job.outputs()), job.outputs()


def test_zoom_tab_streams_zooms_own_events_and_a_frame_each(random_engine: Engine, tmp_path: Path) -> None:
    """No Step events made up from frames: the page gets zoom's real dream events, warnings once, frames as done."""
    from dreamer.outputs.images import load_image
    from dreamer.spec.presets import ZOOM_SPEC
    from dreamer.studio.page import to_page
    from dreamer.studio.server import Studio
    from dreamer.studio.session import Session, stream
    from dreamer.studio.zoom import zoom_run

    tiny = tmp_path / "tiny.png"
    Image.new("RGB", (24, 24), (120, 60, 30)).save(tiny)  # too small for 3 octaves: each frame's dream warns
    studio = Studio(random_engine, StudioConfig(cache=tmp_path, zoom_spec=ZOOM_SPEC.replace(max_side=64, seed=0)))
    motion, session = MotionSpec(frames=2), Session()
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    try:
        items = list(stream(zoom_run(studio, load_image(tiny), motion, tmp_path / "a"), session.start(), studio.pool))
        assert [i.kind for i in items if i.kind != "warned"] == ["frame", "frame", "done"]
        warned = [i.message for i in items if i.kind == "warned"]
        assert len(warned) == 4 and any("too small for 3 octaves" in w for w in warned)  # two a frame
        frames = [i for i in items if i.kind == "frame"]
        assert [(f.frame.done, f.frame.total) for f in frames] == [(1, 2), (2, 2)]
        assert all(f.step is not None and f.step.total == ZOOM_SPEC.steps for f in frames)  # the engine's own steps
        run = zoom_run(studio, load_image(tiny), motion, tmp_path / "b")
        with pytest.warns(UserWarning, match="too small for 3 octaves") as caught:  # gr.Warning outside a request
            shown = list(
                to_page(
                    run,
                    session,
                    studio.pool,
                    status=lambda i: f"frame {i.frame.done} of {i.frame.total}" if i.frame else None,
                    stopped=lambda _: "stopped",
                    done=lambda gif: (str(gif), "done"),
                )
            )
        assert sorted(str(w.message) for w in caught) == sorted(set(warned))  # each once a run, not once a frame
        assert [line for _, line in shown] == ["frame 1 of 2", "frame 2 of 2", "done"]
        assert Image.open(shown[-1][0]).n_frames == 2
    finally:
        session.close()


def test_every_dream_knob_has_a_control(random_engine: Engine, tmp_path: Path) -> None:
    from dreamer.studio.render import DreamTab
    from dreamer.studio.server import Studio

    with gr.Blocks() as page:
        tab = DreamTab(Studio(random_engine, StudioConfig(cache=tmp_path)), gr.State(None), page)
        form = tab.form
    assert sorted(form.names) == sorted(n for n, (_, k) in knobs(DreamSpec).items() if k.kind.value != "env")
    assert form.spec(form.values(SMALL)) == SMALL
    assert form.names[-1] == "weights"  # an expert knob: in the last accordion ("Advanced"), not atop Layers
    assert tab.on_photo(None)["visible"] is False  # no empty mask canvas without a photo


def test_torch_runs_only_on_the_run_thread_and_the_queue_polls_calmly(random_engine: Engine, tmp_path: Path) -> None:
    """A forward pass on any other thread keeps a second OpenMP team alive: renders measured 2x slower."""
    import threading

    from dreamer.studio import build
    from dreamer.studio.app import QUEUE_POLL_S
    from dreamer.studio.server import Studio

    threads: list[str] = []
    net = random_engine.model(SMALL.model).net
    handle = net.register_forward_pre_hook(lambda *_: threads.append(threading.current_thread().name))
    try:
        config = StudioConfig(cache=tmp_path, thumb_spec=VisSpec(size=32, steps=1, seed=0))
        demo = build(random_engine, config)  # the layer lists of every tab: a forward pass each
        Studio(random_engine, config).show_thumbnails(SMALL.model)
    finally:
        handle.remove()
    assert threads and {t.split("_")[0] for t in threads} == {"dreamer-studio-run"}, threads
    # Gradio's queue loop wakes every 1 ms by default; the studio makes it 10 ms (a private attribute).
    assert demo._queue.sleep_when_free >= QUEUE_POLL_S


def test_studio_without_gradio_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "gradio" else real(name, *a))
    result = CliRunner().invoke(cli, ["studio"])
    assert result.exit_code == 1 and "pip install 'dreamer-art[studio]'" in result.output
    assert len(result.output.strip().splitlines()) == 1


# --- the page in a real browser ---


WATCH_PREVIEW = """
window.__srcs = [];
new MutationObserver(() => {
  const img = document.querySelector('#preview img');
  if (img && img.src && window.__srcs[window.__srcs.length - 1] !== img.src) window.__srcs.push(img.src);
}).observe(document.body, {subtree: true, childList: true, attributes: true, attributeFilter: ['src']});
true
"""


def test_the_first_click_dreams_the_preselected_sample(server: str, browser: DevTools, tmp_path: Path) -> None:
    browser.call("Page.navigate", url=server)
    browser.wait("document.querySelector('#photo')?.innerText.includes('chelsea')", 60, "the preselected sample")
    browser.js("document.querySelector('#go').click()")
    href = browser.wait(
        "(document.querySelector('#status').innerText.startsWith('done') && "
        "document.querySelector('#download a[href]')?.href) || ''",
        90,
        "the first render to finish",
    )
    png = tmp_path / "first.png"
    png.write_bytes(urllib.request.urlopen(href, timeout=30).read())
    result = CliRunner().invoke(cli, ["info", "--json", str(png)])
    assert result.exit_code == 0 and json.loads(result.output)["input"] == "chelsea.png", result.output


def test_page_streams_previews_and_the_png_round_trips(
    server: str, browser: DevTools, cat: Path, tmp_path: Path
) -> None:
    browser.call("Page.navigate", url=server)
    browser.wait("!!document.querySelector('#go') && !!document.querySelector('#photo input[type=file]')", 60, "page")
    browser.wait("document.querySelector('#photo').innerText.includes('chelsea')", 30, "the preselected sample")
    browser.wait("!!document.querySelector('canvas')", 30, "the mask editor to show the sample")
    browser.js("document.querySelector('#photo button[aria-label=Clear]').click()")  # the user's own photo instead
    cleared = "!!document.querySelector('#photo input[type=file]') && !document.querySelector('canvas')"
    browser.wait(cleared, 30, "the photo and the mask editor to go")
    root = browser.call("DOM.getDocument", depth=-1, pierce=True)["root"]["nodeId"]
    node = browser.call("DOM.querySelector", nodeId=root, selector="#photo input[type=file]")["nodeId"]
    browser.call("DOM.setFileInputFiles", files=[str(cat)], nodeId=node)
    browser.wait("document.querySelector('#photo').innerText.includes('cat.png')", 30, "the upload")
    browser.wait("!!document.querySelector('canvas')", 30, "the mask editor to show the photo")
    assert browser.js(WATCH_PREVIEW)
    browser.js("document.querySelector('#go').click()")
    href = browser.wait(
        "(document.querySelector('#status').innerText.startsWith('done') && "
        "document.querySelector('#download a[href]')?.href) || ''",
        90,
        "the render to finish",
    )
    srcs = browser.js("window.__srcs")
    assert len(set(srcs)) >= 3, f"expected two previews before the final image, saw {srcs}"
    png = tmp_path / "downloaded.png"
    png.write_bytes(urllib.request.urlopen(href, timeout=30).read())
    result = CliRunner().invoke(cli, ["info", "--json", str(png)])
    assert result.exit_code == 0, result.output
    meta = json.loads(result.output)
    assert meta["kind"] == "dream" and meta["input"] == "cat.png"
    assert {k: meta["spec"][k] for k in ("steps", "octaves", "max_side", "seed")} == {
        "steps": 10,
        "octaves": 3,
        "max_side": 96,
        "seed": 1,
    }
    command_line = browser.js("document.querySelector('#command textarea').value")
    assert command_line.startswith("dreamer render cat.png") and "--seed 1" in command_line


def test_style_fills_the_controls_and_history_restores_settings(random_engine: Engine, tmp_path: Path) -> None:
    from types import SimpleNamespace

    from dreamer.spec.styles import load_style
    from dreamer.studio.render import DreamTab
    from dreamer.studio.server import Studio
    from dreamer.studio.session import Session

    with gr.Blocks() as page:
        tab = DreamTab(Studio(random_engine, StudioConfig(cache=tmp_path)), gr.State(None), page)
    session = Session(base=tmp_path)
    try:
        assert not list(tmp_path.glob("dreamer-session-*"))  # made on first use (a page that saves nothing, none)
        filled = tab.on_style("classic", session)
        assert tab.form.spec(filled) == load_style("classic").apply()
        session.history.append({"path": "x.png", "spec": to_dict(SMALL.replace(steps=3)), "style": "classic"})
        *restored, style = tab.restore(session, SimpleNamespace(index=0))
        values = [v if not isinstance(v, dict) else None for v in restored]  # file uploads are left as they are
        assert tab.form.spec(values).steps == 3 and style == "classic"
        assert session.path("x.png").parent.parent == session.folder and session.folder.parent == tmp_path
    finally:
        session.close()
    assert not session.folder.exists()


def test_host_other_than_localhost_warns(monkeypatch: pytest.MonkeyPatch) -> None:
    import dreamer.studio

    launched: dict[str, Any] = {}

    class Fake:
        def launch(self, **kwargs: Any) -> None:
            launched.update(kwargs)

        def close(self) -> None:
            launched["closed"] = True

    monkeypatch.setattr(dreamer.studio, "build", lambda engine, config: Fake())
    result = CliRunner().invoke(cli, ["studio", "--host", "0.0.0.0", "--port", "0", "--device", "cpu"])
    assert result.exit_code == 0, result.output
    assert "anyone who can reach this machine" in result.output
    assert launched["server_name"] == "0.0.0.0" and launched["closed"]


def test_a_form_shows_its_profiles_knobs_with_its_presets_defaults() -> None:
    from dreamer.spec.profiles import Part, profile
    from dreamer.studio.forms import controls

    with gr.Blocks():
        form = controls(Part(VisSpec, VisSpec(size=40), exclude=("alpha", "seed")))
        dream = controls(profile("studio-dream").part(DreamSpec))
    assert "alpha" not in form.names and "seed" not in form.names and "size" in form.names
    assert form.components[form.names.index("size")].value == 40
    assert sorted(dream.names) == sorted(profile("studio-dream").part(DreamSpec).names())


def test_the_page_names_a_bad_value_by_its_controls_label(random_engine: Engine, tmp_path: Path) -> None:
    from dreamer.errors import DreamerError
    from dreamer.spec.profiles import profile
    from dreamer.studio.app import Studio
    from dreamer.studio.forms import controls
    from dreamer.studio.session import public

    studio = Studio(random_engine, StudioConfig(cache=tmp_path))
    with gr.Blocks():
        form = controls(profile("studio-dream").part(DreamSpec))
    values = form.values(DreamSpec())
    values[form.names.index("octave_scale")] = 0.5
    with pytest.raises(gr.Error, match="octave scale must be greater than 1"):
        studio.spec(form, tuple(values))
    missing = DreamerError("`guide_layer`: lite0 has no default dream layer; name one", field="guide_layer")
    assert public(missing) == "guide layer: lite0 has no default dream layer; name one"

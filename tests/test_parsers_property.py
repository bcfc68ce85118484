"""Property tests: the spec parsers accept or reject anything, but only ever with DreamerError."""

from __future__ import annotations

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from dreamer.core.objectives import parse_channels, parse_spec, parse_specs
from dreamer.errors import DreamerError
from dreamer.outputs.images import fit_max_side
from dreamer.spec.specs import parse_pan

ANY_TEXT = st.text(alphabet=st.characters(max_codepoint=0x2FF), max_size=40)
SPEC_LIKE = st.from_regex(r"-?[a-z_.0-9]{0,12}(\[[0-9, \-]{0,12}\])?(:[-+0-9.e]{0,6})?", fullmatch=True)


@settings(max_examples=300, deadline=None)
@given(st.one_of(ANY_TEXT, SPEC_LIKE))
def test_parse_spec_raises_only_dreamer_error(text: str) -> None:
    try:
        objective = parse_spec(text)
    except DreamerError as exc:
        assert "\n" not in str(exc) and exc.field == "layers" and str(exc).startswith("layers")
    else:
        assert len(objective.layers) == 1 and objective.layers[0] in text


@settings(max_examples=300, deadline=None)
@given(st.one_of(ANY_TEXT, st.from_regex(r"[0-9, \-]{0,16}", fullmatch=True)))
def test_parse_channels_raises_only_dreamer_error(text: str) -> None:
    try:
        channels = parse_channels(text)
    except DreamerError as exc:
        assert "\n" not in str(exc)
    else:
        assert channels and all(c >= 0 for c in channels) and len(set(channels)) == len(channels)


@given(st.lists(st.integers(0, 500), min_size=1, max_size=10, unique=True), st.floats(-5, 5, allow_nan=False))
def test_formatted_specs_round_trip(channels: list[int], weight: float) -> None:
    spec = f"blocks.4[{','.join(map(str, channels))}]:{weight!r}"
    objective = parse_specs([spec])
    acts = {"blocks.4": torch.ones(1, 501, 2, 2)}
    assert objective.layers == ("blocks.4",)
    assert float(objective(acts)) == pytest_approx(weight)


def pytest_approx(value: float):
    """Tolerant equality for float weights."""
    import pytest

    return pytest.approx(value, rel=1e-6, abs=1e-9)


@settings(max_examples=300, deadline=None)
@given(st.one_of(ANY_TEXT, st.from_regex(r"[-+0-9.,e inf]{0,14}", fullmatch=True)))
def test_parse_pan_raises_only_dreamer_error(text: str) -> None:
    try:
        dx, dy = parse_pan(text)
    except DreamerError as exc:
        assert "\n" not in str(exc) and exc.field == "pan"
    else:
        assert all(abs(v) < float("inf") for v in (dx, dy))


@given(st.integers(1, 100_000), st.integers(1, 100_000), st.integers(16, 8192))
def test_fit_max_side_keeps_the_longer_side_within_the_limit(w: int, h: int, max_side: int) -> None:
    fw, fh = fit_max_side((w, h), max_side)
    assert 1 <= fw <= w and 1 <= fh <= h
    assert max(fw, fh) == min(max(w, h), max_side)  # scaled down exactly to the limit, never up
    if w != h and min(fw, fh) > 1:
        assert (fw > fh) == (w > h)  # the longer side stays the longer one

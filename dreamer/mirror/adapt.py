"""Adaptive quality: fewer steps per frame first, then a smaller size, to hold a target frame rate.

The governor watches how long each frame's work takes (a moving average) and moves one notch at a time,
waiting a few frames after each move to see its effect. It steps down when the average is over the
frame budget (1 / target fps) and back up, size first, only when the notch up is predicted to fit
(a frame's cost grows with its steps and with its pixels), so it does not flap between two levels.
"""

from __future__ import annotations

from dataclasses import dataclass

MIN_SIDE = 96  # adaptive quality never goes below this work size
SIDE_NOTCH = 0.8  # each notch down scales the size by this much (about 0.64x the pixels)
SETTLE = 3  # frames to wait after a change before judging again
SMOOTHING = 0.3  # weight of the newest frame in the moving average of frame times
SLACK = 1.05  # step down when the average is this much over budget
HEADROOM = 0.85  # step up when the predicted cost is under this share of the budget


def _notch_down(side: int) -> int:
    return max(MIN_SIDE, int(side * SIDE_NOTCH) // 8 * 8)


@dataclass
class Governor:
    """Chooses each frame's steps and size from the asked ones and the measured frame times."""

    steps: int = 0  # the steps and size in use (0: not started)
    side: int = 0
    asked: tuple[int, int, float] = (0, 0, 0.0)  # (steps, side, target fps) the levels were chosen for
    average: float | None = None  # seconds per frame, moving average since the last change
    since: int = 0  # frames since the last change

    def budget(self, steps: int, side: int, target_fps: float) -> tuple[int, int]:
        """(steps, size) for the next frame, given what is asked; new asks start from the asked levels."""
        if (steps, side, target_fps) != self.asked:
            self.asked, self.steps, self.side = (steps, side, target_fps), steps, side
            self._moved()
        return self.steps, self.side

    def record(self, seconds: float) -> None:
        """A frame took ``seconds``: update the average and move a notch when it is due."""
        self.average = seconds if self.average is None else SMOOTHING * seconds + (1 - SMOOTHING) * self.average
        self.since += 1
        steps, side, target = self.asked
        if not target or self.since < SETTLE:
            return
        budget = 1.0 / target
        if self.average > SLACK * budget:
            if self.steps > 1:
                self.steps -= 1
                self._moved()
            elif self.side > MIN_SIDE:
                self.side = _notch_down(self.side)
                self._moved()
        elif self.side < side or self.steps < steps:
            bigger = min(side, max(self.side + 8, int(self.side / SIDE_NOTCH) // 8 * 8))
            if self.side < side and self.average * (bigger / self.side) ** 2 < HEADROOM * budget:
                self.side = bigger
                self._moved()
            elif self.side == side and self.average * (self.steps + 1) / self.steps < HEADROOM * budget:
                self.steps += 1
                self._moved()

    def _moved(self) -> None:
        self.average, self.since = None, 0

    def note(self) -> str | None:
        """What adaptive quality is doing, for the page: None while the asked steps and size are in use and hold."""
        steps, side, target = self.asked
        if not target:
            return None
        where = f"{self.steps} step{'s' if self.steps != 1 else ''} at {self.side} px"
        if self.steps <= 1 and self.side <= MIN_SIDE and self.average is not None and self.average > SLACK / target:
            return f"too slow to hold {target:g} fps even at {where}"
        if (self.steps, self.side) == (steps, side):
            return None
        return f"lowered to hold {target:g} fps: {where} (asked {steps} at {side} px)"

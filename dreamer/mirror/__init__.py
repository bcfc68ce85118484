"""``dreamer live``: the camera dreamed in real time, a feedback loop carried along the optical flow."""

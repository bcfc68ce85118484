"""Dream videos with frame-to-frame coherence: decode, optical flow, the frame loop, encode."""

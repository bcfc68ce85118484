"""Feature visualisation: images optimised from noise to show what channels and classes respond to.

``param`` (the parametrisations: colour, Fourier, pixel and MACO leaves behind one dispatcher),
``transforms`` (transformation robustness, MACO's noisy crops), ``optimize`` (the loop), ``cells`` (what a
sheet holds), ``diversity`` (Gram-matrix penalty), ``alpha`` (importance as transparency), ``accent``
(feature accentuation of a photo), ``maps`` (a photo's activation maps) and ``judge`` (Lite1/Lite2, for
measuring transfer in tests and benches).
"""

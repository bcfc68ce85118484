"""Feature visualisation: images optimised from noise to show what channels and classes respond to.

``param`` (Fourier or pixel parametrisations), ``transforms`` (transformation robustness),
``render`` (``visualize``, ``grid``) and ``maps`` (a photo's activation maps).
"""

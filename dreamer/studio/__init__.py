"""``dreamer studio``: a local Gradio web app on one engine, streaming the dream as it forms.

Needs the ``studio`` extra (``pip install 'dreamer-art[studio]'``); nothing here is imported by the
rest of the package.
"""

from dreamer.studio.app import build, serve
from dreamer.studio.config import StudioConfig

__all__ = ["StudioConfig", "build", "serve"]

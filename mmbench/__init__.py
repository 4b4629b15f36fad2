"""mmbench: a plugin-based benchmarking harness for multimodal (image + text) fusion.

Plugin authors need one name from here: :data:`hookimpl`, the marker for hook functions.
"""

from __future__ import annotations

import pluggy

__version__ = "0.1.0"

#: Mark plugin hook functions with ``@mmbench.hookimpl``.
hookimpl = pluggy.HookimplMarker("mmbench")

__all__ = ["__version__", "hookimpl"]

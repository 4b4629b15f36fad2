"""The one loading path every dataset shares: image decoding (progress, threads for large
images, size policy, mode conversion), the decoded-array cache, load-time checks and content
fingerprints.

``cifar10``, ``table``, ``hf`` and ``easy-vqa`` all load through here; a third-party dataset can
too (see docs/datasets.md)."""

from __future__ import annotations

from .checks import bad_texts, check_data, check_labels, check_texts
from .identity import content_fingerprint
from .images import (
    CONVERTIBLE_MODES,
    RESIZE_METHODS,
    SizePolicy,
    Source,
    array_digest,
    decode_images,
    decode_one,
)
from .sources import Decoded, load_images, resolve_paths, source_key
from .store import cached_arrays, damage, read_entry, seal, write_entry

__all__ = [
    "CONVERTIBLE_MODES", "RESIZE_METHODS", "Decoded", "SizePolicy", "Source", "array_digest",
    "bad_texts", "cached_arrays", "check_data", "check_labels", "check_texts",
    "content_fingerprint", "damage", "decode_images", "decode_one", "load_images", "read_entry",
    "resolve_paths", "seal", "source_key", "write_entry",
]

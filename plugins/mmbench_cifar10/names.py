"""CIFAR-10's fixed vocabulary (no imports: safe to load at plugin registration)."""

from __future__ import annotations

#: The official class names; index = label.
CLASS_NAMES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)

#: The caption columns a suite can pick: generated free text, or the label template.
CAPTION_COLUMNS = ("caption", "primer_caption")

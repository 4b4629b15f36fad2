"""Which columns are which modalities: the ``image_column`` / ``text_columns`` /
``numeric_columns`` parameters, or one explicit ``modalities`` mapping, checked against the
table's own header (a misspelt name gets a did-you-mean)."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from mmbench.errors import UserError

IMAGE_DEFAULTS = ("file_name", "image", "image_path", "path")
TEXT_DEFAULTS = ("text", "caption", "question")
NUMERIC_MODALITY = "tabular"


@dataclass
class Layout:
    """Modality name -> column(s), by kind, plus the label, group and split columns."""

    images: dict[str, str] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)
    numeric: dict[str, list[str]] = field(default_factory=dict)
    label: str | None = None
    group: str | None = None
    split: str | None = None

    @property
    def kinds(self) -> dict[str, str]:
        out = {m: "image" for m in self.images}
        out.update({m: "text" for m in self.texts})
        out.update({m: "numeric" for m in self.numeric})
        return out

    @property
    def modalities(self) -> tuple[str, ...]:
        return tuple(self.kinds)


def _names(value: Any, what: str, who: str) -> list[str]:
    if value is None:
        return []
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)) or not all(isinstance(v, str) for v in items):
        raise UserError(f"{who}: {what} = {value!r} must be a column name or a list of them")
    return list(items)


def as_mapping(value: Any) -> Any:
    """A suite's inline table as a dict (the planner hands dict params over as a list of
    ``[key, value]`` pairs)."""
    if isinstance(value, (list, tuple)) and value and all(
            isinstance(p, (list, tuple)) and len(p) == 2 and isinstance(p[0], str) for p in value):
        return {k: v for k, v in value}
    return value


class Columns:
    """Checks column names against ``header`` (the file named ``source``)."""

    def __init__(self, header: Sequence[str], source: str, who: str) -> None:
        self.header, self.source, self.who = list(header), source, who

    def need(self, name: str, what: str) -> str:
        if name in self.header:
            return name
        close = difflib.get_close_matches(name, self.header, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise UserError(f"{self.who}: {what} {name!r} is not a column of {self.source}{hint} "
                        f"(columns: {', '.join(self.header)})")

    def first(self, candidates: Sequence[str]) -> str | None:
        return next((c for c in candidates if c in self.header), None)


def resolve(params: dict[str, Any], cols: Columns, image_like: set[str],
            label_optional: bool = False) -> Layout:
    """The layout asked for by ``params`` (the dataset's column parameters). ``image_like``
    are columns known to hold images (a Hugging Face ``Image`` feature); under an explicit
    ``modalities`` mapping, a string value is an image modality when its column is one of
    those or one of :data:`IMAGE_DEFAULTS`, or when the modality is named ``image``."""
    who = cols.who
    lay = Layout()
    mapping = as_mapping(params.get("modalities"))
    if mapping is not None:
        clash = [k for k in ("image_column", "text_columns", "numeric_columns")
                 if params.get(k) is not None]
        if clash:
            raise UserError(f"{who}: give either modalities = {{...}} or {', '.join(clash)}, "
                            f"not both")
        if not isinstance(mapping, dict) or not mapping:
            raise UserError(f"{who}: modalities = {mapping!r} must map modality names to "
                            f"columns, e.g. {{ image = \"file_name\", text = \"caption\", "
                            f"tabular = [\"age\", \"price\"] }}")
        for name, value in mapping.items():
            if isinstance(value, str):
                col = cols.need(value, f"modalities.{name}: column")
                is_image = col in image_like or col in IMAGE_DEFAULTS or name == "image"
                (lay.images if is_image else lay.texts)[name] = col
            else:
                lay.numeric[name] = [cols.need(c, f"modalities.{name}: column")
                                     for c in _names(value, f"modalities.{name}", who)]
    else:
        image = params.get("image_column")
        if image is not None:
            lay.images["image"] = cols.need(_names(image, "image_column", who)[0], "image_column")
        elif (found := cols.first([*sorted(image_like), *IMAGE_DEFAULTS])) is not None:
            lay.images["image"] = found
        texts = _names(params.get("text_columns"), "text_columns", who)
        if not texts and (found := cols.first(TEXT_DEFAULTS)) is not None:
            texts = [found]
        for i, col in enumerate(texts):
            lay.texts["text" if i == 0 else col] = cols.need(col, "text_columns: column")
        numeric = _names(params.get("numeric_columns"), "numeric_columns", who)
        if numeric:
            lay.numeric[NUMERIC_MODALITY] = [cols.need(c, "numeric_columns: column")
                                             for c in numeric]
    label = params.get("label_column", "label")
    if label is not None and (label in cols.header or not label_optional):
        lay.label = cols.need(_names(label, "label_column", who)[0], "label_column")
    for key in ("group_column", "split_column"):
        if params.get(key) is not None:
            setattr(lay, key.split("_")[0], cols.need(_names(params[key], key, who)[0], key))
    used = [*lay.images.values(), *lay.texts.values(), *sum(lay.numeric.values(), [])]
    if lay.label is not None and lay.label in used:
        raise UserError(f"{who}: the label column {lay.label!r} is also a modality: it would "
                        f"leak the answer; remove it from the modalities")
    if not used:
        raise UserError(f"{who}: no modality found in {cols.source}: name the columns with "
                        f"image_column, text_columns or numeric_columns (columns: "
                        f"{', '.join(cols.header)})")
    return lay

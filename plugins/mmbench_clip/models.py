"""Naming, validating and loading open_clip models (one load per process, shared by the image
featurizer, the text featurizer and the zero-shot classifier)."""

from __future__ import annotations

import difflib
import functools
from pathlib import Path
from typing import Any

from mmbench.errors import UserError

DEFAULT_MODEL = "ViT-B-32"
DEFAULT_PRETRAINED = "laion2b_s34b_b79k"
#: ``pretrained = "none"`` builds the architecture with random weights (results are marked).
RANDOM = "none"
RANDOM_NOTE = "random weights"


def _did_you_mean(word: str, options: list[str]) -> str:
    close = difflib.get_close_matches(word, options, n=3, cutoff=0.5)
    return f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""


def is_path(pretrained: str) -> bool:
    return "/" in pretrained or "\\" in pretrained or pretrained.endswith(
        (".pt", ".pth", ".bin", ".safetensors"))


def validate(model: str, pretrained: str) -> None:
    """Check ``model`` and ``pretrained`` against open_clip's lists (cheap: no weights are
    read). Raises ``ValueError`` with a did-you-mean."""
    import open_clip

    if not isinstance(model, str) or not isinstance(pretrained, str):
        raise ValueError("model and pretrained must be strings")
    if model.startswith(("hf-hub:", "local-dir:")):
        return
    models = open_clip.list_models()
    if model not in models:
        raise ValueError(f"open_clip knows no model {model!r}{_did_you_mean(model, models)} "
                         f"(see open_clip.list_models())")
    if pretrained == RANDOM:
        return
    if is_path(pretrained):
        if not Path(pretrained).is_file():
            raise ValueError(f"checkpoint file {pretrained!r} does not exist")
        return
    tags = open_clip.list_pretrained_tags_by_model(model)
    if pretrained not in tags:
        raise ValueError(
            f"open_clip has no pretrained tag {pretrained!r} for {model}"
            f"{_did_you_mean(pretrained, tags)} known tags: {', '.join(tags) or 'none'}; or give "
            f"a local checkpoint path, or pretrained = \"{RANDOM}\" for random weights")


def embed_dim(model: str) -> int | None:
    """The embedding width from open_clip's config, without building the model."""
    import open_clip

    cfg = open_clip.get_model_config(model) if not model.startswith(("hf-hub:", "local-dir:")) \
        else None
    return int(cfg["embed_dim"]) if cfg and "embed_dim" in cfg else None


def image_size(model: str, default: int = 224) -> int:
    """The image tower's input side from open_clip's config, without building the model."""
    import open_clip

    cfg = open_clip.get_model_config(model) if not model.startswith(("hf-hub:", "local-dir:")) \
        else None
    size = ((cfg or {}).get("vision_cfg") or {}).get("image_size", default)
    return int(size[0] if isinstance(size, (tuple, list)) else size)


def notes(pretrained: str) -> list[str]:
    return [RANDOM_NOTE] if pretrained == RANDOM else []


@functools.lru_cache(maxsize=2)
def load(model: str, pretrained: str, device: str, image_size: int | None = None) -> Any:
    """The open_clip model on ``device`` in its compute dtype (eval mode), weights loaded with
    ``weights_only=True``; random weights only for ``pretrained="none"``."""
    import open_clip
    import torch

    from mmbench_torch.batching import prepare_model

    kwargs: dict[str, Any] = {"weights_only": True}
    if image_size:
        kwargs["force_image_size"] = image_size
    if pretrained == RANDOM:
        torch.manual_seed(0)  # random weights, but the same ones every run
        kwargs["pretrained"] = None
    else:
        kwargs["pretrained"] = pretrained
        kwargs["require_pretrained"] = True
    try:
        net = open_clip.create_model(model, **kwargs)
    except Exception as exc:
        raise UserError(load_failure(model, pretrained, exc)) from exc
    net, _ = prepare_model(net, device)
    return net


def load_failure(model: str, pretrained: str, exc: BaseException) -> str:
    """What to say when open_clip could not give us the weights."""
    why = f"{type(exc).__name__}: {exc}"[:300]
    if is_path(pretrained):
        return (f"open_clip {model}: cannot load checkpoint {pretrained} ({why}); it must be an "
                f"open_clip/CLIP state dict for {model}")
    return (f"open_clip {model} with pretrained={pretrained!r}: weights could not be loaded "
            f"({why}). Without a network, download them elsewhere (e.g. open_clip."
            f"create_model({model!r}, pretrained={pretrained!r}) then save model.state_dict() "
            f"with torch.save) and set pretrained = \"/path/to/checkpoint.pt\" in the suite, or "
            f"put them in the Hugging Face cache (HF_HOME)")


def image_spec(net: Any) -> Any:
    """The model's preprocessing as an :class:`~mmbench_torch.batching.ImageSpec`."""
    from mmbench_torch.batching import ImageSpec

    cfg = getattr(net.visual, "preprocess_cfg", None) or {}
    size = cfg.get("size", getattr(net.visual, "image_size", 224))
    size = size[0] if isinstance(size, (tuple, list)) else size
    mean = tuple(cfg.get("mean", (0.48145466, 0.4578275, 0.40821073)))
    std = tuple(cfg.get("std", (0.26862954, 0.26130258, 0.27577711)))
    interp = cfg.get("interpolation", "bicubic")
    interp = interp if interp in ("bilinear", "bicubic") else "bicubic"
    crop = cfg.get("resize_mode", "shortest") == "shortest"
    return ImageSpec(int(size), mean, std, interp, crop)  # type: ignore[arg-type]

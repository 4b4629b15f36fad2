"""The fast featurization path shared by every torch featurizer.

- Images stay ``uint8`` until they reach the device; resize, centre crop and normalisation run
  batched there (no per-image PIL loop).
- On CUDA: bf16 weights and inputs (fp16 where bf16 is unsupported), pinned host memory and
  ``non_blocking`` copies, a batch size chosen from free GPU memory (halved on out-of-memory).
- On CPU: float32, channels-last, torch's intra-op threads set to the cores this process may use.
- Everything runs under ``torch.inference_mode()`` and reports progress with
  :func:`mmbench.progress.track`.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mmbench.errors import UserError
from mmbench.progress import track

#: CPU batches hold about this many input pixels (64 images at 128 px): larger batches of big
#: images fall out of cache and run slower than small ones (measured: at 224 px batch 16 is
#: ~2.5x faster than batch 64 for EfficientNet-Lite0 on 2 cores).
CPU_BATCH_PIXELS = 64 * 128 * 128
CPU_BATCH = 64
MAX_GPU_BATCH = 4096


@dataclass(frozen=True)
class ImageSpec:
    """How a model wants its input: square ``size``, per-channel ``mean``/``std`` on [0, 1]
    pixels, the resize ``interpolation`` (``bilinear`` or ``bicubic``); ``crop`` resizes the
    shorter side then centre-crops (``False`` squashes to ``size`` x ``size``)."""

    size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    interpolation: str = "bicubic"
    crop: bool = True


def check_shared_params(*, batch_size: Any, device: Any, normalize: Any = True) -> None:
    """Refuse (ValueError) wrong values of the parameters the torch featurizers share, in
    their ``__init__``: ``batch_size`` 0 (auto) or a positive integer, ``normalize`` true or
    false, ``device`` a device name (resolved by :func:`resolve_device` when used)."""
    if not isinstance(batch_size, int) or batch_size < 0:
        raise ValueError(f"batch_size must be 0 (auto) or a positive integer, got "
                         f"{batch_size!r}")
    if not isinstance(normalize, bool):
        raise ValueError(f"normalize must be true or false, got {normalize!r}")
    if not isinstance(device, str) or not device:
        raise ValueError(f"device must be a device name such as 'cpu', 'cuda' or 'auto', got "
                         f"{device!r}")


def resolve_device(device: str) -> str:
    """``auto`` -> ``cuda`` when torch sees a GPU, else ``cpu``; ``cuda`` without a GPU is a
    :class:`UserError`."""
    import torch

    if device not in ("auto", "cpu", "cuda") and not device.startswith("cuda:"):
        raise UserError(f"device must be 'auto', 'cpu' or 'cuda', got {device!r}")
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise UserError(f"device {device!r} asked for, but torch sees no CUDA GPU; "
                        "set device = \"auto\" or \"cpu\" in the suite")
    return device


def choose_dtype(device: str, bf16_supported: bool | None = None) -> Any:
    """Compute dtype: bf16 on a GPU that supports it (fp16 otherwise), float32 on CPU (bf16
    matmuls are slower than float32 on most CPUs)."""
    import torch

    if not device.startswith("cuda"):
        return torch.float32
    if bf16_supported is None:
        bf16_supported = torch.cuda.is_bf16_supported()
    return torch.bfloat16 if bf16_supported else torch.float16


def configure_threads() -> int:
    """Give torch one intra-op thread per core this process may use (unless the user set
    ``OMP_NUM_THREADS``); returns the thread count."""
    import torch

    if "OMP_NUM_THREADS" not in os.environ:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        if cores and torch.get_num_threads() != cores:
            torch.set_num_threads(cores)
    return torch.get_num_threads()


def batch_for_memory(free_bytes: int, per_item_bytes: float, *, fraction: float = 0.6,
                     cap: int = MAX_GPU_BATCH) -> int:
    """The largest power of two whose items fit in ``fraction`` of ``free_bytes`` (1..cap)."""
    if per_item_bytes <= 0:
        return cap
    fit = int(free_bytes * fraction / per_item_bytes)
    size = 1
    while size * 2 <= min(fit, cap):
        size *= 2
    return size


def cpu_batch(size: int) -> int:
    """Default CPU batch for ``size`` px inputs: a power of two in 4..64 within
    :data:`CPU_BATCH_PIXELS`."""
    return max(4, batch_for_memory(CPU_BATCH_PIXELS, size * size, fraction=1.0, cap=CPU_BATCH))


#: Peak CPU working memory of one image's forward pass, in multiples of its float32 input
#: (3 x S x S x 4 bytes), measured as peak RSS growth per image at batches of 16-32 on CPU:
#: EfficientNet-Lite0 ~24x at 128 and 224 px, CLIP RN50 ~21x, CLIP ViT-B/32 ~7x.
CNN_ACTIVATIONS = 24.0
VIT_ACTIVATIONS = 8.0


def image_memory_estimate(n: int, size: int, batch_size: int, device: str,
                          output_dim: int | None,
                          activations: float = CNN_ACTIVATIONS) -> dict[str, int]:
    """Host memory (bytes, by part) that encoding ``n`` images at ``size`` px needs: the float32
    outputs plus their copy when batches are joined, and on CPU one batch's activations (on a
    GPU those live in GPU memory, where a batch that does not fit is halved). For
    :func:`mmbench.resources.check_featurization_memory`, through a featurizer's
    ``memory_estimate``."""
    parts: dict[str, int] = {}
    if output_dim:
        parts["outputs"] = 2 * n * output_dim * 4
    if n and not device.startswith("cuda"):
        batch = min(n, batch_size if batch_size > 0 else cpu_batch(size))
        parts[f"activations of a {batch}-image batch at {size} px"] = int(
            batch * 3 * size * size * 4 * activations)
    return parts


def check_images(samples: Any, who: str) -> np.ndarray:
    """``samples`` as ``uint8[N, H, W, 3]``, or a UserError saying what is wrong."""
    images = np.asarray(samples)
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] != 3:
        raise UserError(f"{who} expects images as uint8[N, H, W, 3]; got "
                        f"{images.dtype}{list(images.shape)}")
    return images


def check_texts(samples: Sequence[Any], who: str) -> list[str]:
    """``samples`` as a list of non-empty strings; an empty caption is named by its index."""
    texts = list(samples)
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise UserError(f"{who}: caption {i} is {type(t).__name__}, not a string")
        if not t.strip():
            raise UserError(f"{who}: caption {i} is empty; drop the sample or give it a "
                            "caption (a missing caption is an all-NaN feature row, not '')")
    return texts


@contextlib.contextmanager
def one_thread(on: bool = True) -> Iterator[None]:
    """torch on one intra-op thread inside (when ``on``). CPU interpolation splits its output
    among the threads, and each piece's vectorised loop ends in a scalar tail that rounds
    differently, so its result depends on the thread count (EfficientNet features moved by up
    to 2e-5 between 1 and 2 threads): on one thread the features are the same in any process,
    a 2-core client's and a pool worker's alike."""
    import torch

    before = torch.get_num_threads()
    if not on or before == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def preprocess(batch: Any, spec: ImageSpec, dtype: Any) -> Any:
    """uint8 ``[B, H, W, 3]`` tensor (on the compute device) -> normalised ``[B, 3, S, S]`` in
    ``dtype``, channels-last."""
    import torch
    import torch.nn.functional as F

    x = batch.permute(0, 3, 1, 2).float().div_(255.0)
    h, w = x.shape[-2:]
    s = spec.size
    if spec.crop:
        scale = s / min(h, w)
        out = (max(s, int(h * scale)), max(s, int(w * scale)))
    else:
        out = (s, s)
    if (h, w) != out:
        with one_thread(x.device.type == "cpu"):
            x = F.interpolate(x, size=out, mode=spec.interpolation, align_corners=False,
                              antialias=out[0] < h or out[1] < w)
    if out != (s, s):
        top, left = (out[0] - s) // 2, (out[1] - s) // 2
        x = x[..., top:top + s, left:left + s]
    mean = torch.tensor(spec.mean, device=x.device).view(1, 3, 1, 1)
    std = torch.tensor(spec.std, device=x.device).view(1, 3, 1, 1)
    x = (x - mean).div_(std)
    return x.to(dtype).contiguous(memory_format=torch.channels_last)


def prepare_model(model: Any, device: str) -> tuple[Any, Any]:
    """Put ``model`` in eval mode on ``device`` in its compute dtype; returns (model, dtype)."""
    import torch

    dtype = choose_dtype(device)
    if device == "cpu":
        configure_threads()
    model = model.eval().to(device=device, dtype=dtype)
    model = model.to(memory_format=torch.channels_last)
    return model, dtype


def _gpu_batch(forward: Callable[[Any], Any], example: Any, requested: int) -> int:
    """Batch size for a CUDA run: ``requested`` if > 0, else measured from a probe batch."""
    import torch

    if requested > 0:
        return requested
    probe = min(16, len(example))
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    base = torch.cuda.memory_allocated()
    forward(example[:probe])
    torch.cuda.synchronize()
    per_item = (torch.cuda.max_memory_allocated() - base) / probe
    free, _ = torch.cuda.mem_get_info()
    return batch_for_memory(free, per_item)


def run_batches(forward: Callable[[Any], Any], n: int, batch_size: int, description: str,
                to_input: Callable[[int, int], Any]) -> np.ndarray:
    """Run ``forward(to_input(start, stop))`` over ``range(n)`` in batches, under inference
    mode, with a progress bar; on CUDA out-of-memory a batch is redone in halves."""
    import torch

    def run(start: int, stop: int) -> list[np.ndarray]:
        try:
            return [forward(to_input(start, stop)).float().cpu().numpy()]
        except torch.cuda.OutOfMemoryError:
            if stop - start == 1:
                raise
            torch.cuda.empty_cache()
            mid = (start + stop) // 2
            return run(start, mid) + run(mid, stop)

    outputs: list[np.ndarray] = []
    starts = range(0, n, batch_size)
    with torch.inference_mode():
        for start in track(starts, total=len(starts), description=description):
            outputs += run(start, min(start + batch_size, n))
    return np.concatenate(outputs).astype(np.float32, copy=False)


def encode_images(encode: Callable[[Any], Any], images: np.ndarray, spec: ImageSpec,
                  device: str, dtype: Any, batch_size: int = 0,
                  description: str = "images") -> np.ndarray:
    """``encode`` (a model's image forward) over uint8 ``images`` on ``device``, batched:
    each uint8 batch is copied to the device (pinned, non-blocking on CUDA), preprocessed
    there and encoded. Returns ``float32[N, D]``."""
    import torch

    n = len(images)
    if n == 0:
        raise UserError(f"{description}: no images to featurize")
    cuda = device.startswith("cuda")
    with warnings.catch_warnings():  # read-only images (mmbench's inputs): only read here
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        host = torch.from_numpy(np.ascontiguousarray(images))

    def to_input(start: int, stop: int) -> Any:
        chunk = host[start:stop]
        if cuda:
            chunk = chunk.pin_memory().to(device, non_blocking=True)
        return preprocess(chunk, spec, dtype)

    if cuda:
        with torch.inference_mode():
            size = _gpu_batch(encode, to_input(0, min(16, n)), batch_size)
    else:
        size = batch_size if batch_size > 0 else cpu_batch(spec.size)
    return run_batches(encode, n, size, description, to_input)

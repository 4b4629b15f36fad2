"""Featurization speed, side by side on the same images in one run.

(a) textbook: PIL preprocessing per image, a batch of one, float32;
(b) ceiling: the model's raw forward on batches already resized and normalised on the device;
(c) mmbench: the featurizer's ``transform`` on uint8 images (batched device-side preprocess).

    python benchmarks/featurize.py --model efficientnet-lite0 --size 224 --n 512
    python benchmarks/featurize.py --model clip --clip-model ViT-B-32 --pretrained none --n 2048

Images are the first ``--n`` CIFAR-10 test images when ``MMBENCH_DATA_DIR`` holds the shared
copy, random uint8 32x32 images otherwise. Prints images/s and the ratios c/a and c/b.
"""

from __future__ import annotations

import argparse
import io
import os
import tarfile
import time
from pathlib import Path
from typing import Any

import numpy as np


def load_images(n: int) -> tuple[np.ndarray, str]:
    from PIL import Image

    tar_path = Path(os.environ.get("MMBENCH_DATA_DIR", "/nonexistent"), "cifar10",
                    "cifar10_jpg.tar.gz")
    if not tar_path.is_file():
        rng = np.random.default_rng(0)
        return rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8), "random 32x32"
    out = []
    with tarfile.open(tar_path, "r:gz") as tar:
        for member in tar:
            if member.isfile() and member.name.endswith(".jpg"):
                data = tar.extractfile(member).read()  # type: ignore[union-attr]
                out.append(np.asarray(Image.open(io.BytesIO(data)).convert("RGB")))
                if len(out) == n:
                    break
    return np.stack(out), "CIFAR-10 32x32"


def plain_forward(args: argparse.Namespace, device: str, dtype: Any) -> Any:
    """The textbook's model: a separate copy, default memory format, eval mode."""
    if args.model == "efficientnet-lite0":
        from mmbench_torch.efficientnet import load_lite0

        net = load_lite0(None).eval().to(device, dtype)
        return lambda x: net._avg_pooling(net.extract_features(x)).flatten(1)
    import open_clip

    kwargs = {"force_image_size": args.size}
    net = open_clip.create_model(args.clip_model, pretrained=None if args.pretrained == "none"
                                 else args.pretrained, **kwargs).eval().to(device, dtype)
    return net.encode_image


def build(args: argparse.Namespace, device: str) -> tuple[Any, Any, Any, Any]:
    """(featurizer, forward on a preprocessed batch, ImageSpec, dtype)."""
    if args.model == "efficientnet-lite0":
        from mmbench_torch.efficientnet import EfficientNetLite0

        feat = EfficientNetLite0(image_size=args.size, batch_size=args.batch, device=device)
        feat.transform(np.zeros((2, 32, 32, 3), np.uint8))  # load + warm up
        from mmbench_torch.batching import ImageSpec
        from mmbench_torch.efficientnet import LITE_MEAN, LITE_STD

        spec = ImageSpec(args.size, LITE_MEAN, LITE_STD, "bilinear")
        return feat, feat._forward, spec, feat.dtype_
    from mmbench_clip import models
    from mmbench_clip.featurizers import ClipImage

    feat = ClipImage(model=args.clip_model, pretrained=args.pretrained, normalize=False,
                     batch_size=args.batch, image_size=args.size, device=device)
    feat.transform(np.zeros((2, 32, 32, 3), np.uint8))
    net = models.load(args.clip_model, args.pretrained, device, args.size)
    return feat, net.encode_image, models.image_spec(net), next(net.parameters()).dtype


def textbook(forward: Any, images: np.ndarray, spec: Any, device: str, dtype: Any) -> float:
    """images/s of the per-image PIL pattern (batch of one, same model and dtype)."""
    import torch
    from PIL import Image
    from torchvision import transforms as T

    mode = T.InterpolationMode.BICUBIC if spec.interpolation == "bicubic" else \
        T.InterpolationMode.BILINEAR
    tf = T.Compose([T.Resize(spec.size, mode), T.CenterCrop(spec.size), T.ToTensor(),
                    T.Normalize(spec.mean, spec.std)])
    start = time.perf_counter()
    with torch.no_grad():
        for img in images:
            x = tf(Image.fromarray(img))[None].to(device, dtype)
            forward(x).float().cpu()
    return len(images) / (time.perf_counter() - start)


def ceiling(forward: Any, images: np.ndarray, spec: Any, device: str, dtype: Any,
            batch: int) -> float:
    """images/s of the raw forward on batches already preprocessed on the device."""
    import torch

    from mmbench_torch.batching import preprocess

    with torch.inference_mode():
        ready = [preprocess(torch.from_numpy(images[i:i + batch]).to(device), spec, dtype)
                 for i in range(0, len(images), batch)]
        forward(ready[0])
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        start = time.perf_counter()
        for x in ready:
            forward(x)
        if device.startswith("cuda"):
            torch.cuda.synchronize()
    return len(images) / (time.perf_counter() - start)


def feat_batch(device: str, size: int) -> int:
    """The ceiling's batch when ``--batch 0`` (auto): the featurizer's CPU default, or 1024 on
    a GPU."""
    from mmbench_torch.batching import cpu_batch

    return 1024 if device.startswith("cuda") else cpu_batch(size)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", choices=["efficientnet-lite0", "clip"], default="efficientnet-lite0")
    ap.add_argument("--clip-model", default="ViT-B-32")
    ap.add_argument("--pretrained", default="none")
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--n", type=int, default=512)
    ap.add_argument("--n-textbook", type=int, default=128, help="images for the slow path (a)")
    ap.add_argument("--batch", type=int, default=0, help="0 = the featurizer's automatic choice")
    ap.add_argument("--device", default="auto")
    args = ap.parse_args()

    import torch

    from mmbench_torch.batching import resolve_device

    device = resolve_device(args.device)
    images, source = load_images(args.n)
    feat, forward, spec, dtype = build(args, device)
    a = textbook(plain_forward(args, device, dtype), images[:args.n_textbook], spec, device,
                 dtype)
    b = ceiling(forward, images, spec, device, dtype, args.batch or feat_batch(device, spec.size))
    start = time.perf_counter()
    feat.transform(images)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    c = len(images) / (time.perf_counter() - start)
    name = args.model if args.model != "clip" else f"open_clip {args.clip_model}/{args.pretrained}"
    where = torch.cuda.get_device_name() if device.startswith("cuda") else \
        f"CPU, {torch.get_num_threads()} threads"
    print(f"{name} at {args.size} px, {len(images)} {source} images, batch "
          f"{args.batch or feat_batch(device, spec.size)}, "
          f"{where}, dtype {dtype}")
    print(f"(a) textbook per-image : {a:9.1f} images/s  ({min(args.n_textbook, len(images))} images)")
    print(f"(b) raw forward ceiling: {b:9.1f} images/s")
    print(f"(c) mmbench featurizer : {c:9.1f} images/s")
    print(f"c/a = {c / a:.2f}   c/b = {c / b:.2f}")


if __name__ == "__main__":
    main()

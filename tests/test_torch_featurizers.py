"""The shared fast path (device, dtype, batch size, batched preprocessing) and EfficientNet-Lite0."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from cifar_slice import cifar_images
from sklearn.linear_model import RidgeClassifier
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from mmbench.errors import UserError
from mmbench.testing import check_featurizer, tiny_data
from mmbench_torch.batching import (
    ImageSpec,
    batch_for_memory,
    cpu_batch,
    check_texts,
    choose_dtype,
    encode_images,
    preprocess,
    resolve_device,
)
from mmbench_torch.efficientnet import EfficientNetLite0


def test_device_resolution_and_dtype(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == "cpu"
    assert resolve_device("cpu") == "cpu"
    with pytest.raises(UserError, match="no CUDA GPU"):
        resolve_device("cuda")
    with pytest.raises(UserError, match="device must be"):
        resolve_device("tpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto") == "cuda"
    assert choose_dtype("cpu") == torch.float32
    assert choose_dtype("cuda", bf16_supported=True) == torch.bfloat16
    assert choose_dtype("cuda:1", bf16_supported=False) == torch.float16


def test_batch_size_from_free_memory() -> None:
    gib = 1 << 30
    assert batch_for_memory(10 * gib, 6 * (1 << 20)) == 1024  # 0.6*10 GiB / 6 MiB = 1024
    assert batch_for_memory(10 * gib, 7 * (1 << 20)) == 512
    assert batch_for_memory(1 << 20, 10 * gib) == 1  # never below one
    assert batch_for_memory(80 * gib, 1024, cap=256) == 256
    assert (cpu_batch(128), cpu_batch(224), cpu_batch(32), cpu_batch(1024)) == (64, 16, 64, 4)


def test_batched_preprocess_matches_per_image_torchvision() -> None:
    from torchvision.transforms import InterpolationMode
    from torchvision.transforms import functional as TF

    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (5, 24, 40, 3), dtype=np.uint8)
    spec = ImageSpec(16, (0.5, 0.4, 0.3), (0.2, 0.25, 0.3), "bilinear", crop=True)
    batched = preprocess(torch.from_numpy(images), spec, torch.float32).numpy()
    for i, img in enumerate(images):
        t = torch.from_numpy(img).permute(2, 0, 1).float() / 255
        t = TF.resize(t, [16], InterpolationMode.BILINEAR, antialias=True)
        t = TF.center_crop(t, [16, 16])
        t = TF.normalize(t, spec.mean, spec.std)
        np.testing.assert_allclose(batched[i], t.numpy(), atol=1e-4)


def test_encode_images_batches_cover_every_row() -> None:
    images = np.arange(7 * 4 * 4 * 3, dtype=np.int64).reshape(7, 4, 4, 3).astype(np.uint8)
    spec = ImageSpec(4, (0.0, 0.0, 0.0), (1.0, 1.0, 1.0), "bilinear", crop=False)
    out = encode_images(lambda x: x.flatten(1)[:, :5], images, spec, "cpu", torch.float32,
                        batch_size=3)
    want = images.transpose(0, 3, 1, 2).reshape(7, -1)[:, :5] / 255.0
    np.testing.assert_allclose(out, want, atol=1e-6)


def test_empty_caption_named() -> None:
    with pytest.raises(UserError, match="caption 2 is empty"):
        check_texts(["a cat", "a dog", "  "], "sbert")


def test_efficientnet_contract_and_bad_params(tmp_path) -> None:  # type: ignore[no-untyped-def]
    check_featurizer(EfficientNetLite0(image_size=32), tiny_data(24, size=8))
    with pytest.raises(ValueError, match="image_size"):
        EfficientNetLite0(image_size=8)
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(UserError, match="cannot read checkpoint .*bad.pth"):
        EfficientNetLite0(weights=str(bad)).transform(np.zeros((1, 32, 32, 3), np.uint8))


def test_efficientnet_imagenet_features_beat_pixels_on_cifar() -> None:
    images, y = cifar_images(per_class=20)
    feats = EfficientNetLite0(image_size=96, batch_size=50).transform(images)
    assert feats.shape == (200, 1280) and feats.dtype == np.float32
    clf = make_pipeline(StandardScaler(), RidgeClassifier(alpha=100.0))  # fast, deterministic
    deep = cross_val_score(clf, feats, y, cv=4).mean()
    pixels = cross_val_score(clf, images.reshape(200, -1) / 255.0, y, cv=4).mean()
    assert deep > pixels + 0.15, (deep, pixels)


def test_preprocessing_does_not_depend_on_the_thread_count() -> None:
    """CPU interpolation rounds differently on 1 and 2 threads (EfficientNet features moved by
    2e-5), so a pool worker's features differed from a 2-core client's: it runs on one."""
    images, _ = cifar_images(7)  # 70 real 32 px images, upsampled to 128 px
    spec = ImageSpec(128, (0.5, 0.5, 0.5), (0.5, 0.5, 0.5), "bilinear", crop=True)
    before = torch.get_num_threads()
    try:
        out = []
        for n in (1, 2):
            torch.set_num_threads(n)
            out.append(preprocess(torch.from_numpy(images), spec, torch.float32))
        assert torch.get_num_threads() == 2  # the caller's thread count is left as it was
    finally:
        torch.set_num_threads(before)
    assert torch.equal(out[0], out[1])

"""The MLP classifier's training machinery: a seeded stratified validation split, the network
as plain tensors (no ``nn.Module``, so nothing draws from torch's global RNG), mini-batch AdamW
over full-batch tensors kept on the device, early stopping that restores the best epoch, and
torch's intra-op thread count scoped to one call.

torch is imported inside the functions (it is heavy).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: rows per forward pass when predicting (bounds device memory on large test sets)
PREDICT_CHUNK = 8192


def holdout(codes: np.ndarray, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """Indices of a stratified validation part: each class gives ``round(fraction * count)``
    of its samples, drawn with ``rng``, but always leaves at least one in training (a class
    seen once stays in training). Empty when ``fraction`` is 0 or the data is too small.

    Not ``train_test_split(stratify=...)``: that refuses classes with one sample and
    validation parts smaller than the number of classes, which small training splits meet."""
    if fraction <= 0:
        return np.empty(0, dtype=np.int64)
    picked = []
    for c in np.unique(codes):
        members = np.flatnonzero(codes == c)
        k = min(int(round(fraction * len(members))), len(members) - 1)
        if k > 0:
            picked.append(rng.choice(members, size=k, replace=False))
    return np.sort(np.concatenate(picked)) if picked else np.empty(0, dtype=np.int64)


def cores() -> int:
    """The cores this process may use."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


#: below this many multiply-adds per optimizer step (or per predicted chunk), ``n_jobs=None``
#: runs on one thread: the ops are too small for threads to pay, and on a busy machine
#: torch's spinning OpenMP threads made such steps 5-10x slower (see docs/classifiers.md)
SMALL_STEP = 8_000_000


def step_work(rows: int, sizes: Sequence[int]) -> int:
    """Multiply-adds of one forward pass of ``rows`` rows through layers ``sizes``."""
    return rows * sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))


@contextmanager
def torch_threads(n_jobs: int | None, work: int | None = None) -> Iterator[None]:
    """Run the block with torch's intra-op thread count set to ``n_jobs`` (-1: every core
    this process may use; None: one thread when ``work`` is below :data:`SMALL_STEP`, else
    torch's setting as it is), restoring the previous count after."""
    import torch

    if n_jobs is None:
        if work is None or work >= SMALL_STEP:
            yield
            return
        n_jobs = 1
    want = cores() if n_jobs == -1 else n_jobs
    old = torch.get_num_threads()
    if want != old:
        torch.set_num_threads(want)
    try:
        yield
    finally:
        if want != old:
            torch.set_num_threads(old)


@dataclass
class Net:
    """Weights ``[W1, b1, W2, b2, ...]`` of a stack of linear layers (torch tensors)."""

    params: list[Any]
    activation: str
    dropout: float

    def forward(self, x: Any, gen: Any = None) -> Any:
        """Logits; with a generator ``gen``, dropout is applied after each hidden layer
        (training mode), with masks drawn from ``gen`` only."""
        import torch

        act = {"relu": torch.relu, "tanh": torch.tanh,
               "gelu": torch.nn.functional.gelu}[self.activation]
        layers = len(self.params) // 2
        for i in range(layers):
            w, b = self.params[2 * i], self.params[2 * i + 1]
            x = torch.addmm(b, x, w.T)
            if i < layers - 1:
                x = act(x)
                if gen is not None and self.dropout > 0:
                    keep = torch.empty_like(x).bernoulli_(1.0 - self.dropout, generator=gen)
                    x = x * keep / (1.0 - self.dropout)
        return x


def init_net(sizes: Sequence[int], activation: str, dropout: float, gen: Any,
             device: Any) -> Net:
    """Layers ``sizes[0] -> ... -> sizes[-1]``: He-uniform weights for ReLU/GELU layers,
    Glorot-uniform for tanh layers and the output layer, zero biases; drawn from ``gen``."""
    import torch

    params = []
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        w = torch.empty(fan_out, fan_in, device=device)
        last = i == len(sizes) - 2
        if last or activation == "tanh":
            gain = 1.0 if last else 5.0 / 3.0
            torch.nn.init.xavier_uniform_(w, gain=gain, generator=gen)
        else:
            torch.nn.init.kaiming_uniform_(w, nonlinearity="relu", generator=gen)
        params += [w.requires_grad_(), torch.zeros(fan_out, device=device, requires_grad=True)]
    return Net(params, activation, dropout)


@dataclass
class Trained:
    """What training produced: the weights (of the best epoch when validating) and curves."""

    net: Net
    epochs: int
    best_epoch: int
    loss_curve: list[float] = field(default_factory=list)
    validation_curve: list[float] = field(default_factory=list)


def train(net: Net, x: Any, y: Any, rows: Any, val_rows: Any, *, weight: Any, lr: float,
          weight_decay: float, batch_size: int, max_epochs: int, patience: int,
          gen: Any) -> Trained:
    """AdamW on mini-batches of the ``rows`` of ``(x, y)`` (tensors on the device; the row
    order is reshuffled each epoch with ``gen``), with class weights ``weight`` (or None) in
    the cross-entropy. With validation rows (``val_rows`` not None), stop after ``patience``
    epochs without a lower validation loss and put back the weights of the epoch with the
    lowest one."""
    import torch
    import torch.nn.functional as F

    opt = torch.optim.AdamW(net.params, lr=lr, weight_decay=weight_decay)
    n = len(rows)
    x_val, y_val = (x[val_rows], y[val_rows]) if val_rows is not None else (None, None)
    out = Trained(net, 0, 0)
    best_loss, best, waited = float("inf"), None, 0
    for epoch in range(1, max_epochs + 1):
        order = rows[torch.randperm(n, generator=gen, device=x.device)]
        total = torch.zeros((), device=x.device)
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size]
            loss = F.cross_entropy(net.forward(x[idx], gen), y[idx], weight=weight)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.detach() * len(idx)
        out.loss_curve.append(float(total) / n)  # one device sync per epoch
        out.epochs = epoch
        if not np.isfinite(out.loss_curve[-1]):
            raise ValueError(f"mlp diverged: the training loss is {out.loss_curve[-1]} at epoch "
                             f"{epoch} (lr={lr}); lower lr or keep standardize = true")
        if x_val is None:
            continue
        with torch.no_grad():
            val = float(F.cross_entropy(net.forward(x_val), y_val, weight=weight))
        out.validation_curve.append(val)
        if val < best_loss:
            best_loss, waited, out.best_epoch = val, 0, epoch
            best = [p.detach().clone() for p in net.params]
        else:
            waited += 1
            if waited >= patience:
                break
    if best is not None:
        with torch.no_grad():
            for p, b in zip(net.params, best, strict=True):
                p.copy_(b)
    else:
        out.best_epoch = out.epochs
    return out

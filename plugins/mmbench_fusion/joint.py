"""Structure-level fusion learned with torch on the training split: low-rank multimodal fusion
(Liu et al. 2018) and a joint embedding. Each trains a small network with a linear softmax head,
then the cell's classifier is trained on the network's fused representation.

torch is imported inside the methods (it is heavy); ``device`` is injected by the runner from
the suite's resolved device (``cpu`` by default, ``cuda`` when the suite allows it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from mmbench.protocols import MakeClassifier, RepresentationFusion, Views, missing_rows

from .common import Standardizer, check_device, check_positive_int, check_seed


class _TorchFusion(RepresentationFusion):
    """Standardize each view, train ``self._network`` with a softmax head, then classify its
    representation with the cell's classifier.

    :param dim: width of the fused representation the cell's classifier is trained on.
    :param epochs: passes over the training split.
    :param lr: AdamW learning rate (> 0).
    :param weight_decay: AdamW's decoupled weight decay (>= 0).
    :param batch_size: samples per optimizer step.
    """

    level = "structure"
    min_modalities = 2

    def __init__(self, *, dim: int = 32, epochs: int = 30, lr: float = 3e-3,
                 weight_decay: float = 1e-4, batch_size: int = 256, device: str = "cpu",
                 random_state: int | None = None) -> None:
        self.dim = check_positive_int("dim", dim)
        self.epochs = check_positive_int("epochs", epochs)
        self.batch_size = check_positive_int("batch_size", batch_size)
        for name, value in (("lr", lr), ("weight_decay", weight_decay)):
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ValueError(f"{name} must be a non-negative number, got {value!r}")
        if lr <= 0:
            raise ValueError(f"lr must be positive, got {lr!r}")
        self.lr = float(lr)
        self.weight_decay = float(weight_decay)
        self.device = check_device(device)
        self.random_state = check_seed(random_state)
        self.clf_: Any = None

    def _network(self, dims: dict[str, int]) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def _inputs(self, views: Views) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Standardized views (missing rows -> zeros) and their presence masks."""
        present = {m: ~missing_rows(np.asarray(views[m])) for m in self.names_}
        return self.std_.transform(views), present

    def _torch_device(self) -> Any:
        import torch

        if self.device.startswith("cuda") and not torch.cuda.is_available():
            raise ValueError(f"device={self.device!r} but torch sees no CUDA GPU; use 'cpu'")
        return torch.device(self.device)

    def fit(self, views: Views, y: np.ndarray, make_classifier: MakeClassifier) -> _TorchFusion:
        import torch

        self._set_classes(y)
        self.names_ = sorted(views)
        self.dims_ = {m: int(views[m].shape[1]) for m in self.names_}
        self.std_ = Standardizer().fit(views)
        dev = self._torch_device()
        seed = 0 if self.random_state is None else int(self.random_state)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.net_ = self._network(self.dims_).to(dev)
            head = torch.nn.Linear(self.dim, self.n_classes_).to(dev)
            z, present = self._inputs(views)
            xs = [torch.as_tensor(z[m], dtype=torch.float32, device=dev) for m in self.names_]
            ps = [torch.as_tensor(present[m], device=dev) for m in self.names_]
            yt = torch.tensor(y, dtype=torch.long, device=dev)  # a copy: y is read-only
            params = [*self.net_.parameters(), *head.parameters()]
            opt = torch.optim.AdamW(params, lr=self.lr, weight_decay=self.weight_decay)
            gen = torch.Generator().manual_seed(seed)
            self.net_.train()
            for _ in range(self.epochs):
                order = torch.randperm(len(y), generator=gen).to(dev)
                for start in range(0, len(y), self.batch_size):
                    idx = order[start:start + self.batch_size]
                    opt.zero_grad()
                    loss = self._loss(head, [x[idx] for x in xs], [p[idx] for p in ps], yt[idx])
                    loss.backward()
                    opt.step()
            self.net_.eval()
        self.clf_ = make_classifier().fit(self.represent(views), y)
        return self

    def __getstate__(self) -> dict[str, Any]:
        """Pickle the network as its weights (its class is built at run time, so it cannot
        be pickled itself): executors send fitted fusions to other processes."""
        state = self.__dict__.copy()
        net = state.pop("net_", None)
        if net is not None:
            state["net_weights_"] = {k: v.detach().cpu().numpy()
                                     for k, v in net.state_dict().items()}
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        weights = state.pop("net_weights_", None)
        self.__dict__.update(state)
        if weights is not None:
            import torch

            net = self._network(self.dims_)
            net.load_state_dict({k: torch.as_tensor(v) for k, v in weights.items()})
            self.net_ = net.to(self._torch_device()).eval()

    def _loss(self, head: Any, xs: list[Any], ps: list[Any], y: Any) -> Any:
        import torch.nn.functional as F

        return F.cross_entropy(head(self.net_(xs, ps)), y)

    def represent(self, views: Views) -> np.ndarray:
        """The network's fused representation, ``float64[N, dim]``."""
        import torch

        dev = self._torch_device()
        z, present = self._inputs(views)
        with torch.no_grad():
            xs = [torch.as_tensor(z[m], dtype=torch.float32, device=dev) for m in self.names_]
            ps = [torch.as_tensor(present[m], device=dev) for m in self.names_]
            return self.net_(xs, ps).cpu().numpy().astype(np.float64)


def _module(build: Callable[[Any], Any]) -> Any:
    """Build a ``torch.nn.Module`` subclass lazily (torch is imported only when used)."""
    import torch

    return build(torch)


class LowRankTensor(_TorchFusion):
    """Low-rank multimodal fusion (Liu et al. 2018): the tensor-fusion product of the
    bias-augmented modalities [x, 1], computed without forming the tensor through ``rank``
    modality-specific factors: h = sum_r prod_m (W_m^r [x_m, 1]). Trained end to end with a
    softmax head on the training split; the cell's classifier is then fitted on h (``dim``).

    Missing modality: its standardized input is the training mean (zeros), so only its bias
    factor remains and h depends on the present modalities alone.

    :param rank: number of modality-specific factors summed (the rank of the fused tensor).
    """

    def __init__(self, *, rank: int = 4, dim: int = 32, epochs: int = 30, lr: float = 3e-3,
                 weight_decay: float = 1e-4, batch_size: int = 256, device: str = "cpu",
                 random_state: int | None = None) -> None:
        super().__init__(dim=dim, epochs=epochs, lr=lr, weight_decay=weight_decay,
                         batch_size=batch_size, device=device, random_state=random_state)
        self.rank = check_positive_int("rank", rank)

    def _network(self, dims: dict[str, int]) -> Any:
        rank, out = self.rank, self.dim

        def build(torch: Any) -> Any:
            class LMF(torch.nn.Module):
                def __init__(self) -> None:
                    super().__init__()
                    self.factors = torch.nn.ModuleList(
                        torch.nn.Linear(d + 1, rank * out, bias=False) for d in dims.values())
                    self.mix = torch.nn.Parameter(torch.full((rank,), 1.0 / rank))
                    self.bias = torch.nn.Parameter(torch.zeros(out))

                def forward(self, xs: list[Any], ps: list[Any]) -> Any:
                    prod = None
                    for x, factor in zip(xs, self.factors):
                        one = torch.ones(len(x), 1, device=x.device)
                        f = factor(torch.cat([x, one], dim=1)).view(len(x), rank, out)
                        prod = f if prod is None else prod * f
                    return torch.einsum("r,nro->no", self.mix, prod) + self.bias

            return LMF()

        return _module(build)


class JointEmbedding(_TorchFusion):
    """A joint embedding: one small MLP per modality (hidden ``hidden``) into a shared
    ``dim``-dimensional space, trained on the training split so that each modality's embedding
    and their mean predict the class (a shared softmax head), with ``align`` weighting a
    contrastive (InfoNCE, CLIP-style) term that pulls a sample's modalities together. The cell's
    classifier is fitted on the mean embedding.

    Missing modality: the mean over the embeddings of the modalities a sample has (each lives in
    the same space); none at all: zeros.

    :param hidden: width of each modality's hidden layer.
    :param align: weight (>= 0) of the contrastive term; 0 trains on the class alone.
    :param temperature: temperature (> 0) of the contrastive term's softmax.
    """

    def __init__(self, *, dim: int = 32, hidden: int = 128, align: float = 0.5,
                 temperature: float = 0.1, epochs: int = 30, lr: float = 3e-3,
                 weight_decay: float = 1e-4, batch_size: int = 256, device: str = "cpu",
                 random_state: int | None = None) -> None:
        super().__init__(dim=dim, epochs=epochs, lr=lr, weight_decay=weight_decay,
                         batch_size=batch_size, device=device, random_state=random_state)
        self.hidden = check_positive_int("hidden", hidden)
        for name, value in (("align", align), ("temperature", temperature)):
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ValueError(f"{name} must be a non-negative number, got {value!r}")
        if temperature <= 0:
            raise ValueError(f"temperature must be positive, got {temperature!r}")
        self.align = float(align)
        self.temperature = float(temperature)

    def _network(self, dims: dict[str, int]) -> Any:
        hidden, out = self.hidden, self.dim

        def build(torch: Any) -> Any:
            class Joint(torch.nn.Module):
                def __init__(self) -> None:
                    super().__init__()
                    self.encoders = torch.nn.ModuleList(
                        torch.nn.Sequential(torch.nn.Linear(d, hidden), torch.nn.ReLU(),
                                            torch.nn.Linear(hidden, out))
                        for d in dims.values())

                def embed(self, xs: list[Any]) -> list[Any]:
                    return [enc(x) for enc, x in zip(self.encoders, xs)]

                def forward(self, xs: list[Any], ps: list[Any]) -> Any:
                    embs = torch.stack(self.embed(xs))  # [k, n, out]
                    w = torch.stack(ps).float().unsqueeze(-1)  # [k, n, 1]
                    return (embs * w).sum(0) / w.sum(0).clamp(min=1.0)

            return Joint()

        return _module(build)

    def _loss(self, head: Any, xs: list[Any], ps: list[Any], y: Any) -> Any:
        import torch
        import torch.nn.functional as F

        embs = self.net_.embed(xs)
        mean = torch.stack(embs).mean(0)
        loss = F.cross_entropy(head(mean), y)
        loss = loss + sum(F.cross_entropy(head(e), y) for e in embs) / len(embs)
        if self.align > 0 and len(y) > 1:
            normed = [F.normalize(e, dim=1) for e in embs]
            target = torch.arange(len(y), device=y.device)
            pairs = [(a, b) for i, a in enumerate(normed) for b in normed[i + 1:]]
            nce = sum(F.cross_entropy(a @ b.T / self.temperature, target)
                      + F.cross_entropy(b @ a.T / self.temperature, target) for a, b in pairs)
            loss = loss + self.align * nce / (2 * len(pairs))
        return loss

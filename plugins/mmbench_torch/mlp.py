"""``mlp``: a multilayer perceptron classifier in torch (CPU or CUDA) with scikit-learn's
estimator contract. The training loop lives in :mod:`.training`."""

from __future__ import annotations

import re
from numbers import Integral, Real
from typing import Any, ClassVar, Literal

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from .training import PREDICT_CHUNK, holdout, init_net, step_work, torch_threads, train

_CUDA = re.compile(r"cuda(:\d+)?")


class MLP(ClassifierMixin, BaseEstimator):
    """Multilayer perceptron (torch): ReLU hidden layers with dropout, softmax output, AdamW,
    early stopping on a stratified validation part of the training split.

    Inputs are standardized with statistics of the data given to ``fit`` (the training
    split). Training runs on full tensors kept on the device, reshuffled every epoch by a
    seeded generator; every random draw (weights, validation split, shuffling, dropout) comes
    from ``random_state``, so on CPU the same seed gives identical predictions (with the same
    thread count), and torch's and numpy's global random state are left untouched. On CUDA
    results agree with CPU to float precision but are not guaranteed bit-identical.

    The fitted model holds only numpy arrays (``coefs_``, ``intercepts_``, the
    standardization), so it pickles small and predicts on any device.

    :param hidden: hidden layer sizes, input to output: an integer (one layer) or a list of
        integers; ``[]`` is multinomial logistic regression. In a suite a list is a sweep, so
        ``hidden = [128, 512]`` is two one-layer variants and ``hidden = [[256, 128]]`` one
        two-layer network.
    :param activation: ``"relu"``, ``"gelu"`` or ``"tanh"`` after each hidden layer.
    :param dropout: probability of zeroing a hidden unit while training, in [0, 1).
    :param weight_decay: AdamW's decoupled weight decay (>= 0).
    :param lr: AdamW learning rate (> 0).
    :param batch_size: samples per optimizer step.
    :param max_epochs: upper bound on passes over the training part.
    :param validation_fraction: share of each class held out of the training split to decide
        when to stop (0 trains all ``max_epochs`` epochs on everything). Each class gives
        ``round(fraction * count)`` samples and keeps at least one for training.
    :param patience: stop after this many epochs without a lower validation loss, then put
        back the weights of the best epoch.
    :param class_weight: ``None``, ``"balanced"`` (weights inversely proportional to class
        frequency) or a mapping label -> weight, applied in the cross-entropy.
    :param standardize: subtract the training mean and divide by the training standard
        deviation of each feature (constant features are left unscaled).
    :param random_state: seed of every random draw (the runner passes the cell's seed).
    :param device: ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"auto"`` (CUDA when torch sees a
        GPU); the runner passes the suite's device.
    :param n_jobs: torch threads during ``fit`` and ``predict`` (-1: every core this process
        may use), restored afterwards; the runner passes the cores a cell may use when cells
        run side by side. None: one thread for small networks (under 8 million multiply-adds
        per step, where threads cost more than they give), else torch's current setting.
    """

    #: mmbench reads nothing else from the class; scikit-learn validates these in ``fit``.
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "hidden": [Interval(Integral, 1, None, closed="left"), list, tuple],
        "activation": [StrOptions({"relu", "gelu", "tanh"})],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "patience": [Interval(Integral, 1, None, closed="left")],
        "class_weight": [dict, StrOptions({"balanced"}), None],
        "standardize": ["boolean"],
        "random_state": ["random_state"],
        "device": [str],
        "n_jobs": [Interval(Integral, 1, None, closed="left"), Options(Integral, {-1}), None],
    }

    def __init__(self, *, hidden: int | tuple[int, ...] | list[int] = (256,),
                 activation: Literal["relu", "gelu", "tanh"] = "relu", dropout: float = 0.2,
                 weight_decay: float = 1e-4, lr: float = 1e-3, batch_size: int = 256,
                 max_epochs: int = 200, validation_fraction: float = 0.1, patience: int = 10,
                 class_weight: str | dict[Any, float] | None = None, standardize: bool = True,
                 random_state: int | None = None, device: str = "cpu",
                 n_jobs: int | None = None) -> None:
        self.hidden = hidden
        self.activation = activation
        self.dropout = dropout
        self.weight_decay = weight_decay
        self.lr = lr
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.class_weight = class_weight
        self.standardize = standardize
        self.random_state = random_state
        self.device = device
        self.n_jobs = n_jobs

    def _validate_params(self) -> None:
        """scikit-learn's checks of :attr:`_parameter_constraints`, then the layer sizes and
        the device name."""
        super()._validate_params()
        sizes = self._sizes()
        if any(isinstance(h, bool) or not isinstance(h, Integral) or h < 1 for h in sizes):
            raise ValueError(f"The 'hidden' parameter of MLP must be a positive integer or a "
                             f"list of positive integers. Got {self.hidden!r} instead.")
        if self.device != "auto" and self.device != "cpu" and not _CUDA.fullmatch(self.device):
            raise ValueError(f"The 'device' parameter of MLP must be 'auto', 'cpu', 'cuda' or "
                             f"'cuda:N'. Got {self.device!r} instead.")

    def _sizes(self) -> list[int]:
        return [self.hidden] if isinstance(self.hidden, Integral) else list(self.hidden)

    def fit(self, X: Any, y: Any) -> MLP:
        """Train on ``X`` (n_samples x n_features, float; sparse input is refused: densify it
        with ``.toarray()``) and labels ``y`` (any sortable labels)."""
        import torch

        from .batching import resolve_device

        self._validate_params()
        X, y = validate_data(self, X, y, dtype=(np.float64, np.float32))
        check_classification_targets(y)
        self.classes_, codes = np.unique(y, return_inverse=True)
        seed = _seed(self.random_state)
        self.mean_, self.scale_ = _moments(X) if self.standardize else (None, None)
        if len(self.classes_) == 1:  # nothing to learn: every prediction is that class
            self.coefs_, self.intercepts_ = [], []
            self.n_iter_ = self.best_epoch_ = 0
            self.loss_curve_, self.validation_loss_curve_ = [], []
            return self
        device = torch.device(resolve_device(self.device))
        val = holdout(codes, self.validation_fraction, np.random.default_rng(seed))
        fit_rows = np.setdiff1d(np.arange(len(codes)), val)
        gen = torch.Generator(device=device).manual_seed(seed)
        sizes = [X.shape[1], *self._sizes(), len(self.classes_)]
        with torch_threads(self.n_jobs, step_work(min(self.batch_size, len(X)), sizes)):
            x = self._standardized(X, device, torch.float32)
            yt = torch.as_tensor(codes, dtype=torch.long, device=device)
            weight = self._class_weights(codes, device)
            net = init_net(sizes, self.activation, float(self.dropout), gen, device)
            done = train(net, x, yt, torch.as_tensor(fit_rows, device=device),
                         torch.as_tensor(val, device=device) if len(val) else None,
                         weight=weight, lr=float(self.lr), weight_decay=float(self.weight_decay),
                         batch_size=int(self.batch_size), max_epochs=int(self.max_epochs),
                         patience=int(self.patience), gen=gen)
        arrays = [p.detach().cpu().numpy() for p in done.net.params]
        self.coefs_, self.intercepts_ = arrays[0::2], arrays[1::2]
        self.n_iter_, self.best_epoch_ = done.epochs, done.best_epoch
        self.loss_curve_, self.validation_loss_curve_ = done.loss_curve, done.validation_curve
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, one column per entry of ``classes_`` (computed in float64)."""
        import torch

        from .batching import resolve_device
        from .training import Net

        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=(np.float64, np.float32))
        if len(self.classes_) == 1:
            return np.ones((len(X), 1))
        device = torch.device(resolve_device(self.device))
        out = []
        sizes = [self.n_features_in_, *(len(b) for b in self.intercepts_)]
        work = step_work(min(len(X), PREDICT_CHUNK), sizes)
        with torch_threads(self.n_jobs, work), torch.no_grad():
            params = []
            for w, b in zip(self.coefs_, self.intercepts_, strict=True):
                params += [torch.as_tensor(w, dtype=torch.float64, device=device),
                           torch.as_tensor(b, dtype=torch.float64, device=device)]
            net = Net(params, self.activation, 0.0)
            for start in range(0, len(X), PREDICT_CHUNK):
                x = self._standardized(X[start:start + PREDICT_CHUNK], device, torch.float64)
                out.append(torch.softmax(net.forward(x), dim=1).cpu().numpy())
        return np.concatenate(out) if out else np.empty((0, len(self.classes_)))

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of each row."""
        proba = self.predict_proba(X)  # first: it raises NotFittedError before fit
        return self.classes_[np.argmax(proba, axis=1)]

    def _standardized(self, X: np.ndarray, device: Any, dtype: Any) -> Any:
        """``X`` as a ``dtype`` tensor on ``device``, standardized (a new tensor: the caller's
        array is never written, and a read-only one is copied rather than shared)."""
        import torch

        arr = np.asarray(X, dtype=np.float32 if dtype == torch.float32 else np.float64)
        if not arr.flags.writeable:
            arr = arr.copy()
        x = torch.from_numpy(arr).to(device)
        if self.mean_ is None:
            return x
        mean = torch.as_tensor(self.mean_, device=device, dtype=dtype)
        scale = torch.as_tensor(self.scale_, device=device, dtype=dtype)
        return torch.sub(x, mean).div_(scale)

    def _class_weights(self, codes: np.ndarray, device: Any) -> Any:
        import torch
        from sklearn.utils.class_weight import compute_class_weight

        if self.class_weight is None:
            return None
        wanted = self.class_weight
        if isinstance(wanted, dict):  # TOML keys are strings: "3" names the label 3
            by_text = {str(c): c for c in self.classes_.tolist()}
            wanted = {by_text.get(k, k) if isinstance(k, str) else k: v
                      for k, v in wanted.items()}
        weights = compute_class_weight(wanted, classes=self.classes_, y=self.classes_[codes])
        return torch.as_tensor(weights, dtype=torch.float32, device=device)


def _seed(random_state: Any) -> int:
    """An int seed: ``random_state`` itself, a draw from a given ``RandomState``, or fresh OS
    entropy for None (never numpy's global generator)."""
    if random_state is None:
        return int(np.random.SeedSequence().generate_state(1)[0])
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(np.iinfo(np.int32).max))
    return int(random_state)


def _moments(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature mean and standard deviation in float64 (1 for constant features)."""
    mean = X.mean(axis=0, dtype=np.float64)
    std = X.std(axis=0, dtype=np.float64)
    return mean, np.where(std > 1e-12 * np.maximum(np.abs(mean), 1.0), std, 1.0)

"""A small CNN on the latent tensors (C, H, W) whose head keeps spatial position (the faces are aligned: where a trace
sits matters); architecture, training and where batches come from: docs/how-to/thesis-scale.md."""

import copy
import logging
import re
from numbers import Real
from types import SimpleNamespace
from typing import Annotated

import numpy as np
import torch
from sklearn.utils._param_validation import Interval, StrOptions
from torch import nn

from jpegai_fd.classifiers.backend import COUNT, FRACTION, MINUS_ONE, NON_NEGATIVE, EstimatorFolds, estimator
from jpegai_fd.classifiers.backend import ProbaClassifier, holdout_split
from jpegai_fd.errors import UserError
from jpegai_fd.features.latent_source import CachedLatentTensors
from jpegai_fd.progress import progress

log = logging.getLogger(__name__)
EVAL_BATCH = 64  # images per forward pass when scoring: bounds memory (a DCT image is 384 KiB)


class LatentNet(nn.Module):
    """1x1 stem, stride-2 3x3 conv, ``depth - 1`` residual 3x3 blocks, a head that keeps position, one logit."""

    def __init__(
        self, channels: int, grid: tuple[int, int], width: int, depth: int, head_channels: int, dropout: float
    ):
        super().__init__()

        def conv(cin, cout, k, stride=1):
            return nn.Sequential(nn.Conv2d(cin, cout, k, stride, k // 2, bias=False), nn.BatchNorm2d(cout), nn.ReLU())

        self.stem = nn.Sequential(conv(channels, width, 1), conv(width, width, 3, stride=2))
        self.blocks = nn.ModuleList(conv(width, width, 3) for _ in range(max(depth - 1, 0)))
        h, w = -(-grid[0] // 2), -(-grid[1] // 2)
        self.head = nn.Sequential(
            conv(width, head_channels, 1), nn.Flatten(), nn.Dropout(dropout), nn.Linear(head_channels * h * w, 1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for block in self.blocks:
            x = x + block(x)
        return self.head(x).squeeze(1)


class TorchDevice(StrOptions):
    """The ``device`` constraint: cpu, cuda or cuda:N (StrOptions cannot say "any N")."""

    def __init__(self):
        super().__init__({"cpu", "cuda", "cuda:N"})

    def is_satisfied_by(self, val) -> bool:
        return isinstance(val, str) and re.fullmatch(r"cpu|cuda(:\d+)?", val) is not None

    def __str__(self) -> str:
        return "one of 'cpu', 'cuda', 'cuda:N'"


def resolve_device(device: str) -> torch.device:
    """``device`` (cpu, cuda, cuda:N; checked by :class:`TorchDevice`) when present, else cpu with one warning."""
    if device.startswith("cuda") and not torch.cuda.is_available():
        log.warning("cnn: device '%s' configured but no CUDA device is present; training on cpu", device)
        return torch.device("cpu")
    return torch.device(device)


@estimator
class CNNClassifier(ProbaClassifier):
    """Binary classifier over latent tensors (``grid`` = (H, W)), scikit-learn style; AdamW, early stopping after
    ``patience`` epochs. After fit: ``curves_``, ``best_epoch_``, ``classes_``."""

    needs_whole_latents = True  # only preprocessing with whole latents (flatten) feeds it
    grid: Annotated[tuple[int, int], "array-like"] = (16, 16)
    width: Annotated[int, COUNT] = 32
    depth: Annotated[int, COUNT] = 2
    head_channels: Annotated[int, COUNT] = 8
    dropout: Annotated[float, Interval(Real, 0, 1, closed="left")] = 0.3
    lr: Annotated[float, Interval(Real, 0, None, closed="neither")] = 1e-3
    weight_decay: Annotated[float, Interval(Real, 0, None, closed="left")] = 1e-3
    epochs: Annotated[int, COUNT] = 40
    batch_size: Annotated[int, COUNT] = 64
    patience: Annotated[int, COUNT] = 8
    validation_fraction: Annotated[float, FRACTION] = 0.1
    device: Annotated[str, TorchDevice()] = "cpu"
    n_jobs: Annotated[int, MINUS_ONE, COUNT] = 2
    random_state: Annotated[int, NON_NEGATIVE] = 0

    def _tensors(self, X):
        """``X`` as (n, C, H, W) tensors read on demand: a flatten matrix is viewed, not copied."""
        h, w = (int(v) for v in self.grid)
        if isinstance(X, CachedLatentTensors):
            if tuple(X.tensor_shape[1:]) != (h, w):
                raise UserError(
                    f"classifier.estimator.grid={[h, w]} differs from the cached latent grid "
                    f"{list(X.tensor_shape[1:])}; set it to the latent grid (image side / 16)"
                )
            return X
        if X.ndim != 2 or X.shape[1] % (h * w):
            raise UserError(
                f"classifier.estimator.grid={[h, w]} does not divide the {X.shape[-1]} features "
                f"per image; set it to the latent grid (image side / 16)"
            )
        V = X.reshape(X.shape[0], X.shape[1] // (h * w), h, w)
        return SimpleNamespace(
            tensor_shape=V.shape[1:], read=V.__getitem__, epoch_order=lambda rows, rng: rng.permutation(rows)
        )

    def _channel_stats(self, V, rows: np.ndarray) -> None:
        c, h, w = V.tensor_shape
        total, squares, rows = np.zeros(c), np.zeros(c), np.sort(rows)
        for i in range(0, len(rows), 32):  # small blocks: a float64 copy of 32 images is ~25 MB
            block = V.read(rows[i : i + 32]).astype(np.float64)
            total += block.sum(axis=(0, 2, 3))
            squares += np.square(block).sum(axis=(0, 2, 3))
        mean = total / (len(rows) * h * w)
        std = np.sqrt(np.maximum(squares / (len(rows) * h * w) - mean**2, 0)) + 1e-6
        self.mean_ = torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1)
        self.std_ = torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1)

    def _batch(self, V, idx: np.ndarray, device: torch.device) -> torch.Tensor:
        x = torch.from_numpy(V.read(idx))  # copies this batch only; callers pass sorted rows when order is free
        return ((x - self.mean_) / self.std_).to(device)

    def fit(
        self, X, y: np.ndarray, groups: np.ndarray | None = None, rows: np.ndarray | None = None
    ) -> "CNNClassifier":
        """Train on ``rows`` of ``X`` (default all) without copying ``X``."""
        V = self._tensors(X)
        rows = np.arange(len(y)) if rows is None else np.asarray(rows)
        self.classes_ = np.unique(y[rows])
        y01 = np.searchsorted(self.classes_, y).astype(np.float32)
        # Held out image by image, also when streaming: whole cache chunks would read less per epoch, but
        # neighbouring images are alike (measured: a chunk-wise split gave a validation loss 50x the
        # image-wise one and stopped at the first epoch), so the split would not represent the data.
        train_rows, val_rows = holdout_split(y01, groups, rows, self.validation_fraction, self.random_state)
        self._channel_stats(V, train_rows)
        device = resolve_device(self.device)
        self.device_ = str(device)  # where it trained (a configured GPU may be absent)
        torch.set_num_threads(int(self.n_jobs) if self.n_jobs > 0 else torch.get_num_threads())
        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
            torch.manual_seed(self.random_state)
            self._train(V, y01, train_rows, val_rows, device)
        return self

    def _train(self, V, y01, train_rows, val_rows, device) -> None:
        if device.type == "cuda":
            torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
        shape = (int(self.width), int(self.depth), int(self.head_channels), float(self.dropout))
        net = LatentNet(V.tensor_shape[0], tuple(self.grid), *shape).to(device)
        optimiser = torch.optim.AdamW(net.parameters(), lr=float(self.lr), weight_decay=float(self.weight_decay))
        loss_fn = nn.BCEWithLogitsLoss(reduction="sum")
        order_rng = np.random.default_rng(self.random_state)
        curves = {"train_loss": [], "val_loss": [], "train_accuracy": [], "val_accuracy": []}
        best, best_state, self.best_epoch_ = np.inf, None, 0
        bar = progress(f"cnn fit ({len(train_rows)} images)", int(self.epochs), "epochs", log)
        for epoch in range(int(self.epochs)):
            net.train()
            total = correct = 0.0
            order = V.epoch_order(train_rows, order_rng)
            for i in range(0, len(order), int(self.batch_size)):
                idx = np.sort(order[i : i + int(self.batch_size)])
                if len(idx) < 2:  # BatchNorm needs two samples
                    continue
                target = torch.from_numpy(y01[idx]).to(device)
                logits = net(self._batch(V, idx, device))
                loss = loss_fn(logits, target)
                optimiser.zero_grad()
                (loss / len(idx)).backward()
                optimiser.step()
                total += float(loss.detach())
                correct += float(((logits > 0).float() == target).sum())
            curves["train_loss"].append(total / len(order))
            curves["train_accuracy"].append(correct / len(order))
            val_logits, target = self._logits(net, V, val_rows, device), torch.from_numpy(y01[val_rows])
            curves["val_loss"].append(val_loss := float(loss_fn(val_logits, target)) / len(val_rows))
            curves["val_accuracy"].append(float(((val_logits > 0).float() == target).float().mean()))
            if val_loss < best - 1e-4:
                best, best_state, self.best_epoch_ = val_loss, copy.deepcopy(net.state_dict()), epoch
            elif epoch - self.best_epoch_ >= int(self.patience):  # ``patience`` epochs without a lower loss
                break
            bar.update()
        bar.close()  # early stopping ends before the last epoch
        net.load_state_dict(best_state)
        self.net_, self.curves_ = net.cpu().eval(), curves

    @torch.no_grad()
    def _logits(self, net: nn.Module, V, rows: np.ndarray, device: torch.device) -> torch.Tensor:
        net.eval()
        out = [net(self._batch(V, rows[i : i + EVAL_BATCH], device)).cpu() for i in range(0, len(rows), EVAL_BATCH)]
        return torch.cat(out) if out else torch.empty(0)

    def predict_proba(self, X) -> np.ndarray:
        V = self._tensors(X)
        p1 = torch.sigmoid(self._logits(self.net_, V, np.arange(X.shape[0]), torch.device("cpu"))).numpy()
        return np.column_stack([1 - p1, p1]).astype(np.float64)


class CNNFolds(EstimatorFolds):
    """Tuning backend: each fold trains on row indices of the matrix or cached tensors, not a copy."""

    def __call__(self, params: dict, fit_idx, val_idx) -> float:
        X, y = self.features.X, self.features.y
        model = self.classifier.make(params).fit(X, y, groups=self.features.groups, rows=np.asarray(fit_idx))
        return float(self.scorer(model, X[val_idx], y[val_idx]))

"""Trainer: fit / evaluate / predict for any ``torch.nn.Module`` fed by rnnkit loaders.

A loader is any re-iterable object with ``__len__`` yielding ``(inputs, target)`` batches, where
``inputs`` is a dict passed as ``model(**inputs)`` (a bare tensor is passed positionally). When the
loader has ``set_epoch(epoch)``, the trainer calls it before every epoch so that shuffling is a
pure function of (seed, epoch); with the trainer's ``seed`` this makes runs repeatable bit for bit
on the same machine and thread count, including runs resumed from a checkpoint.

A model with a ``regularization_loss()`` method (returning a scalar tensor or None) has its value
added, after each training forward call, to the loss that is back-propagated; the loss that is
logged (and validated) stays the data's. :mod:`rnnkit.nn.regularizers` (AR/TAR) uses it.

Inside a ``torch.distributed`` process group of several ranks (see
:mod:`rnnkit.train.distributed`), ``fit`` trains data-parallel: the model runs under
DistributedDataParallel, each rank takes its slice of every global batch, loss and metrics are
summed over ranks before they are logged, and only rank 0 prints and writes checkpoints.

Example:
    >>> import torch
    >>> from rnnkit.train import Trainer
    >>> torch.manual_seed(0)  # doctest: +ELLIPSIS
    <torch._C.Generator object at ...>
    >>> x = torch.randn(64, 3); y = (x.sum(1) > 0).long()
    >>> loader = [({"input": x[i:i + 16]}, y[i:i + 16]) for i in range(0, 64, 16)]
    >>> model = torch.nn.Linear(3, 2)
    >>> history = Trainer(lr=0.05, verbose=0).fit(model, loader, epochs=20)
    >>> history.last()["accuracy"] > 0.9, history.stopped_reason
    (True, 'completed')
"""

from __future__ import annotations

import contextlib
import copy
import json
import math
import random
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch

from rnnkit.allocator import keep_freed_memory
from rnnkit.errors import ConfigError, TrainingError
from rnnkit.threads import GOVERNOR
from rnnkit.train import distributed
from rnnkit.train.callbacks import Callback, CSVLogger, ModelCheckpoint
from rnnkit.train.checkpoint import (
    CHECKPOINT_NAME,
    ctrl_c_held,
    flatten_state,
    load_checkpoint,
    save_checkpoint,
    unflatten_state,
)
from rnnkit.train.finetune import (
    UNFREEZE_CHOICES,
    discriminative_groups,
    model_layer_groups,
    unfreeze_for_epoch,
)
from rnnkit.train.history import History
from rnnkit.train.lifeline import CheckpointLock
from rnnkit.train.metrics import StreamingMetric, make_metric
from rnnkit.train.optim import (
    LossFn,
    check_schedule,
    loss_weight,
    make_loss,
    make_optimizer,
    make_schedule,
    schedule_monitor,
)
from rnnkit.train.progress import Progress

FINAL_REASONS = ("early_stopping", "callback")
#: The epochs of ``fit(epochs=None, time_budget=...)``: as many as the budget allows.
_UNTIL_BUDGET = 1_000_000
#: Stop reasons as numbers, so rank 0 can broadcast its decision (anything else is "callback").
_REASON_CODES = ("time_budget", "early_stopping", "callback")
#: Callbacks that write files: in a process group only rank 0 runs them.
_FILE_WRITERS = (ModelCheckpoint, CSVLogger)


def split_batch(batch: Any) -> tuple[Any, torch.Tensor | None]:
    """``(inputs, target)`` from a batch: a 2-tuple, or inputs alone (dict / tensor) for predict."""
    if isinstance(batch, Mapping | torch.Tensor):
        return batch, None
    if isinstance(batch, Sequence) and len(batch) == 2:
        return batch[0], batch[1]
    raise ConfigError(
        "batch: expected (inputs, target) with inputs a dict of tensors, got "
        f"{type(batch).__name__}; see the loader contract in rnnkit.train.trainer"
    )


def call_model(model: torch.nn.Module, inputs: Any) -> torch.Tensor:
    """``model(**inputs)`` for dicts, ``model(inputs)`` otherwise; keeps the first of tuple outputs.
    """
    output = model(**inputs) if isinstance(inputs, Mapping) else model(inputs)
    if isinstance(output, tuple | list):
        output = output[0]
    return output


def regularization_loss(model: torch.nn.Module) -> torch.Tensor | None:
    """The extra training loss of the last forward call, from the model's
    ``regularization_loss()`` method when it has one (e.g. AR/TAR, see
    :mod:`rnnkit.nn.regularizers`); None otherwise. Looks through a DDP wrapper."""
    if isinstance(model, torch.nn.parallel.DistributedDataParallel):
        model = model.module
    method = getattr(model, "regularization_loss", None)
    return method() if callable(method) else None


def batch_size_of(target: torch.Tensor | None, inputs: Any) -> int:
    if target is not None and target.dim():
        return int(target.shape[0])
    first = next(iter(inputs.values())) if isinstance(inputs, Mapping) else inputs
    return int(first.shape[0])


class TrainingInterrupted(TrainingError, KeyboardInterrupt):
    """Ctrl-C (SIGINT) during :meth:`Trainer.fit`: the message names the epoch and the last
    checkpoint (or says nothing was saved). Still a KeyboardInterrupt, so ``except
    KeyboardInterrupt`` catches it; ``exit_status`` 130 is what a shell reports for it."""

    exit_status = 130


class _EpochStats:
    """Running loss and metrics of one pass over a loader."""

    def __init__(self, metrics: list[StreamingMetric]) -> None:
        self.metrics = metrics
        self.reset()

    def reset(self) -> None:
        self.loss_sum = 0.0
        self.loss_count = 0
        self.samples = 0
        for m in self.metrics:
            m.reset()

    def update(
        self, loss: float, weight: int, samples: int, output: torch.Tensor, target: torch.Tensor
    ) -> None:
        self.loss_sum += loss * weight
        self.loss_count += weight
        self.samples += samples
        for m in self.metrics:
            m.update(output, target)

    def logs(self) -> dict[str, float]:
        out = {"loss": self.loss_sum / self.loss_count if self.loss_count else float("nan")}
        for m in self.metrics:
            out[m.name] = float(m.result())
        return out

    def state(self) -> dict[str, Any]:
        return {
            "loss_sum": self.loss_sum,
            "loss_count": self.loss_count,
            "samples": self.samples,
            "metrics": [
                {k: torch.from_numpy(np.array(v)) for k, v in m.state().items()}
                for m in self.metrics
            ],
        }

    def gathered(self) -> _EpochStats:
        """These numbers summed over all ranks of the process group (a new object)."""
        total = _EpochStats([copy.deepcopy(m) for m in self.metrics])
        loss_sum, loss_count, samples = distributed.all_reduce_sum(
            [self.loss_sum, self.loss_count, self.samples]
        )
        total.loss_sum, total.loss_count, total.samples = loss_sum, int(loss_count), int(samples)
        states = distributed.gather_objects([m.state() for m in self.metrics])
        for i, metric in enumerate(total.metrics):
            metric.load_state(distributed.merge_metric_states([s[i] for s in states]))
        return total

    def load_state(self, state: dict[str, Any]) -> None:
        self.loss_sum = float(state["loss_sum"])
        self.loss_count = int(state["loss_count"])
        self.samples = int(state["samples"])
        for m, ms in zip(self.metrics, state["metrics"], strict=True):
            m.load_state({k: v.numpy() for k, v in ms.items()})


class _Run:
    """What one ``fit`` call carries from step to step (see :meth:`Trainer.fit`)."""

    def __init__(
        self,
        *,
        model: torch.nn.Module,
        net: torch.nn.Module,
        train_data: Iterable[Any],
        validation_data: Iterable[Any] | None,
        epochs: int,
        time_budget: float | None,
        started: float,
        ctx: distributed.DistContext | None,
        num_batches: int,
        stats: _EpochStats,
        progress: Progress,
        callbacks: list[Callback],
        plateau_monitor: str,
        lockstep: bool,
        final_validation: bool,
    ) -> None:
        self.model = model
        self.net = net  # the model, or its DDP wrapper in a process group
        self.train_data: Any = train_data
        self.validation_data = validation_data
        self.epochs = epochs
        self.time_budget = time_budget
        self.started = started  # perf_counter at the time budget's origin
        self.ctx = ctx
        self.num_batches = num_batches  # per epoch (the longest rank's in a process group)
        self.stats = stats  # the running epoch's numbers (kept across a mid-epoch checkpoint)
        self.progress = progress
        self.callbacks = callbacks  # the ones this rank runs
        self.plateau_monitor = plateau_monitor
        self.lockstep = lockstep  # rank-local loaders that may run dry at different steps
        self.final_validation = final_validation  # the caller validates once more after fit
        self.validation_seconds: float | None = None  # the last validation pass's duration
        self.batch_end: float | None = None  # perf_counter at the end of the last batch
        # where a resumed run starts, and what the checkpoint carried over
        self.resumed = False
        self.start_epoch = 0
        self.start_batch = 0
        self.pending_rng: Any = None  # random state to restore after skipping the done batches
        self.epoch_seconds = 0.0  # seconds spent in the current epoch before the resume
        self.epoch = 0  # the epoch running (0-based)
        self.saved: tuple[int, int] | None = None  # (epochs, batches) of this run's checkpoint


class _Pass(NamedTuple):
    """One pass over an epoch's training batches."""

    done: int  # batches of the epoch done, counting those before a resume
    exhausted: bool  # the loader ran to its end (no stop in the middle)
    seconds: float  # the epoch's training time, counting the time before a resume
    lr: float  # the learning rate at the start of the epoch


class Trainer:
    """Trains a model with a named loss, optimizer and schedule; see the module docstring.

    Args:
        loss: "cross_entropy" (logits ``(B, C)`` or ``(B, T, V)``; target -100 ignored), "bce"
            (logits), "mse", "mae", or ``fn(output, target) -> scalar``.
        optimizer: sgd, momentum, rmsprop, adam, adamw, adagrad (fused kernels where available).
        lr, weight_decay: optimizer settings; ``optimizer_options`` adds constructor options.
        clip_norm, clip_value: gradient clipping by global norm and/or by value.
        schedule: None, "step", "cosine", "plateau" (stepped once per epoch), "stlr" or
            "one-cycle" (after every optimizer step), or ``{"name": ..., **options}``; see
            :func:`rnnkit.train.optim.make_schedule`.
        layer_lr_decay: discriminative learning rates (ULMFiT): the model's ``layer_groups()``
            (bottom to top) become optimizer parameter groups, group ``l`` of ``L`` training at
            ``lr / layer_lr_decay ** (L - 1 - l)`` (2.6 in the paper); schedules scale them all
            alike. None: one group.
        unfreeze: ``"gradual"``: the first epoch trains only the top layer group, each next epoch
            one group more (frozen parameters get no gradient and no update). None: all train.
        metrics: names (accuracy, precision, recall, f1, auc, rmse, mae, mape, smape, perplexity,
            bpc) or StreamingMetric objects. None picks by loss: accuracy for cross_entropy and
            bce, rmse for mse and mae, nothing for a custom loss.
        callbacks: Callback objects.
        seed: seeds torch, numpy and random at the start of fit (None: leave the RNGs alone).
        verbose: 0 silent, 1 progress bar on a terminal / one line per epoch otherwise, 2 lines.
        checkpoint_dir: save a checkpoint there after every epoch (and every ``checkpoint_every``
            batches); ``resume=True`` continues from it (or starts fresh when there is none).
        amp: bfloat16 autocast for the forward pass (CPU); off by default.
        fingerprint: the options that shape the model, by the name a user gives them, e.g.
            ``{"--hidden-size": 64}``; saved with each checkpoint, and resuming with another
            value is a one-line ConfigError naming the option.
    """

    def __init__(
        self,
        loss: str | LossFn = "cross_entropy",
        optimizer: str = "adam",
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        clip_norm: float | None = None,
        clip_value: float | None = None,
        schedule: str | Mapping[str, Any] | None = None,
        metrics: Iterable[str | StreamingMetric] | None = None,
        callbacks: Iterable[Callback] = (),
        seed: int | None = 0,
        verbose: int = 1,
        checkpoint_dir: str | Path | None = None,
        resume: bool = False,
        checkpoint_every: int | None = None,
        amp: bool = False,
        optimizer_options: Mapping[str, Any] | None = None,
        fused: bool | None = None,
        fingerprint: Mapping[str, Any] | None = None,
        layer_lr_decay: float | None = None,
        unfreeze: str | None = None,
    ) -> None:
        self.loss_fn, self.loss_name = make_loss(loss)
        self.optimizer_name = optimizer
        self.lr = float(lr)
        self.weight_decay = float(weight_decay)
        if clip_norm is not None and clip_norm <= 0:
            raise ConfigError(f"clip_norm: must be positive, got {clip_norm}")
        if clip_value is not None and clip_value <= 0:
            raise ConfigError(f"clip_value: must be positive, got {clip_value}")
        if verbose not in (0, 1, 2):
            raise ConfigError(f"verbose: expected 0, 1 or 2, got {verbose}")
        if checkpoint_every is not None and checkpoint_every < 1:
            raise ConfigError(f"checkpoint_every: must be >= 1 batch, got {checkpoint_every}")
        if layer_lr_decay is not None and not (
            isinstance(layer_lr_decay, int | float) and math.isfinite(layer_lr_decay)
            and layer_lr_decay > 0
        ):
            raise ConfigError(f"layer_lr_decay: must be a finite number > 0 (2.6 in ULMFiT) or "
                              f"None, got {layer_lr_decay!r}")
        if unfreeze not in UNFREEZE_CHOICES:
            raise ConfigError(f"unfreeze: expected 'gradual' or None, got {unfreeze!r}")
        check_schedule(schedule)
        self.clip_norm = clip_norm
        self.clip_value = clip_value
        self.schedule = schedule
        self.layer_lr_decay = layer_lr_decay
        self.unfreeze = unfreeze
        self.metric_specs = (
            list(metrics) if metrics is not None else default_metrics(self.loss_name)
        )
        for spec in self.metric_specs:
            make_metric(spec)  # fail fast on unknown names
        self.callbacks = list(callbacks)
        self.seed = seed
        self.verbose = verbose
        self.checkpoint_dir = Path(checkpoint_dir) if checkpoint_dir is not None else None
        self.resume = resume
        self.checkpoint_every = checkpoint_every
        self.amp = amp
        self.optimizer_options = dict(optimizer_options or {})
        self.fused = fused
        # as the checkpoint's JSON gives it back (tuples become lists)
        # the training options a checkpoint's optimizer and schedule state depend on, too
        training = {"schedule": schedule, "layer_lr_decay": layer_lr_decay, "unfreeze": unfreeze}
        self.fingerprint = json.loads(
            json.dumps({**dict(fingerprint or {}), **training}, default=str)
        )
        self.history = History()
        self.optimizer: torch.optim.Optimizer | None = None
        self.scheduler: Any = None
        self.model: torch.nn.Module | None = None
        self._stop_reason: str | None = None
        self._stop_now = False
        self._ctx: distributed.DistContext | None = None
        self._running_callbacks: list[Callback] = self.callbacks
        self._layer_groups: list[list[torch.nn.Parameter]] | None = None
        self._epoch_lr: float | None = None  # the running epoch's lr at its start

    # ------------------------------------------------------------------------------ public API

    def request_stop(self, reason: str = "callback", immediately: bool = False) -> None:
        """Stop after the current epoch, or after the current batch with ``immediately=True``."""
        self._stop_reason = self._stop_reason or reason
        self._stop_now = self._stop_now or immediately

    def _fresh_metrics(self) -> list[StreamingMetric]:
        return [
            make_metric(copy.deepcopy(s) if isinstance(s, StreamingMetric) else s)
            for s in self.metric_specs
        ]

    @property
    def checkpoint_path(self) -> Path | None:
        return self.checkpoint_dir / CHECKPOINT_NAME if self.checkpoint_dir is not None else None

    def fit(
        self,
        model: torch.nn.Module,
        train_data: Iterable[Any],
        validation_data: Iterable[Any] | None = None,
        epochs: int | None = 10,
        time_budget: float | None = None,
        final_validation: bool = False,
        budget_start: float | None = None,
    ) -> History:
        """Train ``model`` in place for ``epochs`` epochs and return the :class:`History`.

        ``time_budget`` (seconds from ``budget_start``, a ``time.perf_counter()`` reading such as
        the start of the caller's data preparation; default: the start of this call) bounds the
        training with its validation passes: training stops after the batch (or the epoch) past
        which the validation still to come would no longer fit, judged by the last pass's
        duration (before the first, by as many training batches as the validation data has);
        ``History.stopped_reason`` then is "time_budget". ``final_validation``: the caller
        evaluates ``validation_data`` once more after fit, so the budget keeps room for that pass
        too. ``epochs=None`` trains until the time budget runs out (and needs one).

        The steps, in order: :meth:`_set_up` (checks, sharding, optimizer, callbacks) and
        :meth:`_resume` (a checkpoint, with ``resume=True``); then per epoch :meth:`_train_epoch`
        (the batches, mid-epoch checkpoints and stops) and :meth:`_end_epoch` (validation,
        history, schedule, callbacks, checkpoint, stop report).

        Raises:
            TrainingError: empty loader, or a non-finite loss/gradient (the weights stay at the
                last finite update).
            TrainingInterrupted: Ctrl-C; the message says where the last checkpoint is.
        """
        # the thread policy (rnnkit.threads): decided now, re-checked about every second
        keep_freed_memory()  # rnnkit.allocator: no page faults for big buffers at every step
        trainable = [(p, p.requires_grad) for p in model.parameters()]
        try:
            with self._checkpoint_lock(), GOVERNOR.session():
                return self._fit(model, train_data, validation_data, epochs, time_budget,
                                 final_validation, budget_start)
        finally:  # gradual unfreezing may stop (early, on a budget) with groups still frozen
            for p, flag in trainable:
                p.requires_grad_(flag)

    def _checkpoint_lock(self) -> contextlib.AbstractContextManager[Any]:
        """Exclusive use of ``checkpoint_dir`` for this run: a second run writing checkpoints
        there at the same time is refused with one line. In a process group the run that
        started the workers holds the lock for all of them."""
        if self.checkpoint_dir is None or distributed.context() is not None or (
            distributed.launched_by_torchrun()
        ):
            return contextlib.nullcontext()
        return CheckpointLock(self.checkpoint_dir)

    def _fit(
        self,
        model: torch.nn.Module,
        train_data: Iterable[Any],
        validation_data: Iterable[Any] | None,
        epochs: int | None,
        time_budget: float | None,
        final_validation: bool,
        budget_start: float | None,
    ) -> History:
        run = self._set_up(model, train_data, validation_data, epochs, time_budget,
                           final_validation, budget_start)
        self._resume(run)
        if self.history.stopped_reason in FINAL_REASONS and run.resumed:  # that run had ended
            self._finish(model, run.progress)
            return self.history
        run.net = distributed.wrap_model(model) if run.ctx is not None else model
        try:
            for epoch in range(run.start_epoch, run.epochs):
                run.epoch = epoch
                self._end_epoch(run, epoch, self._train_epoch(run, epoch))
                if self._stop_reason is not None:
                    break
        except KeyboardInterrupt:
            raise self._interrupted(run) from None
        finally:
            run.progress.close()
        self.history.stopped_reason = self._stop_reason or "completed"
        self._finish(model, run.progress)
        return self.history

    def _interrupted(self, run: _Run) -> TrainingInterrupted:
        """The one-line report of a Ctrl-C at ``run.epoch``: this run's last checkpoint, if any."""
        where = f"interrupted at epoch {run.epoch + 1}"
        if run.saved is None or self.checkpoint_path is None:
            why = "" if self.checkpoint_path is not None else " (no checkpoint directory)"
            return TrainingInterrupted(f"{where}; nothing was saved{why}")
        epochs, batches = run.saved
        done = f"{epochs} epoch(s)" + (f" and {batches} batch(es)" if batches else "")
        return TrainingInterrupted(
            f"{where}; the last checkpoint is {self.checkpoint_path} ({done} done; rerun with "
            "--resume to continue from it)"
        )

    def evaluate(self, model: torch.nn.Module, data: Iterable[Any]) -> dict[str, float]:
        """Mean loss and metrics of ``model`` over ``data`` (eval mode, no gradients)."""
        stats = self._evaluation_stats(model, data)
        if stats.samples == 0:
            raise TrainingError("evaluate: the loader yields no batches (the data is empty); "
                                "give at least one example")
        return stats.logs()

    def _evaluation_stats(self, model: torch.nn.Module, data: Iterable[Any]) -> _EpochStats:
        stats = _EpochStats(self._fresh_metrics())
        was_training = model.training
        model.eval()
        keep_freed_memory()
        try:
            with torch.no_grad(), self._autocast(), GOVERNOR.session(force=False):
                for batch in data:
                    if isinstance(batch, distributed.EmptyShard):
                        continue
                    inputs, target = split_batch(batch)
                    if target is None:
                        raise ConfigError("evaluate: batches must be (inputs, target) pairs")
                    output = call_model(model, inputs)
                    loss = self.loss_fn(output, target)
                    output = output.float() if output.dtype == torch.bfloat16 else output
                    weight = loss_weight(self.loss_name, output, target)
                    stats.update(float(loss), weight, batch_size_of(target, inputs), output, target)
        finally:
            model.train(was_training)
        return stats

    def predict(self, model: torch.nn.Module, data: Iterable[Any]) -> torch.Tensor:
        """Model outputs over ``data``, concatenated in loader order along the batch axis.

        Outputs whose later axes differ between batches (e.g. ``(B, T, V)`` with T per batch) are
        right-padded with zeros to the largest size.
        """
        outputs: list[torch.Tensor] = []
        was_training = model.training
        model.eval()
        keep_freed_memory()
        try:
            with torch.no_grad(), self._autocast(), GOVERNOR.session(force=False):
                for batch in data:
                    inputs, _ = split_batch(batch)
                    out = call_model(model, inputs)
                    outputs.append(out.float() if out.dtype == torch.bfloat16 else out)
        finally:
            model.train(was_training)
        if not outputs:
            raise TrainingError("predict: the loader yields no batches (the data is empty); "
                                "give at least one example")
        return _concat_padded(outputs)

    # ------------------------------------------------------------------------------ internals

    def _autocast(self) -> contextlib.AbstractContextManager[Any]:
        if self.amp:
            return torch.autocast(device_type="cpu", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def _set_up(
        self,
        model: torch.nn.Module,
        train_data: Iterable[Any],
        validation_data: Iterable[Any] | None,
        epochs: int | None,
        time_budget: float | None,
        final_validation: bool,
        budget_start: float | None,
    ) -> _Run:
        """Check the arguments, shard the loaders in a process group, seed, build the optimizer
        and schedule, and start the callbacks and progress."""
        shown_epochs = epochs
        if epochs is None and time_budget is not None:
            epochs = _UNTIL_BUDGET
        if not isinstance(epochs, int) or epochs < 1:
            raise ConfigError(f"epochs: must be a positive integer, got {epochs!r}")
        if time_budget is not None and time_budget <= 0:
            raise ConfigError(f"time_budget: must be positive seconds, got {time_budget}")
        _require_some_validation(validation_data)
        ctx = distributed.context()
        if ctx is not None:
            train_data = distributed.shard_loader(train_data, ctx)
            validation_data = distributed.shard_loader(validation_data, ctx)
        num_batches = _length(train_data, "train_data")
        if ctx is not None:  # rank-local loaders may differ: steps run until the longest is done
            num_batches = int(distributed.all_reduce_max([num_batches])[0])
        if num_batches == 0:
            raise TrainingError(
                "train_data: the loader yields no batches (the training set is empty); "
                "give at least one training example"
            )
        started = time.perf_counter() if budget_start is None else budget_start
        self._ctx = ctx
        self.model = model
        self._stop_reason = None
        self._stop_now = False
        if self.seed is not None:
            _seed_everything(self.seed)
        self.optimizer = make_optimizer(
            self.optimizer_name,
            self._parameters(model, ctx),
            lr=self.lr,
            weight_decay=self.weight_decay,
            fused=self.fused,
            **self.optimizer_options,
        )
        self.scheduler = make_schedule(
            self.schedule, self.optimizer, epochs,
            steps_per_epoch=num_batches if epochs != _UNTIL_BUDGET else None,
            time_budget=time_budget,
        )
        plateau_monitor = schedule_monitor(self.schedule, validation_data is not None)
        self._params = [p for p in model.parameters() if p.requires_grad]
        self.history = History()
        stats = _EpochStats(self._fresh_metrics())
        main = ctx is None or ctx.is_main
        progress = Progress(self.verbose if main else 0, shown_epochs)
        callbacks = self._running_callbacks = self._active_callbacks(main)
        for cb in callbacks:
            cb.set_context(self, model)
            cb.on_train_begin({})
        run = _Run(
            model=model, net=model, train_data=train_data, validation_data=validation_data,
            epochs=epochs, time_budget=time_budget, started=started, ctx=ctx,
            num_batches=num_batches, stats=stats, progress=progress, callbacks=callbacks,
            plateau_monitor=plateau_monitor,
            lockstep=ctx is not None and not isinstance(train_data, distributed.ShardedLoader),
            final_validation=final_validation,
        )
        return run

    def _parameters(
        self, model: torch.nn.Module, ctx: distributed.DistContext | None
    ) -> Any:
        """What the optimizer trains: the model's parameters, or with ``layer_lr_decay`` /
        ``unfreeze`` its layer groups as parameter groups (bottom to top)."""
        self._layer_groups = None
        if self.layer_lr_decay is None and self.unfreeze is None:
            return model.parameters()
        why = "layer_lr_decay" if self.layer_lr_decay is not None else "unfreeze"
        groups = model_layer_groups(model, why)
        if self.unfreeze is not None and ctx is not None:
            # DDP fixes the parameters it synchronises when it wraps the model
            raise ConfigError("unfreeze='gradual' does not work with several workers yet; "
                              "train with one worker or without gradual unfreezing")
        self._layer_groups = groups
        return discriminative_groups(groups, self.lr, self.layer_lr_decay)

    def _resume(self, run: _Run) -> None:
        """With ``resume=True`` and a checkpoint: restore weights, optimizer, schedule, callbacks,
        history, the partial epoch's numbers and the random state, and say where training goes
        on."""
        saved = self._read_checkpoint() if self.resume else None
        if saved is None:
            if self.resume:
                run.progress.message(f"resume: no checkpoint at {self.checkpoint_path}; "
                                     "starting fresh")
            return
        run.resumed = True
        run.start_epoch, run.start_batch, run.pending_rng, run.epoch_seconds = self._restore(
            run.model, run.stats, saved
        )
        run.saved = (run.start_epoch, run.start_batch)
        run.progress.message(
            f"Resuming from {self.checkpoint_path} at epoch {run.start_epoch + 1}, "
            f"batch {run.start_batch}"
        )

    def _train_epoch(self, run: _Run, epoch: int) -> _Pass:
        """One pass over the training batches (from the checkpoint's batch when resuming in the
        middle of this epoch); stops after the batch that crosses the time budget or asks to stop
        at once, checkpointing there and every ``checkpoint_every`` batches."""
        model, stats = run.model, run.stats
        assert self.optimizer is not None
        resumed_mid_epoch = epoch == run.start_epoch and run.start_batch > 0
        if hasattr(run.train_data, "set_epoch"):
            run.train_data.set_epoch(epoch)
        model.train()
        if self.unfreeze == "gradual" and self._layer_groups is not None:
            unfreeze_for_epoch(self._layer_groups, epoch)
        if not resumed_mid_epoch:
            stats.reset()
            run.epoch_seconds = 0.0
        GOVERNOR.tick(force=True)
        for cb in run.callbacks:
            cb.on_epoch_begin(epoch, {})
        first = run.start_batch if resumed_mid_epoch else 0
        epoch_start = time.perf_counter()
        # the top layer group's lr at the start of the epoch (a per-step schedule has moved it
        # by the time a run resumes in the middle of the epoch: the checkpoint has it)
        if not (resumed_mid_epoch and self._epoch_lr is not None):
            self._epoch_lr = float(self.optimizer.param_groups[-1]["lr"])
        lr = self._epoch_lr
        run.progress.epoch_begin(epoch, run.num_batches, first)
        batches = _skip(iter(run.train_data), first)
        if run.lockstep:  # rank-local loaders may run dry at different steps
            batches = distributed.lockstep(batches)
        # restore after skipping: skipped batches may draw random numbers
        if run.pending_rng is not None:
            _set_rng_state(run.pending_rng)
            run.pending_rng = None
        done = first
        exhausted = True
        for batch_index, batch in enumerate(batches, start=first):
            empty = isinstance(batch, distributed.EmptyShard)
            inputs, target = split_batch(batch.template if empty else batch)
            if target is None:
                raise ConfigError("train_data: batches must be (inputs, target) pairs")
            self._train_step(run.net, inputs, target, stats, epoch, batch_index, empty)
            if getattr(self.scheduler, "per_step", False):
                self.scheduler.step(elapsed=time.perf_counter() - run.started)
            done = batch_index + 1
            if self._after_batch(run, epoch, done, epoch_start):
                exhausted = False
                break
        return _Pass(done, exhausted, run.epoch_seconds + time.perf_counter() - epoch_start, lr)

    def _after_batch(self, run: _Run, epoch: int, done: int, epoch_start: float) -> bool:
        """Callbacks and progress for the batch just done; True when training stops here (time
        budget crossed or a stop asked for at once), after saving a mid-epoch checkpoint."""
        stats = run.stats
        GOVERNOR.tick()  # another program started or stopped: adapt the thread count
        for cb in run.callbacks:
            cb.on_batch_end(done - 1, {"loss": stats.logs()["loss"], "size": stats.samples})
        run.progress.batch_end(
            done,
            lambda s=stats, t0=epoch_start, prior=run.epoch_seconds: _running_logs(s, t0, prior)
        )
        # the last batch's duration; none for the first (torch's warm-up makes it no guide)
        now = time.perf_counter()
        batch_seconds = 0.0 if run.batch_end is None else now - run.batch_end
        run.batch_end = now
        over_budget = self._over_budget(run, batch_seconds)
        if over_budget:
            self._stop_reason = self._stop_reason or "time_budget"
        if run.ctx is not None:  # rank 0 decides: its clock, its callbacks' requests
            over_budget = self._sync_control(over_budget)
        mid_epoch = done < run.num_batches
        if mid_epoch and (
            over_budget
            or self._stop_now
            or (self.checkpoint_every and done % self.checkpoint_every == 0)
        ):
            with ctrl_c_held():  # the file and run.saved change together
                self._save(run.model, stats, epoch, done,
                           run.epoch_seconds + time.perf_counter() - epoch_start)
                run.saved = (epoch, done)
        return over_budget or self._stop_now

    def _end_epoch(self, run: _Run, epoch: int, done: _Pass) -> None:
        """The end of an epoch: validation, the history record, the schedule's step, the
        callbacks (early stopping asks to stop here), the stop reason, the end-of-epoch checkpoint
        and the progress line."""
        epoch_stats = run.stats.gathered() if run.ctx is not None else run.stats
        record: dict[str, Any] = {"epoch": epoch + 1, **epoch_stats.logs()}
        if run.validation_data is not None:
            record.update(self._validate(run))
        record["seconds"] = done.seconds
        record["lr"] = done.lr
        self.history.append(record)
        complete = done.exhausted or done.done >= run.num_batches
        if complete:
            self._step_schedule(run, record)
        for cb in run.callbacks:
            cb.on_epoch_end(epoch, dict(record))
        # another epoch would be cut after one batch at most: stop here instead (rank 0 decides)
        if (complete and epoch + 1 < run.epochs and self._stop_reason is None
                and (run.ctx is None or run.ctx.is_main)
                and self._over_budget(run, done.seconds / max(done.done, 1))):
            self._stop_reason = "time_budget"
        if run.ctx is not None:
            self._sync_control(False)
        if complete and epoch + 1 == run.epochs and self._stop_reason is None:
            self.history.stopped_reason = "completed"
        elif self._stop_reason is not None:
            self.history.stopped_reason = self._stop_reason
        if complete:
            with ctrl_c_held():  # the file and run.saved change together
                self._save(run.model, run.stats, epoch + 1, 0, 0.0)
                run.saved = (epoch + 1, 0)
        speed = epoch_stats.samples / max(done.seconds, 1e-9)
        run.progress.epoch_end({**record, "samples_per_second": speed})
        if self._stop_reason == "time_budget":
            run.progress.message(
                f"Stopped: time budget of {run.time_budget:g} s reached at epoch {epoch + 1}, "
                f"batch {done.done}/{run.num_batches}"
            )
        elif self._stop_reason is not None:
            run.progress.message(f"Stopped at epoch {epoch + 1}: {self._stop_reason}")

    def _validate(self, run: _Run) -> dict[str, float]:
        """``val_*`` numbers over the validation data (gathered over a process group)."""
        assert run.validation_data is not None
        started = time.perf_counter()
        val_stats = self._evaluation_stats(run.model, run.validation_data)
        if run.ctx is not None:
            val_stats = val_stats.gathered()
        run.validation_seconds = time.perf_counter() - started
        if val_stats.samples == 0:
            raise TrainingError(_NO_VALIDATION_BATCHES)
        run.model.train()
        return {f"val_{k}": v for k, v in val_stats.logs().items()}

    @staticmethod
    def _over_budget(run: _Run, batch_seconds: float) -> bool:
        """Whether the time budget is spent once the validation passes still to come are counted:
        the one at the end of this epoch and, with ``final_validation``, the caller's. A pass is
        expected to take as long as the last one, or before the first, as long as
        ``batch_seconds`` (the last training batch) times the validation batches."""
        if run.time_budget is None:
            return False
        reserve = 0.0
        if run.validation_data is not None:
            per_pass = run.validation_seconds
            if per_pass is None:
                per_pass = batch_seconds * _length_or_zero(run.validation_data)
            reserve = per_pass * (2 if run.final_validation else 1)
        return time.perf_counter() - run.started + reserve >= run.time_budget

    def _step_schedule(self, run: _Run, record: Mapping[str, Any]) -> None:
        """The learning-rate schedule's step after a complete epoch (a plateau schedule reads its
        monitored number from ``record``)."""
        if self.scheduler is None or getattr(self.scheduler, "per_step", False):
            return
        if isinstance(self.scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
            if run.plateau_monitor not in record:
                raise ConfigError(f"schedule: monitor {run.plateau_monitor!r} is not logged")
            self.scheduler.step(record[run.plateau_monitor])
        else:
            self.scheduler.step()

    def _train_step(
        self,
        model: torch.nn.Module,
        inputs: Any,
        target: torch.Tensor,
        stats: _EpochStats,
        epoch: int,
        batch_index: int,
        empty: bool = False,
    ) -> None:
        """One optimizer step. In a process group ``model`` is the DDP wrapper and the local mean
        loss is scaled by ``world * local_weight / global_weight``: DDP averages gradients over
        ranks, so the update is the gradient of the mean over the global batch. ``empty``: this
        rank has no rows in this step and joins the all-reduce with zero weight."""
        assert self.optimizer is not None
        with self._autocast():
            output = call_model(model, inputs)
            loss = self.loss_fn(output, target)
        value = float(loss.detach())
        penalty = regularization_loss(model)
        if penalty is not None:  # trained on, not reported: the logged loss stays the data's
            loss = loss + penalty
        ctx = self._ctx
        weight = 0 if empty else loss_weight(self.loss_name, output, target)
        if ctx is not None:
            bad = 0.0 if empty or math.isfinite(value) else 1.0
            total_weight, bad_ranks = distributed.all_reduce_sum([weight, bad])
            if bad_ranks:
                raise TrainingError(
                    f"non-finite loss at epoch {epoch + 1}, batch {batch_index + 1} on "
                    f"{int(bad_ranks)} worker(s); the model keeps its last finite weights. "
                    "Lower the learning rate, set clip_norm, or check the data"
                )
            scale = ctx.world_size * weight / total_weight if total_weight > 0 else 0.0
            loss = loss * scale
        elif not math.isfinite(value):
            raise TrainingError(
                f"non-finite loss ({value}) at epoch {epoch + 1}, batch {batch_index + 1}; "
                "the model keeps its last finite weights. Lower the learning rate, set clip_norm, "
                "or check the data"
            )
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        grads = [p.grad for p in self._params if p.grad is not None]
        if self.clip_value is not None:
            torch.nn.utils.clip_grad_value_(self._params, self.clip_value, foreach=True)
        if self.clip_norm is not None:
            norm = torch.nn.utils.clip_grad_norm_(self._params, self.clip_norm, foreach=True)
        else:
            norm = _total_norm(grads)
        if not bool(torch.isfinite(norm)):
            self.optimizer.zero_grad(set_to_none=True)
            raise TrainingError(
                f"non-finite gradient at epoch {epoch + 1}, batch {batch_index + 1} "
                f"(loss {value:.4g}); the update was not applied. Lower the learning rate or set "
                "clip_norm"
            )
        self.optimizer.step()
        if empty:
            return
        output = output.detach()
        if output.dtype == torch.bfloat16:
            output = output.float()
        stats.update(value, weight, batch_size_of(target, inputs), output, target)

    def _save(
        self, model: torch.nn.Module, stats: _EpochStats, epoch: int, batch: int, seconds: float
    ) -> None:
        """Checkpoint: ``epoch`` epochs done plus ``batch`` batches of the next one."""
        if self.checkpoint_path is None:
            return
        assert self.optimizer is not None
        if self._ctx is not None:
            if batch > 0:  # the partial epoch's numbers of all ranks (a collective)
                stats = stats.gathered()
            if not self._ctx.is_main:
                return
        parts: dict[str, Any] = {
            "model": model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
            "callbacks": [cb.state_dict() for cb in self.callbacks],
            "stats": stats.state() if batch > 0 else None,
            "rng": _get_rng_state(),
        }
        skeleton, tensors = flatten_state(parts, "state")
        meta = {
            "epoch": epoch,
            "batch": batch,
            "epoch_seconds": seconds,
            "epoch_lr": self._epoch_lr if batch > 0 else None,
            "seed": self.seed,
            "history": self.history.to_dict(),
            # a stop in the middle of an epoch is never final: resuming finishes the epoch
            "stopped_reason": self.history.stopped_reason if batch == 0 else None,
            "fingerprint": self.fingerprint,
            "state": skeleton,
        }
        save_checkpoint(self.checkpoint_path, meta, tensors)

    def _active_callbacks(self, main: bool) -> list[Callback]:
        """All callbacks on rank 0; the others skip the ones that write files."""
        if main:
            return list(self.callbacks)
        return [
            cb
            for cb in self.callbacks
            if not isinstance(cb, _FILE_WRITERS) and not getattr(cb, "main_process_only", False)
        ]

    def _sync_control(self, over_budget: bool) -> bool:
        """Adopt rank 0's stop decision and learning rates (a broadcast); returns over_budget."""
        assert self.optimizer is not None
        groups = self.optimizer.param_groups
        reason = self._stop_reason
        code = _REASON_CODES.index(reason) + 1 if reason in _REASON_CODES else (3 if reason else 0)
        values = [float(over_budget), float(self._stop_now), float(code)]
        values += [float(g["lr"]) for g in groups]
        synced = distributed.broadcast_floats(values)
        for group, lr in zip(groups, synced[3:], strict=True):
            group["lr"] = lr
        self._stop_now = bool(synced[1])
        if synced[2] and self._stop_reason is None:
            self._stop_reason = _REASON_CODES[int(synced[2]) - 1]
        return bool(synced[0])

    def _read_checkpoint(self) -> tuple[dict[str, Any], dict[str, torch.Tensor]] | None:
        """The checkpoint to resume from, or None; in a process group rank 0 reads the file and
        sends its bytes to the others (no shared file system needed)."""
        path = self.checkpoint_path
        if path is None:
            return None
        if self._ctx is None:
            return load_checkpoint(path) if path.is_file() else None
        data = distributed.broadcast_bytes(
            path.read_bytes() if self._ctx.is_main and path.is_file() else None
        )
        if data is None:
            return None
        if self._ctx.is_main:
            return load_checkpoint(path)
        import tempfile

        with tempfile.TemporaryDirectory(prefix="rnnkit-ckpt-") as tmp:
            copy_path = Path(tmp) / CHECKPOINT_NAME
            copy_path.write_bytes(data)
            return load_checkpoint(copy_path)

    def _restore(
        self,
        model: torch.nn.Module,
        stats: _EpochStats,
        saved: tuple[dict[str, Any], dict[str, torch.Tensor]],
    ) -> tuple[int, int, Any, float]:
        assert self.checkpoint_path is not None and self.optimizer is not None
        meta, tensors = saved
        self._check_fingerprint(meta.get("fingerprint") or {})
        parts = unflatten_state(meta["state"], tensors)
        try:
            model.load_state_dict(parts["model"])
        except RuntimeError as err:  # torch's message is a dozen lines of tensor sizes
            raise TrainingError(
                f"checkpoint {self.checkpoint_path} was written for another model (other weight "
                "names or sizes); resume with the options of that run, or use another "
                "checkpoint directory"
            ) from err
        try:
            self.optimizer.load_state_dict(parts["optimizer"])
        except ValueError as err:  # another number or size of parameter groups
            raise TrainingError(
                f"checkpoint {self.checkpoint_path} was written with other parameter groups "
                "(layer_lr_decay / unfreeze); resume with the options of that run, or use another "
                "checkpoint directory"
            ) from err
        if self.scheduler is not None and parts["scheduler"] is not None:
            self.scheduler.load_state_dict(parts["scheduler"])
        for cb, state in zip(self.callbacks, parts["callbacks"], strict=False):
            cb.load_state_dict(state)
        self.history = History.from_dict(meta["history"])
        self.history.stopped_reason = meta.get("stopped_reason")
        batch = int(meta["batch"])
        self._epoch_lr = meta.get("epoch_lr")
        # the saved partial-epoch numbers are summed over ranks already: rank 0 carries them
        if batch > 0 and parts["stats"] is not None and (self._ctx is None or self._ctx.is_main):
            stats.load_state(parts["stats"])
        rng = parts["rng"]
        if batch == 0:
            _set_rng_state(rng)
            rng = None
        return int(meta["epoch"]), batch, rng, float(meta.get("epoch_seconds", 0.0))

    def _check_fingerprint(self, saved: Mapping[str, Any]) -> None:
        """A one-line ConfigError naming the first option of ``fingerprint`` that the checkpoint
        was written with another value of."""
        for name, value in self.fingerprint.items():
            if name in saved and saved[name] != value:
                raise ConfigError(
                    f"resume: the checkpoint {self.checkpoint_path} was written with {name} "
                    f"{saved[name]}, this run has {name} {value}; rerun with {name} "
                    f"{saved[name]}, or use another checkpoint directory to start afresh"
                )

    def _finish(self, model: torch.nn.Module, progress: Progress) -> None:
        for cb in self._running_callbacks:
            cb.on_train_end({"stopped_reason": self.history.stopped_reason})


# ---------------------------------------------------------------------------------- helpers


def default_metrics(loss_name: str) -> list[str]:
    """The metrics reported when none are asked for."""
    if loss_name in ("cross_entropy", "bce", "binary_cross_entropy"):
        return ["accuracy"]
    if loss_name in ("mse", "mae"):
        return ["rmse"]
    return []


_NO_VALIDATION_BATCHES = (
    "validation_data: the loader yields no batches (the validation set is empty); give "
    "validation data with at least one example, or none to train without validation"
)


def _require_some_validation(validation_data: Any) -> None:
    """Refuse an empty validation loader before training rather than after the first epoch."""
    if validation_data is None:
        return
    try:
        empty = len(validation_data) == 0
    except TypeError:  # an iterable without len(): checked after the first epoch
        return
    if empty:
        raise TrainingError(_NO_VALIDATION_BATCHES)


def _length_or_zero(data: Any) -> int:
    try:
        return len(data)
    except TypeError:
        return 0


def _length(data: Any, name: str) -> int:
    try:
        return len(data)
    except TypeError as err:
        raise ConfigError(f"{name}: the loader needs __len__ (batches per epoch)") from err


def _skip(batches: Iterator[Any], count: int) -> Iterator[Any]:
    for _ in range(count):
        next(batches, None)
    return batches


def _running_logs(stats: _EpochStats, epoch_start: float, prior: float) -> dict[str, Any]:
    logs: dict[str, Any] = dict(stats.logs())
    elapsed = prior + time.perf_counter() - epoch_start
    logs["samples_per_second"] = stats.samples / elapsed if elapsed > 0 else 0.0
    return logs


def _total_norm(grads: list[torch.Tensor]) -> torch.Tensor:
    if not grads:
        return torch.zeros(())
    norms = torch._foreach_norm(grads)
    return torch.linalg.vector_norm(torch.stack(norms))


def _seed_everything(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    random.seed(seed)


def _get_rng_state() -> dict[str, Any]:
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    return {
        "torch": torch.get_rng_state(),
        "numpy": {
            "kind": kind,
            "keys": torch.from_numpy(np.asarray(keys).astype(np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "cached": float(cached),
        },
        "python": random.getstate(),
    }


def _set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    np_state = state["numpy"]
    np.random.set_state(
        (
            np_state["kind"],
            np_state["keys"].numpy().astype(np.uint32),
            np_state["pos"],
            np_state["has_gauss"],
            np_state["cached"],
        )
    )
    python = state["python"]
    random.setstate((python[0], tuple(python[1]), python[2]))


def _concat_padded(outputs: list[torch.Tensor]) -> torch.Tensor:
    tail = outputs[0].shape[1:]
    if all(o.shape[1:] == tail for o in outputs):
        return torch.cat(outputs, dim=0)
    dims = outputs[0].dim()
    if any(o.dim() != dims for o in outputs):
        raise TrainingError("predict: model outputs have different numbers of dimensions across "
                            "batches")
    sizes = [max(o.shape[d] for o in outputs) for d in range(1, dims)]
    padded = []
    for o in outputs:
        pad: list[int] = []
        for d in range(dims - 1, 0, -1):
            pad += [0, sizes[d - 1] - o.shape[d]]
        padded.append(torch.nn.functional.pad(o, pad))
    return torch.cat(padded, dim=0)


__all__ = ["Trainer", "TrainingInterrupted", "split_batch", "call_model"]

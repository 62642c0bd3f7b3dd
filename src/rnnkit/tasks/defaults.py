"""The estimators' task names and default options, kept free of torch for a fast CLI.

``rnnkit --help``, the option defaults it shows and the checks made before any data is read
(``--out`` may take a bundle of this task?) come from here without importing the estimators, and
so torch. Each estimator's module re-exports its own dict: ``rnnkit.tasks.text.TEXT_DEFAULTS`` is
``rnnkit.tasks.defaults.TEXT_DEFAULTS``.

Example:
    >>> from rnnkit.tasks.defaults import TEXT_DEFAULTS
    >>> TEXT_DEFAULTS["cell"], TEXT_DEFAULTS["bidirectional"]
    ('lstm', True)
"""

from __future__ import annotations

from typing import Any

#: The ``task`` each estimator writes in its bundle's config.json; ``rnnkit.load`` dispatches on it.
TEXT_TASK = "text_classifier"
SEQ_TASK = "sequence_classifier"
FORECAST_TASK = "forecaster"
#: The most steps `rnnkit series forecast` (and the server) forecasts in one go.
MAX_FORECAST_STEPS = 500
LM_TASK = "language_model"
TRANSLATE_TASK = "translation"

#: The heads a classifier puts on its pooled features: one linear layer, or ULMFiT's
#: batch-normalised ``PoolingLinearClassifier`` (see ``rnnkit.tasks.classifier_model``).
CLASSIFIER_HEADS = ("linear", "batchnorm")

#: Defaults chosen so that a user who sets nothing gets a strong model in minutes on a laptop CPU
#: (IMDB: see benchmarks/RESULTS.md). LSTM because torch runs it through oneDNN's fused kernel.
TEXT_DEFAULTS: dict[str, Any] = {
    "cell": "lstm",
    "bidirectional": True,
    "num_layers": 1,
    "hidden_size": 64,
    "embedding_dim": 128,
    "pooling": "auto",
    "dropout": 0.5,
    "recurrent_activation": None,
    "head_hidden": None,
    "max_tokens": 20000,
    "min_freq": 2,
    "split": "auto",
    "ngrams": None,
    "max_length": 1000,
    "truncation": "post",
    "batch_size": 64,
    "epochs": 15,
    "optimizer": "adam",
    "lr": 1e-3,
    "weight_decay": 0.0,
    "clip_norm": 1.0,
    "validation_split": 0.1,
    "patience": 3,
    "monitor": "val_accuracy",
    "time_budget": None,
    "seed": 0,
    "verbose": 1,
    "embedding_dropout": 0.0,
    "weight_drop": 0.0,
    "pretrained": None,
    "window": None,
    # the fine-tuning schedule of ULMFiT: off, so training is what it was before it
    "schedule": None,
    "layer_lr_decay": None,
    "unfreeze": None,
    # ULMFiT's batch-normalised head on a pretrained encoder, one linear layer otherwise
    "head": "auto",
}

#: Defaults chosen so that setting nothing gives a strong model in minutes on a laptop CPU
#: (MNIST row by row from 5,000 images: 96.0%, 97.2% with standardize="global"; Japanese Vowels:
#: 97.8%; see benchmarks/results/seq.md). LSTM because torch runs it through oneDNN's fused kernel.
SEQ_DEFAULTS: dict[str, Any] = {
    "cell": "lstm",
    "bidirectional": True,
    "num_layers": 1,
    "hidden_size": 128,
    "pooling": "max",
    "dropout": 0.3,
    "recurrent_activation": None,
    "head_hidden": None,
    "standardize": "feature",
    "max_length": None,
    "truncation": "post",
    "batch_size": 64,
    "epochs": 30,
    "optimizer": "adam",
    "lr": 3e-3,
    "weight_decay": 0.0,
    "clip_norm": 1.0,
    "schedule": "cosine",
    "validation_split": 0.1,
    "patience": 8,
    "time_budget": None,
    "seed": 0,
    "verbose": 1,
}

#: What ``Forecaster()`` does with nothing set. "auto" choices are made from the training part.
FORECAST_DEFAULTS: dict[str, Any] = {
    "lookback": "auto",
    "horizon": 1,
    "mode": "direct",
    "stride": 1,
    "season": "auto",
    "log": "auto",
    "differencing": "auto",
    "scaler": "standard",
    "cell": "lstm",
    "hidden_size": 8,
    "num_layers": 1,
    "bidirectional": False,
    "dropout": 0.0,
    "linear_skip": True,
    "ensemble": 5,
    "intervals": None,
    "interval_level": 0.8,
    "mc_samples": 50,
    "batch_size": "auto",
    "epochs": "auto",
    "optimizer": "adam",
    "lr": 1e-3,
    "weight_decay": 1e-4,
    "clip_norm": None,
    "validation_size": 0.0,
    "patience": 20,
    "time_budget": None,
    "seed": 0,
    "verbose": 0,
}

#: Defaults chosen to train fast on a laptop CPU (torch runs the LSTM through oneDNN's fused
#: kernel): see benchmarks/results/lm.md for what they reach on Tiny Shakespeare.
LM_DEFAULTS: dict[str, Any] = {
    "level": "char",
    "cell": "lstm",
    "hidden_size": 256,
    "num_layers": 2,
    "embedding_dim": 64,
    "dropout": 0.1,
    "tie_weights": False,
    "max_tokens": None,
    "min_freq": 1,
    "bptt": 64,
    "batch_size": 32,
    "windows": "stateful",
    "epochs": None,
    "optimizer": "adam",
    "lr": 3e-3,
    "weight_decay": 0.0,
    "clip_norm": 1.0,
    "lr_decay": "time",
    "valid_fraction": 0.1,
    "valid_batch_size": 32,
    "patience": 3,
    "time_budget": None,
    "seed": 0,
    "verbose": 1,
    # AWD-LSTM regularisers and the adaptive softmax: off, so a model is what it was before them.
    "locked_dropout": False,
    "embedding_dropout": 0.0,
    "weight_drop": 0.0,
    "ar": 0.0,
    "tar": 0.0,
    "output": "full",
    "cutoffs": None,
    # the recurrent stack: the plain one unless asked (residual blocks are for the scan cells)
    "block": "plain",
    "conv_kernel": 4,
    "document_separator": None,
    "standardize": None,
    "init": None,
    # the fine-tuning schedule of ULMFiT (stage 2): off, so training is what it was before it
    "schedule": None,
    "layer_lr_decay": None,
}

#: The language model's epochs when neither ``epochs`` nor a time budget is given; with a budget
#: training runs until the budget is spent (or early stopping ends it).
LM_DEFAULT_EPOCHS = 20

#: Defaults: the recipe of the classic PyTorch/TensorFlow attention tutorials, sized for a CPU.
TRANSLATE_DEFAULTS: dict[str, Any] = {
    "attention": "bahdanau",
    "attention_score": None,
    "cell": "gru",
    "hidden_size": 256,
    "embedding_dim": 256,
    "num_layers": 1,
    "bidirectional": True,
    "dropout": 0.3,
    "teacher_forcing": 1.0,
    "label_smoothing": 0.0,
    "source_level": "auto",
    "target_level": "auto",
    "lowercase": True,
    "min_freq": 2,
    "max_tokens": None,
    "max_source_length": 100,
    "max_target_length": 100,
    "batch_size": 64,
    "epochs": 20,
    "optimizer": "adam",
    "lr": 1e-3,
    "weight_decay": 0.0,
    "clip_norm": 1.0,
    "lr_decay": "time",
    "valid_fraction": 0.05,
    "patience": 3,
    "time_budget": None,
    "beam_size": 5,
    "length_penalty": 1.0,
    "max_output_ratio": 2.0,
    "seed": 0,
    "verbose": 1,
}

__all__ = [
    "TEXT_TASK",
    "SEQ_TASK",
    "FORECAST_TASK",
    "LM_TASK",
    "TRANSLATE_TASK",
    "TEXT_DEFAULTS",
    "SEQ_DEFAULTS",
    "FORECAST_DEFAULTS",
    "LM_DEFAULTS",
    "LM_DEFAULT_EPOCHS",
    "TRANSLATE_DEFAULTS",
]

"""Request and response models of the rnnkit HTTP API (pydantic), and the serving limits.

The limits are checked by the handlers (not baked into the schemas) so that ``rnnkit serve``
options can change them; every violation is a 4xx JSON error ``{"error": ..., "status": ...}``.
Request bodies are validated strictly: ``"yes"`` is not a boolean, ``"5"`` is not a number, and
``NaN``/``Infinity`` are not accepted as numbers.

Example:
    >>> PredictRequest(texts=["a fine film"]).texts
    ['a fine film']
    >>> ServeLimits().max_items
    64
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from rnnkit.errors import ConfigError


@dataclass(frozen=True)
class ServeLimits:
    """What one request may ask for, and how long and how many connections the server keeps.

    Requests over a limit get a 413 or 422 JSON error. Every limit must be positive (a
    :class:`~rnnkit.errors.ConfigError` otherwise), so that no setting refuses every request.

    Args:
        max_body_bytes: request body size (413 when larger).
        max_items: texts or sequences per predict request.
        max_text_chars: characters per text (and per generation prime).
        max_sequence_steps: time steps per sequence (sequence classifiers) or history values.
        max_generate_length: tokens per generate request.
        max_forecast_steps: steps per forecast request.
        max_explain_tokens: tokens scored per text when saliency is requested.
        timeout_seconds: a request waiting longer for its result gets a 408 JSON error.
        read_timeout_seconds: time a client has to send a whole request (line, headers, body)
            once it connects or after the previous answer; then the connection is closed (with
            a 408 when part of a request had arrived). Used by :mod:`rnnkit.serve.server`.
        max_connections: open connections at once; requests on connections beyond it get a 503
            JSON error. Used by :mod:`rnnkit.serve.server`.
    """

    max_body_bytes: int = 1_000_000
    max_items: int = 64
    max_text_chars: int = 5_000
    max_sequence_steps: int = 2_000
    max_generate_length: int = 1_000
    max_forecast_steps: int = 500
    max_explain_tokens: int = 64
    timeout_seconds: float = 30.0
    read_timeout_seconds: float = 10.0
    max_connections: int = 100

    def __post_init__(self) -> None:
        for field in fields(self):
            problem = limit_problem(field.name, getattr(self, field.name))
            if problem:
                raise ConfigError(f"ServeLimits.{field.name}: {problem}")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def limit_problem(name: str, value: Any) -> str | None:
    """What is wrong with ``value`` for the :class:`ServeLimits` field ``name``, or None.

    Counts must be whole numbers >= 1; durations finite numbers > 0."""
    if name.endswith("_seconds"):
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
            or value <= 0
        ):
            return f"must be a number of seconds above 0, got {value!r}"
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        return f"must be a whole number of at least 1, got {value!r}"
    return None


class _Strict(BaseModel):
    # strict: no "yes" for a boolean, no "5" for a number; allow_inf_nan: Python's JSON parser
    # reads NaN and Infinity, which no model input may be.
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


class PredictRequest(_Strict):
    """Give ``texts`` (text classifiers) or ``sequences`` (sequence classifiers: each a list of
    time steps, each a list of features)."""

    texts: list[str] | None = Field(None, examples=[["a fine film", "dull and far too long"]])
    sequences: list[list[list[float]]] | None = None
    explain: bool = Field(False, description="add per-token saliency (text classifiers)")


class TokenWeight(BaseModel):
    token: str
    weight: float


class Prediction(BaseModel):
    label: str | int
    probability: float
    probabilities: dict[str, float]
    saliency: list[TokenWeight] | None = None


class PredictResponse(BaseModel):
    model: str
    predictions: list[Prediction]


class ForecastRequest(_Strict):
    steps: int | None = Field(None, description="values to forecast (default: the model's horizon)")
    history: list[float] | None = Field(
        None, description="forecast after these values instead of the bundle's own series "
        "(single-target models without feature columns)")


class ForecastResponse(BaseModel):
    model: str
    targets: list[str]
    index: list[str]
    forecast: dict[str, list[float]]
    lower: dict[str, list[float]] | None = None
    upper: dict[str, list[float]] | None = None
    history_index: list[str]
    history: dict[str, list[float]]


class GenerateRequest(_Strict):
    prime: str = ""
    length: int = Field(200, description="tokens to generate")
    temperature: float = Field(1.0, description="0 = greedy; higher = more random")
    top_k: int | None = None
    top_p: float | None = None
    seed: int | None = None
    stream: bool = Field(False, description="stream the text as plain-text chunks")


class GenerateResponse(BaseModel):
    model: str
    prime: str
    text: str


class TranslateRequest(_Strict):
    texts: list[str] = Field(..., description="texts to translate")
    beam_size: int | None = Field(None, description="1 = greedy (default: the model's)")
    attention: bool = Field(False, description="include tokens and attention weights")


class TranslateResponse(BaseModel):
    model: str
    translations: list[dict[str, Any]]


class ModelInfo(BaseModel):
    name: str
    task: str
    endpoints: list[str]
    classes: list[str | int] | None = None
    feature_size: int | None = Field(None,
                                     description="features per time step (sequence classifiers)")
    vocabulary_size: int | None = None
    targets: list[str] | None = None
    horizon: int | None = None
    metrics: dict[str, Any]


class ModelsResponse(BaseModel):
    models: list[ModelInfo]


class HealthResponse(BaseModel):
    status: str
    models: int
    batching: bool
    limits: dict[str, Any]


class ErrorResponse(BaseModel):
    error: str
    status: int

"""The rnnkit HTTP API and web page (FastAPI).

Endpoints: ``GET /health``, ``GET /models``, ``GET /models/{name}``,
``POST /models/{name}/predict`` | ``/forecast`` | ``/generate``, ``GET /`` (the page),
``GET /openapi.json``. FastAPI's ``/docs`` page is disabled because it loads its scripts from a
CDN; the schema stays at ``/openapi.json``.

Every error is JSON ``{"error": "...", "status": N}``: 404 unknown model, 400 wrong task, a
request the model rejects or a Host header this server does not answer to (when ``allowed_hosts``
is given), 413 body too large, 422 malformed (including a body that is not UTF-8), over a limit or
answered by the model with NaN, 408 when the result takes longer than ``timeout_seconds``. (The
server in :mod:`rnnkit.serve.server` adds 408 for a request not received in time and 503 when it
has too many connections.)

Example:
    >>> from fastapi.testclient import TestClient
    >>> client = TestClient(create_app({}))
    >>> client.get("/health").json()["status"]
    'ok'
"""

from __future__ import annotations

import asyncio
import ipaddress
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rnnkit.errors import RnnkitError
from rnnkit.serve.models import (
    NonFiniteOutput,
    ServedClassifier,
    ServedForecaster,
    ServedLanguageModel,
    ServedModel,
    ServedTranslator,
    check_finite_weights,
    finite_floats,
    serve_model,
)
from rnnkit.serve.schemas import (
    ErrorResponse,
    ForecastRequest,
    ForecastResponse,
    GenerateRequest,
    GenerateResponse,
    HealthResponse,
    ModelInfo,
    ModelsResponse,
    PredictRequest,
    PredictResponse,
    ServeLimits,
    TranslateRequest,
    TranslateResponse,
)
from rnnkit.threads import GOVERNOR

STATIC = Path(__file__).parent / "static"
T = TypeVar("T")


class ApiError(Exception):
    """An error answered as ``{"error": message, "status": status}``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _governed(fn: Callable[[], T]) -> T:
    """``fn()`` on this executor thread after the thread policy's re-check (at most once a
    second): fewer threads while another program keeps a CPU busy, all again when it stops."""
    GOVERNOR.tick()
    return fn()


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message, "status": status}, status_code=status)


class BodyLimit:
    """ASGI middleware: refuse request bodies over ``max_bytes`` with 413 before parsing, and
    bodies that are not UTF-8 (JSON's only encoding on the wire, RFC 8259) with 422."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        too_big = _error(413, f"request body is larger than {self.max_bytes} bytes; send fewer "
                              "or shorter items per request")
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await too_big(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.max_bytes:
                await too_big(scope, receive, send)
                return
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        problem = _utf8_problem(body)
        if problem:
            await _error(422, problem)(scope, receive, send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def _utf8_problem(body: bytes) -> str | None:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as err:
        return (f"the request body is not valid UTF-8 (byte 0x{body[err.start]:02x} at offset "
                f"{err.start}); send JSON encoded as UTF-8")
    return None


LOOPBACK_NAMES = ("localhost",)


def host_name(header: str) -> str:
    """The name in a Host header, without port or brackets, lower case: ``[::1]:80`` -> ``::1``."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1:].partition("]")[0]
    if header.count(":") == 1:
        header = header.partition(":")[0]
    return header.rstrip(".")


def is_loopback_name(name: str) -> bool:
    """``localhost`` or a loopback address literal (127.0.0.0/8, ::1)."""
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


class HostCheck:
    """ASGI middleware against DNS rebinding: answer only requests whose Host header names this
    server — ``localhost``, a loopback address, or one of ``allowed`` — and refuse the rest with
    400. A page on ``evil.example`` whose name an attacker re-points at 127.0.0.1 sends
    ``Host: evil.example`` and so cannot reach the models. Requests without a Host header (only
    HTTP/1.0 allows that; browsers always send one) pass."""

    def __init__(self, app: ASGIApp, allowed: Collection[str]) -> None:
        self.app = app
        self.allowed = {host_name(h) for h in allowed}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            header = dict(scope.get("headers") or []).get(b"host")
            if header is not None:
                name = host_name(header.decode("latin-1"))
                if not (is_loopback_name(name) or name in self.allowed):
                    await _error(400, self._refusal(name, scope))(scope, receive, send)
                    return
        await self.app(scope, receive, send)

    @staticmethod
    def _refusal(name: str, scope: Scope) -> str:
        port = (scope.get("server") or ("", 8000))[1]
        shown = name if len(name) <= 80 else name[:80] + "..."
        return (f"this server does not answer to the Host {shown!r} (a guard against DNS "
                f"rebinding); open http://127.0.0.1:{port}/ or http://localhost:{port}/, or start "
                f"rnnkit serve with --allowed-host {shown}")


def create_app(
    models: Mapping[str, Any],
    limits: ServeLimits | None = None,
    batching: bool = True,
    max_wait: float = 0.0,
    allowed_hosts: Collection[str] | None = None,
) -> FastAPI:
    """Build the app for ``{name: task object or bundle path}`` (paths load with ``rnnkit.load``).

    Args:
        models: the models to serve, by name.
        limits: request limits (defaults: :class:`ServeLimits`).
        batching: group concurrent predict requests into micro-batches.
        max_wait: seconds a micro-batch waits for more requests.
        allowed_hosts: when given, requests must name ``localhost``, a loopback address or one
            of these in their Host header (see :class:`HostCheck`); None answers any Host.
    """
    import rnnkit

    limits = limits or ServeLimits()
    served: dict[str, ServedModel] = {}
    for name, obj in models.items():
        if isinstance(obj, (str, Path)):
            obj = rnnkit.load(obj)  # refuses non-finite weights itself
        else:
            check_finite_weights(name, obj)
        served[name] = serve_model(name, obj, batching=batching, max_wait=max_wait)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        for model in served.values():
            model.close()

    app = FastAPI(title="rnnkit", version=rnnkit.__version__, docs_url=None, redoc_url=None,
                  lifespan=lifespan,
                  responses={400: {"model": ErrorResponse}, 404: {"model": ErrorResponse},
                             408: {"model": ErrorResponse}, 413: {"model": ErrorResponse},
                             422: {"model": ErrorResponse}})
    app.state.models = served
    app.state.limits = limits
    app.add_middleware(BodyLimit, max_bytes=limits.max_body_bytes)
    if allowed_hosts is not None:
        app.add_middleware(HostCheck, allowed=allowed_hosts)  # outermost: checked first
    _install_error_handlers(app)

    async def run_blocking(fn: Callable[[], T]) -> T:
        loop = asyncio.get_running_loop()
        return await _with_timeout(loop.run_in_executor(None, _governed, fn))

    async def _with_timeout(awaitable: Awaitable[T]) -> T:
        try:
            return await asyncio.wait_for(awaitable, limits.timeout_seconds)
        except asyncio.TimeoutError:
            raise ApiError(408, f"the model took longer than {limits.timeout_seconds:g} s; "
                                "send a smaller request or try again later") from None

    def lookup(name: str, kind: type[ServedModel], verb: str) -> Any:
        model = served.get(name)
        if model is None:
            known = ", ".join(sorted(served)) or "none"
            raise ApiError(404, f"unknown model {name!r}; served models: {known}")
        if not isinstance(model, kind):
            raise ApiError(400, f"model {name!r} is a {model.task}; it answers "
                                f"{', '.join('/' + e for e in model.endpoints)}, not /{verb}")
        return model

    @app.get("/health", response_model=HealthResponse)
    async def health() -> dict[str, Any]:
        return {"status": "ok", "models": len(served), "batching": batching,
                "limits": limits.as_dict()}

    @app.get("/models", response_model=ModelsResponse)
    async def list_models() -> dict[str, Any]:
        return {"models": [_describe(m) for m in served.values()]}

    @app.get("/models/{name}", response_model=ModelInfo)
    async def model_info(name: str) -> dict[str, Any]:
        return _describe(lookup(name, ServedModel, ""))

    @app.post("/models/{name}/predict", response_model=PredictResponse)
    async def predict(name: str, request: PredictRequest) -> dict[str, Any]:
        model: ServedClassifier = lookup(name, ServedClassifier, "predict")
        items = _predict_items(model, request, limits)
        proba = await _with_timeout(asyncio.wrap_future(model.batcher.submit(items)))
        predictions = []
        kind = "texts" if model.is_text else "sequences"
        for i, row in enumerate(proba):
            values = finite_floats(row, f"probabilities for {kind}[{i}]")
            best = int(row.argmax())
            pred: dict[str, Any] = {
                "label": model.classes[best], "probability": values[best],
                "probabilities": {str(c): p for c, p in zip(model.classes, values, strict=True)},
            }
            if request.explain and model.is_text:
                text = items[i]
                pred["saliency"] = await run_blocking(
                    lambda t=text, b=best: model.saliency(t, b, limits.max_explain_tokens))  # type: ignore[misc]
            predictions.append(pred)
        return {"model": name, "predictions": predictions}

    @app.post("/models/{name}/forecast", response_model=ForecastResponse)
    async def forecast(name: str, request: ForecastRequest) -> dict[str, Any]:
        model: ServedForecaster = lookup(name, ServedForecaster, "forecast")
        steps = request.steps
        if steps is not None and not 1 <= steps <= limits.max_forecast_steps:
            raise ApiError(422,
                           f"steps: must be between 1 and {limits.max_forecast_steps}, got {steps}")
        if request.history is not None and len(request.history) > limits.max_sequence_steps:
            raise ApiError(422, f"history: at most {limits.max_sequence_steps} values, "
                                f"got {len(request.history)}")
        result = await run_blocking(lambda: model.forecast(steps, request.history))
        return {"model": name, **result}

    @app.post("/models/{name}/generate", response_model=GenerateResponse,
              responses={200: {"content": {"text/plain": {}}}})
    async def generate(name: str, request: GenerateRequest) -> Any:
        model: ServedLanguageModel = lookup(name, ServedLanguageModel, "generate")
        _check_generate(request, limits)
        args = (request.prime, request.length, request.temperature, request.top_k, request.top_p,
                request.seed)
        if not request.stream:
            text = await run_blocking(lambda: "".join(model.stream(*args)))
            return {"model": name, "prime": request.prime, "text": text}
        first, rest = await _start_stream(model, args, _with_timeout)
        return StreamingResponse(_chain(first, rest), media_type="text/plain; charset=utf-8")

    @app.post("/models/{name}/translate", response_model=TranslateResponse)
    async def translate(name: str, request: TranslateRequest) -> dict[str, Any]:
        model: ServedTranslator = lookup(name, ServedTranslator, "translate")
        if not 1 <= len(request.texts) <= limits.max_items:
            raise ApiError(422,
                           f"texts: give 1 to {limits.max_items} texts, got {len(request.texts)}")
        longest = max(len(t) for t in request.texts)
        if longest > limits.max_text_chars:
            raise ApiError(422,
                           f"texts: at most {limits.max_text_chars} characters per text, "
                           f"got {longest}")
        if request.beam_size is not None and not 1 <= request.beam_size <= 16:
            raise ApiError(422, f"beam_size: must be between 1 and 16, got {request.beam_size}")
        result = await run_blocking(lambda: model.translate(request.texts, request.beam_size,
                                                            request.attention))
        return {"model": name, "translations": result}

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html; charset=utf-8")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app


def _describe(model: ServedModel) -> dict[str, Any]:
    """``model.info()`` plus what the page needs: a sequence classifier's features per step."""
    info = model.info()
    if isinstance(model, ServedClassifier) and not model.is_text:
        size = getattr(model.obj, "feature_size", None)
        if isinstance(size, int):
            info.setdefault("feature_size", size)
    return info


def _predict_items(
    model: ServedClassifier, request: PredictRequest, limits: ServeLimits
) -> list[Any]:
    if model.is_text:
        if request.texts is None or request.sequences is not None:
            raise ApiError(422, f"model {model.name!r} classifies texts: send {{\"texts\": [...]}}")
        items: list[Any] = request.texts
    else:
        if request.sequences is None or request.texts is not None:
            raise ApiError(422, f"model {model.name!r} classifies sequences: send "
                                "{\"sequences\": [[[step features], ...], ...]}")
        items = request.sequences
    if not 1 <= len(items) <= limits.max_items:
        raise ApiError(422,
                       f"send between 1 and {limits.max_items} items per request, got {len(items)}")
    if model.is_text:
        for i, text in enumerate(items):
            if len(text) > limits.max_text_chars:
                raise ApiError(422, f"texts[{i}] has {len(text)} characters; the limit is "
                                    f"{limits.max_text_chars}")
        wordless = model.obj.wordless(items)
        if wordless:  # its label would be the model's guess from no words at all
            first = wordless[0]
            raise ApiError(422, f"texts[{first}] ({items[first]!r}) has no words to classify")
        return items
    import numpy as np

    arrays = []
    for i, seq in enumerate(items):
        if not 1 <= len(seq) <= limits.max_sequence_steps:
            raise ApiError(422, f"sequences[{i}] has {len(seq)} steps; give 1 to "
                                f"{limits.max_sequence_steps}")
        widths = {len(step) for step in seq}
        if widths != {model.obj.feature_size}:
            raise ApiError(422, f"sequences[{i}]: every step needs {model.obj.feature_size} "
                                f"features, got {sorted(widths)}")
        array = np.asarray(seq, dtype=np.float32)
        if not np.isfinite(array).all():
            raise ApiError(422, f"sequences[{i}] holds values that are not finite numbers")
        arrays.append(array)
    return arrays


def _check_generate(request: GenerateRequest, limits: ServeLimits) -> None:
    if not 1 <= request.length <= limits.max_generate_length:
        raise ApiError(422, f"length: must be between 1 and {limits.max_generate_length}, "
                            f"got {request.length}")
    if len(request.prime) > limits.max_text_chars:
        raise ApiError(422,
                       f"prime: {len(request.prime)} characters; "
                       f"the limit is {limits.max_text_chars}")
    if not (request.temperature == 0.0 or 0.01 <= request.temperature <= 10.0):
        # Below 0.01 the scaled logits overflow; 0 means greedy.
        raise ApiError(422, f"temperature: must be 0 (greedy) or between 0.01 and 10, "
                            f"got {request.temperature}")
    if request.top_k is not None and request.top_k < 1:
        raise ApiError(422, f"top_k: must be >= 1, got {request.top_k}")
    if request.top_p is not None and not 0.0 < request.top_p <= 1.0:
        raise ApiError(422, f"top_p: must be in (0, 1], got {request.top_p}")
    if request.seed is not None and not 0 <= request.seed < 2**63:
        raise ApiError(422, f"seed: must be between 0 and 2**63-1, got {request.seed}")


_END = object()


async def _start_stream(
    model: ServedLanguageModel,
    args: tuple[Any, ...],
    with_timeout: Callable[[Awaitable[Any]], Awaitable[Any]],
) -> tuple[str, Any]:
    """Run generation in one thread (torch's inference mode is per thread) feeding a queue.

    Waits for the first piece so that a bad prime or option is still a JSON error, not a
    broken stream."""
    loop = asyncio.get_running_loop()
    pieces: asyncio.Queue[Any] = asyncio.Queue()

    def produce() -> None:
        try:
            for piece in model.stream(*args):
                loop.call_soon_threadsafe(pieces.put_nowait, piece)
            loop.call_soon_threadsafe(pieces.put_nowait, _END)
        except BaseException as err:  # noqa: BLE001 - re-raised in the event loop
            loop.call_soon_threadsafe(pieces.put_nowait, err)

    threading.Thread(target=produce, name="rnnkit-generate", daemon=True).start()
    first = await with_timeout(pieces.get())
    if isinstance(first, BaseException):
        raise first
    return first, pieces


async def _chain(first: Any, pieces: asyncio.Queue[Any]) -> AsyncIterator[str]:
    item = first
    while item is not _END and not isinstance(item, BaseException):
        yield item
        item = await pieces.get()


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_: Request, err: ApiError) -> JSONResponse:
        return _error(err.status, err.message)

    @app.exception_handler(NonFiniteOutput)
    async def non_finite_output(_: Request, err: NonFiniteOutput) -> JSONResponse:
        return _error(422, str(err))

    @app.exception_handler(RnnkitError)
    async def rnnkit_error(_: Request, err: RnnkitError) -> JSONResponse:
        return _error(400, str(err))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, err: StarletteHTTPException) -> JSONResponse:
        return _error(err.status_code, str(err.detail))

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, err: RequestValidationError) -> JSONResponse:
        problems = []
        for e in err.errors()[:5]:
            if e.get("type") == "json_invalid":
                reason = (e.get("ctx") or {}).get("error", "")
                problems.append(f"the body is not valid JSON ({reason})" if reason
                                else "the body is not valid JSON")
                continue
            where = ".".join(str(p) for p in e.get("loc", ()) if p != "body") or "body"
            problems.append(f"{where}: {e.get('msg', 'invalid')}")
        return _error(422, "invalid request: " + "; ".join(problems))


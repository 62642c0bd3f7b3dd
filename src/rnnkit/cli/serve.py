"""``rnnkit serve`` (HTTP API + web page for bundles) and ``rnnkit export`` (ONNX / TorchScript).

Example:
    rnnkit serve runs/reviews forecast=runs/airline --port 8000
    rnnkit export runs/reviews --format onnx --out reviews.onnx
"""

from __future__ import annotations

import ipaddress
import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from rnnkit.cli.common import AsJson, emit_json, existing, info
from rnnkit.errors import ConfigError

if TYPE_CHECKING:  # importing rnnkit.serve loads FastAPI: only when serving
    from rnnkit.serve.schemas import ServeLimits

serve_app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)


def is_loopback(host: str) -> bool:
    """True for localhost and loopback addresses (127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# ServeLimits field -> the option that sets it, for one-line errors that name the option.
LIMIT_OPTIONS = {
    "max_body_bytes": "--max-body-bytes", "max_items": "--max-items",
    "max_text_chars": "--max-text-chars", "max_generate_length": "--max-generate-length",
    "max_forecast_steps": "--max-forecast-steps", "timeout_seconds": "--timeout",
    "read_timeout_seconds": "--read-timeout", "max_connections": "--max-connections",
}


def checked_limits(values: dict[str, Any]) -> ServeLimits:
    """``ServeLimits`` from option values; a bad value is a ConfigError naming its option."""
    from rnnkit.serve.schemas import ServeLimits, limit_problem

    for field, value in values.items():
        problem = limit_problem(field, value)
        if problem:
            raise ConfigError(f"{LIMIT_OPTIONS[field]} {problem}")
    return ServeLimits(**values)


def check_max_wait(max_wait_ms: float) -> None:
    if not (math.isfinite(max_wait_ms) and 0 <= max_wait_ms <= 10_000):
        raise ConfigError("--max-wait-ms must be between 0 and 10000 (milliseconds), "
                          f"got {max_wait_ms}")


def host_names_to_answer(
    host: str, allow_remote: bool, allowed_hosts: list[str]
) -> list[str] | None:
    """The Host header names the server answers to besides loopback ones (None: any name).

    Only ``--allow-remote`` without ``--allowed-host`` turns the DNS-rebinding guard off: a server
    open to other machines is reached under names it cannot know."""
    if allow_remote and not allowed_hosts:
        return None
    return [host, *allowed_hosts]


@serve_app.command()
def serve(
    bundles: Annotated[
        list[str], typer.Argument(help="Bundle directories, or NAME=PATH.", metavar="BUNDLE...")
    ],
    host: str = typer.Option("127.0.0.1", metavar="HOST", help="Interface to bind (loopback)."),
    port: int = typer.Option(8000, help="TCP port (1-65535; 0 picks a free one and prints it)."),
    allow_remote: bool = typer.Option(
        False, "--allow-remote",
        help="Required to bind a non-loopback --host; also answers any Host header unless "
             "--allowed-host is given."),
    allowed_host: Annotated[list[str] | None, typer.Option(
        "--allowed-host", metavar="NAME",
        help="A Host header name to answer besides localhost and loopback addresses (e.g. a "
             "reverse proxy's public name); repeat for several.")] = None,
    batching: bool = typer.Option(True, "--batching/--no-batching",
                                  help="Group concurrent predict requests into micro-batches."),
    max_wait_ms: float = typer.Option(
        0.0, metavar="MS", help="How long a micro-batch waits for more requests (0: it takes "
                                "those already queued)."),
    max_items: int = typer.Option(64, help="Texts or sequences per request."),
    max_text_chars: int = typer.Option(5000, help="Characters per text."),
    max_body_bytes: int = typer.Option(1_000_000, help="Request body size."),
    max_generate_length: int = typer.Option(1000, help="Tokens per generate request."),
    max_forecast_steps: int = typer.Option(500, help="Steps per forecast request."),
    timeout: float = typer.Option(30.0, metavar="SECONDS",
                                  help="Time before a request gets a 408 error."),
    read_timeout: float = typer.Option(
        10.0, metavar="SECONDS",
        help="Time a client has to send a whole request; slower connections are closed."),
    max_connections: int = typer.Option(
        100, help="Open connections at once; requests beyond it get a 503 error."),
    as_json: Annotated[
        bool,
        typer.Option("--json", help="Print one JSON object (URL, models) once ready, then serve."),
    ] = False,
) -> None:
    """Serve bundles over HTTP: a JSON API and a web page.

    The API: /models, /models/NAME/predict, ... (schema at /openapi.json); the page at /. With
    --json, one JSON object on stdout once the models are loaded ({"url", "models"}), then serving.
    """
    from rnnkit.serve import create_app
    from rnnkit.serve.models import model_name_and_path
    from rnnkit.serve.server import bind_listener, make_server

    limits = checked_limits({
        "max_body_bytes": max_body_bytes, "max_items": max_items, "max_text_chars": max_text_chars,
        "max_generate_length": max_generate_length, "max_forecast_steps": max_forecast_steps,
        "timeout_seconds": timeout, "read_timeout_seconds": read_timeout,
        "max_connections": max_connections})
    check_max_wait(max_wait_ms)
    if not is_loopback(host) and not allow_remote:
        raise ConfigError(f"--host {host} exposes the models to other machines; add --allow-remote "
                          "to do so on purpose, or use --host 127.0.0.1")
    models: dict[str, Path] = {}
    for spec in bundles:
        name, path = model_name_and_path(spec)
        existing([path], "bundle")
        if name in models:
            raise ConfigError(f"two bundles are named {name!r}; give one as NAME=PATH")
        models[name] = path
    listener = bind_listener(host, port)  # before loading: a busy port fails at once
    app = create_app(models, limits=limits, batching=batching, max_wait=max_wait_ms / 1000,
                     allowed_hosts=host_names_to_answer(host, allow_remote, allowed_host or []))
    shown = f"[{host}]" if ":" in host else host
    bound_port = listener.getsockname()[1]
    url = f"http://{shown}:{bound_port}/"
    info(f"serving {', '.join(models)} on {url} (page at /, schema at /openapi.json)")
    if as_json:
        emit_json({"url": url, "models": {name: str(path) for name, path in models.items()}})
    make_server(app, limits).run(sockets=[listener])


@serve_app.command()
def export(
    bundle: Annotated[Path, typer.Argument(help="A text or sequence classifier bundle.")],
    out: Annotated[
        Path, typer.Option("--out", metavar="FILE", help="File to write, e.g. model.onnx.")
    ],
    format: Annotated[
        str, typer.Option("--format", metavar="FORMAT", help="onnx or torchscript.")
    ] = "onnx",
    json_output: AsJson = False,
) -> None:
    """Export a classifier to ONNX or TorchScript.

    Beside the model file, <stem>.preprocess.json says how to turn inputs into its tensors.
    """
    import rnnkit
    from rnnkit.io.export import export_bundle

    existing([bundle], "bundle")
    paths = export_bundle(rnnkit.load(bundle), out, format)
    info(f"wrote {paths['model']} and {paths['preprocess']}")
    if json_output:
        emit_json({k: str(v) for k, v in paths.items()})

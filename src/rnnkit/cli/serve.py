"""``rnnkit serve`` (HTTP API + web page for bundles) and ``rnnkit export`` (ONNX / TorchScript).

Example:
    rnnkit serve runs/reviews forecast=runs/airline --port 8000
    rnnkit export runs/reviews --format onnx --out reviews.onnx
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated

import typer

from rnnkit.cli.common import emit_json, existing, info
from rnnkit.errors import ConfigError

serve_app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)


def is_loopback(host: str) -> bool:
    """True for localhost and loopback addresses (127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@serve_app.command()
def serve(
    bundles: Annotated[list[str], typer.Argument(help="bundle directories, or NAME=PATH")],
    host: str = typer.Option("127.0.0.1", help="interface to bind; loopback by default"),
    port: int = typer.Option(8000, help="TCP port"),
    allow_remote: bool = typer.Option(False, "--allow-remote",
                                      help="required to bind a non-loopback --host"),
    batching: bool = typer.Option(True, "--batching/--no-batching",
                                  help="group concurrent predict requests into micro-batches"),
    max_wait_ms: float = typer.Option(
        0.0, help="how long a micro-batch waits for more requests (ms); 0 groups those already queued"),
    max_items: int = typer.Option(64, help="texts or sequences per request"),
    max_text_chars: int = typer.Option(5000, help="characters per text"),
    max_body_bytes: int = typer.Option(1_000_000, help="request body size"),
    max_generate_length: int = typer.Option(1000, help="tokens per generate request"),
    max_forecast_steps: int = typer.Option(500, help="steps per forecast request"),
    timeout: float = typer.Option(30.0, help="seconds before a request gets a 408 error"),
) -> None:
    """Serve bundles over HTTP: JSON API (/models, /models/NAME/predict, ...) and a page at /."""
    import uvicorn

    from rnnkit.serve import ServeLimits, create_app
    from rnnkit.serve.models import model_name_and_path

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
    limits = ServeLimits(max_body_bytes=max_body_bytes, max_items=max_items,
                         max_text_chars=max_text_chars, max_generate_length=max_generate_length,
                         max_forecast_steps=max_forecast_steps, timeout_seconds=timeout)
    app = create_app(models, limits=limits, batching=batching, max_wait=max_wait_ms / 1000)
    shown = f"[{host}]" if ":" in host else host
    info(f"serving {', '.join(models)} on http://{shown}:{port}/ (page at /, schema at /openapi.json)")
    uvicorn.run(app, host=host, port=port, log_level="warning")


@serve_app.command()
def export(
    bundle: Annotated[Path, typer.Argument(help="a text or sequence classifier bundle")],
    out: Annotated[Path, typer.Option("--out", help="file to write, e.g. model.onnx")],
    format: str = typer.Option("onnx", "--format", help="onnx or torchscript"),
    json_output: bool = typer.Option(False, "--json", help="last stdout line is JSON"),
) -> None:
    """Export a classifier to ONNX or TorchScript (plus <stem>.preprocess.json)."""
    import rnnkit
    from rnnkit.io.export import export_bundle

    existing([bundle], "bundle")
    paths = export_bundle(rnnkit.load(bundle), out, format)
    info(f"wrote {paths['model']} and {paths['preprocess']}")
    if json_output:
        emit_json({k: str(v) for k, v in paths.items()})

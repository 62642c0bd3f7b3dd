"""Draw the pictures of the tutorials into docs/img/ (run it again after changing a tutorial).

Most pictures are drawn by the tutorials themselves: every tutorial page saves its figures with
``rnnkit.viz.save_figure`` into its working directory. This script runs each English tutorial's
Python blocks in order, in one namespace, in a temporary directory (as the docs test does), and
copies the PNG files it lists from there into docs/img/. One picture needs more training than a
page should run, the gradient flow after training on the adding problem; it is drawn here. The
translation guide shows two attention maps drawn by ``benchmarks/bench_translate.py``; they are
copied from benchmarks/results/. The serving guide shows the web page of ``rnnkit serve`` with
one panel per task (``serve-<task>.png``): five small models are trained here, served in-process
on a free loopback port and photographed in Debian's headless Chromium (``serve_pages``; needs
the ``chromium`` and ``chromium-driver`` packages, as the page tests do).

    OMP_NUM_THREADS=1 .venv/bin/python docs/make_images.py [--only NAME ...] [--steps N]

Every picture must stay under 150 KB (checked); the script prints each file and its size.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import tempfile
from collections.abc import Collection
from pathlib import Path

DOCS = Path(__file__).resolve().parent
IMAGES = DOCS / "img"
MAX_BYTES = 150_000

#: tutorial page -> the PNG files its code writes, copied to docs/img/.
PAGES = {
    "tutorials/scratch_sentiment.md": ["scratch_sentiment_curves.png"],
    "tutorials/intuition_lstm.md": ["dinner_states.png", "lstm_gates.png", "airline_forecast.png"],
    "tutorials/to_attention.md": ["hello_states.png", "attention_reversal.png"],
    "tutorials/sentiment_in_practice.md": ["sentiment_curves.png"],
}
EXTRA = ["gradient_flow_trained.png"]
#: pictures a guide shows that a benchmark draws (run the benchmark to redraw them), copied as they
#: are.
FROM_BENCHMARKS = {
    "translate_attention_dates.png": "benchmarks/results/translate_attention_dates.png",
    "translate_attention_1.png": "benchmarks/results/translate_attention_1.png",
}
#: the web page's panels, one picture each (drawn by serve_pages).
SERVE_TASKS = ("text", "sequence", "forecast", "generate", "translate")
SERVE_IMAGES = [f"serve-{task}.png" for task in SERVE_TASKS]
NO_RUN = "<!-- docs: no-run -->"
BLOCK = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)


def python_blocks(text: str) -> list[str]:
    """The runnable ```python blocks of a page (a block right after the no-run marker is skipped).
    """
    blocks = []
    for match in BLOCK.finditer(text):
        before = text[: match.start()].rstrip().splitlines()
        if before and before[-1].strip() == NO_RUN:
            continue
        blocks.append(match.group(1))
    return blocks


def run_page(page: str, names: list[str]) -> list[Path]:
    """Run one page's blocks in a temporary directory; copy the PNGs ``names`` to docs/img/."""
    source = (DOCS / page).read_text(encoding="utf-8")
    here = Path.cwd()
    with tempfile.TemporaryDirectory() as work:
        os.chdir(work)
        try:
            namespace: dict[str, object] = {"__name__": "__docs__"}
            for index, code in enumerate(python_blocks(source)):
                exec(compile(code, f"{page} block {index + 1}", "exec"), namespace)
            written = []
            for name in names:
                target = IMAGES / name
                shutil.copyfile(Path(work) / name, target)
                written.append(target)
            return written
        finally:
            os.chdir(here)


def gradient_flow_trained(steps: int) -> Path:
    """||dL/dh_t|| for RNN, LSTM and GRU after ``steps`` training steps each on the adding problem.

    A fixed number of steps (not a time budget) keeps the picture the same on any machine.
    """
    import torch

    from rnnkit.inspect.gradients import example_input, gradient_flow, readout
    from rnnkit.inspect.memory import train_memory_task
    from rnnkit.viz import save_figure
    from rnnkit.viz.inside import plot_gradient_flow

    length = 100
    x = example_input(length).float()
    v = readout(64, dtype=torch.float32)
    curves = {}
    for cell in ("rnn", "lstm", "gru"):
        result = train_memory_task("adding", cell, length, time_budget=3600, max_steps=steps)
        norms = gradient_flow(result.model.encoder.eval(), x, v)
        curves[f"{cell} (test MSE {result.score:.3f})"] = norms
        print(f"  {cell}: MSE {result.score:.4f} after {result.steps} steps, "
              f"||dL/dh_1|| / ||dL/dh_T|| = {norms[0] / norms[-1]:.1e}")
    title = f"After {steps} training steps on the adding problem (T={length})"
    return save_figure(plot_gradient_flow(curves, title), IMAGES / "gradient_flow_trained.png")


def serve_models(work: Path) -> dict[str, object]:
    """One small model per task, trained for a fixed number of epochs (a minute or two in all)."""
    import numpy as np

    from rnnkit.data import load_uci_sentiment
    from rnnkit.data.sequences import make_waveforms
    from rnnkit.data.series import load_airline_passengers
    from rnnkit.tasks import (
        Forecaster,
        LanguageModel,
        SequenceClassifier,
        TextClassifier,
        Translator,
    )
    from rnnkit.tasks.translation_toys import reversal_pairs

    yelp = load_uci_sentiment("yelp")
    labels = ["negative" if y == 0 else "positive" for y in yelp.labels]
    print("  text classifier (yelp sentences)")
    reviews = TextClassifier(hidden_size=16, embedding_dim=16, epochs=10, verbose=0).fit(
        yelp.texts, labels
    )
    print("  sequence classifier (synthetic waveforms)")
    waves = make_waveforms(400, seed=0)
    shapes = SequenceClassifier(hidden_size=16, epochs=30, verbose=0).fit(
        waves.sequences, waves.labels
    )
    print("  forecaster (airline passengers, quantile intervals)")
    airline = Forecaster(ensemble=1, epochs=60, intervals="quantile", verbose=0).fit(
        load_airline_passengers(), test_size=0.2)
    print("  language model (yelp sentences, characters)")
    lm = LanguageModel(hidden_size=96, num_layers=1, embedding_dim=24, bptt=48, batch_size=16,
                       epochs=12, verbose=0).fit("\n".join(yelp.texts))
    print("  translator (reversal)")
    src, tgt = reversal_pairs(1500, 4, 7, vocab=8, seed=0)
    reverse = Translator(
        hidden_size=32, embedding_dim=16, epochs=8, lr=1e-2, min_freq=1, verbose=0
    ).fit(src, tgt)
    square = next(s for s, y in zip(waves.sequences, waves.labels, strict=True) if y == "square")
    np.save(work / "square.npy", np.asarray(square, dtype=np.float32))
    return {"reviews": reviews, "shapes": shapes, "airline": airline, "yelp-chars": lm,
            "reverse": reverse}


def _optimised_png(raw: bytes, target: Path) -> Path:
    """A screenshot as a palette PNG (far smaller than Chromium's RGB one)."""
    import io

    from PIL import Image

    image = Image.open(io.BytesIO(raw)).convert("RGB")
    image.quantize(colors=96, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
        target, optimize=True)
    return target


def serve_pages(
    names: Collection[str] = SERVE_IMAGES, width: int = 1000, height: int = 700
) -> list[Path]:
    """Photograph panels of the page with a result shown: docs/img/serve-<task>.png (``names``)."""
    import sys
    import threading
    import time

    from rnnkit.serve import ServeLimits, create_app
    from rnnkit.serve.server import bind_listener, make_server

    sys.path.insert(0, str(DOCS.parent / "tests" / "serve"))
    from browser_setup import start_browser, stop_browser
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        models = serve_models(work)
        listener = bind_listener("127.0.0.1", 0)
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        server = make_server(create_app(models, allowed_hosts=["127.0.0.1"]), ServeLimits())
        thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        driver = start_browser(width, height)
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})

        def wait(condition: object) -> None:
            WebDriverWait(driver, 60).until(condition)

        def open_model(name: str) -> None:
            driver.get(f"{url}/?model={name}")
            wait(lambda d: d.execute_script("return document.body.dataset.ready === '1'"))

        def fill(element_id: str, text: str) -> None:
            box = driver.find_element(By.ID, element_id)
            box.clear()
            box.send_keys(text)

        def result_shown(element_id: str) -> None:
            wait(lambda d: d.find_element(By.ID, element_id).is_displayed())
            driver.execute_script("document.activeElement.blur()")

        def text() -> None:
            open_model("reviews")
            fill("text",
                 "The staff were friendly and the pasta was delicious, but the dessert was bland.")
            driver.find_element(By.ID, "classify").click()
            result_shown("result")

        def sequence() -> None:
            open_model("shapes")
            driver.find_element(By.ID, "sequence-file").send_keys(str(work / "square.npy"))
            wait(lambda d: d.find_element(By.ID, "sequence-file-info").text != "")
            driver.find_element(By.ID, "classify-sequence").click()
            result_shown("sequence-result")

        def forecast() -> None:
            open_model("airline")
            fill("steps", "24")
            driver.find_element(By.ID, "forecast").click()
            result_shown("forecast-result")

        def generate() -> None:
            open_model("yelp-chars")
            fill("prime", "The food was")
            driver.execute_script("const s = document.getElementById('temperature'); "
                                  "s.value = '0.6';s.dispatchEvent(new Event('input'));")
            fill("length", "300")
            driver.find_element(By.ID, "generate").click()
            wait(lambda d: d.find_element(By.ID, "output").get_attribute("data-done") == "1")
            driver.execute_script("document.activeElement.blur()")

        def translate() -> None:
            open_model("reverse")
            fill("source", "a c e g b d")
            driver.find_element(By.ID, "translate").click()
            result_shown("translate-result")

        written = []
        try:
            for task, show in zip(
                SERVE_TASKS, (text, sequence, forecast, generate, translate), strict=True
            ):
                target = IMAGES / f"serve-{task}.png"
                if target.name not in names:
                    continue
                show()
                written.append(_optimised_png(driver.get_screenshot_as_png(), target))
                print(f"  {target.name}")
        finally:
            stop_browser(driver)
            server.should_exit = True
            thread.join(timeout=10)
            listener.close()
        return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="picture file names to redraw (default: all)")
    parser.add_argument("--steps", type=int, default=3000,
                        help="training steps per cell for the gradient-flow picture")
    args = parser.parse_args()
    everything = ([n for names in PAGES.values() for n in names] + EXTRA + list(FROM_BENCHMARKS)
                  + SERVE_IMAGES)
    wanted = set(args.only or everything)
    IMAGES.mkdir(exist_ok=True)
    written: list[Path] = []
    for page, names in PAGES.items():
        if wanted & set(names):
            print(f"running {page}")
            written += [p for p in run_page(page, names) if p.name in wanted]
    if "gradient_flow_trained.png" in wanted:
        print("training rnn, lstm, gru on the adding problem")
        written.append(gradient_flow_trained(args.steps))
    for name, source in FROM_BENCHMARKS.items():
        if name in wanted:
            written.append(Path(shutil.copyfile(DOCS.parent / source, IMAGES / name)))
    if wanted & set(SERVE_IMAGES):
        print("training five small models and photographing the page in headless Chromium")
        written += serve_pages(wanted & set(SERVE_IMAGES))
    for path in written:
        size = path.stat().st_size
        print(f"{path.relative_to(DOCS.parent)}  {size / 1000:.0f} KB")
        if size > MAX_BYTES:
            raise SystemExit(f"{path} is {size} bytes; keep pictures under {MAX_BYTES} "
                             "(smaller figure)")


if __name__ == "__main__":
    main()

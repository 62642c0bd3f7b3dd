"""The web page end to end in headless Chromium (Debian's chromium + chromedriver, Selenium).

One browser and one server with a model of each of the five tasks serve the whole module: text
classifier ``reviews``, sequence classifier ``sensors``, forecaster ``wave``, language model
``hello``, translator ``rev``. Screenshots go to pytest's tmp dir, or to ``$RNNKIT_SCREENSHOTS``
when set.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from browser_setup import start_browser, stop_browser
from serve_helpers import LiveServer

TOKENS_JS = "return [...document.querySelectorAll(arguments[0])].map(e => e.textContent)"


@pytest.fixture(scope="module")
def browser():
    driver = start_browser()
    yield driver
    stop_browser(driver)


@pytest.fixture(scope="module")
def five(loaded: dict[str, object]) -> dict[str, object]:
    """The conftest's three bundles plus a tiny sequence classifier and translator."""
    from rnnkit.tasks import SequenceClassifier, Translator
    from rnnkit.tasks.translation_toys import reversal_pairs

    rng = np.random.default_rng(0)
    X = [rng.normal(size=(int(rng.integers(3, 9)), 2)) + 2 * (i % 2) for i in range(60)]
    y = ["up" if i % 2 else "down" for i in range(60)]
    seq = SequenceClassifier(hidden_size=4, epochs=1, verbose=0).fit(X, y)
    src, tgt = reversal_pairs(200, 3, 5, vocab=5, seed=0)
    rev = Translator(hidden_size=8, embedding_dim=8, epochs=2, lr=1e-2, min_freq=1, verbose=0,
                     dropout=0.0).fit(src, tgt)
    return {**loaded, "sensors": seq, "rev": rev}


@pytest.fixture(scope="module")
def server(five: dict[str, object]) -> Iterator[LiveServer]:
    from rnnkit.serve import create_app

    # As `rnnkit serve` runs it: the Host check on (the page must work under it).
    with LiveServer(create_app(five, allowed_hosts=["127.0.0.1"])) as live:
        yield live


@pytest.fixture()
def shots(tmp_path) -> Path:
    folder = Path(os.environ.get("RNNKIT_SCREENSHOTS", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def wait_for(driver, condition, timeout: float = 20):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(condition)


def open_model(driver, url: str, name: str) -> None:
    driver.get(f"{url}/?model={name}")
    wait_for(driver, lambda d: d.execute_script("return document.body.dataset.ready === '1'"))


def by_id(driver, element_id: str):
    from selenium.webdriver.common.by import By

    return driver.find_element(By.ID, element_id)


def fill(driver, element_id: str, text: str) -> None:
    box = by_id(driver, element_id)
    box.clear()
    box.send_keys(text)


def shown(driver, element_id: str) -> bool:
    return bool(by_id(driver, element_id).is_displayed())


def visible_panels(driver) -> list[str]:
    return driver.execute_script(
        "return [...document.querySelectorAll('section.panel')].filter(s => !s.hidden).map(s => "
        "s.id)")


def panel_error(driver, panel: str) -> str:
    return str(driver.execute_script(
        "const e = document.querySelector(`#${arguments[0]} .panel-error`); return e.hidden ? '' : "
        "e.textContent",
        panel))


def test_text_panel_shows_label_and_saliency(browser, server, five, shots):
    open_model(browser, server.url, "reviews")
    assert visible_panels(browser) == ["classify-view"]
    review = "the acting was wonderful and the story superb"
    fill(browser, "text", review)
    by_id(browser, "classify").click()
    wait_for(browser, lambda d: by_id(d, "label").text != "")
    assert by_id(browser, "label").text == five["reviews"].predict([review])[0] == "pos"
    assert float(by_id(browser, "prob-bar").value_of_css_property("width").replace("px", "")) > 0
    assert browser.execute_script(TOKENS_JS, "#others .class-name") == ["pos", "neg"]
    assert browser.execute_script(TOKENS_JS, "#saliency .token") == review.split()
    browser.save_screenshot(str(shots / "page_classify.png"))

    fill(browser, "text", "这部电影很好看")  # Chinese: one token per character
    by_id(browser, "classify").click()
    wait_for(browser,
             lambda d: d.execute_script(TOKENS_JS, "#saliency .token") == list("这部电影很好看"))
    assert by_id(browser, "label").text in ("pos", "neg")


def test_sequence_panel_paste_upload_and_errors(browser, server, five, shots, tmp_path):
    model = five["sensors"]
    open_model(browser, server.url, "sensors")
    assert visible_panels(browser) == ["sequence-view"]
    assert "2 features" in by_id(browser, "sequence-hint").text  # from GET /models: feature_size
    assert browser.execute_script("return models.find(m => m.name === 'sensors').feature_size") == 2
    assert (
        browser.execute_script("return models.find(m => m.name === 'reviews').feature_size") is None
    )
    rows = [[2.1, 1.9], [2.3, 2.2], [1.8, 2.0], [2.2, 1.7]]
    fill(browser, "sequence", "\n".join(f"{a}, {b}" for a, b in rows[:2]) + "\n"
         + "\n".join(f"{a} {b}" for a, b in rows[2:]))  # commas or spaces
    by_id(browser, "classify-sequence").click()
    wait_for(browser, lambda d: shown(d, "sequence-result"))
    assert by_id(browser, "sequence-label").text == model.predict([np.array(rows)])[0]
    assert browser.execute_script(TOKENS_JS, "#sequence-others .class-name") != []
    assert by_id(browser, "sequence-shape").text == "4 steps × 2 features"

    # A .npy file read in the browser (float32, C order) fills the box; so does a CSV with a header.
    array = np.linspace(-1, 1, 14, dtype=np.float32).reshape(7, 2)
    np.save(tmp_path / "walk.npy", array)
    by_id(browser, "sequence-file").send_keys(str(tmp_path / "walk.npy"))
    wait_for(browser, lambda d: "walk.npy: 7 steps" in by_id(d, "sequence-file-info").text)
    values = [
        [float(v) for v in line.split(",")]
        for line in by_id(browser, "sequence").get_attribute("value").splitlines()
    ]
    np.testing.assert_allclose(values, array, rtol=1e-6)
    by_id(browser, "classify-sequence").click()
    wait_for(browser, lambda d: by_id(d, "sequence-shape").text == "7 steps × 2 features")
    assert by_id(browser, "sequence-label").text == model.predict([array.astype(np.float64)])[0]
    browser.save_screenshot(str(shots / "page_sequence.png"))

    (tmp_path / "walk.csv").write_text("x,y\n1,2\n3,4\n5,6\n", encoding="utf-8")
    by_id(browser, "sequence-file").send_keys(str(tmp_path / "walk.csv"))
    wait_for(browser, lambda d: "walk.csv: 3 steps" in by_id(d, "sequence-file-info").text)
    assert by_id(browser, "sequence").get_attribute("value") == "1, 2\n3, 4\n5, 6"

    # The API's 422 shows in the panel as its one-line message, not as JSON.
    fill(browser, "sequence", "1, 2, 3\n4, 5, 6")
    by_id(browser, "classify-sequence").click()
    wait_for(browser, lambda d: panel_error(d, "sequence-view") != "")
    message = panel_error(browser, "sequence-view")
    assert "needs 2 features" in message and "{" not in message and "status" not in message
    fill(browser, "sequence", "1, x")
    by_id(browser, "classify-sequence").click()
    wait_for(browser, lambda d: "is not a number" in panel_error(d, "sequence-view"))


def test_npy_files_are_read_in_the_browser(browser, server):
    """The page's .npy reader: dtypes, 1-D / 3-D / Fortran-order shapes, and refusals."""
    import base64
    import io

    open_model(browser, server.url, "sensors")

    def parsed(array_or_bytes):
        if isinstance(array_or_bytes, bytes):
            raw = array_or_bytes
        else:
            buffer = io.BytesIO()
            np.save(buffer, array_or_bytes)
            raw = buffer.getvalue()
        return browser.execute_script(
            "try { return parseNpy(Uint8Array.from(atob(arguments[0]), "
            "c => c.charCodeAt(0)).buffer); } catch (err) { return 'error: ' + err.message; }",
            base64.b64encode(raw).decode())

    grid = np.arange(6).reshape(3, 2)
    assert parsed(grid.astype(np.float64)) == grid.tolist()
    assert parsed(grid.astype(np.int64)) == grid.tolist()
    assert parsed(np.asfortranarray(grid.astype(np.int32))) == grid.tolist()
    assert parsed(np.array([0.5, 1.5, -2.0], dtype=np.float32)) == [[0.5], [1.5], [-2.0]]
    assert parsed(grid[None].astype(np.float32)) == grid.tolist()
    assert parsed(grid.astype(">f8")).startswith("error: .npy dtype >f8 is not supported")
    assert parsed(np.zeros((2, 2, 2))).startswith("error: .npy shape")
    assert parsed(b"not numpy") == "error: not a .npy file"


def test_forecast_panel_draws_points_band_and_table(browser, server, five, shots):
    open_model(browser, server.url, "wave")
    assert visible_panels(browser) == ["forecast-view"]
    assert by_id(browser, "steps").get_attribute("value") == "6"  # the model's horizon
    assert by_id(browser, "steps").get_attribute("max") == "500"  # the server's limit
    fill(browser, "steps", "9")
    by_id(browser, "forecast").click()
    wait_for(browser, lambda d: shown(d, "forecast-result"))
    points = browser.execute_script(
        "return document.querySelectorAll('#chart circle.forecast-point').length"
    )
    assert points == 9
    expected = five["wave"].forecast(9)
    rows = browser.execute_script(TOKENS_JS, "#forecast-table tr")
    assert len(rows) == 1 + 9
    has_band = any(str(c).endswith("_lower") for c in expected.columns)
    assert (
        bool(browser.execute_script("return !!document.getElementById('forecast-band')"))
        == has_band
    )
    assert panel_error(browser, "forecast-view") == ""
    browser.save_screenshot(str(shots / "page_forecast.png"))

    fill(browser, "steps", "501")  # over the server's limit: said in the panel, the chart stays
    by_id(browser, "forecast").click()
    wait_for(browser, lambda d: panel_error(d, "forecast-view") != "")
    assert panel_error(browser, "forecast-view") == "steps: give a whole number from 1 to 500"


def test_generate_panel_streams_text(browser, server, shots):
    open_model(browser, server.url, "hello")
    assert visible_panels(browser) == ["generate-view"]
    by_id(browser, "prime").send_keys("hello")
    browser.execute_script("const s = document.getElementById('temperature'); s.value = '0.3';"
                           "s.dispatchEvent(new Event('input'));")
    assert by_id(browser, "temperature-value").text == "0.3"
    fill(browser, "length", "60")
    by_id(browser, "generate").click()
    wait_for(browser, lambda d: by_id(d, "output").get_attribute("data-done") == "1")
    output = by_id(browser, "output").text
    assert output.startswith("hello") and len(output) > len("hello") + 20
    browser.save_screenshot(str(shots / "page_generate.png"))

    fill(browser, "length", "5000")  # the API's 422, shown as its message
    by_id(browser, "generate").click()
    wait_for(browser, lambda d: panel_error(d, "generate-view") != "")
    assert panel_error(browser, "generate-view") == "length: must be between 1 and 1000, got 5000"


def test_translate_panel_shows_translation_and_attention(browser, server, five, shots):
    open_model(browser, server.url, "rev")
    assert visible_panels(browser) == ["translate-view"]
    fill(browser, "source", "a b c d")
    by_id(browser, "translate").click()
    wait_for(browser, lambda d: shown(d, "translate-result"))
    result = five["rev"].translate_with_attention(["a b c d"])[0]
    assert result.text and by_id(browser, "translation").text == result.text
    sources = browser.execute_script(TOKENS_JS, "#attention .source-token")
    targets = browser.execute_script(TOKENS_JS, "#attention .target-token")
    assert sources == ["a", "b", "c", "d"]
    assert targets == [*result.target_tokens, "<eos>"][: len(result.weights)]
    cells = browser.execute_script(
        "return document.querySelectorAll('#attention rect.attention-cell').length"
    )
    assert cells == len(sources) * len(targets) == np.size(result.weights)
    browser.save_screenshot(str(shots / "page_translate.png"))


def test_switching_models_clears_results_and_errors(browser, server):
    from selenium.webdriver.support.ui import Select

    open_model(browser, server.url, "reviews")
    fill(browser, "text", "a fine film")
    by_id(browser, "classify").click()
    wait_for(browser, lambda d: shown(d, "result"))
    select = Select(by_id(browser, "model"))
    select.select_by_value("rev")  # fires "change", as a person picking from the list does
    assert visible_panels(browser) == ["translate-view"]
    assert by_id(browser, "label").text == "" and not shown(browser, "result")
    assert by_id(browser, "task").text == "translation"

    fill(browser, "source", "a b")
    by_id(browser, "translate").click()
    wait_for(browser, lambda d: shown(d, "translate-result"))
    select.select_by_value("sensors")
    assert visible_panels(browser) == ["sequence-view"]
    assert browser.execute_script("return document.querySelectorAll('#attention rect').length") == 0
    fill(browser, "sequence", "1 2 3")
    by_id(browser, "classify-sequence").click()
    wait_for(browser, lambda d: panel_error(d, "sequence-view") != "")
    select.select_by_value("reviews")
    select.select_by_value("sensors")
    assert panel_error(browser, "sequence-view") == "" and not shown(browser, "sequence-result")
    # Coming back to the text model shows its empty panel, not the earlier result.
    select.select_by_value("reviews")
    assert not shown(browser, "result") and by_id(browser, "saliency").text == ""


def test_phone_width_has_no_horizontal_scroll(browser, server, shots):
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True})
    try:
        for name, fill_and_submit in [
            (
                "reviews",
                lambda: (fill(browser, "text", "a fine film"), by_id(browser, "classify").click()),
            ),
            (
                "rev",
                lambda: (fill(browser, "source", "a b c d e"), by_id(browser, "translate").click()),
            ),
            ("wave", lambda: by_id(browser, "forecast").click()),
        ]:
            open_model(browser, server.url, name)
            assert browser.execute_script("return window.innerWidth") == 390
            fill_and_submit()
            wait_for(browser, lambda d: d.execute_script(
                "return [...document.querySelectorAll('.result')].some(r => !r.hidden)"))
            overflow = browser.execute_script(
                "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, name
        browser.save_screenshot(str(shots / "page_phone.png"))
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})

"""The web page end to end in headless Chromium (Debian's chromium + chromedriver, Selenium).

Screenshots go to pytest's tmp dir, or to ``$RNNKIT_SCREENSHOTS`` when set.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from browser_setup import start_browser, stop_browser


@pytest.fixture(scope="module")
def browser():
    driver = start_browser()
    yield driver
    stop_browser(driver)


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


def test_review_gets_the_shown_label(browser, live_server, loaded, shots):
    from selenium.webdriver.common.by import By

    open_model(browser, live_server.url, "reviews")
    review = "the acting was wonderful and the story superb"
    box = browser.find_element(By.ID, "text")
    box.clear()
    box.send_keys(review)
    browser.find_element(By.ID, "classify").click()
    wait_for(browser, lambda d: d.find_element(By.ID, "label").text != "")
    assert browser.find_element(By.ID, "label").text == loaded["reviews"].predict([review])[0] == "pos"
    width = browser.find_element(By.ID, "prob-bar").value_of_css_property("width")
    assert float(width.replace("px", "")) > 0
    tokens = [t.text for t in browser.find_elements(By.CSS_SELECTOR, "#saliency .token")]
    assert tokens == review.split()
    browser.save_screenshot(str(shots / "page_classify.png"))

    box.clear()
    box.send_keys("这部电影很好看")  # Chinese: one token per character
    browser.find_element(By.ID, "classify").click()
    tokens_js = "return [...document.querySelectorAll('#saliency .token')].map(e => e.textContent)"
    wait_for(browser, lambda d: d.execute_script(tokens_js) == list("这部电影很好看"))
    assert browser.find_element(By.ID, "label").text in ("pos", "neg")


def test_phone_width_has_no_horizontal_scroll(live_server, shots):
    driver = start_browser(width=390, height=844)
    try:
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True})
        open_model(driver, live_server.url, "reviews")
        assert driver.execute_script("return window.innerWidth") == 390
        overflow = driver.execute_script(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0
        driver.save_screenshot(str(shots / "page_phone.png"))
    finally:
        stop_browser(driver)


def test_generation_streams_and_forecast_draws(browser, live_server, shots):
    from selenium.webdriver.common.by import By

    open_model(browser, live_server.url, "hello")
    assert browser.find_element(By.ID, "classify-view").is_displayed() is False
    browser.find_element(By.ID, "prime").send_keys("hello")
    browser.execute_script("const s = document.getElementById('temperature'); s.value = '0.3';"
                           "s.dispatchEvent(new Event('input'));")
    assert browser.find_element(By.ID, "temperature-value").text == "0.3"
    length = browser.find_element(By.ID, "length")
    length.clear()
    length.send_keys("60")
    browser.find_element(By.ID, "generate").click()
    wait_for(browser, lambda d: d.find_element(By.ID, "output").get_attribute("data-done") == "1")
    output = browser.find_element(By.ID, "output").text
    assert output.startswith("hello") and len(output) > len("hello") + 20
    browser.save_screenshot(str(shots / "page_generate.png"))

    open_model(browser, live_server.url, "wave")
    browser.find_element(By.ID, "forecast").click()
    wait_for(browser, lambda d: d.find_elements(By.ID, "forecast-line"))
    rows = browser.find_elements(By.CSS_SELECTOR, "#forecast-table tr")
    assert len(rows) == 1 + 6  # header + the model's horizon (the default steps)
    assert browser.find_element(By.ID, "error").is_displayed() is False
    browser.save_screenshot(str(shots / "page_forecast.png"))

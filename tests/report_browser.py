"""Opens the demo's report.html in headless Chromium (Debian's chromium and
chromium-driver, driven by Selenium) and checks what a reader sees:

* every embedded figure renders with a real size;
* the Table 1 layout and the findings are present;
* clicking a net's row draws its embedding and its jump curves;
* hovering a point of the embedding shows the tooltip with the point's run,
  seed, step, epoch and losses (a real mouse move, not a synthetic event);
* the page loads nothing from the network and logs no script errors.

Saves a screenshot of the explorer. Usage:
    python tests/report_browser.py pipelines/digits/out/report/report.html out.png
"""

import pathlib
import sys

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By


def fail(msg):
    print(f"report_browser: FAIL: {msg}")
    sys.exit(1)


def main(html_path, screenshot):
    html = pathlib.Path(html_path).resolve()
    if not html.exists():
        fail(f"{html} does not exist (run the demo first)")
    opts = Options()
    opts.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1400,1100", "--disable-dev-shm-usage"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    try:
        driver.get(html.as_uri())

        figures = driver.find_elements(By.CSS_SELECTOR, "figure svg, figure img")
        if len(figures) < 5:
            fail(f"only {len(figures)} figures in the page")
        for f in figures:
            size = f.size
            if size["width"] < 200 or size["height"] < 150:
                fail(f"a figure renders at {size}")
            if f.tag_name == "svg":
                drawn = f.find_elements(By.CSS_SELECTOR, "circle, rect, path, polyline, text")
                if len(drawn) < 5:
                    fail("an SVG figure has almost nothing drawn in it")
            else:  # large figures are embedded as PNG data URLs: the image must decode
                width = driver.execute_script("return arguments[0].complete ? arguments[0].naturalWidth : 0", f)
                if not width:
                    fail("an embedded PNG figure did not decode")
        print(f"report_browser: {len(figures)} figures render")

        table = driver.find_element(By.ID, "table1").text
        for word in ("jr", "naive", "grid", "scrambled", "test_loss_q"):
            if word not in table:
                fail(f"Table 1 lacks `{word}`")
        findings = driver.find_element(By.ID, "findings").text
        if "Spearman" not in findings or "paper" not in findings:
            fail("the findings do not state the persistence correlation and the comparison with the paper")

        rows = driver.find_elements(By.CSS_SELECTOR, "#nets tbody tr")
        if len(rows) < 2:
            fail("the nets table has fewer than 2 rows")
        row = rows[-1]
        run = row.get_attribute("data-run")
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", row)
        row.click()
        if run not in driver.find_element(By.ID, "curves-title").text:
            fail("clicking a net's row did not show its jump curves")
        curves = driver.find_elements(By.CSS_SELECTOR, "#curves path.curve")
        if len(curves) < 2:
            fail(f"the jump curves of {run} have {len(curves)} lines")
        points = driver.find_elements(By.CSS_SELECTOR, "#embedding circle.point")
        if len(points) < 10:
            fail(f"the embedding of {run} has {len(points)} points")
        print(f"report_browser: clicking {run} draws {len(points)} points and {len(curves)} curves")

        target = points[-1]  # drawn last: on top, so the mouse reaches it
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", driver.find_element(By.ID, "embedding"))
        ActionChains(driver).move_to_element(target).perform()
        tooltip = driver.find_element(By.ID, "tooltip")
        if not tooltip.is_displayed():
            fail("hovering a point did not show the tooltip")
        text = tooltip.text
        for word in (run, "seed", "step", "epoch", "train loss", "test loss"):
            if word not in text:
                fail(f"the tooltip lacks `{word}`: {text!r}")
        print(f"report_browser: hover shows {text!r}")
        driver.save_screenshot(screenshot)

        errors = [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
        if errors:
            fail(f"script errors: {errors}")
        requests = [e for e in driver.get_log("performance") if '"Network.requestWillBeSent"' in e["message"] and '"url":"http' in e["message"]]
        if requests:
            fail(f"the page fetched {len(requests)} network resources")
    finally:
        driver.quit()
    print(f"report_browser: ok (screenshot {screenshot})")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])

"""``python tests/bench/browser.py PAGE``: open PAGE in a new headless Chromium (Debian's
``chromium`` and ``chromium-driver``, through selenium) and wait until it says it is drawn
(``<body data-ready="1">``, as the report does once its plots are drawn); exit 0.

The ``report-open`` row times this for the report against the same for a page that is
drawn at once, so the difference is the report's own opening time.  Run by the
interpreter that runs git-exp, whose ``[test]`` extra has selenium."""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1400,1800")
EMPTY_PAGE = '<!DOCTYPE html><html><head><meta charset="utf-8"></head><body data-ready="1"></body></html>\n'


def chromium() -> tuple[str | None, str | None]:
    return shutil.which("chromium") or shutil.which("chromium-browser"), shutil.which("chromedriver")


def browser_missing(python: str, env) -> str | None:
    """Why ``python`` cannot open pages here, or None."""
    import subprocess

    browser, driver_path = chromium()
    if not browser or not driver_path:
        return "chromium or chromedriver is not installed (apt-get install chromium chromium-driver)"
    probe = subprocess.run([python, "-c", "import selenium"], env=dict(env), capture_output=True)
    if probe.returncode:
        return f"selenium is not installed for {python} (pip install '.[test]')"
    return None


def main(page: str) -> int:
    os.environ["SE_AVOID_STATS"] = "true"
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.support.ui import WebDriverWait

    browser, driver_path = chromium()
    if not browser or not driver_path:
        print("chromium or chromedriver is not installed", file=sys.stderr)
        return 2
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in FLAGS:
        options.add_argument(flag)
    with tempfile.TemporaryDirectory(prefix="bench-chromium-") as profile:
        options.add_argument(f"--user-data-dir={profile}")
        driver = webdriver.Chrome(options=options, service=Service(driver_path))
        try:
            driver.get(Path(page).resolve().as_uri())
            WebDriverWait(driver, 60, poll_frequency=0.02).until(
                lambda d: d.execute_script("return document.body && document.body.dataset.ready") == "1")
            errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
        finally:
            driver.quit()
    if errors:
        print(f"the page logged errors: {errors}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1]))

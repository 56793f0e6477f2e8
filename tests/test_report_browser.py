"""The report in a real headless Chromium (Debian's ``chromium`` and ``chromium-driver``,
driven by selenium): it opens offline with no request leaving file://, logs no error,
sorts, filters, draws its plots, keeps what the repository says as text, and looks like a
page (a screenshot that is not blank).  Skipped, with the reason, where any is missing."""
import json
import os
import shutil
import struct
import tempfile
import zlib
from pathlib import Path

import pytest

from .conftest import git, write

pytestmark = pytest.mark.once  # a browser does not care about object or ref formats

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-default-apps",
         "--window-size=1400,1800")
LOCAL_SCHEMES = ("file:", "data:", "blob:", "about:")


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    if not CHROMIUM or not DRIVER:
        pytest.skip("chromium or chromedriver is not installed (Debian: apt-get install chromium chromium-driver; "
                    "`make test-deps` does it as root)")
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install '.[test]')")
    from selenium.webdriver.chrome.service import Service

    os.environ["SE_AVOID_STATS"] = "true"  # selenium sends nothing anywhere (no manager runs: paths are given)
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(DRIVER))
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def open_page(browser, path: Path) -> list[str]:
    """Load ``path``, wait until the page says it is drawn; the URLs it requested."""
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get("about:blank")
    browser.get_log("performance")  # what came before this page
    browser.get_log("browser")
    browser.get(path.as_uri())
    WebDriverWait(browser, 30).until(lambda d: d.execute_script("return document.body.dataset.ready") == "1")
    requested = []
    for entry in browser.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            requested.append(message["params"]["request"]["url"])
    return requested


def console_errors(browser) -> list[dict]:
    return [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]


def history(rate: float) -> str:
    return "".join(json.dumps({"step": s, "loss": 1 / (1 + s * rate), "acc": 1 - 1 / (1 + s * rate)}) + "\n"
                   for s in range(30))


@pytest.fixture(scope="module")
def report_file(tmp_path_factory):
    """A report of six experiments, one named and noted with markup."""
    from git_exp.cli import main

    from .conftest import init_repo

    path = init_repo(tmp_path_factory.mktemp("report") / "repo",
                     files={"params.yaml": "lr: 0.1\nbatch: 32\n", "metrics.json": '{"acc": 0.5}'})
    old = os.getcwd()
    os.chdir(path)
    try:
        for i, (lr, batch, acc) in enumerate([(0.01, 16, 0.91), (0.05, 32, 0.84), (0.1, 64, 0.77),
                                              (0.2, 16, 0.66), (0.3, 128, 0.52)]):
            write(path, {"params.yaml": f"lr: {lr}\nbatch: {batch}\n", "metrics.json": json.dumps({"acc": acc}),
                         "metrics.jsonl": history(lr * 10), "train.py": f"LR = {lr}\n"})
            assert main(["save", "-n", f"run-{i}"]) == 0
        write(path, {"params.yaml": "lr: 0.4\nbatch: 8\n", "metrics.json": '{"acc": 0.3}'})
        assert main(["save", "-n", "<svg/onload=window.__xss=1>"]) == 0
        git(path, "checkout", "-q", "--", ".")
        from git_exp.commands.report import report
        from git_exp.present.report import html
        from git_exp.present.report import write as write_page
        from git_exp.repo import Repo

        gathered = report(Repo(path))
        for row in gathered.rows:  # as the notes work will add them
            row["tags"], row["note"] = ["<script>window.__xss=2</script>"], "</script><script>window.__xss=3</script>"
            row["run_url"] = "javascript:window.__xss=4" if row["name"] == "run-1" else None
        gathered.rows[0]["run_url"] = "https://ci.example/acme/runs/7"
        out = path.parent / "report.html"
        write_page(str(out), html(gathered, "git-exp test"))
    finally:
        os.chdir(old)
    return out


def test_opens_offline_without_errors_and_draws(browser, report_file):
    requested = open_page(browser, report_file)
    assert requested and all(url.startswith(LOCAL_SCHEMES) for url in requested), requested
    assert console_errors(browser) == []
    # params against a metric: a line across the axes per experiment
    axes = browser.find_elements("css selector", "#params-plot svg .mark-text.axis-names text")
    assert [a.text for a in axes] == ["batch", "lr", "acc"]  # the params that vary, then the metric
    lines = browser.find_elements("css selector", "#params-plot svg .mark-path.experiments path")
    assert len(lines) == 6 and all(line.get_attribute("d").count("L") == 2 for line in lines)
    # step metrics: the first five shown that have them, one curve each
    assert len(browser.find_elements("css selector", "#curves-plot svg .mark-line path")) == 5
    from selenium.webdriver.support.ui import Select

    Select(browser.find_element("id", "view")).select_by_value("scatter")
    Select(browser.find_element("id", "x-param")).select_by_value("params.lr")
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, 10).until(  # scatter: a point per experiment
        lambda d: len(d.find_elements("css selector", "#params-plot svg .mark-symbol.role-mark path")) == 6)
    links = browser.find_elements("css selector", "#table tbody a")
    assert [a.get_attribute("href") for a in links] == ["https://ci.example/acme/runs/7"]  # javascript: stays text
    assert browser.execute_script("return window.__xss") is None
    names = [b.text for b in browser.find_elements("css selector", "#table tbody button.name")]
    assert "<svg/onload=window.__xss=1>" in names
    assert "<script>window.__xss=2</script>" in browser.find_element("css selector", "#table tbody .tag").text


def column(browser, key: str) -> list[str]:
    index = [th.get_attribute("data-key") for th in browser.find_elements("css selector", "#table thead th")].index(key)
    return [tr.find_elements("css selector", "td")[index].text
            for tr in browser.find_elements("css selector", "#table tbody tr")]


def test_table_sorts_and_filters(browser, report_file):
    open_page(browser, report_file)
    header = browser.find_element("css selector", '#table thead th[data-key="metrics.acc"]')
    header.click()
    values = [float(v) for v in column(browser, "metrics.acc")]
    assert values == sorted(values) and len(values) == 6
    assert header.get_attribute("aria-sort") == "ascending"
    header.click()
    assert [float(v) for v in column(browser, "metrics.acc")] == sorted(values, reverse=True)
    browser.find_element("css selector", '#table thead th[data-key="label"]').click()
    names = column(browser, "label")
    assert names == sorted(names)
    box = browser.find_element("id", "filter")
    box.send_keys("run-3")
    assert column(browser, "label") == ["run-3"]
    assert browser.find_element("id", "count").text == "1 of 6 shown"
    assert console_errors(browser) == []


def test_selection_draws_curves_and_name_shows_changes(browser, report_file):
    open_page(browser, report_file)
    rows = browser.find_elements("css selector", "#table tbody tr")
    for tr in rows[:2]:
        tr.find_element("css selector", "input[type=checkbox]").click()
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, 10).until(
        lambda d: len(d.find_elements("css selector", "#curves-plot svg .mark-line path")) == 2)
    target = next(tr for tr in rows if tr.find_element("css selector", "button.name").text == "run-0")
    target.find_element("css selector", "button.name").click()
    detail = browser.find_element("id", "detail-body").text
    assert "params.lr" in detail and "0.01 (-0.09)" in detail and "metrics.json" in detail
    assert "+LR = 0.01" in browser.find_element("css selector", "pre.patch").text
    assert console_errors(browser) == []


def png_pixels(data: bytes, header_only: bool = False) -> tuple[int, int, list[bytes]]:
    """Width, height and the RGB of each pixel of an 8-bit RGB/RGBA non-interlaced PNG
    (what Chromium writes)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", chunk)
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = header
    if header_only:
        return width, height, []
    assert depth == 8 and colour in (2, 6) and interlace == 0, header
    step = 3 if colour == 2 else 4
    raw = zlib.decompress(idat)
    rows, previous, stride = [], bytearray(width * step), width * step
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for x in range(stride):
            left = line[x - step] if x >= step else 0
            up, corner = previous[x], previous[x - step] if x >= step else 0
            if kind == 1:
                line[x] = (line[x] + left) & 255
            elif kind == 2:
                line[x] = (line[x] + up) & 255
            elif kind == 3:
                line[x] = (line[x] + (left + up) // 2) & 255
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[x] = (line[x] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 255
        rows.append(bytes(line))
        previous = line
    return width, height, [bytes(r[i:i + 3]) for r in rows for i in range(0, len(r), step)]


def test_screenshot_is_a_drawn_page(browser, report_file):
    """The whole page is kept to look at; the plot's own screenshot is checked for what a
    drawn plot has: many colours (lines on a colour scale, text) and not mostly blank."""
    open_page(browser, report_file)
    shot = browser.get_screenshot_as_png()
    keep = Path(os.environ.get("GIT_EXP_SCREENSHOT_DIR") or tempfile.gettempdir()) / "git-exp-report.png"
    keep.write_bytes(shot)
    width, height, _ = png_pixels(shot, header_only=True)
    assert width == 1400 and height > 1000, (width, height)
    plot = browser.find_element("css selector", "#params-plot svg")
    width, height, pixels = png_pixels(plot.screenshot_as_png)
    assert width > 300 and height > 200
    colours = set(pixels)
    inked = 1 - sum(p == b"\xff\xff\xff" for p in pixels) / len(pixels)
    assert len(colours) > 50, len(colours)
    assert 0.02 < inked < 0.9, inked


def test_curves_show_the_steps_and_values_logged(browser, tmp_path):
    """The page reads its packed step metrics back (``present.report.step_points``): the
    steps logged, or 0, 1, 2... when none were; a NaN is a gap, not a point."""
    from git_exp.cli import main

    from .conftest import init_repo

    path = init_repo(tmp_path / "repo", files={"params.yaml": "lr: 0.1\n"})
    logged = [{"step": 10, "loss": 0.5}, {"step": 20, "loss": float("nan")}, {"step": 25.5, "loss": 0.25},
              {"step": -3, "loss": 3}]
    old = os.getcwd()
    os.chdir(path)
    try:
        write(path, {"metrics.jsonl": "".join(json.dumps(line) + "\n" for line in logged)})
        assert main(["save", "-n", "stepped"]) == 0
        write(path, {"metrics.jsonl": "".join(json.dumps({"loss": v}) + "\n" for v in (0.75, 0.125))})
        assert main(["save", "-n", "counted"]) == 0
        out = tmp_path / "report.html"
        assert main(["report", "-o", str(out)]) == 0
    finally:
        os.chdir(old)
    open_page(browser, out)
    labels = browser.execute_script(
        "return Array.from(document.querySelectorAll('#curves-plot svg .mark-symbol.role-mark path'))"
        ".map(function (p) { return p.getAttribute('aria-label'); })")
    assert sorted(labels) == sorted([
        "step: 10; loss: 0.5; experiment: stepped", "step: 25.5; loss: 0.25; experiment: stepped",
        "step: \u22123; loss: 3; experiment: stepped",  # Vega's minus sign
        "step: 0; loss: 0.75; experiment: counted", "step: 1; loss: 0.125; experiment: counted"])
    assert console_errors(browser) == []

"""The studio in headless Chromium against the real server (gunicorn) on 127.0.0.1.

Needs Debian's `chromium` and `chromium-driver` (scripts/install-test-deps.sh installs them) and
Selenium; skipped, with the reason, only when those are not installed. The gallery and report
screenshots these tests take are the README's (refreshed with ARTBANDIT_UPDATE_SCREENSHOTS=1).
"""
from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pytest
import requests

from artwork.images import encode_image
from artwork.store import Store
from tests.api.conftest import LiveServer
from tests.studio.conftest import PASSWORD, World, add_artwork, log_traffic, picture

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
# Screenshots go to a temporary folder; set ARTBANDIT_UPDATE_SCREENSHOTS=1 to refresh the
# README's copies in docs/screenshots/ (tests otherwise never write into the working tree).
README_SCREENSHOTS = ROOT / "docs" / "screenshots"
SCREENSHOTS = Path(tempfile.mkdtemp(prefix="artbandit-screenshots-"))
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
WAIT = 60


@pytest.fixture
def browser(tmp_path):
    """Headless Chromium driven by chromedriver (Selenium), with a throwaway profile."""
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install selenium)")
    if not CHROMIUM or not CHROMEDRIVER:
        pytest.skip("chromium and chromium-driver are not installed (run scripts/install-test-deps.sh)")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", "--window-size=1280,1000", f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.implicitly_wait(0)
    yield driver
    driver.quit()


EDITOR = "editor"


@pytest.fixture
def server(data_dir):
    """The real server with one worker, and an editor's account to sign in with."""
    with Store.open(data_dir) as store:
        store.accounts.add_user(EDITOR, "editor", PASSWORD)
    live = LiveServer(data_dir)
    yield live
    live.stop()


def wait_for(driver, condition, timeout: float = WAIT):
    """Wait until `condition(driver)` is truthy and return it."""
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(condition)


def css(driver, selector: str):
    """The first element matching a CSS selector, waiting for the page to show it."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec

    try:
        return wait_for(driver, ec.presence_of_element_located((By.CSS_SELECTOR, selector)))
    except TimeoutException:
        text = driver.find_element(By.TAG_NAME, "body").text[:500]
        raise AssertionError(f"{selector} not on {driver.current_url}; the page says: {text}")


def css_all(driver, selector: str):
    """Every element matching a CSS selector."""
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, selector)


def sign_in(driver, url: str) -> None:
    """Open the studio, get sent to the sign-in form, sign in as the editor with the keyboard."""
    from selenium.webdriver.common.keys import Keys

    driver.get(url + "/studio/")
    assert "/studio/login" in driver.current_url
    css(driver, "#name").send_keys(EDITOR)
    css(driver, "#password").send_keys(PASSWORD, Keys.ENTER)
    # The path, not the whole URL: the sign-in page's own `?next=/studio/` ends the same way.
    wait_for(driver, lambda d: urlsplit(d.current_url).path.rstrip("/") == "/studio")


def create_title(driver, url: str, title_id: str, name: str) -> None:
    """Add a title through the titles page's form."""
    driver.get(url + "/studio/")
    css(driver, "#title-id").send_keys(title_id)
    css(driver, "#title-name").send_keys(name)
    css(driver, "#title-genres").send_keys("drama, thriller")
    css(driver, "#title-name").submit()
    wait_for(driver, lambda d: d.current_url.endswith(f"/studio/titles/{title_id}"))


def screenshot(driver, name: str) -> Path:
    """Save a full-page screenshot (copied to docs/screenshots/ when asked to refresh them)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1280, min(max(int(height) + 160, 800), 2400))
    path = SCREENSHOTS / name
    assert driver.save_screenshot(str(path))
    assert path.stat().st_size > 10_000, "the screenshot is blank"
    driver.set_window_size(1280, 1000)
    if os.environ.get("ARTBANDIT_UPDATE_SCREENSHOTS") == "1":
        README_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, README_SCREENSHOTS / name)
    return path


def upload(driver, paths) -> None:
    """Choose files in the stills form, send it, and wait for the page that answers."""
    css(driver, "#stills").send_keys("\n".join(str(p) for p in paths))
    css(driver, "#upload-stills").click()
    wait_for(driver, lambda d: css_all(d, "#upload-results") or css_all(d, "#error-message"))
    errors = css_all(driver, "#error-message")
    assert not errors, f"the upload failed as a whole: {errors[0].text}"


def cell(card, field: str) -> str:
    """The text of one field of an artwork card."""
    return css(card, f'[data-field="{field}"]').text


def test_upload_review_approve_and_see_live_performance(browser, server, tmp_path):
    url = server.url
    files = []
    for seed in range(3):
        path = tmp_path / f"still-{seed}.jpg"
        path.write_bytes(encode_image(picture(seed)))
        files.append(str(path))
    sign_in(browser, url)
    create_title(browser, url, "night-train", "Night Train")

    upload(browser, files)
    assert len(css_all(browser, "#upload-results-box li.ok")) == 3
    cards = css_all(browser, "li.artwork")
    assert len(cards) == 3
    for card in cards:
        assert cell(card, "status") == "CANDIDATE" or cell(card, "status").lower() == "candidate"
        assert cell(card, "score").startswith("score 0.")
        assert cell(card, "source").startswith("uploaded still")
        image_ok = browser.execute_script(
            "const i = arguments[0].querySelector('img'); return i.complete && i.naturalWidth > 0;", card)
        assert image_ok, "the thumbnail loads"

    chosen = cards[0].get_attribute("data-artwork-id")
    # Keyboard only: the first Tab reaches the skip link, Enter on a focused button approves.
    from selenium.webdriver.common.keys import Keys

    css(browser, "body").send_keys(Keys.TAB)
    assert browser.switch_to.active_element.get_attribute("class") == "skip"
    css(browser, f'#art-{chosen} button.approve').send_keys(Keys.ENTER)
    wait_for(browser, lambda d: "Approved artwork" in css(d, ".flash").text)
    card = css(browser, f"#art-{chosen}")
    assert cell(card, "status").lower() == "live"
    assert cell(card, "decisions") == "0" and cell(card, "impressions") == "0"

    served = requests.get(f"{url}/artwork", params={"user": "viewer-1", "title": "night-train"}, timeout=10)
    assert served.status_code == 200 and served.json()["artwork_id"] == chosen
    feedback = requests.post(f"{url}/feedback", json={"event_id": served.json()["event_id"],
                                                      "kind": "impression"}, timeout=10)
    assert feedback.status_code == 202
    browser.refresh()
    card = css(browser, f"#art-{chosen}")
    assert cell(card, "decisions") == "1"
    assert cell(card, "impressions") == "1"
    assert cell(card, "share") == "100.0%"
    assert cell(card, "take_rate").startswith("0.0%")
    screenshot(browser, "gallery.png")


def test_a_non_image_upload_shows_its_error_in_the_page(browser, server, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("these are meeting notes, not a picture")
    good = tmp_path / "good.png"
    good.write_bytes(encode_image(picture(9), "png"))
    sign_in(browser, server.url)
    create_title(browser, server.url, "t1", "Title One")
    upload(browser, [notes, good])
    failed = css(browser, '#upload-results-box li.failed[data-file="notes.txt"]')
    assert "notes.txt" in failed.text and "not a decodable image" in failed.text
    assert css(browser, "#upload-results-box").get_attribute("role") == "alert"
    assert len(css_all(browser, "#upload-results-box li.ok")) == 1
    assert len(css_all(browser, "li.artwork")) == 1


def test_replay_from_the_form_and_open_the_report_with_its_plot(browser, server, data_dir):
    url = server.url
    with Store.open(data_dir) as store:  # the server's own store file, shared through SQLite
        store.add_title("t1", "One", ["drama"])
        for seed in range(3):
            add_artwork(store, "t1", 20 + seed, status="live")
    for i in range(120):
        served = requests.get(f"{url}/artwork", params={"user": f"u{i}", "title": "t1", "device": "tv"},
                              timeout=10).json()
        if i % 4 == 0:
            requests.post(f"{url}/feedback", json={"event_id": served["event_id"], "kind": "play"}, timeout=10)
    time.sleep(0.5)  # let the 0.3 s reward window of the last decision close

    sign_in(browser, url)
    browser.get(url + "/studio/reports/")
    css(browser, "#extra-policies").send_keys("thompson")
    css(browser, "#run-replay").click()
    wait_for(browser, lambda d: "/studio/reports/runs/" in d.current_url)
    link = wait_for(browser, lambda d: (lambda el: el if el.is_displayed() else None)(
        css(d, '[data-field="report-link"]')))
    assert css(browser, "progress").get_attribute("value") == "1"
    link.click()
    wait_for(browser, lambda d: css_all(d, "#report-table"))
    rows = [r.text for r in css_all(browser, "#report-table tbody tr")]
    assert any(r.startswith("thompson") for r in rows) and any(r.startswith("logged") for r in rows)
    plot = css(browser, "figure.plot img")
    wait_for(browser, lambda d: d.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 0",
                                                 plot))
    assert "estimates" in plot.get_attribute("src")
    screenshot(browser, "report.png")

    browser.get(url + "/studio/reports/")
    assert css(browser, "#report-list a").text.startswith("replay-")


def test_insights_show_which_attributes_win_for_whom(browser, server, data_dir):
    with Store.open(data_dir) as store:
        store.add_title("t1", "Night Train", ["drama"])
        close = add_artwork(store, "t1", 1, quality={"face_count": 1, "face_share": 0.12, "brightness": 0.55,
                                                     "colourfulness": 70.0}, tags=["close-up face"])
        wide = add_artwork(store, "t1", 2, quality={"face_count": 0, "face_share": 0.0, "brightness": 0.25,
                                                    "colourfulness": 15.0}, tags=["landscape"])
        world = World(("tv", "mobile"), {("tv", close.id): 0.3, ("tv", wide.id): 0.08,
                                         ("mobile", close.id): 0.12, ("mobile", wide.id): 0.12},
                      {close.id: 0.3, wide.id: 0.7})
        log_traffic(store, "t1", world, 3000, np.random.default_rng(11), countries=("US", "DE"),
                    affinity=lambda d: {"drama": 0.8, "comedy": 0.2} if d == "tv" else {"comedy": 1.0})
    sign_in(browser, server.url)
    browser.get(server.url + "/studio/titles/t1/insights")
    findings = [li.text for li in css_all(browser, "ol.findings li.finding")]
    tv = [f for f in findings if f.startswith("device: tv: artwork with ")]
    assert len(tv) == 1 and "close-up" in tv[0].split(" wins ")[0], findings
    assert not any(f.startswith("device: mobile") for f in findings), findings
    tv_row = next(r for r in css_all(browser, "table.insights tbody tr") if r.text.startswith("device: tv"))
    assert "▲" in tv_row.text
    screenshot(browser, "insights.png")


def test_the_sign_in_page_is_styled_and_wrong_passwords_are_told(browser, server):
    browser.get(server.url + "/studio/login")
    form = css(browser, "#login-form")

    def style(element, prop: str) -> str:
        return browser.execute_script(
            "return getComputedStyle(arguments[0]).getPropertyValue(arguments[1])", element, prop)

    # The studio's stylesheet reached the page without a session: its colours and shapes apply.
    assert style(css(browser, "body"), "background-color") == "rgb(243, 245, 247)"
    assert style(form, "border-top-left-radius") == "6px"
    assert style(css(browser, "#login-form button"), "background-color") == "rgb(11, 87, 208)"
    assert browser.execute_script("return document.styleSheets.length") >= 1
    css(browser, "#name").send_keys(EDITOR)
    css(browser, "#password").send_keys("not the password")
    css(browser, "#login-form button").click()
    error = css(browser, "#login-error")
    assert "do not match an account" in error.text
    assert css(browser, "#password").get_attribute("aria-invalid") == "true"
    # Framing the studio is refused (X-Frame-Options and the CSP's frame-ancestors).
    headers = requests.get(server.url + "/studio/login", timeout=10).headers
    assert headers["X-Frame-Options"] == "DENY" and "frame-ancestors 'none'" in headers[
        "Content-Security-Policy"]


VIDEO = ROOT / "tests" / "data" / "bigbuckbunny.mp4"


def test_upload_a_video_watch_the_job_and_approve_its_candidates_in_bulk(browser, server, data_dir):
    url = server.url
    sign_in(browser, url)
    create_title(browser, url, "bunny", "Big Buck Bunny")
    css(browser, "#video").send_keys(str(VIDEO))
    css(browser, "#max-candidates").clear()
    css(browser, "#max-candidates").send_keys("4")
    css(browser, "#upload-video").click()
    # The upload's own progress bar shows, then the job's page polls the ingest to its end.
    wait_for(browser, lambda d: "/studio/jobs/" in d.current_url)
    seen = set()

    def finished(d):
        seen.add(d.execute_script("var p = document.querySelector('#progress'); return p ? p.value : null"))
        return css_all(d, "#job-candidates li.artwork") or css_all(d, "#no-candidates") \
            or css(d, '[data-field="status"]').text == "failed"

    wait_for(browser, finished, timeout=180)
    assert css(browser, '[data-field="status"]').text == "done", css(browser, '[data-field="error"]').text
    assert 1.0 in seen
    candidates = css_all(browser, "#job-candidates li.artwork")
    assert 1 <= len(candidates) <= 4
    ids = [c.get_attribute("data-artwork-id") for c in candidates]
    for card in candidates:
        assert " s, shot " in card.text and "score 0." in card.text
    screenshot(browser, "job.png")

    css(browser, "#select-all").click()
    assert all(css(browser, f"#pick-{i}").is_selected() for i in ids)
    css(browser, "#bulk-approve").click()
    wait_for(browser, lambda d: "Approved" in css(d, ".flash").text)
    with Store.open(data_dir) as store:
        assert {store.get_artwork(i).status for i in ids} == {"live"}
    served = requests.get(f"{url}/artwork", params={"user": "u1", "title": "bunny"}, timeout=10)
    assert served.status_code == 200 and served.json()["artwork_id"] in ids


def test_titles_are_searched_and_who_wins_is_shown_per_segment(browser, server, data_dir):
    with Store.open(data_dir) as store:
        for i in range(60):
            store.add_title(f"title-{i:02d}", f"Film number {i:02d}", ["drama"])
        store.add_title("t1", "Night Train", ["drama"])
        close = add_artwork(store, "t1", 1, quality={"face_count": 1, "face_share": 0.12}, tags=["close-up face"])
        wide = add_artwork(store, "t1", 2, quality={"face_count": 0, "face_share": 0.0}, tags=["landscape"])
        world = World(("tv", "mobile"), {("tv", close.id): 0.3, ("tv", wide.id): 0.08,
                                         ("mobile", close.id): 0.12, ("mobile", wide.id): 0.12},
                      {close.id: 0.3, wide.id: 0.7})
        log_traffic(store, "t1", world, 3000, np.random.default_rng(5), countries=("US", "DE"))
    sign_in(browser, server.url)
    browser.get(server.url + "/studio/?q=night")
    rows = css_all(browser, "#titles tbody tr")
    assert len(rows) == 1 and "Night Train" in rows[0].text, [r.text for r in rows]
    browser.get(server.url + "/studio/")
    assert css_all(browser, "a[rel=next]"), "61 titles come a page at a time"
    screenshot(browser, "titles.png")

    browser.get(server.url + "/studio/titles/t1/winners")
    page = css(browser, "main").text
    assert "device: tv" in page and "device: mobile" in page
    thumbnails = css_all(browser, "main img")
    assert thumbnails
    for img in thumbnails:  # lazy thumbnails load once scrolled to
        browser.execute_script("arguments[0].scrollIntoView()", img)
        wait_for(browser, lambda d: d.execute_script(
            "return arguments[0].complete && arguments[0].naturalWidth > 0", img))
    browser.execute_script("window.scrollTo(0, 0)")
    screenshot(browser, "winners.png")

"""The experiments page in headless Chromium against the real server: the plot over time is
drawn, styled by the studio's style sheet (the CSP allows no inline style or script)."""
from __future__ import annotations

import time
import uuid

import numpy as np
import pytest

from artwork.records import LoggedDecision, Reward
from artwork.store import Store
from tests.conftest import log_decisions
from tests.studio.test_browser import browser, css, css_all, server, sign_in  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser


def test_the_experiment_page_draws_the_difference_over_time(browser, server, data_dir):  # noqa: F811
    rng = np.random.default_rng(3)
    with Store.open(data_dir) as store:
        exp = store.experiments.start("x", {"a": 50, "b": 50})
        decisions, rewards = [], []
        for i in range(400):
            user = f"u{int(rng.integers(120))}"
            arm, event = exp.arm_for(user), uuid.uuid4().hex
            decisions.append(LoggedDecision(event, exp.started + 1e-3 * (i + 1), user, "t1", {},
                                            ("p", "q"), (0.5, 0.5), "p", 0.5, arm, 0))
            if rng.random() < (0.4 if arm == "b" else 0.2):
                rewards.append(Reward(event, exp.started + 1e-3 * (i + 1) + 0.01, "play"))
        log_decisions(store, decisions)
        store.add_rewards(rewards)
    time.sleep(1.0)  # past the 0.3-second reward window of every decision
    sign_in(browser, server.url)
    browser.get(server.url + "/studio/experiments")
    css(browser, 'tr[data-experiment="x"] a').click()
    chart = css(browser, "svg.path-chart")
    band = css(chart, "polygon.band")
    assert band.size["width"] > 200 and band.size["height"] > 20  # drawn across the time axis
    assert float(band.value_of_css_property("fill-opacity")) == pytest.approx(0.18)  # the style sheet's
    assert css(chart, "desc").get_attribute("textContent").endswith("zero.")
    assert [a.text for a in css_all(browser, 'nav a[aria-current="page"]')] == ["Experiments"]

"""The bandit benchmark runs end to end on a tiny suite and prints every line it promises."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_bandit_bench_prints_every_policy_the_ceiling_and_the_floors():
    done = subprocess.run(
        [sys.executable, "bench/bandit_bench.py", "--decisions", "400", "--seeds", "2", "--worlds", "typical",
         "--speed-decisions", "50", "--speed-rounds", "1"],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode in (0, 1), done.stderr[-2000:]  # 1: a target missed, which 400 impressions do
    out = done.stdout
    number = r"[+-]?\d+\.\d+"
    for policy in ("vw:igw", "vw:igw+exposure", "vw:squarecb", "reference", "thompson", "egreedy:0.1", "default", "uniform",
                   "full information"):
        assert re.search(rf"^typical: {re.escape(policy)} headroom share .* \| {number} ±", out, re.M), policy
    assert re.search(rf"^full information headroom share .* \| {number} \|", out, re.M)
    for schedule in ("fixed 0.01", "adaptive 0.01 -> 0.002", "fixed 0.002"):
        assert re.search(rf"^floor {re.escape(schedule)}: .* \| {number} / \d\.\d+ / \d\.\d+ \|", out, re.M)
    assert re.search(r"^our decide / vw predict \| \d+\.\d+ \| >= 1.0 \| (ok|FAIL)$", out, re.M)

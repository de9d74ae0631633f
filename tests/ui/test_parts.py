"""Small parts of the admin UI: the login limiter, the chart, error explanations, fields."""

from __future__ import annotations

import time

from publisher.ui.channels import fields_of
from publisher.ui.chart import weekly_chart
from publisher.ui.compose import markdown_to_html
from publisher.ui.ratelimit import LoginLimiter


def test_limiter_counts_per_user_and_ip_and_forgets_after_the_window():
    limiter = LoginLimiter(per_user=2, per_ip=3, window=0.2)
    limiter.failed("Ani", "127.0.0.1")
    assert limiter.blocked_for("ani", "127.0.0.1") == 0
    limiter.failed("ani", "127.0.0.1")
    assert limiter.blocked_for("ani", "127.0.0.1") > 0
    assert limiter.blocked_for("ani", "127.0.0.2") == 0  # another address is not blocked
    limiter.failed("budi", "127.0.0.1")
    assert limiter.blocked_for("citra", "127.0.0.1") > 0  # too many from one address
    time.sleep(0.25)
    assert limiter.blocked_for("ani", "127.0.0.1") == 0


def test_limiter_memory_is_bounded():
    limiter = LoginLimiter(max_keys=10)
    for i in range(100):
        limiter.failed(f"user{i}", f"127.0.0.{i % 250}")
    assert len(limiter._failures) <= 10


def test_chart_bars_and_target_line():
    svg = weekly_chart([("01/12", 2), ("08/12", 5)], 4, "Judul <x>", "target 4")
    assert svg.startswith("<svg") and svg.count("<rect") == 2
    assert "Judul &lt;x&gt;" in svg and "stroke-dasharray" in svg
    assert "#8a5300" in svg and "#1a6b35" in svg  # below and above target


def test_markdown_is_sanitised():
    html = markdown_to_html("**tebal** <script>x()</script> [a](javascript:alert(1))")
    assert "<strong>tebal</strong>" in html
    assert "<script" not in html and "javascript:" not in html


def test_channel_fields_come_from_the_class():
    webhook = {f.name: f for f in fields_of("webhook")}
    assert webhook["url"].required and not webhook["url"].secret
    assert webhook["signing_secret"].secret and not webhook["signing_secret"].required
    wordpress = {f.name: f for f in fields_of("wordpress")}
    assert wordpress["app_password"].secret and wordpress["app_password"].required
    assert fields_of("site") == []

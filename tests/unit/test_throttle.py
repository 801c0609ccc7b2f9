"""Failed authentication is slowed per address (the rule; tests/test_token_hygiene.py
sees it on the real server)."""

from __future__ import annotations

import logging

import pytest

from chatnut.throttle import AuthThrottle


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_ten_failures_a_minute_refuse_that_address_for_a_minute(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    throttle = AuthThrottle(clock=clock)
    with caplog.at_level(logging.WARNING, logger="chatnut.throttle"):
        for _ in range(9):
            throttle.failed("10.0.0.1")
            clock.now += 1
        assert throttle.blocked_for("10.0.0.1") == 0
        throttle.failed("10.0.0.1")
        assert throttle.blocked_for("10.0.0.1") == pytest.approx(60)
        for _ in range(20):  # more failures while refused: still one log line
            throttle.failed("10.0.0.1")
    assert [r.getMessage() for r in caplog.records] == [
        "10 failed authentications from 10.0.0.1 within 60 s: refused for 60 s"
    ]
    assert throttle.blocked_for("10.0.0.2") == 0  # another address is not touched
    clock.now += 60
    assert throttle.blocked_for("10.0.0.1") == 0


def test_failures_spread_over_more_than_a_minute_are_not_refused() -> None:
    clock = Clock()
    throttle = AuthThrottle(clock=clock)
    for _ in range(30):
        throttle.failed("10.0.0.1")
        clock.now += 7  # nine in any minute
    assert throttle.blocked_for("10.0.0.1") == 0

"""The canary itself: quiet server, no failures; it must be able to see a slow answer."""

from __future__ import annotations

from security.attack import Canary, assert_serves


def test_canary_on_a_quiet_server(server):
    with Canary(server) as canary:
        import time

        time.sleep(1.0)
    canary.check()
    assert_serves(server)


def test_canary_reports_a_slow_answer(server):
    with Canary(server, limit=1e-6) as canary:
        import time

        time.sleep(0.5)
    assert canary.failures, "a limit of a microsecond must count every answer as too slow"

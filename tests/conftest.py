"""Suite-wide rules: in CI a skipped test is a failure, since every peer the tests need is
installed by .ci/run and a skip would hide a missing one."""

from __future__ import annotations

import os

import pytest


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if not os.environ.get("CI"):
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None:
        return
    skipped = len(reporter.stats.get("skipped", []))
    if skipped and exitstatus == 0:
        reporter.write_line(f"CI: {skipped} test(s) skipped; a skip is a failure here", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED

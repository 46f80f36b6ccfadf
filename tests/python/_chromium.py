# SPDX-License-Identifier: Apache-2.0
"""Headless Chromium for the HTML tests (report, injection, card, monitor): one launcher."""
import os
import shutil
import subprocess

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def require_chromium():
    """Skip without Chromium, except in CI (CI=true), where its absence is a failure."""
    if CHROMIUM is None:
        message = "chromium is not installed (apt-get install chromium; scripts/install-deps.sh)"
        if os.environ.get("CI") == "true":
            pytest.fail(message + " — required in CI")
        pytest.skip(message)


def dump_dom(page):
    """The DOM as Chromium built it after loading and running whatever the page would run."""
    require_chromium()
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
           "--disable-extensions", "--virtual-time-budget=3000", "--dump-dom", page.as_uri()]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.rstrip().endswith("</html>")
    return res.stdout


def dump_dom_and_console(page):
    """(DOM, console messages): the page as dump_dom loads it, with Chromium's console written to
    stderr (--enable-logging=stderr); each message is a line tagged CONSOLE (console.log/error and
    uncaught exceptions alike)."""
    require_chromium()
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
           "--disable-extensions", "--enable-logging=stderr", "--v=0",
           "--virtual-time-budget=3000", "--dump-dom", page.as_uri()]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.rstrip().endswith("</html>")
    console = [line for line in res.stderr.splitlines() if ":CONSOLE" in line]
    return res.stdout, console

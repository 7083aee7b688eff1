"""The site and a browser for the screenshot tools: `ikmkg serve` on a free loopback port, with
the port in its base URI so every link stays on it, and headless Chromium (Selenium, Debian's
`chromium` and `chromium-driver`) set up as tests/web/test_browser.py sets it up."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import requests
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service


@contextlib.contextmanager
def served_site() -> Iterator[str]:
    """The base URL ("http://127.0.0.1:PORT", no slash) of the shipped graph served with one
    worker, once it is ready (at most a minute); stopped on leaving."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([sys.executable, "-m", "ikmkg", "serve", "--host", "127.0.0.1",
                               "--port", str(port), "--workers", "1", "--base-uri", base + "/"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(120):
            try:
                requests.get(base + "/readyz", timeout=2)
                break
            except requests.ConnectionError:
                time.sleep(0.5)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=10)


@contextlib.contextmanager
def chromium(width: int, height: int) -> Iterator[webdriver.Chrome]:
    """Headless Chromium in English with a `width` x `height` window and no scroll bars."""
    options = Options()
    options.binary_location = "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                     f"--window-size={width},{height}", "--lang=en-US"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    try:
        yield driver
    finally:
        driver.quit()

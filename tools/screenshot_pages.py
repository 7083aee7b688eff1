"""Take the screenshots of docs/linked-data.md: the home page and the query page (an example
question run, its results, chart and map) in English and Indonesian. Starts `ikmkg serve` on a
free loopback port and drives headless Chromium (Selenium, chromedriver) like
tests/test_browser.py; the query is the home page's first example question, as a visitor clicks it.

Usage: python tools/screenshot_pages.py [OUT_DIR]   (default docs/screenshots)
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import requests
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

#: (file name, path, window height): what a visitor sees first on each page.
SHOTS = [("home-{lang}.png", "/?lang={lang}", 1000), ("query-{lang}.png", None, 1500)]


def main(out_dir: Path) -> None:
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
        options = Options()
        options.binary_location = "/usr/bin/chromium"
        for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                         "--window-size=1280,1000", "--lang=en-US"):
            options.add_argument(argument)
        driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
        try:
            for lang in ("en", "id"):
                for name, path, height in SHOTS:
                    driver.set_window_size(1280, height)
                    if path is None:  # the first example question, as clicked on the home page
                        driver.get(f"{base}/?lang={lang}")
                        driver.find_element(By.CSS_SELECTOR, ".question-list a").click()
                    else:
                        driver.get(base + path.format(lang=lang))
                    time.sleep(1.0)
                    driver.save_screenshot(str(out_dir / name.format(lang=lang)))
        finally:
            driver.quit()
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/screenshots"))

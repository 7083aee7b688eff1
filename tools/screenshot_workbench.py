"""Take docs/screenshots/workbench.png: the query page with a query run, its readable results and
the editor offering the ontology's terms. Starts `ikmkg serve` on a free loopback port and drives
headless Chromium (Selenium, chromedriver) like tests/test_browser.py.

Usage: python tools/screenshot_workbench.py [OUT.png]
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

QUERY = """PREFIX ikm: <{base}ontology#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>

# Provinces of the first phase and the products they focus on
SELECT ?province ?product WHERE {{
  ?engagement a ikm:ProvinceEngagement ;
      ikm:phase <{base}id/phase/2013-2016> ;
      ikm:province ?province ;
      ikm:productFocus ?product .
}}
ORDER BY ?province
LIMIT 8
"""


def main(out: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = f"http://127.0.0.1:{port}/"
    server = subprocess.Popen([sys.executable, "-m", "ikmkg", "serve", "--host", "127.0.0.1",
                               "--port", str(port), "--workers", "1", "--base-uri", base],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(120):
            try:
                requests.get(base, timeout=2)
                break
            except requests.ConnectionError:
                time.sleep(0.5)
        options = Options()
        options.binary_location = "/usr/bin/chromium"
        for argument in ("--headless=new", "--no-sandbox", "--disable-gpu",
                         "--window-size=1280,1180", "--hide-scrollbars", "--lang=en-US"):
            options.add_argument(argument)
        driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
        try:
            driver.get(base + "sparql")
            driver.execute_script(
                "const v = window.ikmkgEditor;"
                "v.dispatch({changes: {from: 0, to: v.state.doc.length, insert: arguments[0]}});",
                QUERY.format(base=base))
            driver.find_element(By.CSS_SELECTOR, "form.query-form button[type=submit]").click()
            time.sleep(1.5)
            # a researcher goes on typing: the editor offers the ontology's terms
            editor = driver.find_element(By.CSS_SELECTOR, ".cm-editor .cm-content")
            editor.click()
            driver.execute_script("const v = window.ikmkgEditor;"
                                  "v.dispatch({selection: {anchor: v.state.doc.line(9).to}});")
            editor.send_keys("\n      ikm:st")
            time.sleep(1.5)
            driver.save_screenshot(str(out))
        finally:
            driver.quit()
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots/workbench.png"))

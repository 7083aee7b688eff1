"""Take docs/screenshots/workbench.png: the query page with a query run, its readable results and
the editor offering the ontology's terms. Starts `ikmkg serve` on a free loopback port and drives
headless Chromium (Selenium, chromedriver) like tests/web/test_browser.py.

Usage: python tools/screenshot_workbench.py [OUT.png]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from headless import chromium, served_site
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
    with served_site() as site, chromium(1280, 1180) as driver:
        base = site + "/"
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


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots/workbench.png"))

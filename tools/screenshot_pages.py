"""Take the screenshots of docs/linked-data.md: the home page and the query page (an example
question run, its results, chart and map) in English and Indonesian. Starts `ikmkg serve` on a
free loopback port and drives headless Chromium (Selenium, chromedriver) like
tests/web/test_browser.py; the query is the home page's first example question, as a visitor
clicks it.

Usage: python tools/screenshot_pages.py [OUT_DIR]   (default docs/screenshots)
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from headless import chromium, served_site
from selenium.webdriver.common.by import By

#: (file name, path, window height): what a visitor sees first on each page.
SHOTS = [("home-{lang}.png", "/?lang={lang}", 1000), ("query-{lang}.png", None, 1500)]


def main(out_dir: Path) -> None:
    with served_site() as base, chromium(1280, 1000) as driver:
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


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/screenshots"))

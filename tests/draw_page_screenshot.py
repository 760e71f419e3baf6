"""The README's picture of the draw page: the committed page, opened from disk with the network
off, with a 7 drawn by the same strokes as the tests. From the project root, after `dvc repro`:

    python -m tests.draw_page_screenshot docs/draw.png
"""

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

from tests.conftest import find_chromium
from tests.test_e2e_draw_page import MODELS, STROKES, digits_read, draw


def main(out: Path) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=find_chromium(), args=["--no-sandbox"])
        context = browser.new_context(offline=True, viewport={"width": 1100, "height": 470})
        page = context.new_page()
        page.goto(Path("plots/draw.html").resolve().as_uri())
        draw(page, STROKES["7"])
        read = digits_read(page)
        assert read == {name: "7" for name in MODELS}, read
        page.screenshot(path=out)
        browser.close()


if __name__ == "__main__":
    main(Path(sys.argv[1]))

"""Headless Chromium for the console's browser tests: Debian's ``chromium`` driven by
Playwright's Python package (never Playwright's own browser downloads).

Without chromium (or the playwright package) the tests are skipped with
:data:`MISSING`, the line ``scripts/test`` prints too.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CHROMIUM = os.environ.get("SFGW_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
MISSING = "browser tests did not run: chromium is not installed (Debian: apt-get install chromium)"
#: What works on a machine whose network is closed: nothing reaches out at start-up.
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WIDTHS = {"wide": (1280, 800), "narrow": (390, 844)}


def unavailable() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if not Path(CHROMIUM).is_file():
        return MISSING
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return MISSING
    return None


@contextmanager
def chromium(profile: Path) -> Iterator[Any]:
    """A fresh browser context (its own user data directory) at 1280 x 800."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=CHROMIUM,
            headless=True,
            args=FLAGS,
            viewport={"width": WIDTHS["wide"][0], "height": WIDTHS["wide"][1]},
        )
        try:
            yield context
        finally:
            context.close()


def screenshots(page: Any, name: str, out: Path) -> list[Path]:
    """The page at 1280 and at 390 px wide (``<name>-wide.png``, ``<name>-narrow.png``);
    also into ``SFGW_SCREENSHOTS_DIR`` when set (how docs/img is refreshed)."""
    targets = [out]
    if os.environ.get("SFGW_SCREENSHOTS_DIR"):
        targets.append(Path(os.environ["SFGW_SCREENSHOTS_DIR"]))
    saved = []
    for label, (width, height) in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_load_state("load")
        for directory in targets:
            directory.mkdir(parents=True, exist_ok=True)
            path = directory / f"{name}-{label}.png"
            page.screenshot(path=str(path), full_page=False)
            saved.append(path)
    page.set_viewport_size({"width": WIDTHS["wide"][0], "height": WIDTHS["wide"][1]})
    return saved

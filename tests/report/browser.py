"""Open a report in Debian's headless Chromium through playwright (never playwright's own browsers)."""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def browser_missing() -> str | None:
    """Why the browser test cannot run here, or None when it can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -e '.[dev]')"
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        return f"no Chromium at {CHROMIUM} (apt-get install -y chromium)"
    return None


@dataclass
class PageVisit:
    """What loading a page did: console errors, requests, load time and DOM facts asked for."""

    console_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    load_seconds: float = 0.0
    facts: dict = field(default_factory=dict)


def visit(path: Path, script: str = "() => ({})", screenshot: Path | None = None) -> PageVisit:
    """Load `path` from a file:// URL, evaluate `script` in the page, and record what happened."""
    from playwright.sync_api import sync_playwright

    result = PageVisit()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.on("console", lambda m: m.type == "error" and result.console_errors.append(m.text))
            page.on("pageerror", lambda exc: result.console_errors.append(str(exc)))
            page.on("request", lambda r: result.requests.append(r.url))
            started = time.monotonic()
            page.goto(path.resolve().as_uri(), wait_until="load")
            result.load_seconds = time.monotonic() - started
            result.facts = page.evaluate(script)
            if screenshot is not None:
                page.screenshot(path=str(screenshot), full_page=False)
        finally:
            browser.close()
    return result

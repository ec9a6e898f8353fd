# Sourced by scripts/test: the console's browser tests drive Debian's chromium (through
# Playwright's Python package from the dev extra, never Playwright's own browsers).
# Without it one line says so and how to get it, and pytest skips those tests; the line
# comes from the tests' own check (tests/console/browser.py), so the two cannot disagree.
SFGW_BROWSER_REASON="$(python -c 'from tests.console.browser import unavailable; print(unavailable() or "")' 2>&1 | tail -n 1 || true)"
if [ -n "$SFGW_BROWSER_REASON" ]; then
    echo "==> $SFGW_BROWSER_REASON"
fi

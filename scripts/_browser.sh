# Sourced by scripts/test: the console's browser tests drive Debian's chromium (through
# Playwright's Python package from the dev extra, never Playwright's own browsers).
# Without it one line says so and how to get it, and pytest skips those tests.
if [ ! -x "${SFGW_CHROMIUM:-/usr/bin/chromium}" ] && ! command -v chromium >/dev/null 2>&1; then
    echo "==> browser tests did not run: chromium is not installed (Debian: apt-get install chromium)"
fi

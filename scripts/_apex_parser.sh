# Sourced by scripts/test: the Apex parser (@apexdevtools/apex-parser, npm) that checks
# salesforce/force-app's classes offline. Installed into salesforce/node_modules on first
# use, again when salesforce/package-lock.json changes. Without Node.js the check cannot
# run: one line says so and how to get it, and the tests that need it are skipped.
SFGW_APEX_DIR="$ROOT/salesforce"
if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
    if [ ! -f "$SFGW_APEX_DIR/node_modules/.package-lock.json" ] ||
        [ "$SFGW_APEX_DIR/package-lock.json" -nt "$SFGW_APEX_DIR/node_modules/.package-lock.json" ]; then
        echo "==> installing the Apex parser into salesforce/node_modules (npm ci)"
        (cd "$SFGW_APEX_DIR" && npm ci --no-audit --no-fund --loglevel=error)
    fi
else
    echo "==> Apex parser check did not run: Node.js and npm are not installed (Debian: apt-get install nodejs npm)"
fi

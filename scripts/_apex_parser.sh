# Sourced by scripts/test: the Apex parser (@apexdevtools/apex-parser, npm) that checks
# salesforce/force-app's classes offline. Installed into salesforce/node_modules on first
# use, again when salesforce/package-lock.json changes. Without Node.js the check cannot
# run: one line says so and how to get it, and the tests that need it are skipped; so
# does a failed install (no registry), rather than stopping the whole run.
SFGW_APEX_DIR="$ROOT/salesforce"
if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
    if [ ! -f "$SFGW_APEX_DIR/node_modules/.package-lock.json" ] ||
        [ "$SFGW_APEX_DIR/package-lock.json" -nt "$SFGW_APEX_DIR/node_modules/.package-lock.json" ]; then
        echo "==> installing the Apex parser into salesforce/node_modules (npm ci)"
        if ! (cd "$SFGW_APEX_DIR" && npm ci --no-audit --no-fund --loglevel=error >/dev/null 2>&1); then
            rm -rf "$SFGW_APEX_DIR/node_modules"
            echo "==> Apex parser check did not run: npm ci failed in salesforce/ (is the npm registry reachable? run it there to see why)"
        fi
    fi
else
    echo "==> Apex parser check did not run: Node.js and npm are not installed (Debian: apt-get install nodejs npm)"
fi

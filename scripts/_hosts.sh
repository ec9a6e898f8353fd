# Sourced by scripts/test: the multi-host suite (tests/hosts) builds its hosts from network
# namespaces, veth links and tc, which needs root and iproute2. Where they cannot be made
# the suite's tests are skipped, and this line says that it did not run and why.
SFGW_HOSTS_REASON="$(python -m tests.hosts.netns 2>&1 | tail -n 1 || true)"
if [ -n "$SFGW_HOSTS_REASON" ]; then
    echo "==> multi-host suite (tests/hosts) did not run: $SFGW_HOSTS_REASON"
fi

"""Documented commands that tests/docs/ does not run itself, and the test that does.

Each entry: the command exactly as the docs show it -> (test node id, why that test and not
tests/docs/). They are destructive in the checkout (``bindings generate``), long
(``--opportunities 1000``, the soak), run by the suite anyway, or already run by the
test that owns the behaviour. tests/docs/test_coverage.py checks that every node exists.
"""

from __future__ import annotations

BINDINGS_CHECK = "tests/test_bindings_check.py"
DIFF = "tests/bindings/test_diff.py"
DEMO = "tests/system/test_demo.py"
INVARIANTS = "tests/system/test_invariants.py"

COVERED_ELSEWHERE: dict[str, tuple[str, str]] = {
    "scripts/test": (
        "tests/docs/test_repo_commands.py::test_scripts_test_runs_the_four_checks_the_readme_names",
        "it runs this suite, so the suite cannot run it; checked to run the four named tools",
    ),
    "sfgw bindings generate": (
        f"{BINDINGS_CHECK}::test_check_fails_after_a_contract_edit_and_generate_fixes_it",
        "rewrites generated/: run on a copy of contracts/ and generated/ via SFGW_*_DIR",
    ),
    "sfgw bindings check": (
        f"{BINDINGS_CHECK}::test_committed_generated_tree_matches_contracts",
        "run on the checkout itself; failing cases in the same module",
    ),
    "cp /tmp/opportunity_with_fields.wsdl contracts/salesforce/": (
        f"{BINDINGS_CHECK}::test_check_fails_after_a_contract_edit_and_generate_fixes_it",
        "the same new Probability field put into a copy of the contract, then generate/check",
    ),
    "sfgw bindings diff OLD.wsdl NEW.wsdl": (
        f"{DIFF}::test_cli_breaking_exits_3",
        "OLD/NEW are built per case there (compatible: exit 0, breaking: exit 3)",
    ),
    "sfgw bindings diff OLD.wsdl NEW.wsdl --json": (
        f"{DIFF}::test_cli_json",
        "the JSON report of a breaking diff, field by field",
    ),
    "sfgw bindings diff contracts/salesforce/opportunity_with_fields.wsdl "
    "/tmp/opportunity_with_fields.wsdl": (
        f"{DIFF}::test_the_documented_example",
        "the doc's Probability example; its output must appear verbatim in docs/bindings.md",
    ),
    "sfgw demo --opportunities 1000": (
        f"{DEMO}::test_demo_closes_n_opportunities_verifies_them_and_leaves_nothing_behind",
        "--opportunities with N=30 (the summary checked per row); 1000 only takes longer",
    ),
    "python: gw = start_gateway(workdir, redis_url=url, redis_prefix=prefix, env={...}, "
    "workers=2)": (
        "tests/intake/test_durability.py::"
        "test_route_override_sends_a_contract_to_its_own_queue_and_actor",
        "start_gateway with env, outbound_url() and stop(); every stack starts one too",
    ),
    'python: erp = start_mock_erp(tmp_path, faults={"latency": {"ms": 50}}, workers=2)': (
        "tests/erp/test_faults.py::test_startup_faults_apply_from_the_first_request",
        "start-up faults, get_faults() and fired(); set_faults()/wait_ready() in the "
        "down-window test",
    ),
    "python: sf = start_mock_salesforce(": (
        "tests/salesforce/test_delivery.py::"
        "test_250_won_opportunities_go_out_as_100_100_50_and_validate",
        "close_won(250) and wait_delivered(); faults, fired() and api_usage() in test_faults.py",
    ),
    "pytest tests/system/test_invariants.py": (
        f"{INVARIANTS}::test_invariants_hold_under_faults",
        "the suite runs this module at the CI size (6 examples x 12 steps)",
    ),
    "SFGW_MODEL_EXAMPLES=20 SFGW_MODEL_STEPS=30 pytest tests/system/test_invariants.py": (
        f"{INVARIANTS}::test_invariants_hold_under_faults",
        "the two variables only size the same test (read at the top of the module)",
    ),
    "scripts/bench soak --examples 40 --steps 30 [--shrink]": (
        f"{INVARIANTS}::test_bench_soak_command_runs_the_model",
        "`python -m bench soak` (what scripts/bench runs) with 2 examples x 5 steps",
    ),
    "sfgw trail 0065g00000AbCdE": (
        "tests/console/test_console_process.py::test_sfgw_trail_prints_the_history",
        "the table and --json of a trail written there (a 15-character id, as the docs show)",
    ),
    "sfgw console --bind 127.0.0.1:8080": (
        "tests/console/test_console_process.py::test_sfgw_console_serves_on_loopback_without_a_login",
        "the same command on a free loopback port (devstack.console.start_console)",
    ),
    "SFGW_CONSOLE_TOKEN=... sfgw console --bind 10.0.0.5:8080": (
        "tests/console/test_console_app.py::"
        "test_with_a_token_pages_need_a_login_and_the_login_needs_the_token",
        "no test binds a non-loopback address; the login with a token is tested in-process "
        "and the refusal without one in test_console_process.py",
    ),
}

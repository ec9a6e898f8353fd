"""``sfgw console --bind HOST:PORT``: the operator's console under gunicorn."""

from __future__ import annotations

import argparse
import os
import sys

from gateway.cli_support import Subparsers


def register(subparsers: Subparsers) -> None:
    console = subparsers.add_parser(
        "console",
        help="the operator's web console: overview, dead letters, an Opportunity's trail",
        description=(
            "Serves the console on its own listener (never the intake's). On a loopback "
            "address it runs without a login; on any other address SFGW_CONSOLE_TOKEN "
            "must be set (a login form exchanges it for a session). "
            "SFGW_CONSOLE_READ_ONLY=true hides and refuses every action."
        ),
    )
    console.add_argument("--bind", default="127.0.0.1:8080", metavar="HOST:PORT")
    console.set_defaults(handler=console_command)


def console_command(args: argparse.Namespace) -> int:
    from gateway.console.settings import ConsoleSettings

    # Every setting is checked here: a bad one (or a non-loopback bind without a token)
    # is one line and exit 1, not a gunicorn worker boot loop.
    settings = ConsoleSettings.from_env(bind=args.bind)
    settings.core.require_redis()
    env = dict(os.environ)
    env["SFGW_CONSOLE_BIND"] = args.bind
    argv = [
        sys.executable,
        "-m",
        "gunicorn",
        "--config",
        "python:gateway.console.gunicorn_conf",
        "gateway.console.wsgi:build()",
    ]
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, argv, env)  # noqa: S606 - replace ourselves with gunicorn
    return 0  # pragma: no cover - execve does not return

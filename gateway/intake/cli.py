"""``sfgw serve``: the intake gateway under gunicorn."""

from __future__ import annotations

import argparse
import os
import sys

from gateway.cli_support import CommandError, Subparsers


def register(subparsers: Subparsers) -> None:
    serve = subparsers.add_parser(
        "serve",
        help="run the intake gateway under gunicorn",
        description=(
            "Serve POST /salesforce/outbound/<contract> for every outbound-message WSDL in "
            "SFGW_CONTRACTS_DIR, plus /healthz, /readyz and /metrics. Needs SFGW_REDIS_URL "
            "(or SFGW_REDIS_SENTINELS) and SFGW_ALLOWED_ORGS; TLS from "
            "SFGW_TLS_CERT/SFGW_TLS_KEY/SFGW_TLS_CLIENT_CA."
        ),
    )
    serve.add_argument("--bind", default="127.0.0.1:8000", metavar="HOST:PORT")
    serve.add_argument(
        "--workers", type=int, default=None, metavar="N", help="default: SFGW_WORKERS or 2x CPUs"
    )
    serve.set_defaults(handler=serve_command)


def serve_command(args: argparse.Namespace) -> int:
    from gateway.intake.app import build_endpoints
    from gateway.intake.settings import IntakeSettings

    host, _, port = args.bind.rpartition(":")
    if not host or not port.isdigit():
        raise CommandError(f"--bind {args.bind!r}: use HOST:PORT, e.g. 127.0.0.1:8000")
    if args.workers is not None and not 1 <= args.workers <= 64:
        raise CommandError("--workers must be between 1 and 64")
    env = dict(os.environ)
    env["SFGW_BIND"] = args.bind
    if args.workers is not None:
        env["SFGW_WORKERS"] = str(args.workers)
    # Validate everything now, so a bad setting is one line and exit 1, not a gunicorn
    # worker boot loop.
    settings = IntakeSettings.from_env(env)
    settings.core.require_redis()
    if not build_endpoints(settings):
        raise CommandError(
            f"no outbound-message contracts in {settings.core.contracts_dir}; add a WSDL"
        )
    argv = [
        sys.executable,
        "-m",
        "gunicorn",
        "--config",
        "python:gateway.intake.gunicorn_conf",
        "gateway.intake.wsgi:build()",
    ]
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, argv, env)  # noqa: S606 - replace ourselves with gunicorn
    return 0  # pragma: no cover - execve does not return

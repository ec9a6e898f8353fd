"""The WSGI entry point gunicorn loads: settings come from ``SFGW_MOCKSF_*``."""

from __future__ import annotations

from mock_salesforce.app import create_app

app = create_app()

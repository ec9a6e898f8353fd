"""Prometheus metrics of the Salesforce clients: calls made and allowance left.

Label values are API names and Salesforce status codes, never ids or tokens.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge

API_CALLS = Counter(
    "sfgw_salesforce_api_calls_total",
    "Calls to the Salesforce API by API and result",
    ["api", "result"],
)
TOKEN_REQUESTS = Counter("sfgw_salesforce_token_requests_total", "OAuth token requests")
API_USAGE = Gauge(
    "sfgw_salesforce_api_usage",
    "API requests used in the org's rolling 24 h window (Sforce-Limit-Info / LimitInfoHeader)",
    multiprocess_mode="mostrecent",
)
API_LIMIT = Gauge(
    "sfgw_salesforce_api_limit",
    "The org's API request allowance for the rolling 24 h window",
    multiprocess_mode="mostrecent",
)
API_REMAINING = Gauge(
    "sfgw_salesforce_api_remaining",
    "API requests left in the rolling 24 h window",
    multiprocess_mode="mostrecent",
)


def record_usage(used: int, limit: int) -> None:
    API_USAGE.set(used)
    API_LIMIT.set(limit)
    API_REMAINING.set(max(0, limit - used))

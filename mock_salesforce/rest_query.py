"""``GET /query`` and its later pages: SOQL over the Opportunities
(:mod:`mock_salesforce.soql`), paged like Salesforce (:mod:`mock_salesforce.paging`) with a
server-side cursor per result. ``COUNT()`` answers ``totalSize`` and no records."""

from __future__ import annotations

from typing import Any

import falcon

from mock_salesforce import paging, soql
from mock_salesforce.org import Org
from mock_salesforce.rest import rest_error, rest_record


class QueryResource:
    """``GET /query?q=``: the first batch of the result, and a cursor for the rest."""

    rest = True

    def __init__(self, org: Org) -> None:
        self.org = org

    def on_get(self, req: falcon.Request, resp: falcon.Response, version: str) -> None:
        text = req.get_param("q")
        if text is None:
            rest_error(resp, 400, "MALFORMED_QUERY", "A query string has to be specified")
            return
        try:
            query = soql.parse(text, self.org.schema)
        except soql.SoqlError as error:
            rest_error(resp, 400, error.code, str(error))
            return
        records = query.run(self.org.store.all_opportunities())
        if query.count:
            resp.media = {"totalSize": len(records), "done": True, "records": []}
            return
        rendered = [rest_record(r, version, self.org.schema, query.fields) for r in records]
        size = paging.batch_size(req.get_header(paging.HEADER)) or paging.DEFAULT_BATCH_SIZE
        cursor = ""
        if len(rendered) > size:
            cursor = self.org.store.save_cursor(rendered, size, paging.CURSOR_TTL_S)
        resp.media = query_page(rendered, 0, size, version, cursor)


class QueryMoreResource:
    """``GET /query/<locator>-<offset>``: the next batch of a query (its nextRecordsUrl)."""

    rest = True

    def __init__(self, org: Org) -> None:
        self.org = org

    def on_get(
        self, req: falcon.Request, resp: falcon.Response, version: str, locator: str
    ) -> None:
        parsed = paging.parse_locator(locator)
        found = None if parsed is None else self.org.store.cursor(parsed[0], paging.CURSOR_TTL_S)
        if parsed is None or found is None or not 0 < parsed[1] < len(found[1]):
            rest_error(resp, 400, "INVALID_QUERY_LOCATOR", "invalid query locator")
            return
        cursor, offset = parsed
        size, rendered = found
        size = paging.batch_size(req.get_header(paging.HEADER)) or size
        resp.media = query_page(rendered, offset, size, version, cursor)


def query_page(
    rendered: list[dict[str, Any]], offset: int, size: int, version: str, cursor: str
) -> dict[str, Any]:
    """One reply of the query resource; ``nextRecordsUrl`` only while not ``done``."""
    part = paging.page(len(rendered), offset, size)
    body: dict[str, Any] = {"totalSize": len(rendered), "done": part.next_offset is None}
    if part.next_offset is not None:
        body["nextRecordsUrl"] = paging.next_records_url(version, cursor, part.next_offset)
    body["records"] = rendered[part.start : part.end]
    return body

"""Random identifiers in bulk, for the gateway's hot path.

Each enqueued message needs two (the Redis message id and Dramatiq's ``message_id``), 200
for a full outbound message, and ``uuid.uuid4()`` costs ~3 us each; one ``os.urandom``
call serves them all.
"""

from __future__ import annotations

import os


def new_message_ids(count: int) -> list[str]:
    """``count`` random version-4 UUIDs, formatted as ``str(uuid.uuid4())`` formats them
    (version and variant bits set as ``uuid`` does)."""
    raw = bytearray(os.urandom(16 * count))
    raw[6::16] = bytes(b & 0x0F | 0x40 for b in raw[6::16])  # version 4
    raw[8::16] = bytes(b & 0x3F | 0x80 for b in raw[8::16])  # RFC 4122 variant
    h = raw.hex()
    return [
        f"{h[i : i + 8]}-{h[i + 8 : i + 12]}-{h[i + 12 : i + 16]}-{h[i + 16 : i + 20]}-"
        f"{h[i + 20 : i + 32]}"
        for i in range(0, 32 * count, 32)
    ]

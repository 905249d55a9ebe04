"""What Linq's 0.65 API has that this branch does not yet, because other branches bring it.

One table for the SDK oracle (``tests/linq/sdk_oracle``: operations and
deliveries the SDK still refuses) and for the operations table of
``docs/linq.md`` (``tests/linq/client/test_operations_doc.py``: client methods
not written yet). Keys: ``"METHOD /path"`` (an operation), ``"event@version"``
(a delivery) or ``"method name"`` (a ``LinqClient`` method).
"""

from __future__ import annotations

__all__ = ["KNOWN_GAPS"]

KNOWN_GAPS: dict[str, str] = {}

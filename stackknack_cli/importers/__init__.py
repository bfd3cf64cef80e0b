"""Read inventory CSV files (Shopify exports, plain SKU lists) into SKU records.

This package only parses: it opens a file or stream, recognises the layout from the
header and yields one :class:`ImportRecord` per SKU to stock. Writing them to the
store, in one transaction, is the caller's job.

    with read_csv(path, name=path.name) as plan:
        for record in plan:
            ...
        print(plan.summary.skipped)
"""

from stackknack_cli.importers.cells import handle_options_key
from stackknack_cli.importers.csvfile import ImportPlan, read_csv
from stackknack_cli.importers.records import (
    KEYS,
    ImportRecord,
    ImportSummary,
    Key,
    Layout,
    MissingSku,
    Occurrence,
    SkipReason,
)

__all__ = [
    "KEYS",
    "ImportPlan",
    "ImportRecord",
    "ImportSummary",
    "Key",
    "Layout",
    "MissingSku",
    "Occurrence",
    "SkipReason",
    "handle_options_key",
    "read_csv",
]

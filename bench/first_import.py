"""A first import in bounded memory (issue 15): the peak memory of a first plan and of a first
run (the import itself) over N records, and of the adoption of N pages people imported.

``python bench/first_import.py KIND SIZE [SIZE ...]`` with KIND ``plan``, ``run`` or ``adopt``
prints one JSON object per size (progress on stderr). Each plan or run is a fresh
:mod:`bench.plan_child` process at an emulator with no limit and no latency (:data:`FAST`), so
its peak resident set (``VmHWM``) is the syncfw process's alone, not the emulator's. Issue 15's
targets: a first plan of 1,000,000 records at most 1 GiB; a first run of 200,000 records at most
1 GiB and within 20% of the peak of 20,000; the adoption of 1,000,000 pages at most 1 GiB with at
most 1.01 x ceil(pages / 100) query requests.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.common import Workspace, log, write_csv, write_parquet  # noqa: E402
from bench.overhead import child  # noqa: E402
from syncfw.plugins import load_plugins  # noqa: E402

TIMEOUT = 3600.0
"""Seconds a plan or run process may take before it is stopped."""


def measure(kind: str, size: int, directory: Path) -> dict[str, Any]:
    """One first plan, first run or adoption of ``size`` records in ``directory``."""
    space = Workspace.create(directory, f"{kind}-{size}", "deals.parquet", load_plugins(), notion_like=False)
    try:
        write_parquet(space.data, size, changed=False)
        data_source_id = space.init()
        requests = space.notion.requests()
        if kind == "adopt":
            export = directory / "deals.csv"
            write_csv(export, size, changed=False)
            space.notion.import_csv(data_source_id, export)
            export.unlink()
            requests = space.notion.requests()
        log(f"first import: {kind} of {size:,} records")
        started = time.perf_counter()
        result = child(space, size, TIMEOUT, apply=kind != "plan")
        pages = size if kind == "plan" else len(space.notion.page_ids())
        return {
            "kind": kind,
            "records": size,
            "pages_after": pages,
            "requests": space.notion.requests() - requests,
            "wall_seconds": round(time.perf_counter() - started, 1),
            **result,
        }
    finally:
        space.close()


if __name__ == "__main__":
    kind, *sizes = sys.argv[1:]
    for size in map(int, sizes):
        with tempfile.TemporaryDirectory(prefix="syncfw-bench-") as tmp:
            print(json.dumps(measure(kind, size, Path(tmp))), flush=True)

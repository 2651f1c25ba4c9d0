"""A big CSV is read a chunk at a time: memory grows with the number of keys, not the file."""

from __future__ import annotations

import time
import tracemalloc
from pathlib import Path

from syncfw_files import FilesConfig, FilesConnector

from syncfw.connector import Checkpoint, Record

ROWS = 200_000
NOTES = "Renewal due in Q3; wants the premium plan and a second workspace for the EMEA support team."
# Reading the whole file at once (a DataFrame plus a dict per row) takes about 100 MB for these
# rows, before any key digest. The connector holds one chunk of rows, plus in mirror mode the
# previous and the current keys compressed, with 8-byte hashes and digests (about 23 MB in all on
# CPython 3.11; a dictionary of every key, as before cursor version 2, took 46 MB).
PEAK_BOUND = 32_000_000


def write_big_csv(path: Path, changed: int | None = None, skip: int | None = None) -> None:
    with open(path, "w") as out:
        out.write("id,name,amount,notes\n")
        for i in range(ROWS):
            if i == skip:
                continue
            name = f"Customer {i}" + (" (renamed)" if i == changed else "")
            out.write(f"K{i:07d},{name},{i * 1.5},{NOTES} {i}\n")


def test_a_200k_row_mirror_read_keeps_memory_bounded(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    write_big_csv(path)
    connector = FilesConnector(FilesConfig(path=path, key="id"))
    first = list(connector.read("rows", None, ()))
    assert isinstance(first[-1], Checkpoint) and len(first) == ROWS + 1
    write_big_csv(path, changed=150_000, skip=7)

    started = time.perf_counter()
    tracemalloc.start()
    try:
        second = list(connector.read("rows", first[-1].cursor, ()))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    elapsed = time.perf_counter() - started

    print(
        f"\n{ROWS} rows ({path.stat().st_size / 1e6:.1f} MB CSV): mirror read peak {peak / 1e6:.1f} MB "
        f"(traced, {elapsed:.1f} s); cursor {len(first[-1].cursor) / 1e6:.2f} MB"
    )
    records = [item for item in second if isinstance(item, Record)]
    assert [(r.key, r.deleted) for r in records] == [("K0150000", False), ("K0000007", True)]
    assert peak < PEAK_BOUND

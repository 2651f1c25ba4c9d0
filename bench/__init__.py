"""syncfw's benchmark suite (issue 5): ``python bench/run.py [--quick] [--json]``.

Not part of ``make test``: ``make bench`` and ``make bench-quick`` run it and rewrite
``docs/benchmarks.md``. Every figure is measured by the run that reports it.
"""

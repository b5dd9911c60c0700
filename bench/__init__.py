"""The benchmark suite: what each run of the crawler costs, beside its baselines.

``python bench/run.py [--quick]`` runs it (see :mod:`bench.run`). Nothing
here is used by the crawler itself; the Scrapy components in
:mod:`bench.probes` are switched on by the benchmark's own ``-s`` settings.
"""

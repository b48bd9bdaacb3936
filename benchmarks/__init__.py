"""newslake's benchmarks: quality, speed and memory, each measured beside its reference in the same run.

Scripts are run as modules (``python -m benchmarks.sentences_quality``) or files; :mod:`benchmarks._common` finds
``../shared`` and prints the ``FIGURE name value`` lines :mod:`benchmarks.gate` checks against the floors.
"""

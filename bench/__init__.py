"""supportflow benchmarks: `python -m bench --quick|--full` (`make bench` is quick).

Every figure is a ratio measured side by side on one embedded Temporal dev server in one run,
repeated, and reported as median with min-max. See bench/RESULTS.md.
"""

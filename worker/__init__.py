"""The Temporal side of supportflow: the workflows and the worker process.

Kept import-free on purpose: the workflow sandbox re-imports this package for every workflow
module it loads. Import `worker.workflows` (the workflow classes) or `worker.main` (the process).
"""

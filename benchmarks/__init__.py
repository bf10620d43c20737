"""Benchmarks: openqio's solvers side by side with dwave-samplers and openjij (`python -m benchmarks.solvers`).

Keep this file free of imports: `benchmarks.solvers` must set the thread environment before numba loads.
"""

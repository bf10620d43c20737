"""Wire formats and shared vocabulary of openqio.

Imported by both `services` (async side) and `solver_runner` (compute side); it imports neither.
Only the standard library and numpy (for problem arrays that cross the process boundary) are used here.
"""

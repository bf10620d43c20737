"""numba kernels; importing them first makes numba's cache tolerate a full disk (solver_runner.numba_cache)."""
from solver_runner.numba_cache import keep_compiling_on_a_full_disk

keep_compiling_on_a_full_disk()

"""What the sync and async optimization APIs share: the problem model, terms, dimod conversions and the solvers'
parameters and checks. Private: import from services.client.optimization or services.client.aio.optimization."""
from services.client._optimization import catalog, problem, solvers, term

__all__ = ["catalog", "problem", "solvers", "term"]

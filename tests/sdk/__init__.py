"""Scripts that run the unmodified azure-quantum 0.27 SDK (in .venv-sdk) against openqio, and the harness that
runs them from the project's pytest (tests/integration/test_sdk_*.py)."""

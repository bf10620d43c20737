"""The service load benchmark (`python -m benchmarks.service`): real Azurite + the real service over HTTPS."""

"""The HTTPS gateway speaking the Azure Quantum REST API v1.0."""

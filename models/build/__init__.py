"""The offline pipeline (see docs/ARCHITECTURE.md)."""

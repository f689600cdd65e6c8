"""Shared by the build and the app (see docs/ARCHITECTURE.md)."""

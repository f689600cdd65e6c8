"""Shared by the offline build and the server: settings, the French text normaliser,
the artifacts store (read side), encoders, place names, quality rules."""

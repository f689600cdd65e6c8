"""Shared by the offline build and the server: settings, the French text normaliser,
the artifacts store (read side), encoders, place names, quality rules, and what both sides
compute alike (the BM25F matrix, SIF weights, declared zones, producer aggregates, the search
parameters, format families). Imports neither ``models.pipeline`` nor ``models.serve``
(docs/ARCHITECTURE.md, « Layers and the import contract »)."""

"""Tool ``catalogue_overview``."""

from __future__ import annotations

from models.mcp.common import call
from models.serve.service import CatalogueService


def register(mcp, svc: CatalogueService) -> None:
    @mcp.tool()
    async def catalogue_overview() -> dict:
        """Vue d'ensemble du catalogue data.gouv.fr indexé : nombre de jeux et de producteurs, date
        de l'export, et les grands thèmes avec leur taille. À appeler d'abord, ou pour « quelles
        données avez-vous ? », « de quoi parle ce catalogue ? »."""
        c = await call(svc.catalogue)
        t = await call(svc.topics, 5)
        return {"n_datasets": c["n_datasets"], "n_producers": c["n_producers"],
                "export_date": c["export_date"], "build_id": c["build_id"],
                "topics": [{"label": x["label"], "n_datasets": x["n_datasets"], "words": x["terms"]}
                           for x in t["topics"]]}

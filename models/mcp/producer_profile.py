"""Tool ``producer_profile``."""

from __future__ import annotations

from models.mcp.common import call, clip, unknown
from models.serve.service import CatalogueService


def register(mcp, svc: CatalogueService) -> None:
    @mcp.tool()
    async def producer_profile(producer: str) -> dict:
        """Le portrait d'un producteur de données (« INSEE », « Météo-France », « Ville de
        Paris », ou son identifiant) : nombre de jeux publiés, audience, qualité moyenne des
        métadonnées, ses jeux les plus consultés et ses thèmes. À utiliser pour « qui publie
        quoi », « que publie tel organisme »."""
        pid = await call(svc.find_producer, clip(producer, 200))
        if pid is None:
            unknown("producteur", producer)
        p = await call(svc.producer, pid, 8)
        return {"id": p["id"], "name": p["name"], "kind": p["kind"], "n_datasets": p["n_datasets"],
                "n_archived": p["n_archived"], "views": p["views"], "reuses": p["reuses"],
                "quality": p["quality"], "last_modified": p["last_modified"],
                "top_datasets": [{"id": d["id"], "title": d["title"], "url": d["url"]}
                                 for d in p["datasets"]],
                "topics": [t["label"] for t in p["topics"]]}

"""Tool ``get_dataset``."""

from __future__ import annotations

from models.mcp.common import call, clip
from models.serve.service import CatalogueService


def register(mcp, svc: CatalogueService) -> None:
    @mcp.tool()
    async def get_dataset(dataset_id: str) -> dict:
        """La fiche d'un jeu de données, par son identifiant (le champ id rendu par
        search_datasets ou ask_catalogue) : producteur, date de mise à jour, fréquence, formats,
        licence, territoires, thème, score de qualité et ses défauts, début de la description.
        À utiliser quand la personne veut des détails sur un jeu précis."""
        d = await call(svc.dataset, clip(dataset_id, 100))
        return {"id": d["id"], "title": d["title"], "url": d["url"], "producer": d["organization"],
                "producer_id": d["producer_id"], "last_modified": d["last_modified"],
                "frequency": d["frequency"], "coverage": d["coverage"], "formats": d["formats"],
                "licence": d["licence"], "territories": d["territories"],
                "topic": d["topic"]["label"] if d["topic"] else None,
                "quality": d["quality"], "views": d["views"], "reuses": d["reuses"],
                "description": clip(d["description"], 1200)}

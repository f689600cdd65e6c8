"""Tool ``similar_datasets``."""

from __future__ import annotations

from models.mcp.common import bounded, call, clip
from models.serve.service import CatalogueService


def register(mcp, svc: CatalogueService) -> None:
    @mcp.tool()
    async def similar_datasets(dataset_id: str, k: int = 5) -> dict:
        """Les jeux de données les plus proches par le sens d'un jeu donné (son id). À utiliser
        pour « d'autres jeux comme celui-ci », pour trouver une autre année, un autre territoire
        ou un autre producteur des mêmes données. k ≤ 10."""
        out = await call(svc.similar, clip(dataset_id, 100), bounded(k, 1, 10))
        return {"id": out["id"], "title": out["title"],
                "similar": [{"id": r["id"], "title": r["title"], "producer": r["organization"],
                             "url": r["url"], "similarity": round(r["score"], 3)} for r in out["results"]]}

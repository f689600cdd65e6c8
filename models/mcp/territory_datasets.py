"""Tool ``territory_datasets``."""

from __future__ import annotations

from models.mcp.common import bounded, call, clip, unknown
from models.serve.service import CatalogueService


def register(mcp, svc: CatalogueService) -> None:
    @mcp.tool()
    async def territory_datasets(territory: str, page: int = 1) -> dict:
        """Les jeux de données qui concernent un territoire : une commune, un EPCI, un
        département, une région (« Rennes », « Finistère », « Occitanie », ou niveau:code comme
        departement:29). À utiliser pour « quelles données sur tel lieu », sans sujet précis (avec
        un sujet, préférer search_datasets et son filtre territory). 10 jeux par page."""
        code = await call(svc.find_territory, clip(territory, 200))
        if code is None:
            unknown("lieu", territory)
        out = await call(svc.territory_datasets, code, bounded(page, 1, 1000), 10)
        return {"territory": out["territory"]["label"], "code": out["territory"]["value"],
                "total": out["total"], "page": out["page"],
                "datasets": [{"id": d["id"], "title": d["title"], "producer": d["organization"],
                              "url": d["url"], "via": d["via"]} for d in out["datasets"]]}

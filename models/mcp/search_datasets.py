"""Tool ``search_datasets``."""

from __future__ import annotations

from models.mcp.common import MAX_TEXT, bounded, call, clip, unknown
from models.serve.service import CatalogueService


def register(mcp, svc: CatalogueService) -> None:
    @mcp.tool()
    async def search_datasets(query: str, territory: str | None = None, producer: str | None = None,
                              format: str | None = None, year: str | None = None,
                              sort: str = "relevance", k: int = 10) -> dict:
        """Cherche des jeux de données du catalogue data.gouv.fr. À utiliser pour obtenir une liste
        de jeux sur un sujet, écrit en français ordinaire (« qualité de l'eau potable »,
        « accidents de la route 2022 ») : inutile d'enlever des mots, la recherche comprend les
        phrases, les lieux, les années et les producteurs. Filtres facultatifs : territory (un
        lieu : « Rennes », « Bretagne », ou niveau:code), producer (nom ou identifiant), format
        (csv, json, geo…), year (2020 ou 2018-2022) ; sort : relevance, recent ou popular ;
        k ≤ 50. Pour une question dont on veut la réponse, préférer ask_catalogue. Renvoie pour
        chaque jeu : id, titre, producteur, url et une ligne « pourquoi »."""
        filters: dict = {}
        if territory:
            code = await call(svc.find_territory, territory)
            if code is None:
                unknown("lieu", territory)
            filters["territory"] = [code]
        if producer:
            pid = await call(svc.find_producer, producer)
            if pid is None:
                unknown("producteur", producer)
            filters["producer"] = [pid]
        if format:
            filters["format"] = [clip(format, 40).lower()]
        if year:
            filters["year"] = clip(year, 20)
        out = await call(svc.search, clip(query, MAX_TEXT), filters=filters,
                         sort=sort if sort in ("relevance", "recent", "popular") else "relevance",
                         k=bounded(k, 1, 50), details=True)
        return {"total": out["total"], "query": out["query"], "notes": out["messages"],
                "results": [{"id": r["id"], "title": r["title"], "producer": r["organization"],
                             "url": r["url"], "why": clip(" · ".join(r["why"]), 160)}
                            for r in out["results"]]}

"""The FastMCP server over one :class:`CatalogueService`, built once per process."""

from __future__ import annotations

import logging

from mcp.server.fastmcp import FastMCP

from models.mcp import (
    ask_catalogue,
    catalogue_overview,
    get_dataset,
    producer_profile,
    search_datasets,
    similar_datasets,
    territory_datasets,
)
from models.serve.service import CatalogueService

log = logging.getLogger(__name__)

TOOLS = (search_datasets, ask_catalogue, get_dataset, similar_datasets, producer_profile,
         territory_datasets, catalogue_overview)
INSTRUCTIONS = ("Catalogue des données publiques françaises (data.gouv.fr), indexé hors ligne : "
                "recherche en français ordinaire, assistant qui répond aux questions, fiches, jeux "
                "semblables, producteurs, territoires, thèmes. Commencer par catalogue_overview.")


def build_server(service: CatalogueService, *, host: str = "127.0.0.1", port: int = 8765) -> FastMCP:
    mcp = FastMCP("catalogue-data-gouv", instructions=INSTRUCTIONS, host=host, port=port,
                  log_level="WARNING")
    for module in TOOLS:
        module.register(mcp, service)
    return mcp


def warm(service: CatalogueService) -> None:
    """Indexes, encoder and assistant loaded now, not on the first call."""
    exp = service.explorer
    modes = service.modes
    if "hybrid" in modes:
        exp.assistant.warm()
    _ = (exp.catalogue.territories, exp.engine.understanding_context, exp.producers.assessed(),
         exp.engine.family_keys)
    if exp.n:  # every lazy table a card, a search or a territory reads (whatever they become)
        service.dataset(str(exp.datasets["id"].iat[0]))
        service.search("données publiques", k=5, details=True)
        service.topics()
        service.find_territory("Paris")
    log.info("MCP: %d datasets, modes %s", exp.n, modes)


def run(artifacts, *, http: bool = False, host: str = "127.0.0.1", port: int = 8765, **explorer_kw) -> None:
    service = CatalogueService.load(artifacts, **explorer_kw)
    warm(service)
    mcp = build_server(service, host=host, port=port)
    if http:
        log.info("MCP streamable HTTP on http://%s:%d/mcp", host, port)
    mcp.run("streamable-http" if http else "stdio")

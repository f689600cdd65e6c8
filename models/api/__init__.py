"""The read-only JSON API ``/api/v1/…`` on the app's Flask server: ``install(server, explorer)``.

Each endpoint is a thin layer over :class:`models.serve.service.CatalogueService` (the service the
MCP server and the command line use too); requests and responses are pydantic models, which also
generate the OpenAPI document (``/api/v1/openapi.json``) and the docs page (``/api/v1/docs``).
Errors: ``{"error": {"code", "message"}}`` with a French message and the right 4xx. Limits
(:mod:`models.api.limits`): query length and ``k`` in the models, body size, requests per client.
No Dash here (``create_app`` calls :func:`install`).
"""

from models.api.blueprint import install

__all__ = ["install"]

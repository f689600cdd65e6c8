"""The MCP server: ``python -m models mcp --artifacts DIR`` (stdio, for desktop assistants) or
``--http`` (streamable HTTP on 127.0.0.1). Built once on :class:`models.serve.service.CatalogueService`
(the JSON API's service); one module per tool, each with ``register(mcp, service)`` and a French
docstring that tells the model when to use it (:data:`models.mcp.server.TOOLS`)."""

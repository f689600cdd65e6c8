"""The API's endpoints as data (:data:`ENDPOINTS`), the OpenAPI 3.1 document generated from them
and their pydantic models (:func:`openapi_document`), and the browsable docs page made from that
document (:func:`docs_page`: server-side HTML, every value escaped, no script, no CDN)."""

from __future__ import annotations

import html
from dataclasses import dataclass, field

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from models.api import schemas as s

PREFIX = "/api/v1"
VERSION = "1.0.0"


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # OpenAPI form, relative to PREFIX: /datasets/{id}
    name: str  # operationId, and the blueprint's endpoint
    summary: str
    description: str
    response: type[BaseModel]
    query: type[BaseModel] | None = None
    body: type[BaseModel] | None = None
    path_params: dict[str, str] = field(default_factory=dict)  # name -> French description
    errors: tuple[int, ...] = (400, 429)


ENDPOINTS = (
    Endpoint("GET", "/search", "search", "Rechercher des jeux de données",
             "Recherche hybride (mots et sens) en français, avec les filtres des pages ; les mêmes "
             "résultats que « python -m models search --json », plus l'adresse et un extrait.",
             s.SearchResponse, query=s.SearchQuery, errors=(400, 409, 429)),
    Endpoint("GET", "/datasets/{id}", "dataset", "Un jeu de données",
             "Les champs de la fiche : producteur, dates, formats, licence, territoires, thème, qualité.",
             s.Dataset, path_params={"id": "identifiant data.gouv.fr du jeu"}, errors=(404, 429)),
    Endpoint("GET", "/datasets/{id}/similar", "similar", "Jeux semblables",
             "Les jeux les plus proches par le sens (les voisins calculés à la construction).",
             s.SimilarResponse, query=s.SimilarQuery, path_params={"id": "identifiant data.gouv.fr du jeu"},
             errors=(400, 404, 429)),
    Endpoint("POST", "/ask", "ask", "Poser une question (l'assistant)",
             "Un tour de l'assistant « Demander » : la réponse, les jeux avec le passage qui répond, ce "
             "qui a été compris, une question de précision éventuelle et l'état à renvoyer au tour "
             "suivant (le serveur ne garde rien).",
             s.AskResponse, body=s.AskBody, errors=(400, 409, 413, 415, 429)),
    Endpoint("GET", "/producers", "producers", "Les producteurs",
             "Les producteurs, par pages, triés par taille, nom, vues, réutilisations, qualité ou date.",
             s.ProducersResponse, query=s.ProducersQuery),
    Endpoint("GET", "/producers/{id}", "producer", "Un producteur",
             "Ses chiffres clés, ses jeux les plus vus et ses thèmes.",
             s.ProducerResponse, path_params={"id": "identifiant du producteur (voir /producers)"},
             errors=(404, 429)),
    Endpoint("GET", "/territories/{code}/datasets", "territory_datasets", "Jeux d'un territoire",
             "Les jeux qui concernent un territoire (niveau:code, par exemple departement:35 ou "
             "commune:35238), le territoire lui-même d'abord.",
             s.TerritoryResponse, query=s.PageQuery,
             path_params={"code": "niveau:code (pays, region, departement, epci, commune)"},
             errors=(400, 404, 429)),
    Endpoint("GET", "/topics", "topics", "Les thèmes",
             "Les thèmes du modèle par défaut : libellé, part du catalogue, nombre de jeux, mots.",
             s.TopicsResponse, errors=(429,)),
    Endpoint("GET", "/catalogue", "catalogue", "Vue d'ensemble du catalogue",
             "Ce qu'un programme ou un assistant doit savoir d'abord : nombres, date de l'export, "
             "identifiant de la construction, modes de recherche.",
             s.CatalogueResponse, errors=(429,)),
    Endpoint("GET", "/coverage", "coverage", "Où sont ces données ?",
             "Pour une question (et les filtres de la recherche) : les jeux qui y répondent comptés par "
             "département et par région, les nationaux à part, les départements sans aucun jeu ; "
             "« per_100k » ajoute les comptes pour 100 000 habitants.",
             s.CoverageResponse, query=s.CoverageQuery, errors=(400, 409, 429)),
    Endpoint("GET", "/freshness", "freshness", "Fraîcheur des mises à jour",
             "Fréquence annoncée contre date de dernière modification : comptes par état (à jour, en "
             "retard, jamais mis à jour, sans fréquence), les jeux les plus en retard, pour tout le "
             "catalogue ou un producteur.",
             s.FreshnessResponse, query=s.ReportQuery, errors=(400, 404, 429)),
    Endpoint("GET", "/fair", "fair", "Score FAIR des métadonnées",
             "Score dans la forme du MQA de data.europa.eu (trouvable, accessible, interopérable, "
             "réutilisable, contexte) et actions classées par points gagnés, pour le catalogue ou un "
             "producteur.",
             s.FairResponse, query=s.FairQuery, errors=(400, 404, 429)),
)

ERROR_TEXT = {400: "paramètre invalide", 404: "introuvable", 405: "méthode non permise",
              413: "corps trop volumineux", 415: "corps JSON attendu", 429: "trop de requêtes",
              409: "indisponible pour ce catalogue"}


def flask_rule(path: str) -> str:
    return PREFIX + path.replace("{", "<").replace("}", ">")


def _query_parameters(model: type[BaseModel], schema: dict) -> list[dict]:
    out = []
    props = schema.get("properties", {})
    required = set(schema.get("required", []))
    for name, prop in props.items():
        prop = dict(prop)
        desc = prop.pop("description", None)
        prop.pop("title", None)
        p = {"name": name, "in": "query", "required": name in required, "schema": prop}
        if prop.get("type") == "array":
            p.update(style="form", explode=True)
        if desc:
            p["description"] = desc
        out.append(p)
    return out


def openapi_document() -> dict:
    """The OpenAPI 3.1 document of :data:`ENDPOINTS` (schemas from the pydantic models)."""
    models = {s.ErrorBody}
    for e in ENDPOINTS:
        models.add(e.response)
        if e.body is not None:
            models.add(e.body)
    models_sorted = sorted(models, key=lambda m: m.__name__)
    _, defs = models_json_schema([(m, "validation" if m is s.AskBody else "serialization")
                                     for m in models_sorted],
                                    ref_template="#/components/schemas/{model}")
    components = dict(defs.get("$defs", {}))
    paths: dict = {}
    for e in ENDPOINTS:
        params = [{"name": n, "in": "path", "required": True, "description": d,
                   "schema": {"type": "string", "minLength": 1, "maxLength": 200}}
                  for n, d in e.path_params.items()]
        if e.query is not None:
            params += _query_parameters(e.query, e.query.model_json_schema())
        responses = {"200": {"description": "réussite", "content": {"application/json": {
            "schema": {"$ref": f"#/components/schemas/{e.response.__name__}"}}}}}
        for code in e.errors:
            responses[str(code)] = {"description": ERROR_TEXT[code], "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/ErrorBody"}}}}
        op = {"operationId": e.name, "summary": e.summary, "description": e.description,
              "parameters": params, "responses": responses}
        if e.body is not None:
            op["requestBody"] = {"required": True, "content": {"application/json": {
                "schema": {"$ref": f"#/components/schemas/{e.body.__name__}"}}}}
        paths.setdefault(PREFIX + e.path, {})[e.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "Explorateur du catalogue data.gouv.fr", "version": VERSION,
                 "description": "API en lecture seule : recherche, jeux, voisins, assistant, producteurs, "
                                "territoires, thèmes. Erreurs : {\"error\": {\"code\", \"message\"}}."},
        "paths": paths,
        "components": {"schemas": components},
    }


def _type_of(schema: dict) -> str:
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    if "anyOf" in schema:
        return " | ".join(_type_of(x) for x in schema["anyOf"])
    t = schema.get("type", "")
    if t == "array":
        return f"liste de {_type_of(schema.get('items', {}))}"
    if "enum" in schema:
        return " | ".join(str(v) for v in schema["enum"])
    if "const" in schema:
        return str(schema["const"])
    bounds = [f"≥ {schema['minimum']}" if "minimum" in schema else "",
              f"≤ {schema['maximum']}" if "maximum" in schema else "",
              f"≤ {schema['maxLength']} car." if "maxLength" in schema else ""]
    extra = ", ".join(b for b in bounds if b)
    return f"{t} ({extra})" if extra else t


def docs_page(doc: dict) -> str:
    """A plain HTML page listing every endpoint of ``doc`` (escaped; no script)."""
    e = html.escape
    parts = [
        "<!doctype html><html lang='fr'><head><meta charset='utf-8'>",
        f"<title>{e(doc['info']['title'])} — API</title><style>",
        "body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;"
        "color:#161616}code{background:#f4f4f4;padding:0 .2rem}table{border-collapse:collapse;"
        "width:100%;margin:.5rem 0 1.5rem}td,th{border:1px solid #ddd;padding:.3rem;text-align:left;"
        "vertical-align:top}.m{font-weight:bold;color:#000091}</style></head><body>",
        f"<h1>{e(doc['info']['title'])} — API v{e(doc['info']['version'])}</h1>",
        f"<p>{e(doc['info']['description'])}</p>",
        f"<p>Document OpenAPI\u202f: <a href='{e(PREFIX)}/openapi.json'>{e(PREFIX)}/openapi.json</a></p>",
    ]
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            parts.append(f"<h2><span class='m'>{e(method.upper())}</span> <code>{e(path)}</code></h2>")
            parts.append(f"<p><strong>{e(op['summary'])}</strong>. {e(op['description'])}</p>")
            if op.get("parameters"):
                parts.append("<table><tr><th>paramètre</th><th>où</th><th>type</th><th>défaut</th>"
                             "<th>description</th></tr>")
                for p in op["parameters"]:
                    default = p["schema"].get("default", "")
                    parts.append(f"<tr><td><code>{e(p['name'])}</code></td><td>{e(p['in'])}</td>"
                                 f"<td>{e(_type_of(p['schema']))}</td><td>{e(str(default))}</td>"
                                 f"<td>{e(p.get('description', ''))}</td></tr>")
                parts.append("</table>")
            if "requestBody" in op:
                ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
                parts.append(f"<p>Corps JSON\u202f: <code>{e(ref.rsplit('/', 1)[-1])}</code></p>")
            codes = ", ".join(f"{c} {op['responses'][c]['description']}" for c in op["responses"])
            parts.append(f"<p>Réponses\u202f: {e(codes)}</p>")
    parts.append("<h2>Schémas</h2>")
    for name, schema in doc["components"]["schemas"].items():
        rows = "".join(f"<tr><td><code>{e(k)}</code></td><td>{e(_type_of(v))}</td>"
                       f"<td>{e(v.get('description', ''))}</td></tr>"
                       for k, v in schema.get("properties", {}).items())
        parts.append(f"<h3 id='{e(name)}'>{e(name)}</h3><table>{rows}</table>")
    parts.append("</body></html>")
    return "".join(parts)

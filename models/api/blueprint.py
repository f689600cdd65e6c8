"""The Flask blueprint of ``/api/v1`` (see :mod:`models.api`)."""

from __future__ import annotations

import json
import logging
import math
import re
import typing
from dataclasses import dataclass

from pydantic import BaseModel, ValidationError

from models.api import schemas as s
from models.api.limits import MAX_BODY_BYTES, RateLimiter, cors_origins
from models.api.openapi import ENDPOINTS, PREFIX, Endpoint, docs_page, flask_rule, openapi_document
from models.serve.service import CatalogueService, InvalidInput, NotFound, ServiceError, Unavailable

log = logging.getLogger(__name__)

NNBSP = "\u202f"
EXTENSION = "catalogue_api"
SECURITY_HEADERS = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY",
                    "Referrer-Policy": "same-origin",
                    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'"}


@dataclass
class ApiState:
    """What the blueprint holds (``server.extensions["catalogue_api"]``; tests change ``limiter``)."""

    service: CatalogueService
    limiter: RateLimiter
    cors: frozenset
    openapi: dict
    docs: str


class BadRequest(ServiceError):
    code = "requete_invalide"

    def __init__(self, message: str, status: int = 400, code: str | None = None) -> None:
        super().__init__(message, code)
        self.status = status


# ---- errors -------------------------------------------------------------------------------------
def error(status: int, code: str, message: str, headers: dict | None = None):
    import flask

    body = json.dumps({"error": {"code": code, "message": message}}, ensure_ascii=False)
    return flask.Response(body, status=status, mimetype="application/json", headers=headers or {})


_MESSAGES = {
    "missing": lambda c: "obligatoire",
    "int_parsing": lambda c: "nombre entier attendu",
    "int_type": lambda c: "nombre entier attendu",
    "int_from_float": lambda c: "nombre entier attendu",
    "greater_than_equal": lambda c: f"au moins {c.get('ge')}",
    "less_than_equal": lambda c: f"au plus {c.get('le')}",
    "string_too_long": lambda c: f"au plus {c.get('max_length')} caractères",
    "too_long": lambda c: f"au plus {c.get('max_length')} valeurs",
    "literal_error": lambda c: "valeurs possibles" + NNBSP + ": "
                               + str(c.get("expected", "")).replace(" or ", " ou "),
    "bool_parsing": lambda c: "true ou false attendu",
    "bool_type": lambda c: "true ou false attendu",
    "extra_forbidden": lambda c: "champ inconnu",
    "string_type": lambda c: "texte attendu",
    "model_type": lambda c: "objet JSON attendu",
    "model_attributes_type": lambda c: "objet JSON attendu",
    "dict_type": lambda c: "objet JSON attendu",
    "list_type": lambda c: "liste attendue",
}


def french(exc: ValidationError) -> str:
    """The first problem of ``exc``, in French."""
    err = exc.errors(include_url=False)[0]
    loc = ".".join(str(x) for x in err.get("loc", ()))[:60] or "corps"
    fn = _MESSAGES.get(err.get("type", ""))
    if fn is not None:
        what = fn(err.get("ctx") or {})
    elif err.get("type") == "value_error":
        what = str((err.get("ctx") or {}).get("error", "valeur invalide"))[:200]
    else:
        what = "valeur invalide"
    return f"paramètre «{NNBSP}{loc}{NNBSP}» invalide{NNBSP}: {what}"


# ---- reading requests ------------------------------------------------------------------------------
def _is_list(annotation) -> bool:
    return typing.get_origin(annotation) is list


def parse_query(model: type[BaseModel]):
    import flask

    args = flask.request.args
    data = {}
    for name, f in model.model_fields.items():
        if name in args:
            data[name] = args.getlist(name) if _is_list(f.annotation) else args.get(name)
    return model.model_validate(data)


def _no_duplicates(pairs):
    d = dict(pairs)
    if len(d) != len(pairs):
        raise ValueError("duplicate key")
    return d


def parse_body(model: type[BaseModel]):
    import flask

    req = flask.request
    if not req.is_json:
        raise BadRequest("corps JSON attendu (en-tête Content-Type application/json)", 415,
                         "type_non_supporte")
    data = req.stream.read(MAX_BODY_BYTES + 1)
    if len(data) > MAX_BODY_BYTES:
        raise BadRequest(f"corps trop volumineux (au plus {MAX_BODY_BYTES // 1024} Kio)", 413,
                         "trop_volumineux")
    try:
        body = json.loads(data, object_pairs_hook=_no_duplicates)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise BadRequest("corps JSON illisible", 400, "json_invalide") from None
    return model.model_validate(body)


# ---- the endpoints ------------------------------------------------------------------------------------
def _need_mode(svc: CatalogueService, mode: str) -> None:
    if mode not in svc.modes:
        raise Unavailable(f"le mode «{NNBSP}{mode}{NNBSP}» n'est pas disponible pour ce catalogue "
                          f"(modes{NNBSP}: "
                          f"{', '.join(svc.modes) or 'aucun'})", "mode_indisponible")


def h_search(svc: CatalogueService, p: s.SearchQuery) -> dict:
    _need_mode(svc, p.mode)
    out = svc.search(p.q, mode=p.mode, filters=p.filters(), sort=p.sort, k=p.k, facets=p.facets,
                     tag=p.tag or None, details=True)
    if "facets" in out:
        out["facets"] = {key: [{"value": v, "count": c, "label": lab} for v, c, lab in vals]
                         for key, vals in out["facets"].items()}
    if "words" in out:
        out["words"] = [{"word": w, "similarity": round(float(x), 4)} for w, x in out["words"]]
    return out


def h_ask(svc: CatalogueService, b: s.AskBody) -> dict:
    _need_mode(svc, "hybrid")
    if b.choice is None and not b.question.strip():
        raise InvalidInput("question vide\u202f: posez une question en français", "question_vide")
    return svc.ask(b.question, b.state, b.choice.model_dump() if b.choice is not None else None)


HANDLERS = {
    "search": h_search,
    "dataset": lambda svc, _p, id: svc.dataset(id),
    "similar": lambda svc, p, id: svc.similar(id, p.k),
    "ask": h_ask,
    "producers": lambda svc, p: svc.producers(p.page, p.per_page, p.sort),
    "producer": lambda svc, _p, id: svc.producer(id),
    "territory_datasets": lambda svc, p, code: svc.territory_datasets(code, p.page, p.per_page),
    "topics": lambda svc, _p: svc.topics(),
    "catalogue": lambda svc, _p: svc.catalogue(),
    "coverage": lambda svc, p: (_need_mode(svc, "hybrid"),
                                svc.coverage(p.q, filters=p.filters(), per_100k=p.per_100k))[1],
    "freshness": lambda svc, p: svc.freshness(p.producer, top=p.top),
    "fair": lambda svc, p: svc.fair(p.producer, top=p.top, max_ids=p.max_ids),
}


def _view(e: Endpoint, state: ApiState):
    handler = HANDLERS[e.name]

    def view(**path):
        import flask

        try:
            arg = parse_query(e.query) if e.query else parse_body(e.body) if e.body else None
            data = handler(state.service, arg, **path)
            body = e.response.model_validate(data).model_dump_json()
        except ValidationError as exc:
            return error(400, "parametre_invalide", french(exc))
        except BadRequest as exc:
            return error(exc.status, exc.code, exc.message)
        except NotFound as exc:
            return error(404, exc.code, exc.message)
        except Unavailable as exc:
            return error(409, exc.code, exc.message)
        except InvalidInput as exc:
            return error(400, exc.code, exc.message)
        except Exception:  # a bug: logged with its traceback, never shown
            log.exception("api %s failed", e.name)
            return error(500, "erreur_interne", "erreur interne\u202f: elle a été consignée")
        return flask.Response(body, status=200, mimetype="application/json")

    view.__name__ = e.name
    return view


def _path_regex(e: Endpoint) -> re.Pattern:
    return re.compile("^" + re.sub(r"\\\{[a-z_]+\\\}", "[^/]+", re.escape(PREFIX + e.path)) + "$")


def install(server, explorer=None, *, modes: list[str] | None = None,
            service: CatalogueService | None = None) -> ApiState:
    """Register ``/api/v1`` on the Flask ``server`` over ``explorer`` (or ``service``)."""
    import flask

    svc = service or CatalogueService(explorer, known_modes=modes)
    doc = openapi_document()
    state = ApiState(svc, RateLimiter.from_env(), cors_origins(), doc, docs_page(doc))
    bp = flask.Blueprint("api_v1", __name__)
    known = [(_path_regex(e), e.method) for e in ENDPOINTS]
    for e in ENDPOINTS:
        bp.add_url_rule(flask_rule(e.path), endpoint=e.name, view_func=_view(e, state), methods=[e.method])

    @bp.route(PREFIX + "/openapi.json")
    def openapi():
        return flask.Response(json.dumps(state.openapi, ensure_ascii=False), mimetype="application/json")

    @bp.route(PREFIX + "/docs")
    @bp.route(PREFIX + "/")
    def docs():
        return flask.Response(state.docs, mimetype="text/html")

    @bp.route("/api", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    @bp.route("/api/<path:rest>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    def unknown(rest: str = ""):
        path = flask.request.path
        allowed = sorted({m for rx, m in known if rx.match(path)})
        if allowed:
            return error(405, "methode_non_permise", f"méthode non permise ici{NNBSP}: "
                         f"{', '.join(allowed)}", {"Allow": ", ".join(allowed)})
        return error(404, "introuvable", f"aucune adresse de l'API ici{NNBSP}; voir {PREFIX}/docs")

    @bp.after_request
    def headers(response):
        for k, v in SECURITY_HEADERS.items():
            response.headers.setdefault(k, v)
        origin = flask.request.headers.get("Origin", "").rstrip("/")
        if origin and (origin in state.cors or "*" in state.cors):
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
            response.headers["Access-Control-Allow-Headers"] = "Content-Type"
            response.headers["Access-Control-Max-Age"] = "600"
            response.headers.add("Vary", "Origin")
        return response

    def guard():
        """Before every other check of the server, for /api only: rate and body size."""
        req = flask.request
        if not (req.path == "/api" or req.path.startswith("/api/")):
            return None
        wait = state.limiter.allow(req.remote_addr or "?")
        if wait > 0:
            log.warning("api: %s over its rate (%.1f/s)", req.remote_addr, state.limiter.rate)
            return error(429, "trop_de_requetes", "trop de requêtes\u202f: réessayez dans "
                         f"{math.ceil(wait)} s", {"Retry-After": str(math.ceil(wait))})
        if req.content_length is not None and req.content_length > MAX_BODY_BYTES:
            return error(413, "trop_volumineux",
                         f"corps trop volumineux (au plus {MAX_BODY_BYTES // 1024} Kio)")
        return None

    server.register_blueprint(bp)
    server.before_request_funcs.setdefault(None, []).insert(0, guard)
    server.extensions[EXTENSION] = state
    log.info("API %s: %d endpoints, rate %.0f/s per client (burst %.0f), CORS %s", PREFIX, len(ENDPOINTS),
             state.limiter.rate, state.limiter.burst, ", ".join(sorted(state.cors)) or "off")
    return state

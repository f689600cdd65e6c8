"""Request and response models of the JSON API (pydantic v2): they validate what comes in, check
what goes out, and are the single source of the OpenAPI document (``models/api/openapi.py``)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from models.serve.search import MODES
from models.serve.service import MAX_K, MAX_PER_PAGE, MAX_STATE_CHARS, PRODUCER_SORTS, SORTS

MAX_QUERY_CHARS = 500  # AppSettings.max_query_chars: the pages' search box and « Demander »
MAX_FILTER_CHARS = 200
MAX_FILTER_VALUES = 20

Mode = Literal[MODES]  # type: ignore[valid-type]
Sort = Literal[SORTS]  # type: ignore[valid-type]
ProducerSort = Literal[tuple(PRODUCER_SORTS)]  # type: ignore[valid-type]


def clean_text(value):
    """Lone surrogates (valid JSON, invalid UTF-8) become « ? »; NUL is dropped (other values
    are left to the field's validation)."""
    if isinstance(value, list):
        return [clean_text(x) for x in value]
    if not isinstance(value, str):
        return value
    return value.encode("utf-8", "replace").decode("utf-8").replace("\x00", "")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Loose(BaseModel):
    """Query parameters: unknown ones are ignored (caches and trackers add some)."""

    model_config = ConfigDict(extra="ignore")


# ---- requests ------------------------------------------------------------------------------------
FilterText = Annotated[str, Field(max_length=MAX_FILTER_CHARS)]


class SearchQuery(Loose):
    q: str = Field("", max_length=MAX_QUERY_CHARS,
                   description="la recherche en français (vide : parcourir avec des filtres)")
    mode: Mode = Field("hybrid", description="hybrid (conseillé), keyword, semantic ou word")
    sort: Sort = Field("relevance", description="relevance, recent ou popular")
    k: int = Field(10, ge=1, le=MAX_K, description="nombre de résultats")
    facets: bool = Field(False, description="ajouter les comptes par filtre")
    tag: str | None = Field(None, max_length=MAX_FILTER_CHARS, description="seulement ce mot-clé")
    producer: list[FilterText] = Field(default_factory=list, max_length=MAX_FILTER_VALUES,
                                description="identifiant de producteur (répétable)")
    territory: list[FilterText] = Field(default_factory=list, max_length=MAX_FILTER_VALUES,
                                 description="niveau:code, par exemple departement:35 (répétable)")
    format: list[FilterText] = Field(default_factory=list, max_length=MAX_FILTER_VALUES,
                              description="csv, json, geo, … (répétable)")
    licence: list[FilterText] = Field(default_factory=list, max_length=MAX_FILTER_VALUES)
    frequency: list[FilterText] = Field(default_factory=list, max_length=MAX_FILTER_VALUES)
    topic: list[FilterText] = Field(default_factory=list, max_length=MAX_FILTER_VALUES,
                             description="numéro de thème (répétable)")
    year: str | None = Field(None, max_length=MAX_FILTER_CHARS, description="2018 ou 2018-2022")
    modified: str | None = Field(None, max_length=MAX_FILTER_CHARS, description="2020-2024")
    has_reuses: str | None = Field(None, max_length=MAX_FILTER_CHARS, description="oui")

    _text = field_validator("*", mode="before")(lambda v: clean_text(v))

    def filters(self) -> dict:
        raw: dict = {}
        for key in ("producer", "territory", "format", "licence", "frequency", "topic"):
            if getattr(self, key):
                raw[key] = [x.strip() for x in getattr(self, key)]
        for key in ("year", "modified", "has_reuses"):
            if getattr(self, key) is not None:
                raw[key] = getattr(self, key).strip()
        return raw


class CoverageQuery(SearchQuery):
    """The search's question and filters (its mode, sort, k and facets are not used: the answers
    are every dataset above the relevance threshold the response states)."""

    per_100k: bool = Field(False, description="ajouter les comptes pour 100 000 habitants")


class ReportQuery(Loose):
    producer: str | None = Field(None, max_length=MAX_FILTER_CHARS,
                                 description="identifiant de producteur (voir /producers) ; absent : "
                                             "tout le catalogue")
    top: int = Field(10, ge=1, le=MAX_K, description="nombre d'éléments des listes")

    _text = field_validator("*", mode="before")(lambda v: clean_text(v))


class FairQuery(ReportQuery):
    max_ids: int = Field(50, ge=0, le=1000, description="identifiants de jeux par action à mener")


class SimilarQuery(Loose):
    k: int = Field(10, ge=1, le=MAX_K, description="nombre de voisins (au plus ceux de la build)")


class PageQuery(Loose):
    page: int = Field(1, ge=1, le=100_000)
    per_page: int = Field(20, ge=1, le=MAX_PER_PAGE)


class ProducersQuery(PageQuery):
    sort: ProducerSort = Field("size", description="size, name, views, reuses, score ou recent")


class Choice(Strict):
    slot: Literal["territory", "period", "producer", "format"]
    value: str | None = Field(None, max_length=MAX_FILTER_CHARS,
                              description="une des options proposées ; null : peu importe")
    label: str = Field("", max_length=MAX_FILTER_CHARS)

    _text = field_validator("*", mode="before")(lambda v: clean_text(v))


class AskBody(Strict):
    question: str = Field("", max_length=MAX_QUERY_CHARS, description="la question, en français")
    state: str | None = Field(None, max_length=MAX_STATE_CHARS,
                              description="l'état renvoyé par le tour précédent (opaque) ; absent : "
                                          "nouvelle conversation")
    choice: Choice | None = Field(None, description="réponse à une question de précision (au lieu "
                                                    "d'une question)")

    _text = field_validator("question", "state", mode="before")(lambda v: clean_text(v))


# ---- responses -----------------------------------------------------------------------------------
class Error(Strict):
    code: str
    message: str


class ErrorBody(Strict):
    error: Error


class SearchHit(Strict):
    id: str
    title: str
    organization: str
    score: float
    why: list[str]
    versions: list[str] = Field(description="les autres versions (jeux presque identiques) de ce résultat")
    url: str
    snippet: str


class FacetValue(Strict):
    value: str | int | float | bool | list[str | int | float | bool | None] | None
    count: int
    label: str


class NearWord(Strict):
    word: str
    similarity: float


class SearchResponse(Strict):
    query: str = Field(description="la recherche telle que lue (orthographe corrigée)")
    total: int
    results: list[SearchHit]
    facets: dict[str, list[FacetValue]] | None = None
    words: list[NearWord] | None = None
    messages: list[str] = Field(description="filtres ignorés, requête tronquée, …")


class Topic(Strict):
    id: int
    label: str | None


class Quality(Strict):
    score: int
    reasons: list[str]


class Dataset(Strict):
    id: str
    title: str
    url: str
    organization: str
    producer_id: str
    last_modified: str
    frequency: str
    coverage: str
    territories: list[str]
    declared_zones: str
    formats: list[str]
    licence: str
    views: int
    reuses: int
    followers: int
    topic: Topic | None
    quality: Quality | None
    description: str


class Neighbour(Strict):
    id: str
    title: str
    organization: str
    score: float
    versions: list[str]
    url: str


class SimilarResponse(Strict):
    id: str
    title: str
    results: list[Neighbour]


class AskDataset(Strict):
    id: str
    title: str
    producer: str
    url: str
    last_update: str
    territory: str
    formats: list[str]
    score: float | None
    evidence: str | None = Field(description="le passage de la description qui répond")


class Slot(Strict):
    value: str | list[int]
    label: str


class Option(Strict):
    label: str
    value: str


class Clarify(Strict):
    slot: str
    question: str
    options: list[Option]
    none: str


class AskResponse(Strict):
    answer: str
    datasets: list[AskDataset]
    slots: dict[str, Slot]
    clarify: Clarify | None
    notes: list[str]
    action: str | None
    confidence: float | None
    state: str = Field(description="à renvoyer tel quel avec la question suivante")


class ProducerItem(Strict):
    id: str
    name: str
    kind: str
    n_datasets: int
    n_archived: int
    views: int
    reuses: int
    quality: float | None
    last_modified: str


class ProducersResponse(Strict):
    page: int
    per_page: int
    total: int
    sort: str
    producers: list[ProducerItem]


class ProducerDataset(Strict):
    id: str
    title: str
    url: str
    views: int
    quality: float | None


class ProducerTopic(Strict):
    id: int
    label: str
    share: float
    catalogue_share: float


class ProducerResponse(Strict):
    id: str
    name: str
    kind: str
    rank: int
    n_datasets: int
    n_archived: int
    views: int
    reuses: int
    quality: float | None
    last_modified: str
    datasets: list[ProducerDataset]
    topics: list[ProducerTopic]


class Territory(Strict):
    value: str
    name: str
    level: str
    code: str
    label: str


class TerritoryDataset(Strict):
    id: str
    title: str
    organization: str
    url: str
    via: str
    level: str
    confidence: float
    source: str


class TerritoryResponse(Strict):
    territory: Territory
    page: int
    per_page: int
    total: int
    datasets: list[TerritoryDataset]


class TopicItem(Strict):
    id: int
    label: str
    prevalence: float
    n_datasets: int
    terms: list[str]


class TopicsResponse(Strict):
    k: int
    topics: list[TopicItem]


class CatalogueResponse(Strict):
    n_datasets: int
    n_producers: int
    n_topics: int
    export_date: str
    build_id: str
    created_at: str
    partial: bool
    modes: list[str]
    n_datasets_with_territory: int
    model: str


# ---- reports (issue 26): the shapes of ``python -m models coverage|freshness|fair --json`` ------------
class Report(BaseModel):
    """Nested parts are described in docs/fair-freshness-coverage.md; new keys may be added."""

    model_config = ConfigDict(extra="allow")


class CoverageResponse(Report):
    query: str
    rule: str = Field(description="quels jeux sont comptés (le seuil de pertinence, pas les k premiers)")
    threshold: float | None
    n_answers: int
    national: int = Field(description="jeux nationaux (France entière), comptés à part")
    departements: dict[str, int] = Field(description="code → jeux (les départements sans jeu : gaps)")
    regions: dict[str, int]
    gaps: list[str]
    gap_names: list[str]
    gap_message: str
    messages: list[str]
    communes: list[dict] = Field(default_factory=list,
                                 description="les villes de 50 000 habitants ou plus : code, nom, "
                                             "département, population, jeux, latitude, longitude")
    commune_gaps: list[str] = Field(default_factory=list, description="celles sans aucun jeu")


class FreshnessResponse(Report):
    export_date: str
    n: int
    counts: dict[str, int]
    labels: dict[str, str]
    late_share: float | None
    most_late: list[dict]


class FairResponse(Report):
    n: int
    score: dict
    dimensions: list[dict]
    indicators: list[dict]
    left_out: list[dict]
    todo: list[dict]

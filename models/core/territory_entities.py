"""``territory_entities.parquet``: every territory of a build's gazetteer as a frame
(:func:`entity_frame`, written by the pipeline's ``territories`` step) and the gazetteer rebuilt
from it (:func:`gazetteer_from_entities`, read by the app when the COG folder is absent): one
format, both directions, in one place.
"""

from __future__ import annotations

from collections import defaultdict

import pandas as pd

from models.core.geo import Alias, Entity, Gazetteer

ENTITY_COLUMNS = ["level", "code", "name", "population", "departements", "region", "epci", "parent"]


def entity_frame(gaz: Gazetteer) -> pd.DataFrame:
    """Every territory of the gazetteer (the app's autocomplete and hierarchy).

    Examples
    --------
    >>> gaz = Gazetteer.build(
    ...     [{"code": "31555", "nom": "Toulouse", "type": "commune-actuelle", "departement": "31",
    ...       "region": "76", "population": 500000}], [],
    ...     [{"code": "31", "nom": "Haute-Garonne", "region": "76"}], [{"code": "76", "nom": "Occitanie"}])
    >>> entity_frame(gaz)[["level", "code", "name", "departements"]].values.tolist()
    [['commune', '31555', 'Toulouse', ['31']], ['departement', '31', 'Haute-Garonne', ['31']],
     ['region', '76', 'Occitanie', ['31']], ['pays', 'FR', 'France', []]]
    """
    rows = [(e.level, e.code, e.name, e.population, list(e.departements), e.region or "",
             e.epci or "", e.parent or "") for e in gaz.entities.values()]
    return pd.DataFrame(rows, columns=ENTITY_COLUMNS)


def gazetteer_from_entities(entities) -> Gazetteer:
    """A gazetteer rebuilt from a build's ``territory_entities.parquet`` (level, code, name,
    population, departements, region, epci, parent), for a build served without the COG folder
    (names of former communes and postcodes are then unknown).

    Examples
    --------
    >>> entities = pd.DataFrame(
    ...     [("commune", "31555", "Toulouse", 500000, ["31"], "76", "", ""),
    ...      ("departement", "31", "Haute-Garonne", 500000, ["31"], "76", "", "")], columns=ENTITY_COLUMNS)
    >>> gaz = gazetteer_from_entities(entities)
    >>> [e.name for e in gaz.lookup("TOULOUSE")], [e.name for e in gaz.enclosing(gaz.get("commune", "31555"))]
    (['Toulouse'], ['Haute-Garonne', 'France'])
    """
    communes, epcis, depts, regions = [], [], [], []
    members: dict[str, list[dict]] = defaultdict(list)
    for r in entities.itertuples(index=False):
        d = list(r.departements) if r.departements is not None else []
        if r.level == "commune":
            c = {"code": r.code, "nom": r.name, "population": int(r.population or 0),
                 "departement": d[0] if d else None, "region": r.region,
                 "type": "arrondissement-municipal" if r.parent else "commune-actuelle",
                 "commune": r.parent}
            communes.append(c)
            if r.epci and not r.parent:
                members[r.epci].append({"code": r.code})
        elif r.level == "epci":
            epcis.append({"code": r.code, "nom": r.name, "populationTotale": int(r.population or 0)})
        elif r.level == "departement":
            depts.append({"code": r.code, "nom": r.name, "region": r.region})
        elif r.level == "region":
            regions.append({"code": r.code, "nom": r.name})
    for e in epcis:
        e["membres"] = members.get(e["code"], [])
    return Gazetteer.build(communes, epcis, depts, regions)


ALIAS_COLUMNS = ["key", "level", "code", "kind", "factor"]
GAZETTEER_ENTITY_COLUMNS = [*ENTITY_COLUMNS, "postcodes"]


def gazetteer_tables(gaz: Gazetteer) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The gazetteer as two frames, its entities (every field, in order) and its aliases (one row
    per name of an entity, in order): what :func:`gazetteer_from_tables` reads back ~3× faster
    than :func:`gazetteer_from_entities` normalises every name again (the build's ``serving``
    step keeps them, :mod:`models.core.serving`).

    Examples
    --------
    >>> gaz = gazetteer_from_entities(pd.DataFrame(
    ...     [("commune", "31555", "Toulouse", 500000, ["31"], "76", "", "")], columns=ENTITY_COLUMNS))
    >>> ents, aliases = gazetteer_tables(gaz)
    >>> aliases[aliases["code"] == "31555"][["key", "kind"]].values.tolist()
    [['toulouse', 'name']]
    >>> back = gazetteer_from_tables(ents, aliases)
    >>> back.entities == gaz.entities and back.aliases == gaz.aliases and back.trie == gaz.trie
    True
    """
    ents = pd.DataFrame([(e.level, e.code, e.name, e.population, list(e.departements), e.region,
                          e.epci, e.parent, list(e.postcodes)) for e in gaz.entities.values()],
                        columns=GAZETTEER_ENTITY_COLUMNS)
    aliases = pd.DataFrame([(k, a.entity[0], a.entity[1], a.kind, float(a.factor))
                            for k, names in gaz.aliases.items() for a in names], columns=ALIAS_COLUMNS)
    return ents, aliases


def gazetteer_from_tables(ents: pd.DataFrame, aliases: pd.DataFrame) -> Gazetteer:
    """The gazetteer of :func:`gazetteer_tables`' two frames (equal entities, aliases and trie)."""

    def opt(v):  # a missing text comes back from parquet as None or NaN
        return v if isinstance(v, str) else None

    entities = {}
    for level, code, name, pop, depts, region, epci, parent, postcodes in zip(
            *(ents[c].tolist() for c in GAZETTEER_ENTITY_COLUMNS), strict=True):
        e = Entity(level, code, name, int(pop), tuple(depts if depts is not None else ()), opt(region),
                   opt(epci), opt(parent), tuple(postcodes if postcodes is not None else ()))
        entities[e.key] = e
    out: dict[str, list[Alias]] = {}
    for key, level, code, kind, factor in zip(*(aliases[c].tolist() for c in ALIAS_COLUMNS), strict=True):
        a = Alias((level, code), kind, factor)
        names = out.get(key)
        if names is None:
            out[key] = [a]
        else:
            names.append(a)
    return Gazetteer(entities, out)

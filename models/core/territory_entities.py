"""``territory_entities.parquet``: every territory of a build's gazetteer as a frame
(:func:`entity_frame`, written by the pipeline's ``territories`` step) and the gazetteer rebuilt
from it (:func:`gazetteer_from_entities`, read by the app when the COG folder is absent): one
format, both directions, in one place.
"""

from __future__ import annotations

from collections import defaultdict

import pandas as pd

from models.core.geo import Gazetteer

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

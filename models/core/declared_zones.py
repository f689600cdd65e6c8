"""Declared zones: a dataset's ``spatial.zones`` (names, comma-separated) resolved to gazetteer
entities (:mod:`models.core.geo`). Shared by the pipeline's evaluation of the extracted territories
(:mod:`models.pipeline.territories`) and by the app's territory filter (:mod:`models.serve.filters`).
"""

from __future__ import annotations

from collections import Counter

from models.core.geo import LEVEL_RANK, Entity, Gazetteer, norm_name, scan

GRANULARITY_LEVEL = {"fr:commune": "commune", "fr:epci": "epci", "fr:departement": "departement",
                     "fr:region": "region", "country": "pays", "fr:iris": "commune",
                     "fr:canton": "commune", "fr:arrondissement": "commune"}
_DECLARED_ALIASES = {"france metropolitaine": ("pays", "FR")}


def _zone_parts(zones: str) -> list[str]:
    return [p.strip() for p in zones.split(",") if p.strip()] if zones else []


def resolve_declared(gaz: Gazetteer, zones: str, granularity: str = "",
                     organization: str = "") -> tuple[set, list[str]]:
    """Declared ``spatial.zones`` -> set of canonical entity keys, plus the unresolved names.

    Names are split on commas, re-joined when a comma belongs to a name (``CA de Béthune-Bruay,
    Artois-Lys Romane``). Homonyms (``Tauriac`` exists in three départements) are resolved by the
    declared granularity, then by the département shared by most co-declared zones, then by the
    départements named in the producer's name (``CA Gaillac-Graulhet`` -> Tarn), then by population.

    Examples
    --------
    >>> def commune(code, name, dept, region, population):
    ...     return {"code": code, "nom": name, "type": "commune-actuelle", "departement": dept,
    ...             "region": region, "population": population}
    >>> gaz = Gazetteer.build(
    ...     [commune("33523", "Tauriac", "33", "75", 1300), commune("46315", "Tauriac", "46", "76", 400),
    ...      commune("33063", "Bordeaux", "33", "75", 260000)], [],
    ...     [{"code": "33", "nom": "Gironde", "region": "75"}, {"code": "46", "nom": "Lot", "region": "76"}],
    ...     [{"code": "75", "nom": "Nouvelle-Aquitaine"}, {"code": "76", "nom": "Occitanie"}])
    >>> keys, unresolved = resolve_declared(gaz, "Tauriac, Bordeaux, Atlantide")
    >>> sorted(keys), unresolved  # Bordeaux votes for the Tauriac of Gironde
    ([('commune', '33063'), ('commune', '33523')], ['Atlantide'])
    >>> resolve_declared(gaz, "Tauriac", organization="Département du Lot")
    ({('commune', '46315')}, [])
    """
    parts = _zone_parts(zones)
    names: list[str] = []
    i = 0
    while i < len(parts):
        if i + 1 < len(parts) and norm_name(parts[i] + " " + parts[i + 1]) in gaz.aliases \
                and norm_name(parts[i]) not in gaz.aliases:
            names.append(parts[i] + ", " + parts[i + 1])
            i += 2
        else:
            names.append(parts[i])
            i += 1
    want = GRANULARITY_LEVEL.get(granularity)
    cands: list[tuple[str, list[Entity]]] = []
    unresolved = []
    for name in names:
        k = norm_name(name)
        if k in _DECLARED_ALIASES:
            cands.append((name, [gaz.entities[_DECLARED_ALIASES[k]]]))
            continue
        ents = [gaz.entities[a.entity] for a in gaz.aliases.get(k, []) if a.kind != "phrase"]
        if not ents:
            unresolved.append(name)
            continue
        cands.append((name, ents))
    dept_votes: Counter = Counter()
    for _, ents in cands:
        if len(ents) == 1:
            dept_votes.update(ents[0].departements)
    org_depts: set[str] = set()
    if organization and any(len(e) > 1 for _, e in cands):
        for m in scan(gaz, organization, "organization"):
            for a in gaz.aliases[m.key]:
                org_depts.update(gaz.entities[a.entity].departements)
    out = set()
    for _, ents in cands:
        if len(ents) > 1:
            ents = sorted(ents, key=lambda e: (
                e.level != want, -max((dept_votes[d] for d in e.departements), default=0),
                not (set(e.departements) & org_depts), -e.population, LEVEL_RANK[e.level]))
        out.add(gaz.canonical(ents[0].key))
    return out, unresolved

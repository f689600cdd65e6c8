"""Resource formats: the raw strings of the catalogue (``"esri shapefile (shp)"``,
``"vnd.ms-excel"``, ``"file:///srv/udata/ftype/csv"``) folded into a small vocabulary of format
families that a person filters on (``csv``, ``xls``, ``shp`` ...), and the words that name them
in a query (« au format Excel », « en shapefile », « une API »).

Pure functions, no I/O; shared by the search filters (one set of families per dataset) and by
query understanding (:mod:`models.serve.understanding`).
"""

from __future__ import annotations

import re

# family -> label shown to people
FORMAT_LABELS: dict[str, str] = {
    "csv": "CSV", "json": "JSON", "geojson": "GeoJSON", "shp": "Shapefile", "xls": "Excel (XLS/XLSX)",
    "ods": "ODS", "pdf": "PDF", "zip": "ZIP", "xml": "XML", "kml": "KML", "gpkg": "GeoPackage",
    "parquet": "Parquet", "wms": "WMS", "wfs": "WFS", "api": "API", "html": "Page web",
    "txt": "Texte", "rdf": "RDF", "gtfs": "GTFS", "mapinfo": "MapInfo", "image": "Image",
    "doc": "Document texte",
}

# raw catalogue format -> family, checked in order (first match wins); substrings of the folded,
# lower-cased raw value
_RAW_RULES: tuple[tuple[str, str], ...] = (
    ("geojson", "geojson"), ("geopackage", "gpkg"), ("gpkg", "gpkg"), ("shapefile", "shp"),
    ("shp", "shp"), ("mapinfo", "mapinfo"), ("kml", "kml"), ("kmz", "kml"), ("gtfs", "gtfs"),
    ("parquet", "parquet"), ("spreadsheetml", "xls"), ("ms-excel", "xls"), ("excel", "xls"),
    ("xlsx", "xls"), ("xls", "xls"), ("opendocument.spreadsheet", "ods"), ("ods", "ods"),
    ("csv", "csv"), ("json", "json"), ("wmts", "wms"), ("wms", "wms"), ("wfs", "wfs"),
    ("ogc api", "api"), ("rest api", "api"), ("arcgis", "api"), ("api", "api"),
    ("sparql", "rdf"), ("rdf", "rdf"), ("turtle", "rdf"), ("ttl", "rdf"), ("n3", "rdf"),
    ("xml", "xml"), ("pdf", "pdf"), ("7z", "zip"), ("zip", "zip"), ("tar", "zip"), ("gz", "zip"),
    ("html", "html"), ("web page", "html"), ("page web", "html"), ("www:link", "html"),
    ("txt", "txt"), ("plain", "txt"), ("tiff", "image"), ("tif", "image"), ("png", "image"),
    ("jpeg", "image"), ("jpg", "image"), ("docx", "doc"), ("wordprocessing", "doc"),
    ("odt", "doc"),
)
_EXACT = {"doc": "doc", "tab": "mapinfo", "dbf": "shp", "prj": "shp", "shx": "shp"}


def normalise_format(raw: str | None) -> str | None:
    """The family of one raw catalogue format (None: unknown or not a format a person picks).

    Examples
    --------
    >>> [normalise_format(raw) for raw in ("esri shapefile (shp)", "vnd.ms-excel", "DBF",
    ...                                    "file:///srv/udata/ftype/csv", "inconnu", None)]
    ['shp', 'xls', 'shp', 'csv', None, None]
    """
    if not raw:
        return None
    s = str(raw).strip().lower()
    if not s or s in ("inconnu", "other", "data", "bin", "octet-stream", "url", "doi"):
        return None
    if s in _EXACT:
        return _EXACT[s]
    for needle, family in _RAW_RULES:
        if needle in s:
            return family
    return None


def format_families(raw_list: str | None) -> tuple[str, ...]:
    """Families of a dataset's ``resources_formats`` (comma-separated), sorted, no repeats.

    Examples
    --------
    >>> format_families("csv,CSV,xlsx,pdf,inconnu"), format_families(None)
    (('csv', 'pdf', 'xls'), ())
    """
    if not raw_list:
        return ()
    fams = {normalise_format(p) for p in str(raw_list).split(",")}
    fams.discard(None)
    return tuple(sorted(fams))


# words of a query (accent-folded, lower-case tokens) -> family
QUERY_FORMAT_WORDS: dict[str, str] = {
    "csv": "csv", "json": "json", "geojson": "geojson", "shapefile": "shp", "shapefiles": "shp",
    "shp": "shp", "xls": "xls", "xlsx": "xls", "excel": "xls", "tableur": "xls", "ods": "ods",
    "pdf": "pdf", "xml": "xml", "kml": "kml", "kmz": "kml", "gpkg": "gpkg", "geopackage": "gpkg",
    "parquet": "parquet", "wms": "wms", "wfs": "wfs", "api": "api", "apis": "api", "gtfs": "gtfs",
    "rdf": "rdf", "sparql": "rdf", "mapinfo": "mapinfo", "zip": "zip",
}
FORMAT_WORD_RE = re.compile(r"\b(" + "|".join(sorted(QUERY_FORMAT_WORDS, key=len, reverse=True))
                            + r")\b")

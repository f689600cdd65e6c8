"""Component ids shared by the layout builders and the callbacks (one place to spell them).

App-wide ids (in the shell built by :func:`components.layout.build_layout`), usable by every page:

* ``URL`` — ``dcc.Location``; its query string holds ``q``, ``mode`` and ``id``.
* ``TABS`` — the ``dbc.Tabs`` (``active_tab`` is a page's tab id, e.g. ``"carte"``).
* ``MAP_HIGHLIGHT`` — ``dcc.Store`` holding ``{"label": str, "rows": [int, ...]}``: the rows
  shown as an overlay on the map. Any page may write it (``allow_duplicate=True``). A search may
  add ``"query": {"x": float, "y": float, "text": str}``: the query's place on the map
  (``Explorer.place_query``), drawn as a distinct marker; absent, the marker is cleared. A
  writer that also draws the overlay itself (the map page's search, in the same response) marks it
  ``"drawn": true``; the others are drawn by the server from ``MAP_HIGHLIGHT_DRAW``.
* ``MAP_HIGHLIGHT_DRAW`` — ``dcc.Store``: what ``MAP_HIGHLIGHT`` holds when it is not drawn yet
  (set in the browser, :data:`components.map.DRAW_GATE_JS`): the server's overlay callback listens
  to it, so a search costs one request, not two.
* ``SELECTED`` — ``dcc.Store`` holding the selected dataset id (``str`` or ``None``); any page may
  write it (``allow_duplicate=True``) to open a dataset's details on the map page.
"""

# app shell
URL = "url"
TABS = "pages"
MAP_PAGE = "carte"  # the tab id of the map page (TABS' active_tab)
COMPARE_PAGE = "comparer"
MAP_HIGHLIGHT = "map-highlight"
MAP_HIGHLIGHT_DRAW = "map-highlight-draw"
SELECTED = "selected-dataset"

# the map page ("Carte")
ASK_FROM_SEARCH = "ask-from-search"  # button under the search box: the question goes to « Demander »
MAP = "map"
MAP_TOOLTIP = "map-tooltip"
SEARCH_INPUT = "search-input"
SEARCH_BUTTON = "search-button"
SEARCH_MODE = "search-mode"
SEARCH_STATE = "search-state"  # dcc.Store: {"q", "mode", "filters", "sort", "ignore", "k"}: the search shown
RESULTS = "search-results"
SIDE_TABS = "side-tabs"  # dbc.Tabs beside the map: SIDE_RESULTS | SIDE_FILTERS | SIDE_CARD | SIDE_SELECTION
SIDE_RESULTS, SIDE_FILTERS, SIDE_CARD, SIDE_SELECTION = "resultats", "filtres", "fiche", "selection"
RESULTS_HEADER = "search-results-header"
# « Où sont ces données ? » (components/coverage_view.py, callbacks/coverage.py)
COVERAGE_OPEN = "coverage-open"  # button by the results header: the current search's map
COVERAGE_MODAL = "coverage-modal"
COVERAGE_SUMMARY = "coverage-summary"
COVERAGE_FIGURE = "coverage-figure"
COVERAGE_PER_100K = "coverage-per-100k"  # dbc.Switch: counts per 100,000 inhabitants
COVERAGE_LEVEL = "coverage-level"  # dbc.RadioItems: "departement" | "region"
COVERAGE_OPEN_SELECTION = "coverage-open-selection"  # button of the « Sélection » tab: its datasets' map
COVERAGE_OPEN_TOPIC = "coverage-open-topic"  # link of the « Thèmes » page: the chosen topic's map
COVERAGE_OPEN_ASK = "coverage-open-ask"  # link of the « Demander » page: the last question's map
COVERAGE_CLUSTER = "coverage-cluster"  # dcc.Dropdown of the « Thèmes » page: an embedding cluster
COVERAGE_OPEN_CLUSTER = "coverage-open-cluster"  # link beside it: that cluster's map
COVERAGE_MAP_CLUSTER_ROW = "coverage-map-cluster-row"  # under the map's colours, shown for « Groupes »
COVERAGE_MAP_CLUSTER = "coverage-map-cluster"  # its dcc.Dropdown: an embedding cluster
COVERAGE_OPEN_MAP_CLUSTER = "coverage-open-map-cluster"  # link beside it: that cluster's map
# dcc.Store: what the view shows: "search", "selection", {"k", "topic"}, {"q"}, {"cluster"}
COVERAGE_SOURCE = "coverage-source"
COVERAGE_CSV = "coverage-csv"  # button: download the counts
COVERAGE_DOWNLOAD = "coverage-download"
COVERAGE_DATA = "coverage-data"  # dcc.Store: the last coverage answer (for the CSV)
DETAILS = "dataset-details"
TOPIC_DROPDOWN = "topic-dropdown"
CLOUD = "topic-cloud"
COUNT = "catalogue-count"
MAP_LABELS = "map-labels"  # dcc.Store: region labels at every level (models.serve.map_labels)
MAP_LABELS_TOGGLE = "map-labels-toggle"  # dbc.Switch: show the region labels
MAP_LABELS_STATE = "map-labels-state"  # dcc.Store written by the browser: {"level", "shown"}
# fading on the map (assets/30-map-mask.js): every source of a mask (the search filters' MAP_FILTER,
# the year filter) fades the points it leaves out; a point stays bright only if every mask keeps it
MAP_TIME_ON = "map-time-on"  # dbc.Switch: the year filter
MAP_TIME_KIND = "map-time-kind"  # dbc.RadioItems: "created" | "modified"
MAP_TIME_RANGE = "map-time-range"  # dcc.RangeSlider [first year, last year]
MAP_TIME_PLAY = "map-time-play"  # button: play / pause
MAP_TIME_DATA = "map-time-data"  # dcc.Store: models.serve.map_time.year_payload, sent when switched on
# the selection panel (a lasso / box selection on the map): components/selection.py
MAP_SELECTED_ROWS = "map-selected-rows"  # dcc.Store {"rows"} | None: the browser's reading of a lasso
MAP_SELECTION = "map-selection"  # dcc.Store {"rows": [int, ...]}: the datasets selected
SELECTION_PANEL = "selection-panel"
SELECTION_COUNT = "selection-count"
SELECTION_EXPORT = "selection-export"
SELECTION_DOWNLOAD = "selection-download"
SELECTION_MDS_BUTTON = "selection-mds-button"
SELECTION_MDS = "selection-mds"
MAP_TIME_COUNT = "map-time-count"
MAP_IMAGE_BUTTON = "map-image-button"  # « Télécharger l'image »
MAP_IMAGE_VIEW = "map-image-view"  # dcc.Store written by the browser: ranges, size, labels shown
MAP_IMAGE_DOWNLOAD = "map-image-download"
MAP_IMAGE_STATUS = "map-image-status"  # the count of datasets kept (written in the browser)
SEARCH_SORT = "search-sort"  # dcc.Dropdown: relevance | recent | popular
SEARCH_CHIPS = "search-chips"  # understood places / years … and active filters, removable
SEARCH_MESSAGES = "search-messages"  # French messages about dropped input (URL, filters)
FILTERS_PANEL = "filters-panel"  # the facet checklists with counts
FILTERS_TAB = "filters-tab"  # the side tab holding the filter panel (label shows the count)
MORE_RESULTS = "more-results"  # « 10 de plus »: pattern id {"type": MORE_RESULTS, "key": "more"}
CLEAR_FILTERS = "clear-filters"  # the way back from an empty result: {"type": ..., "key": "clear"}
MAP_FILTER = "map-filter"  # dcc.Store {"n", "count", "bits" (base64 bitmask) | "rows"} -> map fade
# (assets/30-map-mask.js combines it with the year filter: one fading mechanism)
MAP_FILTER_NOTE = "map-filter-note"  # « 1 234 jeux de données sur 70 575 correspondent aux filtres »
# pattern-matching: {"type": FACET, "key": filter key} (dcc.Checklist), chips {"type": ..., "key": str}
FACET = "facet"
CATALOGUE_FACET = "catalogue-facet"  # the same checklists over the whole catalogue, before any search
SLOT_CHIP = "slot-chip"
FILTER_CHIP = "filter-chip"

# pattern-matching ids of clickable dataset items: {"type": RESULT_ITEM, "row": int}
RESULT_ITEM = "result-item"
SIMILAR_ITEM = "similar-item"

# the topics page ("Thèmes"): components/topics_page.py, callbacks/topics.py
TOPICS_K = "topics-k"  # dcc.Dropdown: the LDA model (K) shown
TOPICS_SELECT = "topics-select"  # dcc.Dropdown: the topic shown (0-based id)
TOPICS_LAMBDA = "topics-lambda"  # dcc.Slider: relevance λ
TOPICS_MAP = "topics-map"
TOPICS_INFO = "topics-info"
TOPICS_TERMS = "topics-terms"
TOPICS_CLOUD = "topics-cloud"
TOPICS_YEARS = "topics-years"
TOPICS_PERIODS = "topics-periods"  # the chosen topic's own words, period by period
TOPICS_PRODUCERS = "topics-producers"
TOPICS_DATASETS = "topics-datasets"
TOPICS_SHOW_ON_MAP = "topics-show-on-map"
TOPICS_SHARED = "topics-shared-terms"
TOPICS_QUALITY = "topics-quality"
TOPICS_HEATMAP = "topics-heatmap"
TOPICS_TIMELINE = "topics-timeline"  # share of every topic per creation year
TOPICS_MDS_SOURCE = "topics-mds-source"  # dbc.RadioItems: "topic" | "map" (the map's highlight)
TOPICS_MDS_MAX = "topics-mds-max"
TOPICS_MDS_BUTTON = "topics-mds-button"
TOPICS_MDS = "topics-mds"
TOPICS_MDS_STATUS = "topics-mds-status"
TOPIC_DATASET_ITEM = "topic-dataset-item"  # pattern-matching {"type": ..., "row": int}
MAP_COLOUR = "map-colour"  # dcc.Dropdown above the main map: "k{K}" (LDA model) | "clusters"

# the guided tour (components/tour.py, callbacks/tour.py, assets/40-tour.js)
TOUR_MINE = "tour-mine"  # dcc.Store (local): the user's tour, a list of steps
TOUR_ACTIVE = "tour-active"  # dcc.Store: {"steps": [...], "i": int} while a tour runs, else None
TOUR_VIEW = "tour-view"  # dcc.Store: the step's map zoom, applied in the browser
TOUR_SHOWN = "tour-shown"  # dcc.Store: written by the browser once a view is applied
TOUR_CAPTURE = "tour-capture"  # dcc.Store written by the browser: the map's zoom, for "Ajouter"
TOUR_START_DEFAULT = "tour-start-default"
TOUR_START_MINE = "tour-start-mine"
TOUR_TITLE = "tour-title"
TOUR_ADD = "tour-add"
TOUR_DOWNLOAD_BUTTON = "tour-download-button"
TOUR_DOWNLOAD = "tour-download"
TOUR_UPLOAD = "tour-upload"
TOUR_MESSAGE = "tour-message"
TOUR_OVERLAY = "tour-overlay"
TOUR_STEP_COUNT = "tour-step-count"
TOUR_STEP_TITLE = "tour-step-title"
TOUR_STEP_CAPTION = "tour-step-caption"
TOUR_PREV = "tour-prev"
TOUR_NEXT = "tour-next"
TOUR_CLOSE = "tour-close"
BUILD_ID = "build-id"  # dcc.Store: the build the page was served from
BUILD_CHECK = "build-check"  # dcc.Interval: asks whether a newer build is served
BUILD_BANNER = "build-banner"  # partial catalogue / "a newer catalogue is served: reload"

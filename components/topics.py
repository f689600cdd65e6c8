"""Figures of the "Thèmes" page, built from plain data (lists, dicts): no I/O, no callbacks.

* :func:`visualize_topic_map` — intertopic distance map (as pyLDAvis): one bubble per topic at
  its 2D MDS position of the Jensen-Shannon distances, bubble area proportional to prevalence.
* :func:`visualize_term_bars` — a topic's terms ranked by relevance (λ), corpus frequency bar
  behind the estimated frequency within the topic.
* :func:`visualize_topic_years` — mean share of a topic among datasets created each year.
* :func:`visualize_producers` — producers with the most datasets in a topic.
* :func:`visualize_coherence` — coherence (c_v, u_mass) and stability of each K built.
* :func:`visualize_topic_cluster_heatmap` — LDA topics crossed with embedding clusters.
* :func:`visualize_selection_mds` — MDS layout of a selection of datasets (Scattergl).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from components import labels as texts
from components.figures import FONT, empty_figure, palette
from components.labels import plotly_text
from models.core import french

TOPIC_COLOUR = "#3a6ea5"
SELECTED_COLOUR = "#e63946"
CORPUS_COLOUR = "#c9d3df"
MAX_BUBBLE_PX = 70.0
MAX_CLUSTER_COLOURS = 47  # the map palette has 48 colours: the smaller clusters are grey


def _base_layout(fig: go.Figure, *, height: int, title: str = "", **kw) -> go.Figure:
    fig.update_layout(
        height=height, font={"family": FONT, "size": 12}, plot_bgcolor="white",
        paper_bgcolor="white", margin={"l": 10, "r": 10, "t": 44 if title else 10, "b": 10},
        title={"text": plotly_text(title, 110), "x": 0.01, "xanchor": "left", "font": {"size": 15}}
        if title else None, **kw)
    return fig


def topic_name(topic: int, label: str = "") -> str:
    """How a topic is named to the user: numbered from 1."""
    return f"Thème {int(topic) + 1}" + (f"\u202f: {label}" if label else "")


def bubble_sizes(prevalence: Sequence[float], max_px: float = MAX_BUBBLE_PX) -> np.ndarray:
    """Marker diameters (px) whose *areas* are proportional to prevalence."""
    p = np.clip(np.asarray(prevalence, dtype=np.float64), 0.0, None)
    if not len(p) or p.max() <= 0:
        return np.full(len(p), 8.0)
    return np.maximum(max_px * np.sqrt(p / p.max()), 6.0)


def visualize_topic_map(topics: Sequence[dict], selected: int | None = None, *, height: int = 520,
                        title: str = "") -> go.Figure:
    """``topics``: dicts with ``topic``, ``label``, ``x``, ``y``, ``prevalence`` and optionally
    ``stability``. Clicking a bubble gives ``customdata`` = topic id."""
    topics = list(topics)
    if not topics:
        return empty_figure(texts.NO_TOPICS, height=height)
    ids = [int(t["topic"]) for t in topics]
    x = np.array([float(t["x"]) for t in topics])
    y = np.array([float(t["y"]) for t in topics])
    prev = [float(t["prevalence"]) for t in topics]
    sizes = bubble_sizes(prev)
    colours = [SELECTED_COLOUR if i == selected else TOPIC_COLOUR for i in ids]
    stab = [t.get("stability") for t in topics]
    hover = [
        plotly_text(topic_name(i, t["label"]), 100) + f"<br>part du catalogue\u202f: {100 * p:.1f} %"
        + (f"<br>stabilité\u202f: {s:.2f}" if s is not None and np.isfinite(s) else "")
        for i, t, p, s in zip(ids, topics, prev, stab, strict=True)
    ]
    order = np.argsort(-np.asarray(prev), kind="stable")  # big bubbles first, small on top
    fig = go.Figure(go.Scatter(
        x=x[order], y=y[order], mode="markers+text",
        text=[str(ids[i] + 1) for i in order], textposition="middle center",
        textfont={"size": 11, "color": "white"},
        customdata=[ids[i] for i in order], hovertext=[hover[i] for i in order],
        hovertemplate="%{hovertext}<extra></extra>",
        marker={"size": sizes[order], "color": [colours[i] for i in order], "opacity": 0.6,
                "line": {"width": 1, "color": "white"}},
        showlegend=False,
    ))
    span = max(float(np.ptp(x)) if len(x) else 0.0, float(np.ptp(y)) if len(y) else 0.0, 1e-6)
    pad = 0.15 * span
    axis = {"zeroline": True, "zerolinecolor": "#dee2e6", "showgrid": False, "showticklabels": False}
    _base_layout(fig, height=height, title=title, hovermode="closest", dragmode=False,
                 xaxis={**axis, "title": "", "range": [x.min() - pad, x.max() + pad]},
                 yaxis={**axis, "title": "", "range": [y.min() - pad, y.max() + pad],
                        "scaleanchor": "x"},
                 meta={"topics": len(ids), "selected": selected})
    return fig


def visualize_term_bars(terms: Sequence[dict], *, title: str = "", lam: float = 1.0,
                        height: int = 520) -> go.Figure:
    """``terms``: dicts with ``term``, ``count`` (in the whole corpus) and ``topic_count``
    (estimated within the topic), in the order to show (most relevant first)."""
    terms = list(terms)
    if not terms:
        return empty_figure("Choisissez un thème pour voir ses mots.", height=height)
    words = [plotly_text(t["term"], 40) for t in terms][::-1]
    corpus = [float(t["count"]) for t in terms][::-1]
    within = [float(t["topic_count"]) for t in terms][::-1]
    fig = go.Figure([
        go.Bar(y=words, x=corpus, orientation="h", name="Fréquence dans le catalogue",
               marker_color=CORPUS_COLOUR, hovertemplate="%{y}\u202f: %{x:.0f} occurrences<extra></extra>"),
        go.Bar(y=words, x=within, orientation="h", name="Fréquence estimée dans le thème",
               marker_color=SELECTED_COLOUR,
               hovertemplate="%{y}\u202f: ≈ %{x:.0f} dans le thème<extra></extra>"),
    ])
    _base_layout(fig, height=height, title=title or f"Mots les plus pertinents (λ = {lam:.1f})",
                 barmode="overlay", bargap=0.15,
                 legend={"orientation": "h", "y": -0.06, "x": 0, "font": {"size": 11}},
                 xaxis={"showgrid": True, "gridcolor": "#eef1f4", "title": ""},
                 yaxis={"automargin": True, "tickfont": {"size": 11}}, meta={"lambda": lam})
    return fig


def left_out_note(left_out: int, first: int | None = None, last: int | None = None) -> str:
    """"1 234 jeux de données sans date de création plausible (avant 1990, après 2026 ou
    inconnue) ne sont pas comptés." ("" when none)."""
    if not left_out:
        return ""
    n = french.integer(left_out)
    window = f" (inconnue, avant {first} ou après {last})" if first and last else ""
    many = left_out > 1
    return (f"{n} jeu{'x' if many else ''} de données sans date de création plausible{window} "
            f"ne {'sont' if many else 'est'} pas compté{'s' if many else ''}.")


def visualize_topic_years(years: Sequence[int], shares: Sequence[float], counts: Sequence[int], *,
                          title: str = "", min_datasets: int = 5, height: int = 300,
                          left_out: int = 0, first: int | None = None, last: int | None = None) -> go.Figure:
    """Mean share (%) of a topic among the datasets created each year (years with fewer than
    ``min_datasets`` datasets are drawn pale: too few to read a trend); plausible years only,
    the datasets left out counted under the chart."""
    if not len(years):
        return empty_figure("Aucune date de création connue pour ces jeux de données.", height=height)
    counts = [int(c) for c in counts]
    colours = [TOPIC_COLOUR if c >= min_datasets else CORPUS_COLOUR for c in counts]
    fig = go.Figure(go.Bar(
        x=[int(y) for y in years], y=[100 * float(s) for s in shares], marker_color=colours,
        customdata=counts,
        hovertemplate="%{x}\u202f: %{y:.1f} % du contenu des %{customdata} jeux créés cette année"
                      "<extra></extra>"))
    _base_layout(fig, height=height, title=title or "Part du thème selon l'année de création",
                 xaxis={"title": "année de création", "dtick": 2 if len(years) > 12 else 1},
                 yaxis={"title": "part moyenne (%)", "gridcolor": "#eef1f4", "rangemode": "tozero"})
    _note(fig, left_out_note(left_out, first, last))
    return fig


def _note(fig: go.Figure, text: str) -> None:
    if text:
        fig.add_annotation(text=plotly_text(text, 200), xref="paper", yref="paper", x=0, y=1.0,
                           xanchor="left", yanchor="bottom", showarrow=False,
                           font={"size": 11, "color": "#6c757d"})


def visualize_topics_over_time(years: Sequence[int], shares, labels: Sequence[str],
                               counts: Sequence[int], *, left_out: int = 0, height: int = 420,
                               title: str = "") -> go.Figure:
    """Share (%) of every topic among the datasets created each year, stacked (100 % a year):
    ``shares[i][t]`` for year ``years[i]`` and topic ``t``."""
    if not len(years):
        return empty_figure("Aucune année avec assez de jeux de données datés.", height=height)
    shares = np.asarray(shares, dtype=np.float64)
    colours = palette(shares.shape[1])
    years = [int(y) for y in years]
    counts = [int(c) for c in counts]
    order = np.argsort(-shares.mean(axis=0), kind="stable")
    fig = go.Figure()
    for t in order:
        name = plotly_text(topic_name(int(t), labels[t] if t < len(labels) else ""), 60)
        fig.add_trace(go.Scatter(
            x=years, y=100 * shares[:, t], name=name, mode="lines", stackgroup="one",
            line={"width": 0.5, "color": colours[t]}, customdata=counts,
            hovertemplate=f"{name}<br>%{{x}} : %{{y:.1f}} % des %{{customdata}} jeux créés"
                          "<extra></extra>"))
    _base_layout(fig, height=height, title=title or "Part de chaque thème selon l'année de création",
                 xaxis={"title": "année de création", "dtick": 2 if len(years) > 12 else 1},
                 yaxis={"title": "part (%)", "range": [0, 100], "gridcolor": "#eef1f4"},
                 legend={"font": {"size": 10}, "traceorder": "normal"}, hovermode="closest")
    _note(fig, left_out_note(left_out))
    return fig


def visualize_producers(organizations: Sequence[str], counts: Sequence[int], *, title: str = "",
                        height: int = 300) -> go.Figure:
    if not len(organizations):
        return empty_figure("Aucun producteur pour ce thème.", height=height)
    names = [plotly_text(o, 50) for o in organizations][::-1]
    fig = go.Figure(go.Bar(y=names, x=[int(c) for c in counts][::-1], orientation="h",
                           marker_color=TOPIC_COLOUR,
                           hovertemplate="%{y}\u202f: %{x} jeux de données<extra></extra>"))
    _base_layout(fig, height=height, title=title or "Principaux producteurs du thème",
                 xaxis={"title": "jeux dont c'est le thème principal", "gridcolor": "#eef1f4"},
                 yaxis={"automargin": True, "tickfont": {"size": 11}})
    return fig


def visualize_coherence(models: Sequence[dict], *, height: int = 260) -> go.Figure:
    """``models``: dicts with ``k``, ``coherence_cv``, ``coherence_umass``, ``stability_mean``,
    ``default``. c_v and stability on the left axis, u_mass on the right one."""
    models = sorted(models, key=lambda m: m["k"])
    if not models:
        return empty_figure(texts.NO_TOPIC_MODEL, height=height)
    ks = [int(m["k"]) for m in models]

    def col(name):
        return [None if m.get(name) is None else float(m[name]) for m in models]

    fig = go.Figure([
        go.Scatter(x=ks, y=col("coherence_cv"), mode="lines+markers", name="cohérence c_v",
                   marker_color=SELECTED_COLOUR),
        go.Scatter(x=ks, y=col("stability_mean"), mode="lines+markers", name="stabilité moyenne",
                   marker_color=TOPIC_COLOUR),
        go.Scatter(x=ks, y=col("coherence_umass"), mode="lines+markers", name="cohérence u_mass",
                   yaxis="y2", line={"dash": "dot"}, marker_color="#6c757d"),
    ])
    for m in models:
        if m.get("default"):
            fig.add_vline(x=int(m["k"]), line_dash="dash", line_color="#adb5bd",
                          annotation_text="K par défaut", annotation_position="top")
    _base_layout(fig, height=height, xaxis={"title": "nombre de thèmes K", "tickvals": ks},
                 yaxis={"title": "c_v, stabilité", "gridcolor": "#eef1f4"},
                 yaxis2={"title": "u_mass", "overlaying": "y", "side": "right", "showgrid": False},
                 legend={"orientation": "h", "y": -0.3, "x": 0, "font": {"size": 11}})
    return fig


def visualize_topic_cluster_heatmap(matrix, cluster_labels: Sequence[str], topic_labels: Sequence[str],
                                    sizes: Sequence[int] = (), *, height: int | None = None) -> go.Figure:
    """Rows: embedding clusters; columns: LDA topics; cell: mean share of the topic among the
    cluster's datasets (rows sum to 1)."""
    m = np.asarray(matrix, dtype=np.float64)
    if m.size == 0 or not len(cluster_labels) or not len(topic_labels):
        return empty_figure(texts.NO_CLUSTERS, height=height or 300)
    sizes = list(sizes) if len(sizes) == len(cluster_labels) else [None] * len(cluster_labels)
    rows = [plotly_text(c, 40) + (f" ({s})" if s is not None else "")
            for c, s in zip(cluster_labels, sizes, strict=True)]
    cols = [str(i + 1) for i in range(m.shape[1])]
    hover_topics = [plotly_text(t, 60) for t in topic_labels]
    fig = go.Figure(go.Heatmap(
        z=100 * m, x=cols, y=rows, colorscale="Blues", zmin=0,
        customdata=np.array([hover_topics] * len(rows)),
        hovertemplate="groupe %{y}<br>%{customdata}<br>part moyenne %{z:.1f} %<extra></extra>",
        colorbar={"title": {"text": "%"}, "thickness": 12}))
    _base_layout(fig, height=height or max(300, 22 * len(rows) + 90),
                 xaxis={"title": "thème LDA", "side": "top", "tickfont": {"size": 10}},
                 yaxis={"autorange": "reversed", "automargin": True, "tickfont": {"size": 10}})
    return fig


def visualize_selection_mds(x: Sequence[float], y: Sequence[float], rows: Sequence[int],
                            titles: Sequence[str], organizations: Sequence[str] = (), *,
                            title: str = "", groups: Sequence[int] | None = None,
                            height: int = 460) -> go.Figure:
    """The MDS layout of a selection: one point per dataset, title on hover, row in customdata."""
    n = len(rows)
    if n == 0:
        return empty_figure("Aucun jeu de données sélectionné.", height=height)
    orgs = list(organizations) if len(organizations) == n else [""] * n
    hover = [plotly_text(t, 120) + (f"<br><i>{plotly_text(o, 80)}</i>" if o else "")
             for t, o in zip(titles, orgs, strict=True)]
    marker: dict = {"size": 7 if n < 500 else 5, "opacity": 0.8, "color": TOPIC_COLOUR}
    if groups is not None and len(groups) == n:
        marker.update(color=[int(g) for g in groups], colorscale="Turbo", showscale=False)
    fig = go.Figure(go.Scattergl(
        x=np.asarray(x, dtype=np.float32), y=np.asarray(y, dtype=np.float32), mode="markers",
        customdata=[int(r) for r in rows], hovertext=hover,
        hovertemplate="%{hovertext}<extra></extra>", marker=marker, showlegend=False))
    _base_layout(fig, height=height, title=title, hovermode="closest", dragmode="pan",
                 xaxis={"visible": False}, yaxis={"visible": False, "scaleanchor": "x"},
                 meta={"n": n})
    return fig


FRESHNESS_COLOUR = "freshness"  # the map coloured by freshness (models.serve.freshness)


def map_colour_options(models: Sequence[dict], n_clusters: int | None = None, *,
                       freshness: bool = False) -> list[dict]:
    """Options of the main map's colour selector: one per LDA model (value ``"k{K}"``), the
    embedding clusters (value ``"clusters"``) when built and, with ``freshness``, the datasets'
    freshness (value ``"freshness"``). [] when there is nothing to choose."""
    out = [{"label": f"Thèmes LDA, K = {int(m['k'])}" + (" (par défaut)" if m.get("default") else ""),
            "value": f"k{int(m['k'])}"} for m in sorted(models, key=lambda m: m["k"])]
    if n_clusters:
        out.append({"label": texts.CLUSTERS.format(n=n_clusters), "value": "clusters"})
    if freshness:
        out.append({"label": "Fraîcheur des mises à jour", "value": FRESHNESS_COLOUR})
    return out if len(out) > 1 else []


def default_colour(models: Sequence[dict]) -> str | None:
    return next((f"k{int(m['k'])}" for m in models if m.get("default")), None)

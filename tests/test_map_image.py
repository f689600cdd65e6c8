"""« Télécharger l'image »: the map as a PNG (components/map_image.py)."""

from __future__ import annotations

import pytest


def test_image_figure_keeps_the_view_and_escapes_labels(explorer):
    from components.map import visualize_map
    from components.map_image import MIN_WIDTH_PX, image_figure, png_size

    base = visualize_map(explorer.records.coords)
    view = {"x": [0, 1], "y": [2, 3], "width": 900, "height": 600,
            "labels": [{"x": 0.5, "y": 2.5, "text": "eau\n<script>x</script>", "size": 15, "bold": True},
                       {"x": "bad"}]}
    fig = image_figure(base, view)
    assert list(fig.layout.xaxis.range) == [0, 1] and list(fig.layout.yaxis.range) == [2, 3]
    assert len(fig.layout.annotations) == 1
    assert fig.layout.annotations[0].text == "<b>eau<br>&lt;script&gt;x&lt;/script&gt;</b>"
    w, h, scale = png_size(view)
    assert (w, h) == (900, 600) and w * scale >= MIN_WIDTH_PX
    assert png_size({"width": "x"})[0] * png_size({"width": "x"})[2] >= MIN_WIDTH_PX


@pytest.mark.slow
def test_png_is_at_least_2000_px_wide(explorer):
    import struct

    from components.map import visualize_map
    from components.map_image import MIN_WIDTH_PX, image_figure, png_bytes, png_size

    view = {"width": 900, "height": 600, "labels": [{"x": 0, "y": 0, "text": "région", "size": 14}]}
    png = png_bytes(image_figure(visualize_map(explorer.records.coords), view), *png_size(view))
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    assert width >= MIN_WIDTH_PX and height >= 600

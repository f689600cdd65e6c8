"""The build status line (components.build_status): every 30 s, the page asks which build is
served; a newer one than the page's (the app switched to the whole catalogue) -> « reload », and the page
stops asking (the link stays where the user points)."""

from __future__ import annotations

from datetime import UTC, datetime

from dash import Input, Output, State

from callbacks.common import Wiring
from components import ids
from components.build_status import banner, page_outdated

wiring = Wiring()


def register(app, services) -> None:
    wiring.register(app, services)


@wiring.callback(Output(ids.BUILD_BANNER, "children"), Output(ids.BUILD_BANNER, "className"),
                 Output(ids.BUILD_CHECK, "disabled"),
                 Input(ids.BUILD_CHECK, "n_intervals"), State(ids.BUILD_ID, "data"))
def build_status(services, _n, page_build):
    manifest = services.explorer.artifacts.manifest
    page = page_build if isinstance(page_build, str) else None
    children, cls = banner(page, manifest.get("build_id"), manifest.get("partial"),
                           manifest.get("created_at"), datetime.now(UTC),
                           rejected=services.rejected_build, pending=manifest.get("pending"))
    return children, cls, page_outdated(page, manifest.get("build_id"))

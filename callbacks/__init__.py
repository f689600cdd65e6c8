"""Callbacks, one module per page; each has ``register(app, services)``.

``services`` is a :class:`Services`: the loaded :class:`models.serve.explorer.Explorer`
(``services.explorer``), the app settings, and what ``create_app`` computed once at start (search
modes served by the build); nothing else is reachable through it.
Callbacks are wiring only: check the inputs, call ``services``, give the plain data to a
``components`` builder, return; no French text and no layout number here (the builders hold
them), no function over 40 lines (``tests/test_ui_text.py`` checks both). Each page declares its
callbacks at module level with :class:`callbacks.common.Wiring` (functions taking ``services``
first) and its ``register`` attaches them. Never use the global ``dash.callback``: always
``app.callback``.

Inputs come from the client and may hold anything: check them with the coercers of
:mod:`callbacks.guard` (``as_row``, ``as_int``, ``as_key``, ``as_text``, ``first_point``, ...) and
answer the documented empty state or ``no_update``. ``register`` receives a
:class:`callbacks.guard.GuardedApp`, so an unexpected error is a 204 and one warning line, never
a 500; ``tests/test_fuzz_callbacks.py`` fuzzes every callback listed by ``/_dash-dependencies``
(new pages included) and fails on any such rescue.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from callbacks import ask as ask_page
from callbacks import build_status, map_tools, producer_fair, tour
from callbacks import compare as compare_page
from callbacks import coverage as coverage_view
from callbacks import explorer as explorer_page
from callbacks import producers as producers_page
from callbacks import quality as quality_page
from callbacks import territories as territories_page
from callbacks import topics as topics_page
from callbacks.guard import GuardedApp

# Add a page's callbacks module here (after creating callbacks/<page>.py with register()).
PAGE_MODULES = [explorer_page, map_tools, topics_page, producers_page, territories_page, compare_page,
                quality_page, ask_page, build_status, tour, coverage_view, producer_fair]


@dataclass
class Services:
    explorer: object  # models.serve.explorer.Explorer
    settings: object  # models.core.config.AppSettings
    modes: list[str] = field(default_factory=list)  # search modes this build serves
    default_mode: str | None = None
    evaluations: object | None = None  # models.serve.evaluate.EvaluationCache (quality page)
    rejected_build: str | None = None  # a newer build that could not be loaded (app.SwitchingServer)
    # what a page computes once per app (its first use) and keeps: {name: value}
    memo: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def n_results(self) -> int:
        return int(getattr(self.settings, "n_results", 20))


def register_callbacks(app, services: Services, skip=()) -> None:
    """Every page module's callbacks (but those in ``skip``: pages disabled by damaged files)."""
    guarded = GuardedApp(app)  # every callback behind the boundary's safety net (callbacks/guard.py)
    for module in PAGE_MODULES:
        if module not in skip:
            module.register(guarded, services)

"""Callbacks of the map's tools (components/map_tools.py): the year filter and its play button.

Data flow::

    "Filtrer par année" switched on ──> MAP_TIME_DATA (one byte per dataset and kind of date)
    switch, range, kind, MAP_TIME_DATA, MAP_FILTER_MASK ──(browser)──> fading + count
    play button ──(browser)──> MAP_TIME_INTERVAL on/off ──(browser, each frame)──> range + 1 year

Fading and play run in the browser (assets/30-map-mask.js): a frame costs no server round trip.
"""

from __future__ import annotations

import threading

from dash import ClientsideFunction, Input, Output, State, no_update

from components import ids
from models.serve.map_time import year_payload


def register(app, services) -> None:
    exp = services.explorer
    cache: dict = {}
    lock = threading.Lock()

    def years():
        with lock:
            if "years" not in cache:
                cache["years"] = year_payload(exp.datasets)
            return cache["years"]

    @app.callback(Output(ids.MAP_TIME_DATA, "data"), Input(ids.MAP_TIME_ON, "value"),
                  State(ids.MAP_TIME_DATA, "data"), prevent_initial_call=True)
    def send_years(on, current):
        if not on or current:
            return no_update
        return years()

    app.clientside_callback(ClientsideFunction(namespace="mapTime", function_name="update"),
                            Output(ids.MAP_TIME_COUNT, "children"), Input(ids.MAP_TIME_ON, "value"),
                            Input(ids.MAP_TIME_RANGE, "value"), Input(ids.MAP_TIME_KIND, "value"),
                            Input(ids.MAP_TIME_DATA, "data"), Input(ids.MAP_FILTER_MASK, "data"))
    app.clientside_callback(ClientsideFunction(namespace="mapTime", function_name="step"),
                            Output(ids.MAP_TIME_RANGE, "value"), Input(ids.MAP_TIME_INTERVAL, "n_intervals"),
                            State(ids.MAP_TIME_RANGE, "value"), State(ids.MAP_TIME_RANGE, "min"),
                            State(ids.MAP_TIME_RANGE, "max"), prevent_initial_call=True)
    app.clientside_callback(ClientsideFunction(namespace="mapTime", function_name="toggle"),
                            Output(ids.MAP_TIME_INTERVAL, "disabled"), Output(ids.MAP_TIME_PLAY, "children"),
                            Output(ids.MAP_TIME_ON, "value"), Input(ids.MAP_TIME_PLAY, "n_clicks"),
                            State(ids.MAP_TIME_INTERVAL, "disabled"), prevent_initial_call=True)

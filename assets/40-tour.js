/* Guided tour in the browser: keys (→ / space: next, ←: previous, Échap: quit), full screen
 * while it runs, the step's map zoom, and the current zoom for « Ajouter cette vue ». */
(function () {
    "use strict";

    function running() {
        var el = document.getElementById("tour-overlay");
        return el && !el.classList.contains("d-none");
    }

    function press(id) {
        var b = document.getElementById(id);
        if (b) { b.click(); }
    }

    document.addEventListener("keydown", function (e) {
        if (!running()) { return; }
        var tag = (e.target && e.target.tagName) || "";
        if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT") { return; }
        if (e.key === "ArrowRight" || e.key === " " || e.key === "PageDown") { press("tour-next"); e.preventDefault(); }
        else if (e.key === "ArrowLeft" || e.key === "PageUp") { press("tour-prev"); e.preventDefault(); }
        else if (e.key === "Escape") { press("tour-close"); }
    });

    function mapDiv() {
        var el = document.getElementById("map");
        return el && (el.classList.contains("js-plotly-plot") ? el : el.querySelector(".js-plotly-plot"));
    }

    function setView(view, tries) {
        var gd = mapDiv();
        if (!gd || !gd._fullLayout || !window.Plotly || gd.offsetParent === null) {
            if ((tries || 0) < 25) { setTimeout(function () { setView(view, (tries || 0) + 1); }, 200); }
            return;
        }
        if (view && view.x && view.y) {
            window.Plotly.relayout(gd, {"xaxis.range": view.x, "yaxis.range": view.y});
        } else {
            window.Plotly.relayout(gd, {"xaxis.autorange": true, "yaxis.autorange": true});
        }
    }

    window.dash_clientside = Object.assign({}, window.dash_clientside, {
        tour: {
            // the step's zoom (on the map page), full screen on and off
            show: function (view) {
                if (view && view.active) {
                    if (document.fullscreenElement === null && document.documentElement.requestFullscreen) {
                        document.documentElement.requestFullscreen().catch(function () { return null; });
                    }
                    if (view.page === "carte") { setView(view.view, 0); }
                } else if (document.fullscreenElement && document.exitFullscreen) {
                    document.exitFullscreen().catch(function () { return null; });
                }
                return window.dash_clientside.no_update;
            },
            // « Ajouter cette vue »: the map's zoom now
            capture: function (clicks) {
                var gd = mapDiv(), fl = gd && gd._fullLayout;
                if (!clicks) { return window.dash_clientside.no_update; }
                return {clicks: clicks, x: fl ? fl.xaxis.range.slice() : null, y: fl ? fl.yaxis.range.slice() : null};
            }
        }
    });
}());

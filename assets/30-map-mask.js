/* Fading on the catalogue map: a generic "mask" overlay, computed in the browser.
 *
 * Each source of a mask (the year slider; the search filters' ``map-filter`` store,
 * {"n", "count", "bits" (base64, little-endian bitmask) | "rows"}) gives a Uint8Array with 1 for
 * the datasets it keeps, or null when it keeps everything. Masks combine with AND: a dataset stays bright only if every active mask keeps it,
 * the others fade (marker opacity per point on the base trace, one Plotly.restyle). After a
 * figure update (colour change) the fading is restored on the next plot.
 *
 * window.mapMask.set(name, maskOrNull) lets any other script add its own source.
 */
(function () {
    "use strict";

    var BRIGHT = 0.8, FADED = 0.05;
    var masks = {};  // name -> Uint8Array | null
    var decoded = {};  // base64 string -> Uint8Array (the year codes are decoded once)
    var version = 0;

    function graphDiv() {
        var el = document.getElementById("map");
        return el && (el.classList.contains("js-plotly-plot") ? el : el.querySelector(".js-plotly-plot"));
    }

    function decode(b64) {
        if (!decoded[b64]) {
            var bin = atob(b64), out = new Uint8Array(bin.length);
            for (var i = 0; i < bin.length; i++) { out[i] = bin.charCodeAt(i); }
            decoded = {};
            decoded[b64] = out;
        }
        return decoded[b64];
    }

    function nPoints(gd) {
        var t = gd && gd._fullData && gd._fullData[0];
        return t ? (t._length || (t.x && t.x.length) || 0) : 0;
    }

    function combined(n) {  // null: nothing faded
        var names = Object.keys(masks).filter(function (k) { return masks[k]; });
        if (!names.length || !n) { return null; }
        var keep = new Uint8Array(n).fill(1);
        names.forEach(function (k) {
            var m = masks[k];
            for (var i = 0; i < n; i++) { keep[i] = keep[i] & (i < m.length ? m[i] : 0); }
        });
        return keep;
    }

    function apply(gd) {
        gd = gd || graphDiv();
        if (!gd || !gd._fullData || !window.Plotly) { return null; }
        var n = nPoints(gd), keep = combined(n), kept = n;
        if (keep) {
            kept = 0;
            for (var i = 0; i < n; i++) { kept += keep[i]; }
        }
        gd.dataset.maskKept = String(kept);
        gd.dataset.maskTotal = String(n);
        var marker = (gd.data[0] && gd.data[0].marker) || {};
        if (gd.__maskVersion === version && marker.opacity === gd.__maskOpacity) { return kept; }
        var opacity = BRIGHT;
        if (keep) {
            opacity = new Float32Array(n);
            for (var j = 0; j < n; j++) { opacity[j] = keep[j] ? BRIGHT : FADED; }
        }
        gd.__maskVersion = version;
        gd.__maskOpacity = opacity;
        var t0 = performance.now();
        gd.__maskBusy = true;
        window.Plotly.restyle(gd, {"marker.opacity": [opacity]}, [0]).then(function () {
            gd.__maskBusy = false;
            var now = performance.now();  // measured by the benchmark (scripts/map_browser_bench.py)
            gd.dataset.maskMs = (now - t0).toFixed(1);
            (window.__maskFrames = window.__maskFrames || []).push(now);
        });
        return kept;
    }

    function hook(gd) {
        if (!gd.__maskHandler) { gd.__maskHandler = function () { apply(gd); }; }
        if (gd.removeListener) { gd.removeListener("plotly_afterplot", gd.__maskHandler); }
        if (gd.on) { gd.on("plotly_afterplot", gd.__maskHandler); }
    }

    function set(name, mask) {
        masks[name] = mask || null;
        version++;
        var gd = graphDiv();
        if (gd && gd.on) { hook(gd); }
        return apply(gd);
    }

    // a shared link's filters can arrive before the map is drawn: hook it as soon as it is
    function whenDrawn(tries) {
        var gd = graphDiv();
        if (gd && gd.on && gd._fullData) { hook(gd); apply(gd); return; }
        if (tries < 100) { setTimeout(function () { whenDrawn(tries + 1); }, 100); }
    }

    function fr(n) { return Number(n).toLocaleString("fr-FR"); }

    function yearMask(on, range, kind, data) {
        if (!on || !data || !data[kind] || !range || range.length !== 2) { return null; }
        var codes = decode(data[kind]);
        var lo = Math.min(range[0], range[1]) - data.first + 1, hi = Math.max(range[0], range[1]) - data.first + 1;
        if (lo <= 1 && hi >= data.last - data.first + 1) { return null; }  // the whole range: no fading
        var m = new Uint8Array(codes.length);
        for (var i = 0; i < codes.length; i++) { m[i] = codes[i] >= lo && codes[i] <= hi ? 1 : 0; }
        return m;
    }

    function rowsMask(filter, n) {  // the search filters' store: a bitmask or a list of rows
        if (!filter || !n || (!filter.rows && !filter.bits)) { return null; }
        var m = new Uint8Array(n);
        if (filter.rows) {
            filter.rows.forEach(function (r) { if (r >= 0 && r < n) { m[r] = 1; } });
            return m;
        }
        var bin = atob(filter.bits);
        for (var i = 0; i < bin.length; i++) {
            var c = bin.charCodeAt(i);
            if (!c) { continue; }
            for (var j = 0; j < 8 && i * 8 + j < n; j++) { m[i * 8 + j] = (c >> j) & 1; }
        }
        return m;
    }

    function filterKey(filter) {
        return filter ? [filter.n, filter.count, filter.bits || (filter.rows || []).join(",")] : null;
    }

    // ---- the play: a timer in the browser (no server, no Dash interval in the loop) ------------
    var FRAME_MS = 180;  // ~5.5 frames/s when a frame draws in time; a frame still drawing is skipped
    var last = {on: false, range: null, kind: "created", data: null, filter: null, key: null, text: ""};
    var player = null;

    function nextRange(range, min, max) {
        var a = Math.min(range[0], range[1]), b = Math.max(range[0], range[1]);
        if (a <= min && b >= max) { return [min, min]; }
        var width = b - a;
        return b + 1 > max ? [min, min + width] : [a + 1, b + 1];
    }

    function countText(kept, n, range, kind, data, filter) {
        if (kept === null) { return ""; }
        var parts = [fr(kept) + " jeux de données sur " + fr(n)];
        if (masks.years) {
            var a = Math.min(range[0], range[1]), b = Math.max(range[0], range[1]);
            var what = kind === "modified" ? "modifiés" : "créés";
            parts.push(a === b ? what + " en " + a : what + " de " + a + " à " + b);
            var out = data.left_out && data.left_out[kind];
            if (out) { parts.push(fr(out) + " sans date plausible"); }
        }
        if (!masks.years) { return ""; }  // the filters alone: their count is written under the map
        if (masks.filter) { parts.push("avec les filtres de la recherche"); }
        return parts.join(" · ");
    }

    // every mask source at once -> the fading and the count (skipped when nothing changed)
    function update(on, range, kind, data, filter) {
        var gd = graphDiv(), n = nPoints(gd);
        var key = JSON.stringify([!!on, range, kind, data ? data.n : 0, filterKey(filter), n]);
        last.on = !!on; last.range = range; last.kind = kind; last.data = data; last.filter = filter;
        if (key === last.key && gd && gd.__maskVersion === version) { return last.text; }
        masks.years = yearMask(on, range, kind, data);
        masks.filter = rowsMask(filter, n || (filter && filter.n) || (data && data.n) || 0);
        version++;
        if (gd && gd.on) { hook(gd); } else { whenDrawn(0); }
        var kept = apply(gd);
        last.key = key;
        last.text = countText(kept, n, range, kind, data, filter);
        return last.text;
    }

    function tick() {
        var gd = graphDiv(), slider = last.range;
        if (!gd || !last.data || !slider) { return; }  // the years are still on their way
        (window.__tickTimes = window.__tickTimes || []).push(performance.now());
        if (gd.__maskBusy) { return; }  // the previous frame is still drawing: skip this one
        var next = nextRange(slider, last.data.min || last.data.first, last.data.max || last.data.last);
        var text = update(true, next, last.kind, last.data, last.filter);
        window.dash_clientside.set_props("map-time-range", {value: next});
        window.dash_clientside.set_props("map-time-count", {children: text});
    }

    window.mapMask = {set: set, apply: apply, masks: masks};
    window.dash_clientside = Object.assign({}, window.dash_clientside, {
        mapTime: {
            update: update,
            // play / pause: starts or stops the browser's timer; the year filter switches on
            toggle: function (clicks) {
                var playing = !player && !!clicks;
                if (player) { clearInterval(player); player = null; }
                if (playing) { player = setInterval(tick, FRAME_MS); }
                return [playing ? "⏸ Pause" : "▶ Lecture", playing ? true : window.dash_clientside.no_update];
            }
        }
    });
}());

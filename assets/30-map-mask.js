/* Fading on the catalogue map: a generic "mask" overlay, computed in the browser.
 *
 * Each source of a mask (the year slider; any filter writing the ``map-filter-mask`` store,
 * {"label", "rows"}) gives a Uint8Array with 1 for the datasets it keeps, or null when it keeps
 * everything. Masks combine with AND: a dataset stays bright only if every active mask keeps it,
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
            opacity = Array.prototype.slice.call(opacity);
        }
        gd.__maskVersion = version;
        gd.__maskOpacity = opacity;
        window.Plotly.restyle(gd, {"marker.opacity": [opacity]}, [0]);
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

    function rowsMask(filter, n) {
        if (!filter || !filter.rows || !n) { return null; }
        var m = new Uint8Array(n);
        filter.rows.forEach(function (r) { if (r >= 0 && r < n) { m[r] = 1; } });
        return m;
    }

    window.mapMask = {set: set, apply: apply, masks: masks};
    window.dash_clientside = Object.assign({}, window.dash_clientside, {
        mapTime: {
            // every mask source at once -> the fading and the count
            update: function (on, range, kind, data, filter) {
                var gd = graphDiv(), n = nPoints(gd);
                masks.years = yearMask(on, range, kind, data);
                masks.filter = rowsMask(filter, n || (data && data.n) || 0);
                version++;
                if (gd && gd.on) { hook(gd); }
                var kept = apply(gd);
                if (kept === null) { return ""; }
                var parts = [fr(kept) + " jeux de données sur " + fr(n)];
                if (masks.years) {
                    var a = Math.min(range[0], range[1]), b = Math.max(range[0], range[1]);
                    var what = kind === "modified" ? "modifiés" : "créés";
                    parts.push(a === b ? what + " en " + a : what + " de " + a + " à " + b);
                    var out = data.left_out && data.left_out[kind];
                    if (out) { parts.push(fr(out) + " sans date plausible"); }
                }
                if (masks.filter && filter.label) { parts.push(String(filter.label)); }
                return parts.join(" · ");
            },
            // one frame: the window moves one year on (a window over every year starts at one year)
            step: function (_n, range, min, max) {
                if (!range || range.length !== 2) { return window.dash_clientside.no_update; }
                var a = Math.min(range[0], range[1]), b = Math.max(range[0], range[1]);
                if (a <= min && b >= max) { return [min, min]; }
                var width = b - a;
                if (b + 1 > max) { return [min, min + width]; }
                return [a + 1, b + 1];
            },
            toggle: function (clicks, disabled) {
                var playing = !!(clicks && disabled);  // was stopped: start
                return [!playing, playing ? "⏸ Pause" : "▶ Lecture", playing ? true : window.dash_clientside.no_update];
            }
        }
    });
}());

/* Fading on the catalogue map: a generic "mask" overlay, computed and drawn in the browser.
 *
 * Each source of a mask (the year slider; the search filters' ``map-filter`` store,
 * {"n", "count", "bits" (base64, little-endian bitmask) | "rows"}) gives a Uint8Array with 1 for
 * the datasets it keeps, or null when it keeps everything. Masks combine with AND: a dataset stays
 * bright only if every active mask keeps it, the others fade.
 *
 * How it is drawn, so that a frame of the year play costs a few milliseconds even without a GPU:
 * when a mask switches on, the WebGL map is restyled once to one light grey (every point faded);
 * the points kept are then drawn bright, in their topic colour, on a 2D canvas laid over the
 * WebGL canvas and under plotly's labels and hover (the rows of the highlighted results and of
 * the selected dataset are left to their own bigger markers). A new frame (another year, another
 * filter) only redraws that canvas; so do a zoom, a pan and a resize.
 * When the mask switches off, the canvas is cleared and the map gets its colours back.
 *
 * window.mapMask.set(name, maskOrNull) lets any other script add its own source.
 * Read by the tests and the benchmark: data-mask-kept / -total / -drawn / -ms on the graph div,
 * window.__maskFrames / __maskFrameMs (when each frame was drawn, how long it took),
 * window.__maskPainted / __maskPaintMs (the same, once on screen).
 */
(function () {
    "use strict";

    // faded points turn one light grey: a stack of identical points (a series: the same dataset
    // per commune or per year) stays grey, where a low opacity alone added up to full colour
    var BRIGHT = 0.8, FADED = 0.45, FADED_COLOUR = "#c9ced6";
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

    // ---- the lit layer: a 2D canvas over the WebGL one --------------------------------------------
    function layer(gd) {
        var gl = gd.querySelector(".gl-container");
        if (!gl || !gl.parentNode) { return null; }
        var c = gd.__maskCanvas;
        if (!c || c.parentNode !== gl.parentNode || c.previousSibling !== gl) {
            c = c || document.createElement("canvas");
            c.className = "map-mask-layer";
            c.setAttribute("aria-hidden", "true");
            c.style.position = "absolute";
            c.style.pointerEvents = "none";
            gl.parentNode.insertBefore(c, gl.nextSibling);  // over the WebGL map, under labels and hover
            gd.__maskCanvas = c;
        }
        return c;
    }

    // rows shown by the overlay traces (highlighted results, selected dataset): left to them
    function overlayRows(gd) {
        var out = {};
        for (var k = 1; k < gd._fullData.length; k++) {
            var cd = gd._fullData[k] && gd._fullData[k].customdata;
            if (!cd || !cd.length) { continue; }
            for (var i = 0; i < cd.length; i++) {
                var r = Array.isArray(cd[i]) ? cd[i][0] : cd[i];
                if (typeof r === "number") { out[r] = 1; }
            }
        }
        return out;
    }

    function toArray(v) {  // a typed array, a plain array or plotly's {bdata, dtype} (not decoded)
        return v && (v.length !== undefined ? v : null);
    }

    function isFaded(gd) {
        var m = gd.data && gd.data[0] && gd.data[0].marker;
        return !!m && m.color === FADED_COLOUR;
    }

    // the topic colours of the points: the figure's own, or those saved while the map is grey
    function colourSource(gd) {
        return isFaded(gd) && gd.__maskColour ? gd.__maskColour : (gd._fullData[0].marker || {});
    }

    // per topic colour, the rows that have it (computed once per colouring)
    function colourGroups(gd) {
        var t = gd._fullData[0], marker = colourSource(gd), n = nPoints(gd);
        var color = marker.color;
        if (gd.__maskGroups && gd.__maskGroups.color === color && gd.__maskGroups.x === t.x
                && gd.__maskGroups.scale === marker.colorscale) {
            return gd.__maskGroups;
        }
        var groups = {color: color, scale: marker.colorscale, x: t.x, colours: [], rows: []};
        var codes = toArray(color);
        if (!codes || typeof color === "string" || !marker.colorscale) {
            groups.colours.push(typeof color === "string" ? color : "#4c6ef5");
            var all = new Int32Array(n);
            for (var i = 0; i < n; i++) { all[i] = i; }
            groups.rows.push(all);
        } else {
            var scale = marker.colorscale, cmin = marker.cmin, cmax = marker.cmax;
            var byCode = {};
            for (var j = 0; j < n; j++) {
                var c = codes[j];
                (byCode[c] = byCode[c] || []).push(j);
            }
            Object.keys(byCode).forEach(function (code) {
                var v = cmax > cmin ? (Number(code) - cmin) / (cmax - cmin) : 0, colour = scale[0][1];
                for (var k = 0; k < scale.length; k++) { if (scale[k][0] <= v) { colour = scale[k][1]; } }
                groups.colours.push(colour);
                groups.rows.push(Int32Array.from(byCode[code]));
            });
        }
        gd.__maskGroups = groups;
        return groups;
    }

    // draws the kept points on the lit layer (or clears it); returns the number drawn
    function draw(gd) {
        var c = layer(gd), fl = gd._fullLayout;
        if (!c || !fl || !fl._size) { return 0; }
        var s = fl._size, dpr = window.devicePixelRatio || 1;
        var w = Math.max(1, Math.round(s.w * dpr)), h = Math.max(1, Math.round(s.h * dpr));
        if (c.width !== w || c.height !== h) { c.width = w; c.height = h; }
        c.style.left = s.l + "px"; c.style.top = s.t + "px";
        c.style.width = s.w + "px"; c.style.height = s.h + "px";
        var ctx = c.getContext("2d"), keep = gd.__maskKeep, drawn = 0;
        ctx.setTransform(1, 0, 0, 1, 0, 0);
        ctx.clearRect(0, 0, w, h);
        var t = gd._fullData[0], xs = toArray(t && t.x), ys = toArray(t && t.y);
        if (keep && xs && ys && fl.xaxis && fl.yaxis) {
            var xr = fl.xaxis.range, yr = fl.yaxis.range;
            var kx = s.w / (xr[1] - xr[0]), ky = s.h / (yr[1] - yr[0]);
            var size = Math.max(2, Number((t.marker || {}).size) || 4) * 0.9, half = size / 2;
            var groups = colourGroups(gd), skip = overlayRows(gd);
            ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
            ctx.globalAlpha = BRIGHT;
            for (var g = 0; g < groups.rows.length; g++) {
                var rows = groups.rows[g];
                ctx.fillStyle = groups.colours[g];
                ctx.beginPath();
                for (var k = 0; k < rows.length; k++) {
                    var i = rows[k];
                    if (!keep[i]) { continue; }
                    drawn++;
                    if (skip[i]) { continue; }
                    var px = (xs[i] - xr[0]) * kx, py = s.h - (ys[i] - yr[0]) * ky;
                    if (px < -size || py < -size || px > s.w + size || py > s.h + size) { continue; }
                    ctx.rect(px - half, py - half, size, size);
                }
                ctx.fill();
            }
        }
        gd.dataset.maskDrawn = String(drawn);
        return drawn;
    }

    function redrawSoon(gd) {  // a zoom, a pan: once per animation frame
        if (gd.__maskRaf) { return; }
        gd.__maskRaf = window.requestAnimationFrame(function () {
            gd.__maskRaf = null;
            if (gd.__maskKeep) { draw(gd); }
        });
    }

    var KEPT_TIMINGS = 1000;  // the last frames' timings, for the benchmark (a long play stays bounded)

    function record(name, value) {
        var list = window[name] = window[name] || [];
        list.push(value);
        if (list.length > KEPT_TIMINGS) { list.splice(0, list.length - KEPT_TIMINGS); }
    }

    function frameDone(gd, t0) {
        var now = performance.now();  // measured by the benchmark (scripts/map_browser_bench.py)
        gd.dataset.maskMs = (now - t0).toFixed(1);
        record("__maskFrames", now);
        record("__maskFrameMs", now - t0);
        // and when it is on screen: the second animation frame after the drawing starts after the paint
        window.requestAnimationFrame(function () {
            window.requestAnimationFrame(function () {
                var painted = performance.now();
                record("__maskPainted", painted);
                record("__maskPaintMs", painted - t0);
            });
        });
    }

    function apply(gd) {
        gd = gd || graphDiv();
        if (!gd || !gd._fullData || !window.Plotly) { return null; }
        var t0 = performance.now();
        var n = nPoints(gd), keep = combined(n), kept = n;
        if (keep) {
            kept = 0;
            for (var i = 0; i < n; i++) { kept += keep[i]; }
        }
        gd.dataset.maskKept = String(kept);
        gd.dataset.maskTotal = String(n);
        var changed = gd.__maskVersion !== version || gd.__maskKeep !== keep;
        gd.__maskVersion = version;
        if (changed) { gd.__maskKeep = keep; }
        var update = null;  // the WebGL points: all grey while a mask is on, their colours otherwise
        if (keep && !isFaded(gd)) {
            var full = gd._fullData[0].marker || {};
            gd.__maskColour = {color: full.color, colorscale: full.colorscale, cmin: full.cmin, cmax: full.cmax};
            update = {"marker.color": FADED_COLOUR, "marker.opacity": FADED};
        } else if (!keep && isFaded(gd)) {
            update = {"marker.opacity": BRIGHT};
            if (gd.__maskColour) { update["marker.color"] = [gd.__maskColour.color]; }
        }
        if (update || gd.__maskBusy) {
            if (gd.__maskBusy) { return kept; }  // drawn when the restyle under way ends
            gd.__maskBusy = true;
            window.Plotly.restyle(gd, update, [0]).then(function () {
                gd.__maskBusy = false;
                apply(gd);  // draws the lit layer; restyles again if the masks changed meanwhile
                frameDone(gd, t0);
            }, function () { gd.__maskBusy = false; });
            return kept;
        }
        draw(gd);
        if (changed) { frameDone(gd, t0); }
        return kept;
    }

    function hook(gd) {
        if (!gd.__maskHandler) {
            gd.__maskHandler = function () { apply(gd); };
            gd.__maskMove = function () { redrawSoon(gd); };
        }
        if (gd.removeListener) {
            gd.removeListener("plotly_afterplot", gd.__maskHandler);
            gd.removeListener("plotly_relayouting", gd.__maskMove);
            gd.removeListener("plotly_relayout", gd.__maskMove);
        }
        if (gd.on) {
            gd.on("plotly_afterplot", gd.__maskHandler);
            gd.on("plotly_relayouting", gd.__maskMove);  // a pan or a zoom under way
            gd.on("plotly_relayout", gd.__maskMove);
        }
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
        record("__tickTimes", performance.now());
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

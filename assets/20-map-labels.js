/* Region labels on the catalogue map, placed in the browser at every zoom.
 *
 * Data: the ``map-labels`` store ({"levels", "level", "x", "y", "size", "label"}, biggest region
 * first within a level; models/serve/map_labels.py). After every plot of the map (zoom, pan,
 * figure update) the labels are recomputed:
 *   1. level: the finest one whose labels inside the view number at most 1.5 x the broad
 *      level's count (full view: the broad level; zooming in: finer ones);
 *   2. placement: greedy, biggest region first; a label is kept only if its box (estimated in
 *      screen pixels, conservatively) overlaps no label already kept and fits in the plot.
 * Labels are HTML elements (text only) in a layer over the plot area, moved after every plot and
 * while panning: plotly redraws nothing for them. The switch ``map-labels-toggle`` hides them.
 * The graph div carries data-label-level / data-label-count (read by the browser tests).
 */
(function () {
    "use strict";

    var FONT = [15, 13, 12];  // px, by level (broad to fine)
    var CHAR_W = 0.62;  // width of a character in font sizes (conservative for sans-serif)
    var LINE_H = 1.3;
    var PAD = 5;  // px kept free around each label
    var BUDGET = 1.5;  // labels of a level inside the view, relative to the broad level's count

    function lines(label) {  // long labels break after their first word
        var words = String(label).split(" · ");
        if (label.length <= 22 || words.length < 2) { return [label]; }
        return [words[0], words.slice(1).join(" · ")];
    }

    function sorted(r) { return r[0] <= r[1] ? [r[0], r[1]] : [r[1], r[0]]; }

    function chooseLevel(data, xr, yr) {
        var counts = [], total0 = 0, i, l;
        for (l = 0; l < data.levels; l++) { counts.push(0); }
        for (i = 0; i < data.level.length; i++) {
            l = data.level[i];
            if (l === 0) { total0++; }
            if (data.x[i] >= xr[0] && data.x[i] <= xr[1] && data.y[i] >= yr[0] && data.y[i] <= yr[1]) {
                counts[l]++;
            }
        }
        var budget = Math.max(BUDGET * total0, 4), level = 0;
        for (l = 1; l < data.levels; l++) { if (counts[l] <= budget) { level = l; } }
        return level;
    }

    function place(data, level, xr, yr, w, h) {
        var sx = w / (xr[1] - xr[0]), sy = h / (yr[1] - yr[0]);
        var font = FONT[Math.min(level, FONT.length - 1)];
        var boxes = [], out = [];
        for (var i = 0; i < data.level.length; i++) {
            if (data.level[i] !== level) { continue; }
            var px = (data.x[i] - xr[0]) * sx, py = (yr[1] - data.y[i]) * sy;
            var ls = lines(data.label[i]), longest = 0;
            for (var j = 0; j < ls.length; j++) { longest = Math.max(longest, ls[j].length); }
            var bw = longest * font * CHAR_W + 2 * PAD, bh = ls.length * font * LINE_H + 2 * PAD;
            var b = [px - bw / 2, py - bh / 2, px + bw / 2, py + bh / 2];
            if (b[0] < 0 || b[1] < 0 || b[2] > w || b[3] > h) { continue; }
            var free = true;
            for (var k = 0; k < boxes.length && free; k++) {
                var o = boxes[k];
                free = b[2] <= o[0] || o[2] <= b[0] || b[3] <= o[1] || o[3] <= b[1];
            }
            if (free) { boxes.push(b); out.push({i: i, lines: ls, font: font}); }
        }
        return out;
    }

    function layer(gd) {  // an HTML layer over the plot area: labels cost plotly no redraw
        var el = gd.querySelector(":scope > .region-labels");
        if (!el) {
            el = document.createElement("div");
            el.className = "region-labels";
            el.setAttribute("aria-hidden", "true");
            if (getComputedStyle(gd).position === "static") { gd.style.position = "relative"; }
            gd.appendChild(el);
        }
        return el;
    }

    function apply(gd) {
        var t0 = performance.now();
        var st = gd.__regionLabels, fl = gd._fullLayout;
        if (!st || !fl || !fl.xaxis || !fl.yaxis || !fl._size) { return; }
        var xr = sorted(fl.xaxis.range), yr = sorted(fl.yaxis.range), sz = fl._size;
        var data = st.data, level = null, placed = [];
        if (st.show && data && data.level && data.level.length && xr[1] > xr[0] && yr[1] > yr[0]) {
            level = chooseLevel(data, xr, yr);
            placed = place(data, level, xr, yr, sz.w, sz.h);
        }
        gd.__regionPlaced = placed.map(function (p) {  // for « télécharger l'image »
            return {x: data.x[p.i], y: data.y[p.i], text: p.lines.join("\n"), size: p.font, bold: level === 0};
        });
        var el = layer(gd);
        el.style.left = sz.l + "px"; el.style.top = sz.t + "px";
        el.style.width = sz.w + "px"; el.style.height = sz.h + "px";
        var sx = sz.w / (xr[1] - xr[0]), sy = sz.h / (yr[1] - yr[0]);
        var frag = document.createDocumentFragment();
        placed.forEach(function (p) {
            var d = document.createElement("div");
            d.className = "region-label" + (level === 0 ? " region-label-broad" : "");
            d.textContent = p.lines.join("\n");  // text only: never HTML
            d.style.left = ((data.x[p.i] - xr[0]) * sx).toFixed(1) + "px";
            d.style.top = ((yr[1] - data.y[p.i]) * sy).toFixed(1) + "px";
            d.style.fontSize = p.font + "px";
            frag.appendChild(d);
        });
        el.replaceChildren(frag);
        gd.dataset.labelLevel = level === null ? "" : String(level);
        gd.dataset.labelCount = String(placed.length);
        gd.dataset.labelMs = (performance.now() - t0).toFixed(1);  // measured by the benchmark
    }

    function graphDiv(id) {
        var el = document.getElementById(id);
        if (!el) { return null; }
        return el.classList.contains("js-plotly-plot") ? el : el.querySelector(".js-plotly-plot");
    }

    function hook(gd) {  // once per graph div, again after a purge (listeners dropped)
        if (!gd.__regionHandler) { gd.__regionHandler = function () { apply(gd); }; }
        if (gd.removeListener) { gd.removeListener("plotly_afterplot", gd.__regionHandler); }
        if (gd.on) { gd.on("plotly_afterplot", gd.__regionHandler); }
        if (gd.removeListener) { gd.removeListener("plotly_relayout", gd.__regionHandler); }
        if (gd.on) { gd.on("plotly_relayout", gd.__regionHandler); }
    }

    function update(graphId, show, data, tries) {
        var gd = graphDiv(graphId);
        if (!gd || !gd._fullLayout || !gd.on) {
            if ((tries || 0) < 50) { setTimeout(function () { update(graphId, show, data, (tries || 0) + 1); }, 200); }
            return;
        }
        gd.__regionLabels = {show: !!show, data: data};
        hook(gd);
        apply(gd);
    }

    window.regionLabels = {apply: apply, chooseLevel: chooseLevel, place: place, update: update};
    window.dash_clientside = Object.assign({}, window.dash_clientside, {
        mapImage: {
            // the view as the user sees it, for the server's PNG export
            view: function (clicks) {
                var gd = graphDiv("map"), fl = gd && gd._fullLayout;
                if (!clicks || !fl || !fl.xaxis) { return window.dash_clientside.no_update; }
                return {x: fl.xaxis.range.slice(), y: fl.yaxis.range.slice(), width: fl.width,
                        height: fl.height, labels: gd.__regionPlaced || [], clicks: clicks};
            }
        },
        mapLabels: {
            // Inputs: the map's relayoutData (any zoom), the switch, the labels; the output
            // (a store) only says what is shown, for whoever wants to know.
            update: function (_relayout, show, data) {
                update("map", show, data, 0);
                return {show: !!show, levels: data ? data.levels : 0};
            }
        }
    });
}());

/* Offline geo maps. plotly.js fetches a world topojson from cdn.plot.ly for every geo subplot
   (any choropleth), even when the figure draws its own GeoJSON outlines with the base layers
   hidden. Registering empty topologies up front stops those requests: no third-party call from
   the user's browser, no console error when offline. A geo figure that turns base layers on
   (land, coastlines, countries...) draws nothing for them: draw outlines from GeoJSON instead. */
(function () {
    var assets = window.PlotlyGeoAssets = window.PlotlyGeoAssets || {};
    assets.topojson = assets.topojson || {};
    var scopes = ["world", "usa", "europe", "asia", "africa", "north-america", "south-america"];
    scopes.forEach(function (scope) {
        ["110m", "50m"].forEach(function (res) {
            var name = scope + "_" + res;
            if (!assets.topojson[name]) {
                assets.topojson[name] = {type: "Topology", objects: {}, arcs: []};
            }
        });
    });
})();

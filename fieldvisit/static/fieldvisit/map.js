// Draws the admin map from the page's JSON (fieldvisit.admin.maps) with Leaflet.
// Labels go in as text nodes: addresses and names are data, never HTML.
(function () {
  "use strict";
  // Words from Django's JavaScript catalogue (config/urls.py "javascript-catalog", loaded before
  // this script), in the reader's language; English as written here when it did not load.
  var gettext = window.gettext || function (text) { return text; };
  var COLOURS = {
    stop: "#1565c0", address: "#6a1b9a", checkin: "#2e7d32", photo: "#e65100", alert: "#b00020"
  };

  function text(value) {
    var span = document.createElement("span");
    span.textContent = value;
    return span;
  }

  function draw(box) {
    var data = JSON.parse(document.getElementById(box.getAttribute("data-source")).textContent);
    var map = L.map(box, {scrollWheelZoom: false, zoomControl: false});
    // Leaflet's own zoom buttons, their titles in the reader's language.
    L.control.zoom({zoomInTitle: gettext("Zoom in"), zoomOutTitle: gettext("Zoom out")}).addTo(map);
    if (data.tiles.url) {
      L.tileLayer(data.tiles.url, {maxZoom: 19, attribution: data.tiles.attribution}).addTo(map);
    } else {
      box.classList.add("fv-map-blank");
      map.attributionControl.setPrefix(false);
    }
    var bounds = L.latLngBounds([]);
    data.circles.forEach(function (c) {
      var centre = L.latLng(c.lat, c.lon);
      L.circle(centre, {radius: c.radius_m, color: COLOURS.address, weight: 1, fillOpacity: 0.08})
        .bindTooltip(text(c.label)).addTo(map);
      bounds.extend(centre.toBounds(c.radius_m * 2));
    });
    if (data.line.length > 1) {
      L.polyline(data.line, {color: COLOURS.stop, weight: 3, opacity: 0.7}).addTo(map);
    }
    data.points.forEach(function (p) {
      var colour = COLOURS[p.kind] || "#455a64";
      L.circleMarker([p.lat, p.lon], {
        radius: p.kind === "address" ? 9 : 7, color: "#fff", weight: 2,
        fillColor: colour, fillOpacity: 0.95, className: "fv-marker fv-marker-" + p.kind
      }).bindTooltip(text(p.label), {permanent: p.kind === "stop", direction: "right"})
        .addTo(map);
      bounds.extend([p.lat, p.lon]);
    });
    if (!bounds.isValid()) { return; }
    map.fitBounds(bounds.pad(0.15), {maxZoom: 18});
    box.setAttribute("data-drawn", String(data.points.length));
  }

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll(".fv-map[data-source]"), draw);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();

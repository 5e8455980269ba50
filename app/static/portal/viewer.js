// Visor de Distritos Mineros: capas del estilo del servicio, leyenda, ventanas emergentes,
// búsqueda de municipios y distritos, y ?district=CODIGO para enfocar un distrito.
(function () {
  "use strict";
  const cfg = window.DM_CONFIG || { base: "", district: "", embed: false };
  const base = cfg.base || window.location.origin;

  const map = new maplibregl.Map({
    container: "map",
    style: base + "/styles/default.json",
    center: [-74.3, 4.6],
    zoom: cfg.embed ? 4.6 : 5,
    minZoom: 3,
    maxZoom: 18,
    attributionControl: { compact: true },
    locale: {
      "NavigationControl.ZoomIn": "Acercar",
      "NavigationControl.ZoomOut": "Alejar",
      "NavigationControl.ResetBearing": "Restablecer orientación",
      "ScaleControl.Kilometers": "km",
      "ScaleControl.Meters": "m",
      "AttributionControl.ToggleAttribution": "Mostrar atribución",
      "Popup.Close": "Cerrar",
    },
  });
  window.dmMap = map;
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), "top-right");
  map.addControl(new maplibregl.ScaleControl({ unit: "metric" }), "bottom-right");

  const el = (tag, attrs, text) => {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => node.setAttribute(k, v));
    if (text !== undefined) node.textContent = text;
    return node;
  };

  let legends = {};

  function styleLayersOf(name, key) {
    return map.getStyle().layers.filter((l) => l.metadata && l.metadata[key || "dm:layer"] === name);
  }

  function setVisible(name, key, visible) {
    styleLayersOf(name, key).forEach((l) =>
      map.setLayoutProperty(l.id, "visibility", visible ? "visible" : "none"));
  }

  function buildLayerList() {
    const list = document.getElementById("layer-list");
    list.textContent = "";
    const meta = map.getStyle().metadata || {};
    (meta["dm:legends"] || []).slice().reverse().forEach((legend) => {
      legends[legend.layer] = legend;
      const item = el("li");
      const id = "toggle-" + legend.layer;
      const box = el("input", { type: "checkbox", id: id, "data-layer": legend.layer });
      const layers = styleLayersOf(legend.layer);
      box.checked = layers.some((l) => (l.layout || {}).visibility !== "none");
      box.addEventListener("change", () => setVisible(legend.layer, "dm:layer", box.checked));
      const label = el("label", { for: id, style: "display:inline; font-weight:600" }, " " + legend.title);
      item.append(box, label);
      const classes = el("ul", { class: "classes" });
      legend.classes.forEach((c) => {
        const li = el("li");
        li.append(el("span", { class: "swatch", style: "background:" + c.color }), document.createTextNode(c.label));
        classes.append(li);
      });
      item.append(classes);
      list.append(item);
    });
    (meta["dm:rasters"] || []).forEach((raster) => {
      const item = el("li");
      const id = "toggle-raster-" + raster.name;
      const box = el("input", { type: "checkbox", id: id });
      box.addEventListener("change", () => setVisible(raster.name, "dm:raster", box.checked));
      item.append(box, el("label", { for: id, style: "display:inline; font-weight:600" }, " " + raster.title + " (ráster)"));
      const classes = el("ul", { class: "classes" });
      item.append(classes);
      fetch(raster.legend).then((r) => r.json()).then((legend) => {
        (legend.classes || []).forEach((c) => {
          const li = el("li");
          li.append(el("span", { class: "swatch", style: "background:" + c.color }), document.createTextNode(c.label));
          classes.append(li);
        });
        if (legend.type === "hillshade") classes.append(el("li", {}, "Relieve sombreado"));
      }).catch(() => {});
      list.append(item);
    });
  }

  function popupHtml(feature) {
    const name = feature.layer.metadata["dm:layer"];
    const legend = legends[name] || { title: name, fields: {} };
    const wrap = el("div");
    wrap.append(el("div", { class: "popup-title" }, legend.title));
    const table = el("table", { class: "popup-table" });
    Object.entries(feature.properties).forEach(([key, value]) => {
      if (value === null || value === "") return;
      const row = el("tr");
      const title = key === "count" ? "Elementos agrupados" : (legend.fields || {})[key] || key;
      // Class codes read as their Spanish legend label.
      const klass = key === legend.property && (legend.classes || []).find((c) => c.value === value);
      row.append(el("th", {}, title), el("td", {}, klass ? klass.label : String(value)));
      table.append(row);
    });
    wrap.append(table);
    return wrap;
  }

  map.on("click", (e) => {
    const box = [[e.point.x - 3, e.point.y - 3], [e.point.x + 3, e.point.y + 3]];
    // Labels carry only code and name: the pop-up reads the drawn feature under them.
    const hits = map.queryRenderedFeatures(box)
      .filter((f) => f.layer.metadata && f.layer.metadata["dm:layer"] && f.layer.type !== "symbol");
    if (!hits.length) return;
    // One section per layer, the thematic layers before the administrative context.
    const context = ["municipalities", "departments"];
    const seen = new Set();
    const chosen = hits.filter((f) => {
      const key = f.layer.metadata["dm:layer"];
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    }).sort((a, b) => context.includes(a.layer.metadata["dm:layer"]) - context.includes(b.layer.metadata["dm:layer"]))
      .slice(0, 4);
    const content = document.createElement("div");
    chosen.forEach((f) => content.append(popupHtml(f)));
    new maplibregl.Popup({ maxWidth: "340px" }).setLngLat(e.lngLat).setDOMContent(content).addTo(map);
  });
  map.on("mousemove", (e) => {
    const hits = map.queryRenderedFeatures(e.point).filter((f) => f.layer.metadata && f.layer.metadata["dm:layer"]);
    map.getCanvas().style.cursor = hits.length ? "pointer" : "";
  });

  function fit(bbox) {
    map.fitBounds([[bbox[0], bbox[1]], [bbox[2], bbox[3]]], { padding: 30, maxZoom: 13, duration: 0 });
  }

  async function search(text) {
    const response = await fetch(base + "/map/search?q=" + encodeURIComponent(text));
    if (!response.ok) return [];
    return (await response.json()).places;
  }

  const form = document.getElementById("search");
  const input = document.getElementById("search-text");
  const results = document.getElementById("search-results");
  let timer = null;
  input.addEventListener("input", () => {
    clearTimeout(timer);
    if (input.value.trim().length < 2) { results.textContent = ""; return; }
    timer = setTimeout(async () => {
      const places = await search(input.value.trim());
      results.textContent = "";
      if (!places.length) results.append(el("li", {}, "Sin resultados"));
      places.forEach((p) => {
        const li = el("li", { tabindex: "0" }, (p.kind === "distrito" ? "Distrito " : "") + p.name + " · " + p.code);
        li.addEventListener("click", () => fit(p.bbox));
        li.addEventListener("keydown", (ev) => { if (ev.key === "Enter") fit(p.bbox); });
        results.append(li);
      });
    }, 250);
  });
  form.addEventListener("submit", (ev) => { ev.preventDefault(); const first = results.querySelector("li"); if (first) first.click(); });

  async function focusDistrict(code) {
    const places = await search(code);
    const district = places.find((p) => p.kind === "distrito" && p.code === code);
    if (!district) return;
    fit(district.bbox);
    // Only this district and its plan's actions.
    styleLayersOf("districts").forEach((l) => map.setFilter(l.id, ["all", l.filter || true, ["==", ["get", "code"], code]]));
    styleLayersOf("plan_actions").forEach((l) => map.setFilter(l.id, ["all", l.filter || true, ["==", ["get", "district"], code]]));
  }

  const snippet = document.getElementById("embed-snippet");
  if (snippet) {
    const src = base + "/map/embed" + (cfg.district ? "?district=" + encodeURIComponent(cfg.district) : "");
    snippet.value = '<iframe src="' + src + '" width="100%" height="480" style="border:0" ' +
      'title="Mapa de Distritos Mineros" loading="lazy" allowfullscreen></iframe>';
    document.getElementById("copy-snippet").addEventListener("click", async () => {
      snippet.select();
      try { await navigator.clipboard.writeText(snippet.value); } catch (e) { document.execCommand("copy"); }
      document.getElementById("copy-status").textContent = " Copiado.";
    });
  }

  map.on("load", () => {
    buildLayerList();
    if (cfg.district) focusDistrict(cfg.district);
    map.once("idle", () => { window.dmReady = true; });
  });
})();

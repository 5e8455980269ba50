// Espacio de trabajo: dibujar y validar límites, guardar versiones, proponer, comparar y adoptar.
// Habla solo con la API documentada (/api/v1/validate, /districts, /proposals).
(function () {
  "use strict";
  const base = (window.DM_CONFIG && window.DM_CONFIG.base) || window.location.origin;
  const $ = (id) => document.getElementById(id);
  // Session writes carry Django's CSRF token (cookie csrftoken -> header X-CSRFToken).
  const csrf = () => (document.cookie.match(/(?:^|; )csrftoken=([^;]+)/) || [])[1] || "";
  const api = (path, options) => {
    const merged = Object.assign({ credentials: "same-origin" }, options || {});
    merged.headers = Object.assign({ "X-CSRFToken": csrf() }, merged.headers || {});
    return fetch(base + path, merged);
  };
  const json = (body) => ({ method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });

  const map = new maplibregl.Map({ container: "map", style: base + "/styles/default.json", center: [-75.5, 7.0], zoom: 6 });
  window.dmMap = map;
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), "top-right");

  let draw = null;
  let current = null; // the drawn polygon (GeoJSON geometry)
  let district = null; // { code, etag }

  function drawnGeometry() {
    if (!draw) return null;
    const polygons = draw.getSnapshot().filter((f) => f.geometry.type === "Polygon");
    if (!polygons.length) return null;
    if (polygons.length === 1) return polygons[0].geometry;
    return { type: "MultiPolygon", coordinates: polygons.map((f) => f.geometry.coordinates) };
  }

  function showFindings(report) {
    const list = $("findings");
    list.textContent = "";
    (report.findings || []).forEach((f) => {
      const li = document.createElement("li");
      li.className = f.severity;
      li.textContent = (f.severity === "error" ? "Error: " : f.severity === "warning" ? "Aviso: " : "") + f.message;
      list.append(li);
    });
    $("validation").textContent = report.valid ? "Límite válido." : "El límite tiene errores.";
    const features = (report.findings || []).filter((f) => f.geometry).map((f) => ({
      type: "Feature", geometry: f.geometry, properties: { severity: f.severity } }));
    map.getSource("findings").setData({ type: "FeatureCollection", features: features });
  }

  let pending = null;
  async function validateNow() {
    current = drawnGeometry();
    $("save-version").disabled = !(current && district);
    if (!current) { $("validation").textContent = "Dibuje un polígono para validarlo."; return; }
    const body = { geometry: current };
    if (district) body.district = district.code;
    $("validation").textContent = "Validando…";
    try {
      const response = await api("/api/v1/validate", json(body));
      if (response.status === 404) { $("validation").textContent = "La validación no está disponible en este servicio."; return; }
      const report = await response.json();
      if (!response.ok) { $("validation").textContent = report.detail || "No se pudo validar."; return; }
      showFindings(report);
      window.dmLastReport = report;
      const snap = report.watershed && report.watershed.snap;
      $("snap-watersheds").disabled = !(snap && snap.geometry);
      $("snap-watersheds").title = snap && snap.geometry
        ? "Ajustar a " + snap.unit_ids.length + " unidad(es) hidrográfica(s) completas (" + snap.area_ha + " ha)"
        : "Ninguna unidad hidrográfica queda más de la mitad dentro del dibujo";
    } catch (e) {
      $("validation").textContent = "La validación no está disponible.";
    }
  }
  function scheduleValidation() { clearTimeout(pending); pending = setTimeout(validateNow, 400); }

  async function loadDistricts() {
    const response = await api("/api/v1/districts");
    if (!response.ok) return;
    const body = await response.json();
    (body.districts || []).forEach((d) => {
      const option = document.createElement("option");
      option.value = d.code;
      option.textContent = d.code + " — " + d.name + " (" + d.status + ")";
      $("district").append(option);
    });
  }

  $("district").addEventListener("change", async () => {
    const code = $("district").value;
    district = null;
    if (!code) { scheduleValidation(); return; }
    const response = await api("/api/v1/districts/" + encodeURIComponent(code));
    if (!response.ok) return;
    const doc = await response.json();
    district = { code: code, etag: response.headers.get("ETag") };
    district.etag = district.etag || doc.etag;
    const geometry = (doc.boundary && doc.boundary.geometry) || doc.geometry;
    if (geometry && draw) loadGeometry(geometry);
    scheduleValidation();
  });

  // Replace the drawing with a (Multi)Polygon and frame it.
  function loadGeometry(geometry) {
    draw.clear();
    const polygons = geometry.type === "MultiPolygon" ? geometry.coordinates : [geometry.coordinates];
    // terra-draw refuses coordinates with more than 9 decimals: 7 keep ~1 cm.
    const round = (c) => [Math.round(c[0] * 1e7) / 1e7, Math.round(c[1] * 1e7) / 1e7];
    const features = polygons.map((rings) => ({ type: "Feature", geometry: { type: "Polygon",
      coordinates: rings.map((ring) => ring.map(round)) }, properties: { mode: "polygon" } }));
    draw.addFeatures(features);
    const xs = [], ys = [];
    polygons.forEach((p) => p[0].forEach(([x, y]) => { xs.push(x); ys.push(y); }));
    map.fitBounds([[Math.min(...xs), Math.min(...ys)], [Math.max(...xs), Math.max(...ys)]], { padding: 40, duration: 0 });
  }

  // Snap to watersheds: the validation's suggested boundary, the union of the hydrographic
  // units more than half inside the drawing (whole units, so integrity becomes 1.0).
  $("snap-watersheds").addEventListener("click", () => {
    const report = window.dmLastReport || {};
    const snap = report.watershed && report.watershed.snap;
    if (!snap || !snap.geometry || !draw) return;
    loadGeometry(snap.geometry);
    scheduleValidation();
  });

  $("save-version").addEventListener("click", async () => {
    if (!district || !current) return;
    const body = { geometry: current, comment: $("comment").value, source: "drawn" };
    const response = await api("/api/v1/districts/" + encodeURIComponent(district.code) + "/boundary", {
      method: "PUT", headers: { "Content-Type": "application/json", "If-Match": district.etag || "*" }, body: JSON.stringify(body) });
    const doc = await response.json().catch(() => ({}));
    if (response.ok) {
      district.etag = response.headers.get("ETag");
      const version = (doc.boundary && doc.boundary.version) || doc.version || "";
      $("save-status").textContent = "Versión " + version + " guardada.";
      window.dmSaved = doc;
    } else {
      $("save-status").textContent = doc.detail || "No se pudo guardar (" + response.status + ").";
    }
  });

  function studyArea() {
    const codes = $("study-area").value.split(",").map((c) => c.trim()).filter(Boolean);
    if (codes.length) return { municipalities: codes };
    const geometry = drawnGeometry();
    return geometry ? { geometry: geometry } : null;
  }

  function showAlternatives(run) {
    const table = $("alternatives");
    table.textContent = "";
    const features = (run.proposals && run.proposals.features) || run.features || [];
    if (!features.length) { $("run-status").textContent = "La ejecución no produjo alternativas."; return; }
    const head = document.createElement("tr");
    ["Puesto", "Alternativa", "Puntaje", "Área (ha)", ""].forEach((t) => { const th = document.createElement("th"); th.textContent = t; head.append(th); });
    table.append(head);
    features.forEach((f) => {
      const p = f.properties || {};
      const row = document.createElement("tr");
      [p.rank, p.alternative, p.score && Number(p.score).toFixed(3), p.area_ha && Math.round(p.area_ha)].forEach((v) => {
        const td = document.createElement("td"); td.textContent = v === undefined || v === null ? "" : v; row.append(td); });
      const cell = document.createElement("td");
      const adopt = document.createElement("button");
      adopt.textContent = "Adoptar";
      adopt.addEventListener("click", () => adoptProposal(f));
      cell.append(adopt);
      row.append(cell);
      row.addEventListener("mouseenter", () => map.getSource("proposal").setData(f));
      table.append(row);
    });
    map.getSource("proposal").setData(features[0]);
    $("run-status").textContent = features.length + " alternativas. Pase el cursor para compararlas.";
  }

  async function adoptProposal(feature) {
    const id = feature.id || (feature.properties || {}).id;
    const body = district ? { district: district.code, comment: $("comment").value }
      : { code: window.prompt("Código del nuevo distrito"), name: window.prompt("Nombre del distrito"), type: "vida_y_paz", comment: $("comment").value };
    const response = await api("/api/v1/proposals/" + id + "/adopt", json(body));
    const doc = await response.json().catch(() => ({}));
    $("run-status").textContent = response.ok ? "Propuesta adoptada como nueva versión del límite." : (doc.detail || "No se pudo adoptar.");
  }

  $("run-proposal").addEventListener("click", async () => {
    const area = studyArea();
    if (!area) { $("run-status").textContent = "Indique municipios o dibuje el área de estudio."; return; }
    $("run-status").textContent = "Ejecutando…";
    const progress = $("run-progress");
    progress.hidden = false; progress.value = 5;
    const response = await api("/api/v1/proposals", json({ study_area: area, hydro_system: $("hydro-system").value }));
    let run = await response.json().catch(() => ({}));
    if (response.status === 404) { $("run-status").textContent = "El motor de propuestas no está disponible."; progress.hidden = true; return; }
    if (!response.ok) { $("run-status").textContent = run.detail || "No se pudo ejecutar."; progress.hidden = true; return; }
    while (run.status && run.status !== "done" && run.status !== "failed") {
      progress.value = run.progress || progress.value;
      $("run-status").textContent = "En ejecución… " + (run.progress || 0) + " %";
      await new Promise((r) => setTimeout(r, 1000));
      run = await (await api("/api/v1/proposals/runs/" + run.id)).json();
    }
    progress.value = 100; progress.hidden = true;
    if (run.status === "failed") { $("run-status").textContent = run.error || "La ejecución falló."; return; }
    showAlternatives(run);
  });

  map.on("load", () => {
    map.addSource("findings", { type: "geojson", data: { type: "FeatureCollection", features: [] } });
    map.addLayer({ id: "findings-fill", type: "fill", source: "findings", paint: { "fill-color": "#e31a1c", "fill-opacity": 0.45 } });
    map.addLayer({ id: "findings-line", type: "line", source: "findings", paint: { "line-color": "#e31a1c", "line-width": 2 } });
    map.addSource("proposal", { type: "geojson", data: { type: "FeatureCollection", features: [] } });
    map.addLayer({ id: "proposal-line", type: "line", source: "proposal", paint: { "line-color": "#ff7f00", "line-width": 3, "line-dasharray": [2, 1] } });
    const TD = window.terraDraw;
    draw = new TD.TerraDraw({
      adapter: new window.terraDrawMaplibreGlAdapter.TerraDrawMapLibreGLAdapter({ map: map }),
      modes: [new TD.TerraDrawPolygonMode(), new TD.TerraDrawSelectMode({
        flags: { polygon: { feature: { draggable: true, coordinates: { midpoints: true, draggable: true, deletable: true } } } } })],
    });
    draw.start();
    window.dmDraw = draw;
    draw.on("finish", scheduleValidation);
    draw.on("change", (ids, type) => { if (type !== "styling") scheduleValidation(); });
    $("draw-polygon").addEventListener("click", () => draw.setMode("polygon"));
    $("draw-select").addEventListener("click", () => draw.setMode("select"));
    $("draw-clear").addEventListener("click", () => { draw.clear(); scheduleValidation(); });
    loadDistricts();
    window.dmReady = true;
  });
})();

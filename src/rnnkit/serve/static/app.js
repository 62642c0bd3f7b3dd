// The rnnkit page: plain JavaScript, no build step, no external network.
// One panel per task (the <section data-task=...> elements of index.html); the selected model's
// task picks the panel. Changing the model clears every result and error, and answers to
// requests made for the previous model are dropped.
"use strict";

const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";
let models = [];
let limits = {};
let epoch = 0;              // bumped when the model changes: stale answers are ignored
let inflight = null;        // AbortController of the running request
let lastForecast = null;

// ---------------------------------------------------------------- helpers

function escapeText(text) {
  const span = document.createElement("span");
  span.textContent = String(text);
  return span.innerHTML;
}

function currentModel() {
  return models.find((m) => m.name === $("model").value);
}

function panelOf(element) {
  return element.closest("section");
}

function showError(panel, message) {
  const box = panel ? panel.querySelector(".panel-error") : $("error");
  if (!box) return;
  box.textContent = message || "";
  box.hidden = !message;
}

function percent(p) {
  return `${(p * 100).toFixed(1)} %`;
}

// A one-line message for a failed response: the API's {"error": ...}, never a JSON dump.
async function errorMessage(response) {
  const data = await response.json().catch(() => null);
  if (data && typeof data.error === "string") return data.error;
  return `the server answered ${response.status} ${response.statusText}`.trim();
}

async function api(path, body, signal) {
  let response;
  try {
    response = await fetch(path, body === undefined ? {signal} : {
      method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body), signal,
    });
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new Error(`could not reach the server (${err.message})`);
  }
  if (!response.ok) throw new Error(await errorMessage(response));
  return response.json();
}

function modelPath(verb) {
  return `/models/${encodeURIComponent(currentModel().name)}/${verb}`;
}

// Run one request for a panel: disable its button, show errors in the panel, drop the answer
// when the model changed meanwhile.
async function run(panel, button, work) {
  const mine = epoch;
  if (inflight) inflight.abort();
  const controller = new AbortController();
  inflight = controller;
  showError(panel, "");
  button.disabled = true;
  panel.setAttribute("aria-busy", "true");
  try {
    await work(controller.signal, () => mine === epoch);
  } catch (err) {
    if (err.name !== "AbortError" && mine === epoch) showError(panel, err.message);
  } finally {
    // Not when a newer request (from Ctrl+Enter) took over; yes when the model changed.
    if (inflight === controller || inflight === null) {
      inflight = null;
      button.disabled = false;
      panel.removeAttribute("aria-busy");
    }
  }
}

// ---------------------------------------------------------------- panels

function clearResults() {
  for (const box of document.querySelectorAll(".result")) box.hidden = true;
  for (const id of ["label", "probability", "others", "saliency", "sequence-label", "sequence-probability",
                    "sequence-others", "sequence-shape", "chart", "legend", "forecast-table", "output",
                    "translation", "attention", "sequence-file-info"]) {
    $(id).textContent = "";
  }
  for (const id of ["prob-bar", "sequence-prob-bar"]) $(id).style.width = "0";
  delete $("output").dataset.done;
  $("sequence-file").value = "";
  for (const panel of document.querySelectorAll("section.panel")) showError(panel, "");
  showError(null, "");
  lastForecast = null;
}

function showView() {
  epoch += 1;
  if (inflight) inflight.abort();
  inflight = null;
  clearResults();
  const model = currentModel();
  for (const panel of document.querySelectorAll("section.panel")) panel.hidden = true;
  if (!model) return;
  $("task").textContent = model.task.replaceAll("_", " ");
  const panel = document.querySelector(`section.panel[data-task="${CSS.escape(model.task)}"]`);
  if (!panel) {
    $("unknown-text").textContent = `Model ${model.name} is a ${model.task}; this page has no panel for ` +
      `it. Its API endpoints: ${model.endpoints.map((e) => "/" + e).join(", ") || "none"}.`;
    $("unknown-view").hidden = false;
    return;
  }
  panel.hidden = false;
  if (model.task === "forecaster") {
    if (model.horizon) $("steps").value = Math.min(model.horizon, Number($("steps").max));
    const targets = model.targets || [];
    $("target").replaceChildren(...targets.map((t) => new Option(t, t)));
    $("target-row").hidden = targets.length < 2;
  }
  if (model.task === "sequence_classifier") {
    const f = model.feature_size;
    const example = f ? Array.from({length: 3}, (_, i) =>
      Array.from({length: f}, (_, j) => ((i + 1) * 0.5 - j * 0.25).toFixed(2)).join(", ")).join("\n") : "";
    $("sequence").placeholder = example ? `e.g.\n${example}` : "";
    $("sequence-hint").textContent = "One time step per line" +
      (f ? `, its ${f} feature${f === 1 ? "" : "s"}` : ", its features") +
      " separated by commas or spaces. Or load a .csv or .npy file (read here in the browser; " +
      ".npy: shape (steps, features), float32/float64/int).";
  }
}

function showClassification(prefix, pred) {
  $(`${prefix}label`).textContent = String(pred.label);
  $(`${prefix}probability`).textContent = percent(pred.probability);
  $(`${prefix}prob-bar`).style.width = `${(pred.probability * 100).toFixed(1)}%`;
  $(`${prefix}others`).innerHTML = Object.entries(pred.probabilities)
    .sort((a, b) => b[1] - a[1])
    .map(([c, p]) => `<div class="class-row"><span class="class-name">${escapeText(c)}</span>` +
         `<span class="mini-bar"><span style="width:${(p * 100).toFixed(1)}%"></span></span>` +
         `<span class="class-p">${percent(p)}</span></div>`).join("");
}

async function classify(event) {
  event.preventDefault();
  const panel = $("classify-view");
  await run(panel, $("classify"), async (signal, current) => {
    const text = $("text").value;
    if (!text.trim()) throw new Error("type some text first");
    const data = await api(modelPath("predict"), {texts: [text], explain: true}, signal);
    if (!current()) return;
    const pred = data.predictions[0];
    showClassification("", pred);
    const saliency = pred.saliency || [];
    const top = Math.max(1e-9, ...saliency.map((t) => Math.abs(t.weight)));
    $("saliency").innerHTML = saliency.length ? saliency.map((t) => {
      const a = Math.min(1, Math.abs(t.weight) / top) * 0.75;
      const colour = t.weight >= 0 ? `rgba(47,158,91,${a})` : `rgba(220,60,50,${a})`;
      return `<span class="token" title="${t.weight.toFixed(4)}" style="background:${colour}">` +
             `${escapeText(t.token)}</span>`;
    }).join(" ") : `<span class="muted small">No saliency: the text has no known tokens or more than ` +
                   `${limits.max_explain_tokens || 64}.</span>`;
    $("result").hidden = false;
  });
}

// ---------------------------------------------------------------- sequences: paste or file

function parseRows(text) {
  const rows = [];
  const lines = text.split(/\r?\n/);
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n].trim();
    if (!line || line.startsWith("#")) continue;
    const cells = line.split(/[\s,;]+/).filter((c) => c !== "");
    const values = cells.map(Number);
    const bad = cells.findIndex((c, i) => c === "" || !Number.isFinite(values[i]));
    if (bad >= 0) {
      if (rows.length === 0 && values.every((v) => !Number.isFinite(v))) continue;  // a CSV header
      throw new Error(`line ${n + 1}: "${cells[bad].slice(0, 20)}" is not a number`);
    }
    rows.push(values);
  }
  if (!rows.length) throw new Error("no values: give one time step per line");
  return rows;
}

// A .npy file (NumPy's format 1.0-3.0), little-endian float or int, 1-D (steps) or 2-D
// (steps, features), or 3-D with one sequence (1, steps, features).
function parseNpy(buffer) {
  const bytes = new Uint8Array(buffer);
  const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];
  if (bytes.length < 10 || !magic.every((b, i) => bytes[i] === b)) throw new Error("not a .npy file");
  const view = new DataView(buffer);
  const major = bytes[6];
  if (major < 1 || major > 3) throw new Error(`.npy format version ${major} is not supported`);
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  const header = new TextDecoder(major === 3 ? "utf-8" : "latin1")
    .decode(bytes.subarray(start, start + headerLength));
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header);
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header);
  const shape = /'shape'\s*:\s*\(([^)]*)\)/.exec(header);
  if (!descr || !fortran || !shape) throw new Error("the .npy header is not readable");
  const types = {f4: [4, "getFloat32"], f8: [8, "getFloat64"], i1: [1, "getInt8"], u1: [1, "getUint8"],
                 i2: [2, "getInt16"], u2: [2, "getUint16"], i4: [4, "getInt32"], u4: [4, "getUint32"],
                 i8: [8, "getBigInt64"], u8: [8, "getBigUint64"]};
  const order = descr[1][0], kind = descr[1].slice(1);
  if (order === ">" || !types[kind] || !"<|=".includes(order)) {
    throw new Error(`.npy dtype ${descr[1]} is not supported; save little-endian float32 or float64`);
  }
  let dims = shape[1].split(",").map((s) => s.trim()).filter((s) => s !== "").map(Number);
  if (dims.length === 3 && dims[0] === 1) dims = dims.slice(1);
  if (dims.length === 1) dims = [dims[0], 1];
  if (dims.length !== 2) throw new Error(`.npy shape (${shape[1]}) is not (steps, features)`);
  const [steps, features] = dims;
  const [size, getter] = types[kind];
  const offset = start + headerLength;
  if (bytes.length < offset + steps * features * size) throw new Error("the .npy file is truncated");
  const rows = [];
  for (let t = 0; t < steps; t++) {
    const row = [];
    for (let f = 0; f < features; f++) {
      const index = fortran[1] === "True" ? f * steps + t : t * features + f;
      row.push(Number(view[getter](offset + index * size, true)));
    }
    rows.push(row);
  }
  if (!rows.length) throw new Error("the .npy array is empty");
  return rows;
}

function formatRows(rows) {
  return rows.map((r) => r.map((v) => String(Number(v.toPrecision(7)))).join(", ")).join("\n");
}

async function loadSequenceFile() {
  const panel = $("sequence-view");
  const file = $("sequence-file").files[0];
  showError(panel, "");
  $("sequence-file-info").textContent = "";
  if (!file) return;
  try {
    const rows = file.name.toLowerCase().endsWith(".npy")
      ? parseNpy(await file.arrayBuffer()) : parseRows(await file.text());
    $("sequence").value = formatRows(rows);
    $("sequence-file-info").textContent = `${file.name}: ${rows.length} steps × ${rows[0].length} features`;
  } catch (err) {
    showError(panel, `${file.name}: ${err.message}`);
  }
}

async function classifySequence(event) {
  event.preventDefault();
  const panel = $("sequence-view");
  await run(panel, $("classify-sequence"), async (signal, current) => {
    const rows = parseRows($("sequence").value);
    const widths = new Set(rows.map((r) => r.length));
    if (widths.size > 1) throw new Error(`every step needs the same number of features, got ${[...widths].join(", ")}`);
    const data = await api(modelPath("predict"), {sequences: [rows]}, signal);
    if (!current()) return;
    showClassification("sequence-", data.predictions[0]);
    $("sequence-shape").textContent = `${rows.length} steps × ${rows[0].length} features`;
    $("sequence-result").hidden = false;
  });
}

// ---------------------------------------------------------------- forecast

function svg(tag, attrs, text) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  if (text !== undefined) el.textContent = text;
  return el;
}

function niceNumber(v) {
  return Math.abs(v) >= 1e5 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(2) : Number(v.toPrecision(4)).toString();
}

// Dates at midnight as dates: "1961-01-01T00:00:00" -> "1961-01-01".
function shortIndex(text) {
  return String(text).replace(/T00:00(:00(\.0+)?)?$/, "");
}

function drawChart(data, name) {
  // The recent history only (at least 60 values, 3 times the forecast), so the forecast shows.
  const keep = Math.max(60, 3 * data.forecast[name].length);
  const hist = data.history[name].slice(-keep);
  const histIndex = data.history_index.slice(-keep);
  const fut = data.forecast[name];
  const lower = data.lower ? data.lower[name] : null;
  const upper = data.upper ? data.upper[name] : null;
  const all = hist.concat(fut, lower || [], upper || []);
  let lo = Math.min(...all), hi = Math.max(...all);
  if (hi === lo) { lo -= 1; hi += 1; }
  const W = 680, H = 300, left = 56, right = 16, top = 24, bottom = 34, n = hist.length + fut.length;
  const x = (i) => left + (i / Math.max(1, n - 1)) * (W - left - right);
  const y = (v) => H - bottom - ((v - lo) / (hi - lo)) * (H - top - bottom);
  const line = (vals, start) => vals.map((v, i) => `${i ? "L" : "M"}${x(start + i).toFixed(1)},${y(v).toFixed(1)}`).join("");
  const chart = svg("svg", {viewBox: `0 0 ${W} ${H}`, "aria-hidden": "true"});
  for (const v of [lo, (lo + hi) / 2, hi]) {
    chart.append(svg("line", {x1: left, x2: W - right, y1: y(v), y2: y(v), stroke: "#eceff3"}));
    chart.append(svg("text", {x: left - 6, y: y(v) + 4, "font-size": 11, "text-anchor": "end", fill: "#687385"}, niceNumber(v)));
  }
  chart.append(svg("line", {x1: left, y1: H - bottom, x2: W - right, y2: H - bottom, stroke: "#c8ced8"}));
  const split = x(hist.length - 0.5);
  chart.append(svg("line", {x1: split, x2: split, y1: top, y2: H - bottom, stroke: "#c8ced8", "stroke-dasharray": "4 3"}));
  const labels = [[0, histIndex[0]], [hist.length, data.index[0]], [n - 1, data.index[fut.length - 1]]]
    .map(([i, text]) => [i, text === undefined ? "" : shortIndex(text).slice(0, 19)]);
  const room = x(n - 1) - x(hist.length) - 6.5 * (labels[1][1].length / 2 + labels[2][1].length);
  labels.forEach(([i, text], k) => {
    if (!text || (k === 2 && room < 8)) return;
    chart.append(svg("text", {x: x(i), y: H - bottom + 16, "font-size": 11, fill: "#687385",
                              "text-anchor": k === 0 ? "start" : k === 2 ? "end" : "middle"}, text));
  });
  if (lower && upper) {
    const bottomEdge = lower.map((v, i) => [i, v]).reverse()
      .map(([i, v]) => `L${x(hist.length + i).toFixed(1)},${y(v).toFixed(1)}`).join("");
    chart.append(svg("path", {id: "forecast-band", d: line(upper, hist.length) + bottomEdge + "Z",
                              fill: "rgba(47,111,237,.18)", stroke: "none"}));
  }
  chart.append(svg("path", {id: "history-line", d: line(hist, 0), fill: "none", stroke: "#1d2330", "stroke-width": 1.5}));
  chart.append(svg("path", {id: "forecast-line", d: line([hist[hist.length - 1]].concat(fut), hist.length - 1),
                            fill: "none", stroke: "#2f6fed", "stroke-width": 2.5}));
  fut.forEach((v, i) => {
    const dot = svg("circle", {class: "forecast-point", cx: x(hist.length + i).toFixed(1), cy: y(v).toFixed(1),
                               r: fut.length > 60 ? 1.5 : 3, fill: "#2f6fed"});
    dot.append(svg("title", {}, `${shortIndex(data.index[i])}: ${niceNumber(v)}`));
    chart.append(dot);
  });
  $("chart").replaceChildren(chart);
  $("chart").setAttribute("aria-label", `chart of ${name}: ${hist.length} recent values and a ${fut.length}-step forecast`);
  $("legend").innerHTML = `<span class="key" style="background:#1d2330"></span> history ` +
    `<span class="key" style="background:#2f6fed"></span> forecast (${fut.length} steps)` +
    (lower ? ` <span class="key band"></span> interval` : "");
  const head = `<tr><th>step</th><th>${escapeText(name)}</th>` + (lower ? "<th>lower</th><th>upper</th>" : "") + "</tr>";
  $("forecast-table").innerHTML = head + data.index.map((ix, i) =>
    `<tr><td>${escapeText(shortIndex(ix))}</td><td>${niceNumber(fut[i])}</td>` +
    (lower ? `<td>${niceNumber(lower[i])}</td><td>${niceNumber(upper[i])}</td>` : "") + "</tr>").join("");
}

async function forecast(event) {
  event.preventDefault();
  const panel = $("forecast-view");
  await run(panel, $("forecast"), async (signal, current) => {
    const steps = Number($("steps").value);
    const most = limits.max_forecast_steps || 500;
    if (!Number.isInteger(steps) || steps < 1 || steps > most) throw new Error(`steps: give a whole number from 1 to ${most}`);
    const data = await api(modelPath("forecast"), {steps}, signal);
    if (!current()) return;
    lastForecast = data;
    drawChart(data, data.targets.includes($("target").value) ? $("target").value : data.targets[0]);
    $("forecast-result").hidden = false;
  });
}

// ---------------------------------------------------------------- generate

async function generate(event) {
  event.preventDefault();
  const panel = $("generate-view");
  const out = $("output");
  await run(panel, $("generate"), async (signal, current) => {
    delete out.dataset.done;
    out.textContent = $("prime").value;
    let response;
    try {
      response = await fetch(modelPath("generate"), {
        method: "POST", headers: {"Content-Type": "application/json"}, signal,
        body: JSON.stringify({prime: $("prime").value, length: Number($("length").value),
                              temperature: Number($("temperature").value), stream: true}),
      });
    } catch (err) {
      if (err.name === "AbortError") throw err;
      throw new Error(`could not reach the server (${err.message})`);
    }
    if (!response.ok) {
      out.textContent = "";
      throw new Error(await errorMessage(response));
    }
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    for (;;) {
      const {done, value} = await reader.read();
      if (done || !current()) break;
      out.textContent += decoder.decode(value, {stream: true});
    }
    if (current()) out.dataset.done = "1";
  });
}

// ---------------------------------------------------------------- translate

function drawAttention(item) {
  const cols = item.source_tokens.map((t) => (t.trim() ? t : "␣"));
  const weights = item.attention;
  const rows = item.target_tokens.map((t) => (t.trim() ? t : "␣"));
  if (weights.length === rows.length + 1) rows.push("<eos>");
  // Cells fill the width there is (14 to 34 px); a long sentence scrolls sideways rather than
  // shrinking the labels below reading size.
  const charW = 7.5;
  const leftW = 12 + charW * Math.min(16, Math.max(...rows.map((r) => r.length), 1));
  const room = ($("attention").clientWidth || 600) - leftW - 8;
  const cell = Math.max(14, Math.min(34, Math.floor(room / Math.max(1, cols.length))));
  const longest = Math.min(16, Math.max(...cols.map((c) => c.length), 1));
  const rotate = longest * charW > cell - 2;
  const topH = rotate ? 14 + charW * longest * 0.75 : 22;
  const W = leftW + cell * cols.length + 8, H = topH + cell * rows.length + 4;
  const max = Math.max(1e-9, ...weights.flat());
  const map = svg("svg", {viewBox: `0 0 ${W} ${H}`, width: W, height: H, "aria-hidden": "true"});
  cols.forEach((c, j) => {
    const cx = leftW + cell * (j + 0.5);
    const attrs = rotate
      ? {x: cx, y: topH - 6, transform: `rotate(-50 ${cx} ${topH - 6})`, "text-anchor": "start"}
      : {x: cx, y: topH - 8, "text-anchor": "middle"};
    map.append(svg("text", {...attrs, class: "source-token", "font-size": 12, fill: "#1d2330"}, c.slice(0, 16)));
  });
  rows.forEach((r, i) => {
    map.append(svg("text", {x: leftW - 6, y: topH + cell * (i + 0.5) + 4, "text-anchor": "end", class: "target-token",
                            "font-size": 12, fill: r === "<eos>" ? "#687385" : "#1d2330"}, r.slice(0, 16)));
    weights[i].forEach((w, j) => {
      const a = w / max;
      const rect = svg("rect", {class: "attention-cell", x: leftW + cell * j, y: topH + cell * i, width: cell - 1,
                                height: cell - 1, fill: `rgba(47,111,237,${(0.04 + 0.96 * a).toFixed(3)})`});
      rect.append(svg("title", {}, `${r} ← ${cols[j]}: ${w.toFixed(3)}`));
      map.append(rect);
    });
  });
  $("attention").replaceChildren(map);
  $("attention").setAttribute("aria-label",
    `attention map: ${rows.length} generated tokens by ${cols.length} source tokens`);
}

async function translate(event) {
  event.preventDefault();
  const panel = $("translate-view");
  await run(panel, $("translate"), async (signal, current) => {
    const text = $("source").value;
    if (!text.trim()) throw new Error("type a sentence first");
    const body = {texts: [text], attention: true};
    if ($("beam").value !== "") body.beam_size = Number($("beam").value);
    const data = await api(modelPath("translate"), body, signal);
    if (!current()) return;
    const item = data.translations[0];
    $("translation").textContent = item.translation || "(empty translation)";
    $("translate-result").hidden = false;  // visible first: the map is sized to its width
    if (item.attention && item.attention.length && item.source_tokens.length) {
      drawAttention(item);
    } else {
      $("attention").textContent = "This model has no attention weights to show.";
    }
    $("translate-result").hidden = false;
  });
}

// ---------------------------------------------------------------- start

function submitOnCtrlEnter(textarea, form) {
  textarea.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
}

async function start() {
  $("temperature").addEventListener("input", () => { $("temperature-value").textContent = $("temperature").value; });
  $("classify-form").addEventListener("submit", classify);
  $("sequence-form").addEventListener("submit", classifySequence);
  $("sequence-file").addEventListener("change", loadSequenceFile);
  $("forecast-form").addEventListener("submit", forecast);
  $("generate-form").addEventListener("submit", generate);
  $("translate-form").addEventListener("submit", translate);
  for (const [box, form] of [["text", "classify-form"], ["sequence", "sequence-form"], ["prime", "generate-form"],
                             ["source", "translate-form"]]) submitOnCtrlEnter($(box), $(form));
  $("source").addEventListener("keydown", (event) => {
    // Enter translates (a sentence is one line); Shift+Enter adds a line; not while composing (IME).
    if (event.key === "Enter" && !event.shiftKey && !event.ctrlKey && !event.metaKey && !event.isComposing) {
      event.preventDefault();
      $("translate-form").requestSubmit();
    }
  });
  $("target").addEventListener("change", () => { if (lastForecast) drawChart(lastForecast, $("target").value); });
  $("model").addEventListener("change", showView);
  try {
    [models, limits] = await Promise.all([api("/models").then((d) => d.models),
                                          api("/health").then((d) => d.limits)]);
  } catch (err) {
    $("status").hidden = true;
    showError(null, err.message);
    return;
  }
  if (limits.max_forecast_steps) $("steps").max = limits.max_forecast_steps;
  if (limits.max_generate_length) $("length").max = limits.max_generate_length;
  $("model").replaceChildren(...models.map((m) => new Option(m.name, m.name)));
  $("status").textContent = models.length ? "" : "No models are served.";
  $("status").hidden = models.length > 0;
  const wanted = new URLSearchParams(location.search).get("model");
  if (wanted && models.some((m) => m.name === wanted)) $("model").value = wanted;
  showView();
  document.body.dataset.ready = "1";
}

start();

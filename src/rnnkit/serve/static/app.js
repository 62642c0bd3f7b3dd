// The rnnkit page: plain JavaScript, no build step, no external network.
"use strict";

const $ = (id) => document.getElementById(id);
let models = [];

function showError(message) {
  const box = $("error");
  box.textContent = message || "";
  box.hidden = !message;
}

async function api(path, body) {
  const response = await fetch(path, body === undefined ? {} : {
    method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body),
  });
  const data = await response.json().catch(() => ({error: response.statusText}));
  if (!response.ok) throw new Error(data.error || response.statusText);
  return data;
}

function currentModel() {
  return models.find((m) => m.name === $("model").value);
}

function showView() {
  const model = currentModel();
  showError("");
  for (const id of ["classify-view", "generate-view", "forecast-view"]) $(id).hidden = true;
  if (!model) return;
  $("task").textContent = model.task.replace("_", " ");
  if (model.endpoints.includes("predict")) $("classify-view").hidden = false;
  if (model.endpoints.includes("generate")) $("generate-view").hidden = false;
  if (model.endpoints.includes("forecast")) {
    $("forecast-view").hidden = false;
    if (model.horizon) $("steps").value = model.horizon;
  }
}

function escapeText(text) {
  const span = document.createElement("span");
  span.textContent = text;
  return span.innerHTML;
}

async function classify() {
  const model = currentModel();
  const text = $("text").value;
  showError("");
  $("classify").disabled = true;
  try {
    const data = await api(`/models/${encodeURIComponent(model.name)}/predict`,
                           {texts: [text], explain: true});
    const pred = data.predictions[0];
    $("label").textContent = String(pred.label);
    $("probability").textContent = `${(pred.probability * 100).toFixed(1)} %`;
    $("prob-bar").style.width = `${(pred.probability * 100).toFixed(1)}%`;
    $("others").textContent = Object.entries(pred.probabilities)
      .map(([c, p]) => `${c}: ${(p * 100).toFixed(1)} %`).join(" · ");
    const saliency = pred.saliency || [];
    const top = Math.max(1e-9, ...saliency.map((t) => Math.abs(t.weight)));
    $("saliency").innerHTML = saliency.map((t) => {
      const a = Math.min(1, Math.abs(t.weight) / top) * 0.75;
      const colour = t.weight >= 0 ? `rgba(47,158,91,${a})` : `rgba(220,60,50,${a})`;
      return `<span class="token" title="${t.weight.toFixed(4)}" style="background:${colour}">` +
             `${escapeText(t.token)}</span>`;
    }).join(" ");
    $("result").hidden = false;
  } catch (err) {
    showError(err.message);
  } finally {
    $("classify").disabled = false;
  }
}

async function generate() {
  const model = currentModel();
  const out = $("output");
  showError("");
  out.textContent = $("prime").value;
  $("generate").disabled = true;
  try {
    const response = await fetch(`/models/${encodeURIComponent(model.name)}/generate`, {
      method: "POST", headers: {"Content-Type": "application/json"},
      body: JSON.stringify({prime: $("prime").value, length: Number($("length").value),
                            temperature: Number($("temperature").value), stream: true}),
    });
    if (!response.ok) {
      const data = await response.json().catch(() => ({error: response.statusText}));
      throw new Error(data.error || response.statusText);
    }
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    for (;;) {
      const {done, value} = await reader.read();
      if (done) break;
      out.textContent += decoder.decode(value, {stream: true});
    }
    out.dataset.done = "1";
  } catch (err) {
    showError(err.message);
  } finally {
    $("generate").disabled = false;
  }
}

function drawChart(data) {
  const name = data.targets[0];
  const hist = data.history[name];
  const fut = data.forecast[name];
  const lower = data.lower ? data.lower[name] : null;
  const upper = data.upper ? data.upper[name] : null;
  const all = hist.concat(fut, lower || [], upper || []);
  const lo = Math.min(...all), hi = Math.max(...all);
  const W = 640, H = 300, pad = 40, n = hist.length + fut.length;
  const x = (i) => pad + (i / Math.max(1, n - 1)) * (W - 2 * pad);
  const y = (v) => H - pad - ((v - lo) / (hi - lo || 1)) * (H - 2 * pad);
  const path = (vals, start) => vals.map((v, i) => `${i ? "L" : "M"}${x(start + i).toFixed(1)},${y(v).toFixed(1)}`).join("");
  let band = "";
  if (lower && upper) {
    const top = upper.map((v, i) => `${i ? "L" : "M"}${x(hist.length + i).toFixed(1)},${y(v).toFixed(1)}`).join("");
    const bottom = lower.map((v, i) => [i, v]).reverse()
      .map(([i, v]) => `L${x(hist.length + i).toFixed(1)},${y(v).toFixed(1)}`).join("");
    band = `<path d="${top}${bottom}Z" fill="rgba(47,111,237,.18)" stroke="none"/>`;
  }
  const joined = [hist[hist.length - 1]].concat(fut);
  const ticks = [lo, (lo + hi) / 2, hi].map((v) =>
    `<text x="4" y="${y(v) + 4}" font-size="11" fill="#687385">${v.toPrecision(4)}</text>`).join("");
  $("chart").innerHTML =
    `<svg viewBox="0 0 ${W} ${H}" xmlns="http://www.w3.org/2000/svg">` +
    `<line x1="${pad}" y1="${H - pad}" x2="${W - pad}" y2="${H - pad}" stroke="#c8ced8"/>` + ticks + band +
    `<path id="history-line" d="${path(hist, 0)}" fill="none" stroke="#1d2330" stroke-width="1.5"/>` +
    `<path id="forecast-line" d="${path(joined, hist.length - 1)}" fill="none" stroke="#2f6fed" stroke-width="2.5"/>` +
    `<text x="${W - pad}" y="16" font-size="12" text-anchor="end" fill="#2f6fed">forecast (${fut.length} steps)</text>` +
    `</svg>`;
  $("forecast-table").innerHTML = "<tr><th>step</th><th>" + escapeText(name) + "</th></tr>" +
    data.index.map((ix, i) => `<tr><td>${escapeText(ix)}</td><td>${fut[i].toPrecision(5)}</td></tr>`).join("");
}

async function forecast() {
  const model = currentModel();
  showError("");
  $("forecast").disabled = true;
  try {
    drawChart(await api(`/models/${encodeURIComponent(model.name)}/forecast`,
                        {steps: Number($("steps").value)}));
  } catch (err) {
    showError(err.message);
  } finally {
    $("forecast").disabled = false;
  }
}

async function start() {
  $("temperature").addEventListener("input", () => { $("temperature-value").textContent = $("temperature").value; });
  $("classify").addEventListener("click", classify);
  $("generate").addEventListener("click", generate);
  $("forecast").addEventListener("click", forecast);
  $("model").addEventListener("change", showView);
  try {
    models = (await api("/models")).models;
  } catch (err) {
    showError(err.message);
    return;
  }
  $("model").innerHTML = models.map((m) => `<option value="${escapeText(m.name)}">${escapeText(m.name)}</option>`).join("");
  $("status").textContent = models.length ? "" : "No models are served.";
  $("status").hidden = models.length > 0;
  const wanted = new URLSearchParams(location.search).get("model");
  if (wanted && models.some((m) => m.name === wanted)) $("model").value = wanted;
  showView();
  document.body.dataset.ready = "1";
}

start();

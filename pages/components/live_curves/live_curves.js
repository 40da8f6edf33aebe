// Live loss and accuracy curves on a canvas, for Streamlit's components v2 (no build step, no network).
//
// While a run trains, the page redraws its curves up to twice a second. Streamlit rebuilds a Plotly chart
// from scratch whenever its data changes, which costs the browser several times more than drawing
// these few lines; this draws the same panels (backprop.figures.training.live_curves_data) in the
// same colours. Everything shown is numbers and labels from Python, drawn with fillText (never HTML).

const INK = "#2a3f5f"; // Plotly's default text colour
const GRID = "#ebf0f8"; // plotly_white's grid
const GAP = 28; // pixels between panels
const last = new WeakMap(); // canvas -> last data, to redraw on resize

function niceStep(span, count) {
  const raw = span / Math.max(count, 1);
  const power = Math.pow(10, Math.floor(Math.log10(raw)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * power >= raw) return m * power;
  return 10 * power;
}

function ticks(min, max, count) {
  if (!(max > min)) return [min];
  const step = niceStep(max - min, count);
  const out = [];
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step) out.push(+v.toPrecision(12));
  return out;
}

function label(v, percent) {
  if (percent) return `${Math.round(v * 100)}%`;
  return Math.abs(v) >= 1000 ? v.toLocaleString("en-US") : `${+v.toPrecision(4)}`;
}

function drawPanel(ctx, panel, box, font, family) {
  const { x: left, y: top, w, h } = box;
  ctx.font = `${font}px ${family}`;
  const yTicks = ticks(panel.ymin, panel.ymax, Math.max(2, Math.floor(h / (font * 2.6))));
  const tickWidth = Math.max(...yTicks.map((t) => ctx.measureText(label(t, panel.percent)).width));
  const plotX = left + font * 1.6 + tickWidth + 8;
  // the legend above the plot, in as many rows as the panel's width needs (a phone's accuracy panel is narrow)
  ctx.font = `${font - 1}px ${family}`;
  const legend = [];
  let lx = plotX, row = 0;
  for (const s of panel.series) {
    const entry = 34 + ctx.measureText(s.name).width;
    if (lx > plotX && lx + entry > left + w) { lx = plotX; row += 1; }
    legend.push({ s, x: lx, row, right: lx + entry });
    lx += entry + 18;
  }
  const layout = { rows: row + 1, overflow: Math.max(0, ...legend.map((e) => Math.ceil(e.right - (left + w)))) };
  ctx.font = `${font}px ${family}`;
  const legendH = font * 1.8 * (row + 1);
  const plot = {
    x: plotX,
    y: top + legendH + font * 0.5,
  };
  plot.w = left + w - plot.x - 6;
  plot.h = top + h - plot.y - font * 3.2;
  if (plot.w < 20 || plot.h < 20) return layout;

  let xmax = 0;
  for (const s of panel.series) for (const v of s.x) if (v !== null && v > xmax) xmax = v;
  if (!(xmax > 0)) xmax = 1;
  const X = (v) => plot.x + (v / xmax) * plot.w;
  const Y = (v) => plot.y + plot.h - ((v - panel.ymin) / (panel.ymax - panel.ymin)) * plot.h;

  // grid and tick labels
  ctx.lineWidth = 1;
  ctx.strokeStyle = GRID;
  ctx.fillStyle = INK;
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  for (const t of yTicks) {
    ctx.beginPath();
    ctx.moveTo(plot.x, Y(t));
    ctx.lineTo(plot.x + plot.w, Y(t));
    ctx.stroke();
    ctx.fillText(label(t, panel.percent), plot.x - 6, Y(t));
  }
  ctx.textAlign = "center";
  ctx.textBaseline = "top";
  const xTicks = ticks(0, xmax, Math.max(2, Math.floor(plot.w / (font * 6))));
  for (const t of xTicks) {
    ctx.beginPath();
    ctx.moveTo(X(t), plot.y);
    ctx.lineTo(X(t), plot.y + plot.h);
    ctx.stroke();
    // the last label ends at the panel's edge rather than past it
    const half = ctx.measureText(label(t, false)).width / 2;
    ctx.fillText(label(t, false), Math.min(X(t), left + w - half), plot.y + plot.h + 6);
  }
  // axis titles
  ctx.fillText(panel.xlabel, plot.x + plot.w / 2, plot.y + plot.h + font * 1.7);
  ctx.save();
  ctx.translate(left + font * 0.2, plot.y + plot.h / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.textBaseline = "top";
  ctx.fillText(panel.ylabel, 0, 0);
  ctx.restore();

  // reference line (ln 10 for the loss)
  ctx.save();
  ctx.beginPath();
  ctx.rect(plot.x, plot.y, plot.w, plot.h);
  ctx.clip();
  if (panel.hline && panel.hline.y <= panel.ymax) {
    ctx.strokeStyle = panel.hline.color;
    ctx.setLineDash([2, 3]);
    ctx.beginPath();
    ctx.moveTo(plot.x, Y(panel.hline.y));
    ctx.lineTo(plot.x + plot.w, Y(panel.hline.y));
    ctx.stroke();
    ctx.setLineDash([]);
    ctx.fillStyle = panel.hline.color;
    ctx.textAlign = "right";
    const room = plot.w - 8; // a label wider than the plot gets smaller type, not cut off by the clip
    const wide = ctx.measureText(panel.hline.label).width;
    if (wide > room) ctx.font = `${Math.max(9, Math.floor((font * room) / wide))}px ${family}`;
    // above the line, or below it when the plot's top leaves no room for a line of text
    const above = Y(panel.hline.y) - plot.y > font * 1.2;
    ctx.textBaseline = above ? "bottom" : "top";
    ctx.fillText(panel.hline.label, plot.x + plot.w - 4, Y(panel.hline.y) + (above ? -2 : 3));
    ctx.font = `${font}px ${family}`;
  }
  // where a live knob changed (the learning rate, ...): a dotted line and its label
  (panel.vlines || []).forEach((m, i) => {
    if (!(m.x >= 0 && m.x <= xmax)) return;
    ctx.strokeStyle = m.color;
    ctx.lineWidth = 2;
    ctx.setLineDash([3, 3]);
    ctx.beginPath();
    ctx.moveTo(X(m.x), plot.y);
    ctx.lineTo(X(m.x), plot.y + plot.h);
    ctx.stroke();
    ctx.setLineDash([]);
    ctx.fillStyle = "#9a6700";
    ctx.textAlign = "left";
    ctx.textBaseline = "top";
    ctx.fillText(m.label, X(m.x) + 4, plot.y + 2 + (i % 3) * font * 1.2);
  });
  // the curves: a null breaks the line, as in Plotly
  for (const s of panel.series) {
    ctx.globalAlpha = s.alpha;
    ctx.strokeStyle = s.color;
    ctx.lineWidth = s.width;
    ctx.lineJoin = "round";
    ctx.beginPath();
    let pen = false;
    for (let i = 0; i < s.x.length; i++) {
      const xv = s.x[i], yv = s.y[i];
      if (xv === null || yv === null) { pen = false; continue; }
      if (pen) ctx.lineTo(X(xv), Y(yv)); else ctx.moveTo(X(xv), Y(yv));
      pen = true;
    }
    ctx.stroke();
    if (s.x.length <= 30) { // few points: mark them, as the accuracy figure does
      ctx.fillStyle = s.color;
      for (let i = 0; i < s.x.length; i++) {
        if (s.x[i] === null || s.y[i] === null) continue;
        ctx.beginPath();
        ctx.arc(X(s.x[i]), Y(s.y[i]), 3, 0, 2 * Math.PI);
        ctx.fill();
      }
    }
  }
  ctx.globalAlpha = 1;
  ctx.restore();

  // legend above the plot (laid out at the top)
  ctx.font = `${font - 1}px ${family}`;
  ctx.textAlign = "left";
  ctx.textBaseline = "middle";
  for (const { s, x, row: r } of legend) {
    const ly = top + font * 1.8 * (r + 0.5);
    ctx.globalAlpha = Math.max(s.alpha, 0.35);
    ctx.strokeStyle = s.color;
    ctx.lineWidth = Math.max(s.width, 2);
    ctx.beginPath();
    ctx.moveTo(x, ly);
    ctx.lineTo(x + 28, ly);
    ctx.stroke();
    ctx.globalAlpha = 1;
    ctx.fillStyle = INK;
    ctx.fillText(s.name, x + 34, ly);
  }
  return layout;
}

function draw(canvas, data) {
  const width = canvas.clientWidth;
  const height = data.height;
  if (!width) return;
  const ratio = window.devicePixelRatio || 1;
  if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
    canvas.style.height = `${height}px`;
  }
  const ctx = canvas.getContext("2d");
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, width, height);
  const total = data.weights.reduce((a, b) => a + b, 0);
  const usable = width - GAP * (data.panels.length - 1);
  let x = 0;
  const layouts = data.panels.map((panel, i) => {
    const w = (usable * data.weights[i]) / total;
    const layout = drawPanel(ctx, panel, { x, y: 0, w, h: height }, data.font, data.family);
    x += w + GAP;
    return layout;
  });
  // for tests: each panel's legend rows, and how far any legend entry runs past its panel (0: none)
  canvas.dataset.legendRows = layouts.map((l) => l.rows).join(",");
  canvas.dataset.legendOverflow = String(Math.max(0, ...layouts.map((l) => l.overflow)));
}

export default function (component) {
  const { parentElement } = component;
  // one JSON text (pages/components/live_curves/__init__.py encodes it once)
  const data = typeof component.data === "string" ? JSON.parse(component.data) : component.data;
  const canvas = parentElement.querySelector("canvas");
  if (!canvas || !data || !Array.isArray(data.panels)) return;
  if (typeof data.label === "string") canvas.setAttribute("aria-label", data.label);
  if (!last.has(canvas)) {
    new ResizeObserver(() => draw(canvas, last.get(canvas))).observe(canvas);
  }
  last.set(canvas, data);
  draw(canvas, data);
}

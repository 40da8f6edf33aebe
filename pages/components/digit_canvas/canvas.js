// A canvas to draw a digit on, for Streamlit's components v2 (no build step, no network).
//
// Pointer events, so a mouse, a finger or a pen all draw. When a stroke ends, the ink is sent to
// Python as the state value "image": {width: 56, height: 56, ink: [3136 numbers 0..255, row by row]},
// each the mean ink of a 5x5 block of the 280x280 canvas. Clear sends null. Python checks the message
// (backprop.inspect.drawing_from_payload) before using it.

const SIZE = 280; // canvas pixels per side
const GRID = 56; // cells per side sent to Python: SIZE / GRID = 5 canvas pixels per cell
const PEN = 24; // stroke width: a digit 200 px tall ends up with MNIST's 2-3 px strokes at 20 px
const INK = "#111111";

// Streamlit calls the default export again on every rerun with the same DOM; the handlers must be
// bound once per canvas, so each canvas remembers its setup here.
const setups = new WeakMap();

function inkGrid(ctx) {
  const alpha = ctx.getImageData(0, 0, SIZE, SIZE).data; // RGBA bytes; alpha is the ink
  const block = SIZE / GRID;
  const sums = new Float64Array(GRID * GRID);
  for (let y = 0; y < SIZE; y++) {
    const row = Math.floor(y / block) * GRID;
    for (let x = 0; x < SIZE; x++) {
      sums[row + Math.floor(x / block)] += alpha[(y * SIZE + x) * 4 + 3];
    }
  }
  const ink = new Array(GRID * GRID);
  for (let i = 0; i < ink.length; i++) ink[i] = Math.round(sums[i] / (block * block));
  return ink;
}

function setUp(canvas, clearButton, setup) {
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
  ctx.lineWidth = PEN;
  ctx.strokeStyle = INK;
  ctx.fillStyle = INK;
  let drawing = null; // the pointerId of the stroke in progress
  let last = null;

  const point = (e) => {
    const r = canvas.getBoundingClientRect();
    return [((e.clientX - r.left) * SIZE) / r.width, ((e.clientY - r.top) * SIZE) / r.height];
  };
  const dot = ([x, y]) => {
    ctx.beginPath();
    ctx.arc(x, y, PEN / 2, 0, 2 * Math.PI);
    ctx.fill();
  };
  const lineTo = (p) => {
    ctx.beginPath();
    ctx.moveTo(last[0], last[1]);
    ctx.lineTo(p[0], p[1]);
    ctx.stroke();
    last = p;
  };

  canvas.addEventListener("pointerdown", (e) => {
    if (drawing !== null || (e.pointerType === "mouse" && e.button !== 0)) return;
    e.preventDefault();
    canvas.setPointerCapture(e.pointerId);
    drawing = e.pointerId;
    last = point(e);
    dot(last);
  });
  canvas.addEventListener("pointermove", (e) => {
    if (e.pointerId !== drawing) return;
    e.preventDefault();
    const events = e.getCoalescedEvents ? e.getCoalescedEvents() : [e];
    for (const ev of events.length ? events : [e]) lineTo(point(ev));
  });
  const end = (e) => {
    if (e.pointerId !== drawing) return;
    drawing = null;
    last = null;
    setup.send("image", { width: GRID, height: GRID, ink: inkGrid(ctx) });
  };
  canvas.addEventListener("pointerup", end);
  canvas.addEventListener("pointercancel", end);
  clearButton.addEventListener("click", () => {
    ctx.clearRect(0, 0, SIZE, SIZE);
    setup.send("image", null);
  });
}

export default function (component) {
  const { parentElement, setStateValue, data } = component;
  const canvas = parentElement.querySelector("canvas");
  const clearButton = parentElement.querySelector(".digit-canvas-clear");
  const hint = parentElement.querySelector(".digit-canvas-hint");
  if (!canvas || !clearButton) return;
  // Words come from the page's text catalogue; textContent, never HTML.
  if (data && typeof data === "object") {
    if (typeof data.clear === "string") clearButton.textContent = data.clear;
    if (typeof data.hint === "string") hint.textContent = data.hint;
    if (typeof data.label === "string") canvas.setAttribute("aria-label", data.label);
  }
  const known = setups.get(canvas);
  if (known) {
    known.send = setStateValue; // the newest callback from this rerun
    return;
  }
  const setup = { send: setStateValue };
  setups.set(canvas, setup);
  setUp(canvas, clearButton, setup);
}

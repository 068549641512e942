// A small line chart on canvas: a few series over time, drawn again on
// every refresh. No library: the console must work without a CDN.

export const colors = ['#2f6fed', '#d98c00', '#d23c3c', '#1a9b54'];

// draw plots series [{label, values: [number|null]}] on canvas; times are
// unix seconds (one per value), format turns a y value into text.
export function draw(canvas, times, series, format) {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth || 400, h = canvas.clientHeight || 180;
  if (canvas.width !== w * dpr || canvas.height !== h * dpr) {
    canvas.width = w * dpr;
    canvas.height = h * dpr;
  }
  const g = canvas.getContext('2d');
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.clearRect(0, 0, w, h);
  const left = 52, right = 8, top = 8, bottom = 20;
  let max = 0;
  for (const s of series) for (const v of s.values) if (v != null && v > max) max = v;
  max = niceMax(max);
  const x = i => left + (times.length < 2 ? 0 : (i / (times.length - 1)) * (w - left - right));
  const y = v => top + (1 - v / max) * (h - top - bottom);
  g.font = '11px system-ui, sans-serif';
  g.fillStyle = '#6a7282';
  g.strokeStyle = '#e2e5ea';
  g.lineWidth = 1;
  for (let k = 0; k <= 4; k++) {
    const v = (max * k) / 4, yy = Math.round(y(v)) + 0.5;
    g.beginPath(); g.moveTo(left, yy); g.lineTo(w - right, yy); g.stroke();
    g.fillText(format(v), 4, yy + 4);
  }
  if (times.length > 1) {
    for (const i of [0, times.length - 1]) {
      const label = new Date(times[i] * 1000).toLocaleTimeString(document.documentElement.lang);
      g.fillText(label, i === 0 ? left : w - right - g.measureText(label).width, h - 4);
    }
  }
  series.forEach((s, n) => {
    g.strokeStyle = colors[n % colors.length];
    g.lineWidth = 1.6;
    g.beginPath();
    let pen = false;
    s.values.forEach((v, i) => {
      if (v == null) { pen = false; return; }
      if (pen) g.lineTo(x(i), y(v)); else g.moveTo(x(i), y(v));
      pen = true;
    });
    g.stroke();
    // A lone point (traffic in one second only) has no line: a dot shows it.
    g.fillStyle = g.strokeStyle;
    s.values.forEach((v, i) => {
      if (v != null && s.values[i - 1] == null && s.values[i + 1] == null) {
        g.beginPath(); g.arc(x(i), y(v), 2.5, 0, 2 * Math.PI); g.fill();
      }
    });
  });
}

// tick writes an axis value with no more decimals than it needs.
export function tick(v) {
  return String(+v.toFixed(v >= 100 ? 0 : v >= 1 ? 1 : 2));
}

function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 2.5, 5, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}

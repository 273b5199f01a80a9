// The learning curve on a canvas: the mean training return (last 100 episodes) against real steps as a
// line, and each greedy episode of the policy being trained as a dot.

export interface CurveData {
  /** [real steps, mean return] per update. */
  line: [number, number][];
  /** [real steps, greedy episode return]. */
  dots: [number, number][];
}

const MARGIN = { left: 52, right: 12, top: 12, bottom: 30 };

export function drawCurve(canvas: HTMLCanvasElement, data: CurveData): void {
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  const { width, height } = canvas;
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, width, height);
  const points = [...data.line, ...data.dots];
  const maxSteps = Math.max(1, ...points.map(([s]) => s));
  const values = points.map(([, r]) => r);
  const low = Math.min(-200, ...values);
  const high = Math.max(250, ...values);
  const x = (s: number) => MARGIN.left + (s / maxSteps) * (width - MARGIN.left - MARGIN.right);
  const y = (r: number) => MARGIN.top + ((high - r) / (high - low)) * (height - MARGIN.top - MARGIN.bottom);
  ctx.font = '11px sans-serif';
  ctx.strokeStyle = '#ddd';
  ctx.fillStyle = '#555';
  ctx.textAlign = 'right';
  const tick = high - low > 800 ? 200 : 100;
  for (let r = Math.ceil(low / tick) * tick; r <= high; r += tick) {
    ctx.beginPath();
    ctx.moveTo(MARGIN.left, y(r));
    ctx.lineTo(width - MARGIN.right, y(r));
    ctx.stroke();
    ctx.fillText(String(r), MARGIN.left - 6, y(r) + 4);
  }
  ctx.textAlign = 'center';
  ctx.fillText(`real steps (0 to ${maxSteps.toLocaleString('en')})`, width / 2, height - 8);
  ctx.strokeStyle = '#2a6fdb';
  ctx.lineWidth = 2;
  ctx.beginPath();
  for (const [i, [s, r]] of data.line.entries()) {
    if (i === 0) ctx.moveTo(x(s), y(r));
    else ctx.lineTo(x(s), y(r));
  }
  ctx.stroke();
  ctx.fillStyle = '#e07b00';
  for (const [s, r] of data.dots) {
    ctx.beginPath();
    ctx.arc(x(s), y(r), 3, 0, 2 * Math.PI);
    ctx.fill();
  }
}

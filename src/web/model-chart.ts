// The model-based agent's two extra charts: a real episode's path with the model's open-loop prediction of
// it beside it, and the model's open-loop error at the horizon with the horizon H, against real steps.
import type { ModelPath } from './protocol.ts';

const MARGIN = 36;

function clear(canvas: HTMLCanvasElement): CanvasRenderingContext2D | null {
  const ctx = canvas.getContext('2d');
  if (!ctx) return null;
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.font = '11px sans-serif';
  return ctx;
}

function polyline(ctx: CanvasRenderingContext2D, xs: number[], ys: number[], colour: string): void {
  ctx.strokeStyle = colour;
  ctx.lineWidth = 2;
  ctx.beginPath();
  for (let i = 0; i < xs.length; i++) {
    if (i === 0) ctx.moveTo(xs[i]!, ys[i]!);
    else ctx.lineTo(xs[i]!, ys[i]!);
  }
  ctx.stroke();
}

export interface PathBounds {
  x0: number;
  x1: number;
  y0: number;
  y1: number;
}

/**
 * The box the two paths are drawn in: at least the screen's width and the usual height, widened to every
 * point whose x and y are both finite (a model that diverges predicts NaN or Infinity for some steps).
 */
export function pathBounds(path: ModelPath): PathBounds {
  const xs: number[] = [];
  const ys: number[] = [];
  for (const flat of [path.real, path.predicted]) {
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const [x, y] = [flat[i]!, flat[i + 1]!];
      if (Number.isFinite(x) && Number.isFinite(y)) {
        xs.push(x);
        ys.push(y);
      }
    }
  }
  return {
    x0: Math.min(-1, ...xs),
    x1: Math.max(1, ...xs),
    y0: Math.min(0, ...ys),
    y1: Math.max(1.6, ...ys),
  };
}

/** Positions in the observation's units (x in [-1, 1] across the screen, y 0 at the pad). */
export function drawModelPath(canvas: HTMLCanvasElement, path: ModelPath): void {
  const ctx = clear(canvas);
  if (!ctx) return;
  const { width, height } = canvas;
  const { x0, x1, y0, y1 } = pathBounds(path);
  const px = (x: number) => MARGIN + ((x - x0) / (x1 - x0)) * (width - 2 * MARGIN);
  const py = (y: number) => height - MARGIN - ((y - y0) / (y1 - y0)) * (height - 2 * MARGIN);
  ctx.strokeStyle = '#ccc';
  ctx.beginPath();
  ctx.moveTo(px(x0), py(0));
  ctx.lineTo(px(x1), py(0));
  ctx.stroke();
  ctx.fillStyle = '#999';
  ctx.fillRect(px(-0.2), py(0) - 2, px(0.2) - px(-0.2), 4);
  for (const [flat, colour] of [
    [path.real, '#222'],
    [path.predicted, '#d0342c'],
  ] as const) {
    const points = flat.length / 2;
    polyline(
      ctx,
      Array.from({ length: points }, (_, i) => px(flat[2 * i]!)),
      Array.from({ length: points }, (_, i) => py(flat[2 * i + 1]!)),
      colour,
    );
  }
  ctx.fillStyle = '#222';
  ctx.fillText(`real path (black) and the model's open-loop path (red), after ${path.label}`, MARGIN, 16);
}

export interface ModelCurve {
  /** [real steps, open-loop error at H, H] per iteration (error null on the first). */
  points: [number, number | null, number][];
}

export function drawModelCurve(canvas: HTMLCanvasElement, curve: ModelCurve): void {
  const ctx = clear(canvas);
  if (!ctx) return;
  const { width, height } = canvas;
  const maxSteps = Math.max(1, ...curve.points.map(([s]) => s));
  const errors = curve.points.map(([, e]) => e).filter((e): e is number => e !== null);
  const maxError = Math.max(1, ...errors);
  const maxHorizon = Math.max(10, ...curve.points.map(([, , h]) => h));
  const px = (s: number) => MARGIN + (s / maxSteps) * (width - 2 * MARGIN);
  const py = (v: number, max: number) => height - MARGIN - (v / max) * (height - 2 * MARGIN);
  const withError = curve.points.filter(([, e]) => e !== null) as [number, number, number][];
  polyline(
    ctx,
    withError.map(([s]) => px(s)),
    withError.map(([, e]) => py(e, maxError)),
    '#d0342c',
  );
  polyline(
    ctx,
    curve.points.map(([s]) => px(s)),
    curve.points.map(([, , h]) => py(h, maxHorizon)),
    '#2a6fdb',
  );
  ctx.fillStyle = '#222';
  ctx.fillText(`red: open-loop error at H (left, 0 to ${maxError.toFixed(2)})`, MARGIN, 16);
  ctx.fillText(`blue: horizon H (right, 0 to ${maxHorizon})`, MARGIN, 30);
  ctx.textAlign = 'center';
  ctx.fillText(`real steps (0 to ${maxSteps.toLocaleString('en')})`, width / 2, height - 10);
  ctx.textAlign = 'left';
}

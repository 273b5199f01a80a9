/**
 * The page: settings and buttons, the worker that trains, the lander canvas and the learning curve. The
 * engine runs only in the worker; this script draws. The worker's code is inlined (WORKER_SOURCE, set by
 * build.ts) and started from a blob, so the page also runs from a file:// address, where browsers refuse
 * to start a worker from a file.
 */
import { defaultSimpleConfig } from '../rl/simple-config.ts';
import { type CurveData, drawCurve } from './chart.ts';
import { EpisodePlayer } from './episode-player.ts';
import { LANDERS, type LanderKind } from './landers.ts';
import { drawModelCurve, drawModelPath, type ModelCurve } from './model-chart.ts';
import { AGENTS, type AgentKind, type Episode, type FromWorker, type ToWorker } from './protocol.ts';

declare const WORKER_SOURCE: string;

function element<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found) throw new Error(`page: no element #${id} in index.html`);
  return found as T;
}

const ui = {
  lander: element<HTMLSelectElement>('lander'),
  agent: element<HTMLSelectElement>('agent'),
  seed: element<HTMLInputElement>('seed'),
  steps: element<HTMLInputElement>('steps'),
  start: element<HTMLButtonElement>('start'),
  pause: element<HTMLButtonElement>('pause'),
  resume: element<HTMLButtonElement>('resume'),
  download: element<HTMLButtonElement>('download'),
  policyFile: element<HTMLInputElement>('policy-file'),
  status: element<HTMLParagraphElement>('status'),
  notice: element<HTMLParagraphElement>('notice'),
  rate: element<HTMLSpanElement>('rate'),
  caption: element<HTMLElement>('episode-caption'),
  landerCanvas: element<HTMLCanvasElement>('lander-canvas'),
  curveCanvas: element<HTMLCanvasElement>('curve-canvas'),
  modelPanels: element<HTMLDivElement>('model-panels'),
  modelPathCanvas: element<HTMLCanvasElement>('model-path-canvas'),
  modelCanvas: element<HTMLCanvasElement>('model-canvas'),
};

// The page's state for tests and for anyone reading the DOM: data-* attributes on <body>.
const data = document.body.dataset;
let curve: CurveData = { line: [], dots: [] };
let modelCurve: ModelCurve = { points: [] };
let engine = '';
/** What is being trained, for the status line: agent, lander and seed. */
let training = '';
/** The worker's latest error, kept for the status line once training has failed. */
let lastError = '';

function showNotice(text: string): void {
  ui.notice.textContent = text;
  ui.notice.hidden = false;
}

/** 'starting' is the page's own, between the start button and the worker's first state. */
function setState(state: 'ready' | 'starting' | 'running' | 'paused' | 'finished' | 'failed'): void {
  data.state = state;
  ui.start.disabled = false;
  ui.policyFile.disabled = false;
  ui.pause.disabled = state !== 'running';
  ui.resume.disabled = state !== 'paused';
  ui.download.disabled = state === 'ready' || state === 'starting';
}

/** The model-based agent's pace, from the defaults the page trains it with. */
function simplePace(): string {
  const c = defaultSimpleConfig;
  const steps = (n: number) => n.toLocaleString('en');
  return (
    `. The model-based agent reports once per iteration: a model fit and ${steps(c.imaginedStepsPerIteration)} ` +
    `imagined steps, tens of seconds each (the first, with ${steps(c.initialRealSteps)} random steps and a fit ` +
    'from scratch, longer).'
  );
}

function startWorker(): Worker | null {
  try {
    const url = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: 'text/javascript' }));
    return new Worker(url);
  } catch (e) {
    const why = (e as Error).message;
    showNotice(
      location.protocol === 'file:'
        ? `This browser will not start the training worker from a file:// page (${why}). Serve the folder instead: npm run web.`
        : `The training worker could not start: ${why}`,
    );
    return null;
  }
}

const worker = startWorker();
const send = (message: ToWorker, transfer: Transferable[] = []) => worker?.postMessage(message, transfer);

const player = new EpisodePlayer(ui.landerCanvas, (episode: Episode) => {
  const from =
    episode.source === 'file' ? `policy file ${episode.label}` : `the policy after ${episode.label}`;
  ui.caption.textContent = `Greedy episode of ${from}, seed ${episode.seed}: return ${episode.totalReward.toFixed(1)}`;
});

function onMessage(message: FromWorker): void {
  switch (message.type) {
    case 'ready':
      engine = `kernels ${message.kernels}${message.relaxedSimd ? ' (relaxed SIMD: fused multiply-add)' : ''}`;
      ui.status.textContent = `Ready: ${engine}. Pick a lander and a seed, then press start.`;
      setState('ready');
      return;
    case 'state':
      setState(message.state);
      ui.status.textContent =
        message.state === 'failed'
          ? `failed: ${training}: ${lastError}. Press start to train again.`
          : `${message.state}: ${training}; ${engine}`;
      if (message.state === 'running' && !ui.modelPanels.hidden) ui.status.textContent += simplePace();
      return;
    case 'update': {
      const p = message.point;
      if (p.meanReturn !== null) curve.line.push([p.steps, p.meanReturn]);
      drawCurve(ui.curveCanvas, curve);
      if (p.model) {
        modelCurve.points.push([p.steps, p.model.openLoopError, p.model.horizon]);
        drawModelCurve(ui.modelCanvas, modelCurve);
        data.modelPoints = String(modelCurve.points.length);
      }
      data.steps = String(p.steps);
      data.curvePoints = String(curve.line.length);
      data.stepsPerSecond = p.stepsPerSecond.toFixed(0);
      const mean =
        p.meanReturn === null ? 'no episode finished yet' : `mean return ${p.meanReturn.toFixed(1)}`;
      ui.rate.textContent = `Update ${p.update}: ${p.steps.toLocaleString('en')} real steps, ${mean}, ${p.stepsPerSecond.toFixed(0)} steps/s.`;
      return;
    }
    case 'episode': {
      const e = message.episode;
      if (e.source === 'file') {
        data.fileReturn = String(e.totalReward);
        data.fileSeed = String(e.seed);
      } else {
        const steps = Number(data.steps ?? 0);
        curve.dots.push([steps, e.totalReward]);
        drawCurve(ui.curveCanvas, curve);
      }
      player.play(e, e.source === 'file');
      return;
    }
    case 'model-path':
      drawModelPath(ui.modelPathCanvas, message.path);
      data.modelPaths = String(Number(data.modelPaths ?? 0) + 1);
      return;
    case 'weights': {
      const link = document.createElement('a');
      link.href = URL.createObjectURL(new Blob([message.bytes], { type: 'application/octet-stream' }));
      link.download = message.fileName;
      link.click();
      setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
      return;
    }
    case 'error':
      lastError = message.message;
      ui.status.textContent = `Error: ${message.message}`;
      console.error(`worker: ${message.message}`);
      return;
  }
}

function chosen<T extends string>(select: HTMLSelectElement, allowed: readonly T[]): T {
  const value = select.value as T;
  if (!allowed.includes(value)) throw new Error(`page: '${value}' is not one of ${allowed.join(', ')}`);
  return value;
}

/** A whole number of at least `min` from a number field; anything else is shown and thrown, naming it. */
function wholeNumber(input: HTMLInputElement, what: string, min: number): number {
  const value = Number(input.value);
  if (input.value.trim() === '' || !Number.isSafeInteger(value) || value < min) {
    ui.status.textContent = `${what} '${input.value}' is invalid; expected a whole number, ${min} or more.`;
    throw new Error(ui.status.textContent);
  }
  return value;
}

const seed = () => wholeNumber(ui.seed, 'Seed', 0);

if (worker) {
  worker.onmessage = (event: MessageEvent<FromWorker>) => onMessage(event.data);
  worker.onerror = (event) => {
    ui.status.textContent = `The training worker failed: ${event.message}`;
    console.error(ui.status.textContent);
  };
  ui.start.onclick = () => {
    const settings = {
      lander: chosen<LanderKind>(ui.lander, LANDERS),
      agent: chosen<AgentKind>(ui.agent, AGENTS),
      seed: seed(),
      steps: wholeNumber(ui.steps, 'Real steps', 1),
    };
    curve = { line: [], dots: [] };
    modelCurve = { points: [] };
    drawCurve(ui.curveCanvas, curve);
    // The last session's figures go, so nothing reading <body> mistakes them for this one's.
    for (const key of ['steps', 'curvePoints', 'stepsPerSecond', 'modelPoints', 'modelPaths'])
      delete data[key];
    setState('starting');
    ui.modelPanels.hidden = settings.agent !== 'simple';
    send({ type: 'start', settings });
    data.seed = String(settings.seed);
    training = `${ui.agent.selectedOptions[0]?.text ?? settings.agent} on the ${settings.lander} lander, seed ${settings.seed}`;
  };
  ui.pause.onclick = () => send({ type: 'pause' });
  ui.resume.onclick = () => send({ type: 'resume' });
  ui.download.onclick = () => send({ type: 'download' });
  ui.policyFile.onchange = async () => {
    const file = ui.policyFile.files?.[0];
    if (!file) return;
    try {
      const message = { lander: chosen<LanderKind>(ui.lander, LANDERS), seed: seed(), name: file.name };
      const bytes = await file.arrayBuffer();
      send({ type: 'load-policy', ...message, bytes }, [bytes]);
    } catch (e) {
      // A bad seed is already on the status line; anything else goes there too.
      if (!ui.status.textContent?.includes((e as Error).message)) ui.status.textContent = String(e);
    } finally {
      // Choosing the same file again (after fixing the seed) must fire onchange again.
      ui.policyFile.value = '';
    }
  };
}
drawCurve(ui.curveCanvas, curve);

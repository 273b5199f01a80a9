// Plays episodes on a canvas at the env's 50 frames per second. Each frame is the env's own SVG renderer
// drawn onto the canvas, so the page shows exactly what `npm run replay` shows.
import { FPS } from '../env/constants.ts';
import { renderSvg } from '../env/render-svg.ts';
import type { Episode } from './protocol.ts';

export class EpisodePlayer {
  private episode: Episode | null = null;
  private next: Episode | null = null;
  private frame = 0;
  private startedAt = 0;
  private readonly image = new Image();

  constructor(
    private readonly canvas: HTMLCanvasElement,
    private readonly onEpisode: (episode: Episode) => void,
  ) {
    this.image.onload = () => this.canvas.getContext('2d')?.drawImage(this.image, 0, 0);
    requestAnimationFrame((t) => this.tick(t));
  }

  /** Plays `episode` next: at once when `now` (a file the user chose), else when the current one ends. */
  play(episode: Episode, now: boolean): void {
    if (now || this.episode === null) this.begin(episode);
    else this.next = episode;
  }

  private begin(episode: Episode): void {
    this.episode = episode;
    this.frame = -1;
    this.startedAt = performance.now();
    this.onEpisode(episode);
  }

  private tick(time: number): void {
    const episode = this.episode;
    if (episode !== null) {
      const frame = Math.min(episode.frames.length - 1, Math.floor(((time - this.startedAt) / 1000) * FPS));
      if (frame !== this.frame && frame >= 0) {
        this.frame = frame;
        this.draw(episode, frame);
      }
      // Hold the last frame half a second, then take the next episode.
      const end = ((episode.frames.length - 1) / FPS) * 1000 + 500;
      if (time - this.startedAt > end && this.next !== null) {
        const next = this.next;
        this.next = null;
        this.begin(next);
      }
    }
    requestAnimationFrame((t) => this.tick(t));
  }

  private draw(episode: Episode, frame: number): void {
    const svg = renderSvg(episode.frames[frame]!);
    this.image.src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`;
  }
}

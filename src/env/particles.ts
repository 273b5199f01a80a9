// Exhaust particles, simulated only when the env renders (spec §1.5 step 6, Gymnasium PR #235). They live
// outside the physics world, so they can never touch the lander or change a trajectory; they are drawn only.
import { SCALE } from './constants.ts';

const PARTICLE_RADIUS = 2 / SCALE;
/** The reference decrements ttl by 0.15 per rendered frame and drops a particle once ttl < 0. */
const TTL_DECAY = 0.15;
const RESTITUTION = 0.3;

export interface Particle {
  x: number;
  y: number;
  vx: number;
  vy: number;
  ttl: number;
  /** 'main' or 'side' engine; only changes the drawn colour. */
  kind: 'main' | 'side';
}

export class ParticleSystem {
  readonly particles: Particle[] = [];

  clear(): void {
    this.particles.length = 0;
  }

  /**
   * Emits a particle at (x, y) receiving `impulse`, with the reference's densities (3.5 main, 0.7 side),
   * so that its speed matches what the reference's physical particle would get.
   */
  emit(kind: 'main' | 'side', x: number, y: number, impulseX: number, impulseY: number, ttl: number): void {
    const density = kind === 'main' ? 3.5 : 0.7;
    const mass = density * Math.PI * PARTICLE_RADIUS * PARTICLE_RADIUS;
    this.particles.push({ x, y, vx: impulseX / mass, vy: impulseY / mass, ttl, kind });
  }

  /** Moves every particle one frame, bounces it off the ground line and ages it. */
  advance(dt: number, gravity: number, groundHeightAt: (x: number) => number): void {
    let kept = 0;
    for (const p of this.particles) {
      p.vy += gravity * dt;
      p.x += p.vx * dt;
      p.y += p.vy * dt;
      const ground = groundHeightAt(p.x) + PARTICLE_RADIUS;
      if (p.y < ground) {
        p.y = ground;
        p.vy = -p.vy * RESTITUTION;
        p.vx *= 0.9;
      }
      p.ttl -= TTL_DECAY;
      if (p.ttl >= 0) this.particles[kept++] = p;
    }
    this.particles.length = kept;
  }
}

// The page's agents behind one interface (session.ts): PPO, and the model-based agent.
import { PpoSession } from './ppo-session.ts';
import type { TrainSettings } from './protocol.ts';
import { checkSettings, type TrainingSession } from './session.ts';
import { SimpleSession } from './simple-session.ts';

export function createSession(settings: TrainSettings): TrainingSession {
  checkSettings(settings);
  switch (settings.agent) {
    case 'ppo':
      return new PpoSession(settings);
    case 'simple':
      return new SimpleSession(settings);
    default:
      throw new Error(
        `agent '${String(settings.agent)}' is not offered in the page; expected 'ppo' or 'simple'`,
      );
  }
}

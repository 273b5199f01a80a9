/**
 * The lineage of a PBT member: the run its weights descend from in each round. Going back from the
 * winner's last segment, a segment that began by copying another member's checkpoint continues that
 * member's previous segment. Its values over the rounds are the schedule PBT found, and its evaluations are
 * the winner's own history (a member's own evaluations before it copied another's weights are not).
 */
import type { SegmentRecord, TrialRecord } from './sweep-state.ts';
import type { EvalPoint } from './trial-job.ts';

export interface LineageStep extends SegmentRecord {
  /** The member that trained this segment. */
  member: string;
}

export function lineage(trials: readonly TrialRecord[], winner: string): LineageStep[] {
  const byName = new Map(trials.map((t) => [t.name, t]));
  const steps: LineageStep[] = [];
  let member = byName.get(winner);
  let round = member?.segments.at(-1)?.round ?? -1;
  while (member && round >= 0) {
    const segment = member.segments.find((s) => s.round === round);
    if (!segment) break;
    steps.push({ ...segment, member: member.name });
    if (segment.copiedFrom) member = byName.get(segment.copiedFrom);
    round--;
  }
  return steps.reverse();
}

/** The evaluations along the winner's lineage: each step's member's, within the real steps of that step. */
export function lineageEvals(trials: readonly TrialRecord[], winner: string): EvalPoint[] {
  const byName = new Map(trials.map((t) => [t.name, t]));
  return lineage(trials, winner).flatMap((s) =>
    (byName.get(s.member)?.evals ?? []).filter(
      (e) => e.steps > s.fromSteps && (s.toSteps === null || e.steps <= s.toSteps),
    ),
  );
}

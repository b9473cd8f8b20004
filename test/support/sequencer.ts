import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * Starts the containers tier first, then the e2e files, then the rest. The containers file runs
 * for minutes, mostly waiting on Docker and on encodes inside the container, so it shares the pool
 * with everything else. The e2e files take turns through a lock (each starts a whole stack), so
 * they go next, one after another in the other slot from the start; the short worker and
 * container files come last and fill both slots once the containers file ends. In any other order
 * an e2e file picked up late leaves a slot waiting on the lock.
 */
export class ContainersFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (f: TestSpecification) => (f.project.name === 'containers' ? 0 : f.project.name === 'e2e' ? 1 : 2);
    return [...sorted].sort((a, b) => rank(a) - rank(b));
  }
}

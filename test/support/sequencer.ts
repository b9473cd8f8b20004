import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * Starts the containers tier first, then the e2e files, then the rest. The containers file runs
 * for minutes, mostly waiting on Docker and on encodes inside the container, so it shares the pool
 * with everything else. At most two e2e stacks run at once (test/e2e/support/lock.ts), exactly
 * the two slots the containers file leaves, so the e2e files go next and never wait for a slot of
 * the lock; the short worker and container files come last and fill every slot that frees up. In
 * any other order an e2e file picked up late can leave a slot waiting on the lock.
 */
export class ContainersFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (f: TestSpecification) => (f.project.name === 'containers' ? 0 : f.project.name === 'e2e' ? 1 : 2);
    return [...sorted].sort((a, b) => rank(a) - rank(b));
  }
}

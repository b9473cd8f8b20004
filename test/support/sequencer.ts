import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * Starts the containers tier first. Its one file runs for minutes, mostly waiting on Docker and
 * on encodes inside the container, so it shares the pool with the worker and container tiers'
 * short files; started last, it would leave one slot idle for its whole length.
 */
export class ContainersFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const containers = (f: TestSpecification) => f.project.name === 'containers';
    return [...sorted.filter(containers), ...sorted.filter((f) => !containers(f))];
  }
}

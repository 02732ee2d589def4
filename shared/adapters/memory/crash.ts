/**
 * Thrown by the in-memory ports of the test fakes and of the simulator to stand for the
 * invocation's process dying at that point (Lambda timeout, OOM, kill). Deliberately not a
 * LifeboatError, and so not in shared/errors.ts: no code under test may catch it as one of its
 * own failures, as nothing catches a real process death.
 */
export class SimulatedCrash extends Error {
  constructor(where: string) {
    super(`simulated crash ${where}`);
    this.name = 'SimulatedCrash';
  }
}

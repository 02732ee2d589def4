/**
 * A virtual clock and a queue of timed wake-ups. Everything that takes time in the simulation
 * (a port call's latency, a delivery delay, a step's backoff) is a `sleep` on this clock, so a
 * run is a deterministic sequence of wake-ups: the earliest first, ties in the order they were
 * scheduled. Nothing ever sleeps for real.
 */

interface Task {
  at: number;
  seq: number;
  wake: () => void;
}

// Lets every promise continuation that a wake-up released run to its next `sleep` (or to its
// end) before the next wake-up. There is no real I/O or timer in a run, so once the microtask
// queue is empty nothing else can move: a macrotask boundary is exactly that point.
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/** The simulation's clock and scheduler. */
export class Scheduler {
  private heap: Task[] = [];
  private seq = 0;
  /** Wake-ups processed so far: the "steps" the summary counts. */
  steps = 0;

  constructor(public now: number) {}

  /** Resolves after `ms` of virtual time. */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.schedule(this.now + Math.max(0, ms), resolve));
  }

  /** Runs `wake` at virtual time `at` (never in the past). */
  schedule(at: number, wake: () => void): void {
    this.push({ at: Math.max(at, this.now), seq: this.seq++, wake });
  }

  get pending(): number {
    return this.heap.length;
  }

  /**
   * Processes wake-ups up to `until`, calling `afterStep` after each one has settled (the
   * invariants run there). Leaves the clock at `until`.
   */
  async runUntil(until: number, afterStep: () => void): Promise<void> {
    for (;;) {
      const top = this.heap[0];
      if (!top || top.at > until) break;
      this.pop();
      this.now = top.at;
      top.wake();
      await settle();
      this.steps += 1;
      afterStep();
    }
    this.now = Math.max(this.now, until);
  }

  // A binary heap written out here rather than a dependency: forty lines, and the (at, seq)
  // tie-break that makes runs deterministic is the whole point of it.
  private push(task: Task): void {
    const heap = this.heap;
    heap.push(task);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i] as Task, heap[parent] as Task)) break;
      [heap[i], heap[parent]] = [heap[parent] as Task, heap[i] as Task];
      i = parent;
    }
  }

  private pop(): void {
    const heap = this.heap;
    const last = heap.pop() as Task;
    if (heap.length === 0) return;
    heap[0] = last;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < heap.length && before(heap[left] as Task, heap[smallest] as Task)) smallest = left;
      if (right < heap.length && before(heap[right] as Task, heap[smallest] as Task))
        smallest = right;
      if (smallest === i) return;
      [heap[i], heap[smallest]] = [heap[smallest] as Task, heap[i] as Task];
      i = smallest;
    }
  }
}

const before = (a: Task, b: Task) => a.at < b.at || (a.at === b.at && a.seq < b.seq);

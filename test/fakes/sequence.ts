/**
 * One counter shared by every fake, so a test can tell which of two calls on two different
 * fakes happened first (a pack PUT before the last source read, markers before manifests).
 */
let counter = 0;

/** The next position in the global call order. */
export function nextSeq(): number {
  counter += 1;
  return counter;
}

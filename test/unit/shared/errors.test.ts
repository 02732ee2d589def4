import { describe, expect, it } from 'vitest';
import * as errors from '../../../shared/errors.ts';
import {
  AlreadyExistsError,
  ConfigError,
  EventValidationError,
  type IntegrityProblem,
  LifeboatError,
  QuorumNotReachedError,
  SnapshotIntegrityError,
  SnapshotNotFoundError,
} from '../../../shared/errors.ts';

describe('errors', () => {
  const constructors = (Object.entries(errors) as [string, unknown][]).filter(
    (entry): entry is [string, new (...args: never[]) => Error] => typeof entry[1] === 'function',
  );

  /** Builds one instance of any error class, whatever its constructor takes. */
  function sampleOf(Ctor: new (...args: never[]) => Error): Error {
    const shapes: unknown[][] = [
      ['x', 'x', 'x'],
      ['x', 'x', [], 1],
      ['x', 'x', []],
      [1, 'x'],
      ['x', 1],
    ];
    for (const args of shapes) {
      try {
        const instance = new (Ctor as unknown as new (...a: unknown[]) => Error)(...args);
        if (typeof instance.message === 'string') return instance;
      } catch {
        // Try the next argument shape.
      }
    }
    throw new Error(`test: cannot construct ${Ctor.name}`);
  }

  it('gives each class a name ending in Error that equals the class name when constructed', () => {
    expect(constructors.length).toBeGreaterThanOrEqual(13);
    for (const [exported, Ctor] of constructors) {
      const sample = sampleOf(Ctor);
      expect(exported).toMatch(/Error$/);
      expect(sample.name).toBe(exported);
      expect(sample).toBeInstanceOf(LifeboatError);
    }
  });

  it('keeps the cause when one is passed', () => {
    const cause = new Error('socket hang up');
    expect(new AlreadyExistsError('k', { cause }).cause).toBe(cause);
    expect(new ConfigError('f.yml', 'x', 'bad', { cause }).cause).toBe(cause);
    expect(new EventValidationError('schedule', 'time', 'bad', { cause }).cause).toBe(cause);
  });

  it('leaves the field out of the message when the field is empty', () => {
    expect(new ConfigError('f.yml', '', 'cannot read').message).toBe('f.yml: cannot read');
    expect(new EventValidationError('schedule', '', 'bad').message).toBe(
      'invalid schedule event: bad',
    );
    expect(new EventValidationError('schedule', 'time', 'bad').message).toBe(
      'invalid schedule event: time: bad',
    );
  });

  it('lists the holding regions, or none, when a quorum is not reached', () => {
    expect(new QuorumNotReachedError('i', 's', ['us-east-1'], 2).message).toContain(
      'reached 1 of the 2',
    );
    expect(new QuorumNotReachedError('i', 's', [], 2).message).toContain('holding: none');
  });

  it('distinguishes a missing snapshot id from no snapshot at all when the id is omitted', () => {
    expect(new SnapshotNotFoundError('i', 'vault', '20260101T000000Z').message).toContain(
      '20260101T000000Z',
    );
    expect(new SnapshotNotFoundError('i', 'vault').message).toContain('no committed snapshot');
  });

  it('lists at most five problems and counts the rest when many are found', () => {
    const problems: IntegrityProblem[] = Array.from({ length: 7 }, (_, i) => ({
      kind: 'missing-pack',
      name: `pack-${i}`,
      affectedObjects: [`obj-${i}`],
      detail: 'absent',
    }));
    const message = new SnapshotIntegrityError('i', 's', problems).message;
    expect(message).toContain('missing-pack pack-4 (affects obj-4)');
    expect(message).not.toContain('pack-5');
    expect(message).toContain('and 2 more');
  });
});

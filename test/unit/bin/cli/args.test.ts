import { describe, expect, it } from 'vitest';
import { checkRunId, requiredRunId } from '../../../../bin/cli/args.ts';
import { regionOption } from '../../../../bin/cli/verb.ts';
import { UsageError } from '../../../../shared/errors.ts';

describe('checkRunId', () => {
  it('returns the id when it names an instance and a generation', () => {
    expect(checkRunId('petstore-g12')).toBe('petstore-g12');
  });

  it('names --run and the expected form when the id is malformed', () => {
    expect(() => checkRunId('petstore')).toThrow(UsageError);
    expect(() => checkRunId('petstore')).toThrow(
      '--run: "petstore" is not a run id (expected <instance>-g<generation>, e.g. petstore-g1)',
    );
  });
});

describe('requiredRunId', () => {
  it('names the verb when --run is missing or empty', () => {
    expect(() => requiredRunId('resume', undefined)).toThrow('resume: --run RUN_ID is required');
    expect(() => requiredRunId('approve', '')).toThrow('approve: --run RUN_ID is required');
  });

  it('checks the form when --run is given', () => {
    expect(requiredRunId('reject', 'orders-g1')).toBe('orders-g1');
    expect(() => requiredRunId('reject', 'orders-g0')).toThrow(/is not a run id/);
  });
});

describe('regionOption', () => {
  it('spells --region with the verb’s description, repeatable only when asked', () => {
    expect(regionOption('the backup region')).toEqual({
      flags: '--region <region>',
      description: 'the backup region',
    });
    expect(regionOption('a region', { repeatable: true }).repeatable).toBe(true);
  });
});

import { CommanderError } from 'commander';
import { describe, expect, it } from 'vitest';
import { EXIT, errorReport, exitCodeFor } from '../../../../bin/cli/exit-codes.ts';
import {
  ConfigError,
  RunStepError,
  SnapshotIntegrityError,
  StorageUnavailableError,
  UnknownInstanceError,
  UnknownRegionError,
  UsageError,
} from '../../../../shared/errors.ts';

describe('exitCodeFor', () => {
  it('maps every invocation error to 2 (usage)', () => {
    const usage = [
      new UsageError('plan: --region REGION is required'),
      new ConfigError('lifeboat.config.yml', 'regions', 'required'),
      new UnknownInstanceError('nope'),
      new UnknownRegionError('mars-1'),
      new CommanderError(1, 'commander.unknownOption', "error: unknown option '--x'"),
    ];
    expect(usage.map(exitCodeFor)).toEqual(usage.map(() => EXIT.usage));
  });

  it('maps a failed operation to 1 when the error is lifeboat’s own or anything else', () => {
    const failed = [
      new SnapshotIntegrityError('petstore', '20261125T010000Z', []),
      new StorageUnavailableError('s3://bucket'),
      new RunStepError('verify', 'no answer'),
      new TypeError('a bug'),
      'a string',
    ];
    expect(failed.map(exitCodeFor)).toEqual(failed.map(() => EXIT.failed));
  });
});

describe('errorReport', () => {
  it('prints lifeboat’s and the parser’s errors as one line', () => {
    expect(errorReport(new UnknownRegionError('mars-1'))).toBe('lifeboat: unknown region "mars-1"');
    expect(
      errorReport(new CommanderError(1, 'commander.unknownCommand', "error: unknown command 'x'")),
    ).toBe("lifeboat: unknown command 'x'");
  });

  it('prints only the stack of any other error, never its enumerable fields', () => {
    const error = Object.assign(new Error('SignatureDoesNotMatch'), { token: 'SECRET' });
    const report = errorReport(error);
    expect(report).toContain('Error: SignatureDoesNotMatch');
    expect(report).not.toContain('SECRET');
  });
});

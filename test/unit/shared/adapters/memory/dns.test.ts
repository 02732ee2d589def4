import { describe, expect, it } from 'vitest';
import { MemoryDns } from '../../../../../shared/adapters/memory/dns.ts';
import { InvalidWeightsError } from '../../../../../shared/errors.ts';

describe('MemoryDns', () => {
  it('applies a change over the pre-created records, keeping the regions it does not name', () => {
    const dns = new MemoryDns();
    dns.create('petstore', { 'us-east-1': 100, 'us-west-2': 0 });

    const now = dns.apply('petstore', { 'us-west-2': 10 });

    expect(now).toEqual({ 'us-east-1': 100, 'us-west-2': 10 });
    expect(dns.read('petstore')).toEqual(now);
  });

  it('refuses a change when the records were never created', () => {
    expect(() => new MemoryDns().apply('petstore', { 'us-east-1': 100 })).toThrow(
      InvalidWeightsError,
    );
  });

  it('refuses weights the weight rule rejects and leaves the records as they were', () => {
    const dns = new MemoryDns();
    dns.create('petstore', { 'us-east-1': 100, 'us-west-2': 0 });

    expect(() => dns.apply('petstore', { 'eu-west-1': 50 })).toThrow(/not a region of the record/);
    expect(() => dns.apply('petstore', { 'us-east-1': 256 })).toThrow(/0–255/);
    expect(() => dns.apply('petstore', { 'us-east-1': 0 })).toThrow(/every weight is 0/);
    expect(dns.read('petstore')).toEqual({ 'us-east-1': 100, 'us-west-2': 0 });
  });

  it('checks a change without applying it when asked only to check', () => {
    const dns = new MemoryDns();
    dns.create('petstore', { 'us-east-1': 100, 'us-west-2': 0 });

    dns.check('petstore', { 'us-west-2': 100 });

    expect(dns.read('petstore')).toEqual({ 'us-east-1': 100, 'us-west-2': 0 });
  });

  it('returns a copy, so a caller cannot change the records by editing what it read', () => {
    const dns = new MemoryDns();
    dns.create('petstore', { 'us-east-1': 100 });

    const read = dns.read('petstore');
    read['us-east-1'] = 5;

    expect(dns.read('petstore')).toEqual({ 'us-east-1': 100 });
  });
});

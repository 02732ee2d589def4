import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FUNCTIONS, NOTIFY_ROUTE, ROUTES } from '../../../shared/domain/events.ts';

const DOC = readFileSync(new URL('../../../docs/architecture.md', import.meta.url), 'utf8');

describe('docs/architecture.md', () => {
  it('lists every route of the event catalog with its handler and domain code', () => {
    // Biome pads the table's cells; compare them with single spaces.
    const rows = DOC.split('\n')
      .filter((line) => /^\| `[a-z-]+` +\|/.test(line))
      .map((line) => line.replace(/ {2,}/g, ' '));
    const expected = [...ROUTES, NOTIFY_ROUTE].map((r) => {
      const f = FUNCTIONS[r.fn];
      const event = `${r.pattern.source.join(',')} / ${r.pattern['detail-type'].join(', ')}`;
      return `| \`${r.rule}\` | ${event} | ${r.bus} | ${r.regions} | \`${r.fn}\` | [${f.handler}](../${f.handler}) | [${f.domain}](../${f.domain}) |`;
    });
    expect(rows).toEqual(expected);
  });
});

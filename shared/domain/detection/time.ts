/** Time arithmetic on the ISO strings the state keeps. */

export const ms = (iso: string) => Date.parse(iso);
export const secondsBetween = (from: string, to: string) => (ms(to) - ms(from)) / 1000;
export const laterOf = (a: string, b: string) => (ms(a) >= ms(b) ? a : b);
export const earliest = (times: readonly string[]) =>
  times.reduce<string | undefined>(
    (min, t) => (min === undefined || ms(t) < ms(min) ? t : min),
    undefined,
  );
export const compact = (iso: string) =>
  new Date(iso)
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/[-:]/g, '');

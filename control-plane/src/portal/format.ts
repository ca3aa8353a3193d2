import { DateTime } from 'luxon';

/** A time as people read it, in the client's zone: "7 Dec 2026, 14:05 EST" (raw ISO stays in <time datetime>). */
export function when(iso: string | null | undefined, zone: string): string {
  if (!iso) return '';
  const t = DateTime.fromISO(iso, { zone });
  return t.isValid ? t.toFormat('d LLL yyyy, HH:mm ZZZZ') : '';
}

/** A share as a percentage with three decimals (99.950 %), or "no data". */
export function percent(share: number | null | undefined): string {
  return typeof share === 'number' ? `${(share * 100).toFixed(3)} %` : 'no data';
}

/** A month key (2026-11) as "November 2026". */
export function monthName(month: string): string {
  const t = DateTime.fromFormat(month, 'yyyy-MM', { zone: 'utc' });
  return t.isValid ? t.toFormat('LLLL yyyy') : month;
}

/** A length of time as people say it: "45 s", "12 min", "3 h 5 min". */
export function duration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  const m = Math.round(s / 60);
  return m < 60 ? `${m} min` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

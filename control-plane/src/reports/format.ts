import { DateTime } from 'luxon';

/** How a report writes its figures, the same in HTML and PDF (tests look for these strings). */
export const pct = (x: number | null, digits = 4) =>
  x === null ? 'no data' : `${(x * 100).toFixed(digits)} %`;

/** 5400 -> "1 h 30 min", 1200 -> "20 min", 45 -> "45 s", 93784 -> "1 d 2 h 3 min 4 s". */
export function duration(seconds: number | null): string {
  if (seconds === null) return '-';
  let s = Math.round(seconds);
  if (s === 0) return '0 s';
  const parts: string[] = [];
  for (const [unit, n] of [
    ['d', 86400],
    ['h', 3600],
    ['min', 60],
    ['s', 1],
  ] as const) {
    if (s >= n) {
      parts.push(`${Math.floor(s / n)} ${unit}`);
      s %= n;
    }
  }
  return parts.join(' ');
}

/** An instant in the client's zone with its abbreviation: "2026-10-25 01:30 BST". */
export const local = (iso: string, zone: string) =>
  DateTime.fromISO(iso, { zone }).toFormat('yyyy-MM-dd HH:mm ZZZZ');

export const monthTitle = (month: string) =>
  DateTime.fromFormat(month, 'yyyy-MM', { zone: 'UTC' }).toFormat('LLLL yyyy');

export const metText = (met: boolean | null) => (met === null ? 'no data' : met ? 'met' : 'missed');

/** 1536 -> "1.5 KiB", 3.2e9 -> "3.0 GiB": binary units, as the dashboards show bytes. */
export function bytes(n: number | null): string {
  if (n === null) return 'no data';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = Math.abs(n);
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${n < 0 ? '-' : ''}${i === 0 ? v.toFixed(0) : v.toFixed(1)} ${units[i]}`;
}

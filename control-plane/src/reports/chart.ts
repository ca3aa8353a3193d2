import { pct } from './format.ts';
import type { MonthlyReport } from './types.ts';

/** How one day of the daily chart is drawn, the same in HTML and PDF. */
export type DayBar =
  | { date: string; kind: 'no-data'; text: string }
  | { date: string; kind: 'met' | 'missed'; uptime: number; clipped: boolean; text: string };

/**
 * The chart's floor: a fixed scale per target, never stretched down to the worst day, so that the target line
 * and a 99 % day stay visibly apart (at 99.9 % the axis runs from 98 %, the 99 % line halfway up). A day below
 * the floor is drawn to the bottom and labelled with its figure.
 */
export function chartFloor(target: number): number {
  return Math.max(0, Math.min(0.98, target - 2 * (1 - target)));
}

/** Each day as a bar; a day measured for less than the report's minimum share is "no data", never 100 %. */
export function dayBars(r: MonthlyReport): DayBar[] {
  const floor = chartFloor(r.target);
  const min = r.minMeasuredShare ?? 0;
  return r.daily.map((d) => {
    const share = d.measuredShare;
    if (d.uptime === null || (share !== undefined && (share === null || share < min)))
      return {
        date: d.date,
        kind: 'no-data',
        text:
          d.uptime === null
            ? `${d.date}: no data (not measured)`
            : `${d.date}: no data (${pct(share ?? 0, 1)} of the day measured)`,
      };
    return {
      date: d.date,
      kind: d.uptime >= r.target ? 'met' : 'missed',
      uptime: d.uptime,
      clipped: d.uptime < floor,
      text: `${d.date}: ${pct(d.uptime, 3)}`,
    };
  });
}

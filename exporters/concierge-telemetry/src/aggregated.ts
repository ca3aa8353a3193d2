/**
 * The concierge's own instruments, aggregated in place. Their labels are a closed set (catalog.ts), so each
 * label combination is a cell found by its values, and a record is a map lookup and an addition. Through the
 * SDK a record also copies, checks and hashes its attribute object, per call; in bench:telemetry-overhead
 * that was most of what the metrics cost a request. Every reader (the pull endpoint, the OTLP push) collects
 * the cells through `producer`, a MetricProducer, next to the SDK's own instruments: same names, units,
 * descriptions and buckets, cumulative, in the library's scope.
 *
 * A value outside its label's set becomes `other` before it picks a cell (what the redaction View does for
 * SDK instruments), so a bad value can neither leave the process nor grow the set of cells.
 */
import { ValueType, type Attributes, type HrTime } from '@opentelemetry/api';
import {
  AggregationTemporality,
  DataPointType,
  type CollectionResult,
  type MetricData,
  type MetricProducer,
} from '@opentelemetry/sdk-metrics';
import { METRIC_LABEL_VALUES, type MetricSpec } from './catalog.ts';

/** Records one value with the instrument's label values, in the catalog's label order. */
export type Record2 = (value: number, a: string, b?: string) => void;

interface Cell {
  readonly attributes: Attributes;
  sum: number;
  count: number;
  min: number;
  max: number;
  /** Histograms: one count per bucket, the last for values above every bound. */
  readonly counts: number[] | undefined;
}

function hrNow(): HrTime {
  const ms = performance.timeOrigin + performance.now();
  return [Math.floor(ms / 1000), Math.round((ms % 1000) * 1e6)];
}

/** One instrument's cells. */
class Aggregate {
  private readonly cells = new Map<string, Cell>();
  private readonly allowed: (ReadonlySet<string> | undefined)[];
  private readonly bounds: number[];
  readonly record: Record2;

  constructor(readonly spec: MetricSpec) {
    this.allowed = spec.labels.map((l) => {
      const values = METRIC_LABEL_VALUES[l];
      return values && new Set(values);
    });
    this.bounds = [...(spec.buckets ?? [])];
    const histogram = spec.kind === 'histogram';
    const monotonic = spec.kind !== 'updowncounter';
    this.record = (value, a, b) => {
      // As the SDK: a counter takes no negative value, a histogram none below zero, nobody NaN.
      if (!(value >= 0) && (monotonic || Number.isNaN(value))) return;
      const key = b === undefined ? a : `${a}\u0000${b}`;
      const cell = this.cells.get(key) ?? this.cell(a, b);
      cell.sum += value;
      cell.count++;
      if (histogram) {
        if (value < cell.min) cell.min = value;
        if (value > cell.max) cell.max = value;
        const bounds = this.bounds;
        let i = 0;
        while (i < bounds.length && value > bounds[i]!) i++;
        cell.counts![i]!++;
      }
    };
  }

  /**
   * The cell of a key not seen yet: under the values as given when all are allowed, else under `other`. Only
   * clean keys are kept, so the map stays as small as the catalog (a bad value is cleaned on every record).
   */
  private cell(...given: (string | undefined)[]): Cell {
    const values = this.spec.labels.map((_, i) => {
      const v = given[i];
      return typeof v === 'string' && this.allowed[i]?.has(v) ? v : 'other';
    });
    const clean = values.join('\u0000');
    let cell = this.cells.get(clean);
    if (!cell) {
      cell = {
        attributes: Object.fromEntries(this.spec.labels.map((l, i) => [l, values[i]!])),
        sum: 0,
        count: 0,
        min: Infinity,
        max: -Infinity,
        counts:
          this.spec.kind === 'histogram' ? new Array<number>(this.bounds.length + 1).fill(0) : undefined,
      };
      this.cells.set(clean, cell);
    }
    return cell;
  }

  data(startTime: HrTime, endTime: HrTime): MetricData | undefined {
    const cells = [...this.cells.values()];
    if (cells.length === 0) return undefined;
    const descriptor = {
      name: this.spec.name,
      description: this.spec.description,
      unit: this.spec.unit,
      valueType: ValueType.DOUBLE,
    };
    const temporality = AggregationTemporality.CUMULATIVE;
    if (this.spec.kind === 'histogram')
      return {
        descriptor,
        aggregationTemporality: temporality,
        dataPointType: DataPointType.HISTOGRAM,
        dataPoints: cells.map((c) => ({
          startTime,
          endTime,
          attributes: c.attributes,
          value: {
            buckets: { boundaries: [...this.bounds], counts: [...c.counts!] },
            sum: c.sum,
            count: c.count,
            min: c.count > 0 ? c.min : undefined,
            max: c.count > 0 ? c.max : undefined,
          },
        })),
      };
    return {
      descriptor,
      aggregationTemporality: temporality,
      dataPointType: DataPointType.SUM,
      isMonotonic: this.spec.kind === 'counter',
      dataPoints: cells.map((c) => ({ startTime, endTime, attributes: c.attributes, value: c.sum })),
    };
  }
}

/** The cells of every concierge instrument, and the MetricProducer the readers collect them through. */
export class AggregatedInstruments {
  private readonly aggregates = new Map<string, Aggregate>();
  private readonly startTime = hrNow();
  readonly producer: MetricProducer;

  constructor(scope: { name: string; version: string }) {
    this.producer = {
      collect: (): Promise<CollectionResult> => {
        const endTime = hrNow();
        const metrics: MetricData[] = [];
        for (const a of this.aggregates.values()) {
          const d = a.data(this.startTime, endTime);
          if (d) metrics.push(d);
        }
        return Promise.resolve({
          // The reader keeps the SDK's resource; only the scope metrics are taken from here.
          resourceMetrics: { resource: undefined as never, scopeMetrics: [{ scope, metrics }] },
          errors: [],
        });
      },
    };
  }

  /** The recorder of one catalog instrument (one per name). */
  recorder(spec: MetricSpec): Record2 {
    let a = this.aggregates.get(spec.name);
    if (!a) {
      a = new Aggregate(spec);
      this.aggregates.set(spec.name, a);
    }
    return a.record;
  }
}

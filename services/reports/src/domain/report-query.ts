import { ValidationError } from '@shop/platform/errors';

/** What a sales report covers: two UTC days, both included, and how many products and customers it ranks. */
export interface ReportQuery {
  /** First day, YYYY-MM-DD. */
  from: string;
  /** Last day, YYYY-MM-DD, on or after `from`. */
  to: string;
  /** Most products and customers listed. */
  top: number;
}

export const DEFAULT_TOP = 20;
export const MAX_TOP = 100;
/** How far the last day may be from the first (the contract: "at most 366 days later"). */
export const MAX_RANGE_DAYS = 366;

const DAY_MS = 86_400_000;

/**
 * A request's fields as the contract names them, checked: real calendar days, in order,
 * a bounded range (a report reads every fact of it), a bounded ranking. Zero `top` is the
 * default, as proto3 cannot tell it from "not set".
 */
export function parseReportQuery(input: { fromDate: string; toDate: string; top: number }): ReportQuery {
  const from = dayNumber('from_date', input.fromDate);
  const to = dayNumber('to_date', input.toDate);
  if (to < from) throw new ValidationError('to_date', 'must not be before from_date');
  if (to - from > MAX_RANGE_DAYS) throw new ValidationError('to_date', `must be at most ${MAX_RANGE_DAYS} days after from_date`);
  if (!Number.isInteger(input.top) || input.top < 0 || input.top > MAX_TOP) {
    throw new ValidationError('top', `must be from 0 (the default, ${DEFAULT_TOP}) to ${MAX_TOP}`);
  }
  return { from: input.fromDate, to: input.toDate, top: input.top || DEFAULT_TOP };
}

/** Days since 1970-01-01 of a YYYY-MM-DD that names a real day (no 2026-02-30, no year 0). */
export function dayNumber(field: string, value: string): number {
  if (!value) throw new ValidationError(field, 'is required (YYYY-MM-DD)');
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (!m) throw new ValidationError(field, 'must be a date as YYYY-MM-DD');
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  // setUTCFullYear, unlike Date.UTC, takes years 1-99 as they are.
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  if (year < 1 || date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) {
    throw new ValidationError(field, `${value} is not a day of the calendar`);
  }
  return Math.round(date.getTime() / DAY_MS);
}

/** The UTC day (YYYY-MM-DD) of an RFC 3339 time, or undefined when it is not one. */
export function utcDay(time: string): string | undefined {
  const at = new Date(time);
  if (Number.isNaN(at.getTime())) return undefined;
  return at.toISOString().slice(0, 10);
}

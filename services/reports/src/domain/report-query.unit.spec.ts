import test from 'ava';
import { ValidationError } from '@shop/platform/errors';
import { dayNumber, parseReportQuery, utcDay } from './report-query.js';

const query = (fromDate: string, toDate: string, top = 0) => parseReportQuery({ fromDate, toDate, top });

/** The field a refused request names, and why. */
const refusal = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    if (err instanceof ValidationError) return { field: err.field, message: err.message };
    throw err;
  }
  throw new Error('accepted');
};

test('a range of real days, both included, with the default ranking of 20', (t) => {
  t.deepEqual(query('2026-11-01', '2026-11-30'), { from: '2026-11-01', to: '2026-11-30', top: 20 });
  t.deepEqual(query('2026-11-01', '2026-11-01', 5), { from: '2026-11-01', to: '2026-11-01', top: 5 }, 'one day is a range');
  t.is(query('2026-11-01', '2026-11-01', 100).top, 100);
});

test('a missing or malformed date names its field', (t) => {
  t.like(refusal(() => query('', '2026-11-30')), { field: 'from_date' });
  t.like(refusal(() => query('2026-11-01', '')), { field: 'to_date' });
  for (const bad of ['2026-11-1', '2026/11/01', '01-11-2026', '2026-11-01T00:00:00Z', ' 2026-11-01', '２０２６-11-01']) {
    t.like(refusal(() => query(bad, '2026-11-30')), { field: 'from_date' }, bad);
  }
});

test('a date that is not a day of the calendar is refused', (t) => {
  for (const bad of ['2026-02-29', '2026-02-30', '2026-04-31', '2026-13-01', '2026-00-10', '2026-01-00', '0000-01-01']) {
    t.like(refusal(() => query('2026-01-01', bad)), { field: 'to_date' }, bad);
  }
  t.notThrows(() => query('2028-02-29', '2028-02-29'), 'a leap day is a day');
  t.is(dayNumber('d', '0001-01-01'), -719162, 'years below 100 are taken as written');
  t.is(dayNumber('d', '1970-01-01'), 0);
  t.is(dayNumber('d', '2026-11-01') - dayNumber('d', '2025-11-01'), 365);
});

test('the last day may not come before the first', (t) => {
  t.deepEqual(refusal(() => query('2026-11-02', '2026-11-01')), { field: 'to_date', message: 'to_date: must not be before from_date' });
});

test('the last day is at most 366 days after the first', (t) => {
  t.notThrows(() => query('2024-01-01', '2025-01-01'), '366 days later (a leap year)');
  t.like(refusal(() => query('2024-01-01', '2025-01-02')), { field: 'to_date' });
  t.notThrows(() => query('2026-01-01', '2027-01-02'));
  t.like(refusal(() => query('2026-01-01', '2027-01-03')), { field: 'to_date' });
});

test('top is from 0 (the default) to 100', (t) => {
  for (const bad of [-1, 101, 1.5]) t.like(refusal(() => query('2026-11-01', '2026-11-30', bad)), { field: 'top' }, String(bad));
});

test('the UTC day of a time, whatever its offset', (t) => {
  t.is(utcDay('2026-11-02T23:59:59.999Z'), '2026-11-02');
  t.is(utcDay('2026-11-03T01:30:00+02:00'), '2026-11-02');
  t.is(utcDay('2026-11-02T22:30:00-02:00'), '2026-11-03');
  t.is(utcDay('yesterday'), undefined);
});

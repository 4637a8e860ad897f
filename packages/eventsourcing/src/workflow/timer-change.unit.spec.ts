import test from 'ava';
import { timerChange, type TimerRow } from './runtime.js';

const row = (over: Partial<TimerRow> = {}): TimerRow => ({
  fireId: '6f1c3d2e-52a4-4c86-9c55-0c0f6a2b7e11',
  dueAt: new Date('2026-12-06T12:00:00Z'),
  inputType: 't.TimedOut',
  inputData: '{}',
  ...over,
});

test('a step that leaves the timer as it was writes nothing; one that sets, moves or drops it writes that', (t) => {
  t.deepEqual(timerChange(undefined, undefined), { kind: 'same' });
  t.deepEqual(timerChange(row(), row()), { kind: 'same' });
  t.deepEqual(timerChange(undefined, row()), { kind: 'set', row: row() });
  t.deepEqual(timerChange(row(), undefined), { kind: 'clear' });
  // Another deadline is another fire id; another input at the same time is another row too.
  const moved = row({ fireId: '0b5a4c9e-2a63-4f0e-8d3c-71a9e3f6b2d4', dueAt: new Date('2026-12-06T12:05:00Z') });
  t.deepEqual(timerChange(row(), moved), { kind: 'set', row: moved });
  const other = row({ inputType: 't.Remind' });
  t.deepEqual(timerChange(row(), other), { kind: 'set', row: other });
  const data = row({ inputData: '{"n":1}' });
  t.deepEqual(timerChange(row(), data), { kind: 'set', row: data });
});

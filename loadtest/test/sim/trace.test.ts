import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { parseTrace, readTrace, TraceError, TraceParser } from '../../src/sim/trace.ts';

test('t,key,size with a header: keys interned in order of first appearance', (t) => {
  const trace = parseTrace('t,key,size\n1,a,10\n2,b,20\n3,a,10\n4,c,5\n');
  t.is(trace.length, 4);
  t.deepEqual([...trace.keys], [0, 1, 0, 2]);
  t.deepEqual([...trace.sizes], [10, 20, 10, 5]);
  t.is(trace.uniqueObjects, 3);
  t.is(trace.uniqueBytes, 35);
  t.is(trace.totalBytes, 45);
  t.false(trace.unitSizes);
});

test('key,size without a header, CRLF line ends, blank lines and no final newline', (t) => {
  const trace = parseTrace('k1,1\r\nk2,1\r\n\r\nk1,1');
  t.deepEqual([...trace.keys], [0, 1, 0]);
  t.true(trace.unitSizes);
  t.is(trace.uniqueObjects, 2);
});

test('fractional and exponent timestamps are accepted', (t) => {
  t.is(parseTrace('1.5,a,3\n2e3,b,4\n').length, 2);
});

test('bad lines are reported with their line number', (t) => {
  const cases: [string, number, RegExp][] = [
    ['t,key,size\n1,a,10\n2,b\n', 3, /expected 3 fields \(t,key,size\), got 2/],
    ['t,key,size\n1,a,10\n2,b,-4\n', 3, /size "-4" is not a non-negative integer/],
    ['t,key,size\n1,a,10\n2,b,1.5\n', 3, /size "1.5"/],
    ['a,1\nb,2\n,3\n', 3, /empty key/],
    ['x,a,1\n', 1, /timestamp "x" is not a number/],
    ['a,b,c,d\n', 1, /expected 2 fields \(key,size\) or 3/],
    ['t,key,size\n', 1, /no requests/],
  ];
  for (const [csv, line, message] of cases) {
    const error = t.throws(() => parseTrace(csv, 'x.csv'), { instanceOf: TraceError });
    t.is(error.line, line, csv);
    t.regex(error.message, message);
    t.true(error.message.startsWith(`x.csv:${line}: `));
  }
});

test('chunk boundaries anywhere give the same trace as one chunk', (t) => {
  const rows = Array.from({ length: 300 }, (_, i) => `${i},key-${(i * 37) % 53},${(i % 7) + 1}`);
  const csv = `t,key,size\n${rows.join('\n')}\n`;
  const whole = parseTrace(csv);
  for (const chunkSize of [1, 2, 3, 7, 64, 1000]) {
    const parser = new TraceParser('chunks');
    const bytes = Buffer.from(csv);
    for (let at = 0; at < bytes.length; at += chunkSize) parser.push(bytes.subarray(at, at + chunkSize));
    const trace = parser.finish('chunks');
    t.deepEqual([...trace.keys], [...whole.keys], `chunk size ${chunkSize}`);
    t.deepEqual([...trace.sizes], [...whole.sizes]);
  }
  t.is(whole.uniqueObjects, 53);
});

test('many distinct keys (table growth) keep their identity', (t) => {
  const rows: string[] = [];
  for (let i = 0; i < 50_000; i++) rows.push(`obj${i % 20_000},1`);
  const trace = parseTrace(rows.join('\n'));
  t.is(trace.uniqueObjects, 20_000);
  t.is(trace.keys[20_000], 0);
  t.is(trace.keys[49_999], 9_999);
});

test('keys that share prefixes or differ only in length stay distinct (short and long keys)', (t) => {
  const names = ['a', 'ab', 'abc', 'abcdefg', 'abcdefh', 'abcdefgh', 'abcdefgh1', 'abcdefgh2', 'abcdefg1', '1', '10', '100', 'k0', 'k00'];
  const csv = [...names, ...names.slice().reverse()].map((k) => `${k},1`).join('\n');
  const trace = parseTrace(csv);
  t.is(trace.uniqueObjects, names.length);
  t.deepEqual([...trace.keys.subarray(names.length)], names.map((_, i) => names.length - 1 - i));
});

test('readTrace streams a file and names the trace after it', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'trace-'));
  const file = path.join(dir, 'small.csv');
  await writeFile(file, 'key,size\na,3\nb,4\na,3\n');
  const trace = await readTrace(file);
  t.is(trace.name, 'small');
  t.deepEqual([...trace.keys], [0, 1, 0]);
  await writeFile(file, 'key,size\na,3\nb\n');
  const error = await t.throwsAsync(readTrace(file), { instanceOf: TraceError });
  t.is(error.line, 3);
  t.true(error.message.includes('small.csv:3:'));
});

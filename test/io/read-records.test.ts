import { describe, it, expect } from 'vitest';
import { gzipSync } from 'node:zlib';
import { readRecords, createCsvTyper, type RecordItem, type ReadRecordsOptions } from '../../src/io/index.ts';
import { loadRuleset } from '../../src/index.ts';
import { RULES_DIR, MAPPINGS_DIR } from '../support/ruleset.ts';

async function read(chunks: (string | Buffer)[], options: ReadRecordsOptions = {}): Promise<RecordItem[]> {
  async function* src() {
    for (const c of chunks) yield typeof c === 'string' ? Buffer.from(c) : c;
  }
  const out: RecordItem[] = [];
  for await (const item of readRecords(src(), options)) out.push(item);
  return out;
}

/** The same text cut at every position into two chunks (and into single bytes): splitting must never matter. */
async function everySplit(text: string, options: ReadRecordsOptions): Promise<RecordItem[]> {
  const whole = await read([text], options);
  const bytes = Buffer.from(text);
  for (let i = 1; i < bytes.length; i++) expect(await read([bytes.subarray(0, i), bytes.subarray(i)], options)).toEqual(whole);
  expect(await read([...bytes].map((b) => Buffer.from([b])), options)).toEqual(whole);
  return whole;
}

describe('NDJSON', () => {
  it('reads one record per line, skips blank lines, reports a bad line by number and goes on', async () => {
    const items = await everySplit('{"a":1}\r\n\n  \nnot json\n{"b":"ü🚀"}', { format: 'ndjson' });
    expect(items).toEqual([
      { ok: true, record: { a: 1 }, line: 1 },
      expect.objectContaining({ ok: false, line: 4, raw: 'not json', error: expect.stringMatching(/^invalid JSON/) }),
      { ok: true, record: { b: 'ü🚀' }, line: 5 },
    ]);
  });

  it('reports a line longer than the limit without holding it, and reads the next', async () => {
    const long = `{"x":"${'y'.repeat(5000)}"}`;
    const items = await read([`{"a":1}\n${long.slice(0, 3000)}`, long.slice(3000), '\n{"b":2}\n'], { format: 'ndjson', maxRecordChars: 1000 });
    expect(items).toEqual([
      { ok: true, record: { a: 1 }, line: 1 },
      { ok: false, line: 2, error: 'line is longer than 1000 characters' },
      { ok: true, record: { b: 2 }, line: 3 },
    ]);
  });
});

describe('JSON arrays', () => {
  it('reads element by element, with index and line, across any chunking', async () => {
    const items = await everySplit('[\n {"a":[1,"]}"]},\n 2, "s\\"x", null,\n {"bad": },\n {"z":{}}\n]\n', { format: 'json' });
    expect(items.map((i) => (i.ok ? [i.index, i.line, i.record] : [i.index, i.line, 'malformed']))).toEqual([
      [0, 2, { a: [1, ']}'] }],
      [1, 3, 2],
      [2, 3, 's"x'],
      [3, 3, null],
      [4, 4, 'malformed'],
      [5, 5, { z: {} }],
    ]);
  });

  it('stops with one malformed item when the array structure breaks', async () => {
    expect(await read(['[{"a":1} {"b":2}]'], { format: 'json' })).toEqual([
      { ok: true, index: 0, line: 1, record: { a: 1 } },
      { ok: false, index: 1, line: 1, error: 'expected "," or "]" after element 0, got "{"' },
    ]);
    expect(await read(['[{"a":1},'], { format: 'json' })).toEqual([
      { ok: true, index: 0, line: 1, record: { a: 1 } },
      { ok: false, index: 1, line: 1, error: 'the input ends before the array is closed ("]")' },
    ]);
  });

  it('reads a single top-level object as one record', async () => {
    expect(await read(['{"a":\n', '1}'], { format: 'json' })).toEqual([{ ok: true, index: 0, line: 1, record: { a: 1 } }]);
  });
});

describe('CSV', () => {
  it('reads quoted fields, CRLF, doubled quotes and newlines inside quotes, and builds nested fields', async () => {
    const items = await everySplit('id,data.note,data.n\r\na,"x, ""y""\nz",1\r\nb,,2\r\n', { format: 'csv' });
    expect(items).toEqual([
      { ok: true, line: 2, record: { id: 'a', data: { note: 'x, "y"\nz', n: '1' } } },
      { ok: true, line: 4, record: { id: 'b', data: { n: '2' } } },
    ]);
  });

  it('reports a record with a stray quote or the wrong number of fields, and reads the next', async () => {
    const items = await read(['id,n\n9,"bad"x\n10\n11,12\n"open,1\n'], { format: 'csv' });
    expect(items.map((i) => (i.ok ? i.record : `${i.line}: ${i.error}`))).toEqual([
      '2: unexpected "x" after a closing quote (line 2)',
      '3: has 1 fields, the header has 2',
      { id: '11', n: '12' },
      '5: a quoted field opened on line 5 is never closed',
    ]);
  });

  it('never sets a prototype from a header', async () => {
    const [item] = await read(['__proto__.polluted,a\n1,2\n'], { format: 'csv' });
    expect(({} as any).polluted).toBeUndefined();
    expect(item.ok && Object.getPrototypeOf(item.record)).toBe(Object.prototype);
  });

  it('types cells by the record type\'s JSON Schema', async () => {
    const ruleset = await loadRuleset({ rules: RULES_DIR, mappings: MAPPINGS_DIR });
    const csvTyper = createCsvTyper(ruleset);
    const csv = ['specversion,type,subject,data.duration_s,data.to,data.gb,data.segments', '1.0,voice.call.completed,acme,61,+5521912345678,,', '1.0,storage.usage.hourly,acme,,,12.5,', '1.0,sms.sent,42,,,,two', '1.0,nope,acme,61,,,'].join('\n');
    const records = (await read([csv], { format: 'csv', csvTyper })).map((i) => (i.ok ? i.record : i.error));
    expect(records).toEqual([
      { specversion: '1.0', type: 'voice.call.completed', subject: 'acme', data: { duration_s: 61, to: '+5521912345678' } },
      { specversion: '1.0', type: 'storage.usage.hourly', subject: 'acme', data: { gb: 12.5 } },
      // subject is a string in the schema; "two" is not a number: left for the schema to reject.
      { specversion: '1.0', type: 'sms.sent', subject: '42', data: { segments: 'two' } },
      { specversion: '1.0', type: 'nope', subject: 'acme', data: { duration_s: '61' } },
    ]);
  });
});

describe('sniffing and compression', () => {
  it('picks the format from the first character, and gunzips by magic bytes', async () => {
    expect((await read(['  [1,2]'])).map((i) => i.ok && i.record)).toEqual([1, 2]);
    expect((await read(['{"a":1}\n{"a":2}'])).map((i) => i.ok && i.record)).toEqual([{ a: 1 }, { a: 2 }]);
    expect((await read(['a,b\n1,2'])).map((i) => i.ok && i.record)).toEqual([{ a: '1', b: '2' }]);
    const gz = gzipSync('\uFEFF{"a":1}\n');
    expect(await read([gz.subarray(0, 5), gz.subarray(5)])).toEqual([{ ok: true, record: { a: 1 }, line: 1 }]);
  });

  it('fails with BLH_ERR_FILE_READ on corrupt gzip', async () => {
    const gz = gzipSync('{"a":1}\n'.repeat(100));
    await expect(read([gz.subarray(0, gz.length - 10)], { gzip: true })).rejects.toMatchObject({ code: 'BLH_ERR_FILE_READ' });
  });
});

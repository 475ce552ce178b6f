/** Streaming readers and writers shared by the CLI and the HTTP server (NDJSON bodies). */
export { readRecords, readRecordBatches, openInput, formatFromPath, READ_DEFAULTS, type ReadRecordsOptions, type OpenedInput } from './read-records.ts';
export { INPUT_FORMATS, itemPosition, type RecordItem, type RecordRead, type RecordMalformed, type InputFormat } from './items.ts';
export { createCsvTyper } from './csv-types.ts';
export type { CsvTyper } from './csv.ts';
export { LineWriter } from './line-writer.ts';

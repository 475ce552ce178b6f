import type { RecordItem, Splitter } from './items.ts';

const enum S {
  Start,
  FirstElement,
  NextElement,
  InElement,
  AfterElement,
  Done,
  Single,
  Failed,
}
const enum Kind {
  Compound,
  String,
  Bare,
}

/**
 * A JSON array read element by element, never whole: the splitter finds each element's end by counting
 * brackets outside strings, then JSON.parse reads that element alone. An element that does not parse is
 * a malformed item and the next one is read; a broken array structure (no comma between elements, text
 * after the closing bracket) ends the input with one malformed item, as nothing after it can be trusted.
 * A top-level object instead of an array is read as a single record.
 */
export class JsonArraySplitter implements Splitter {
  private state = S.Start;
  private kind = Kind.Compound;
  private depth = 0;
  private inString = false;
  private escape = false;
  private pending = '';
  private discarding = false;
  private index = 0;
  private line = 1;
  private elementLine = 1;
  constructor(private readonly maxRecordChars: number) {}

  push(text: string, out: RecordItem[]): void {
    const n = text.length;
    let start = this.state === S.InElement ? 0 : -1;
    let i = 0;
    while (i < n) {
      const c = text.charCodeAt(i);
      switch (this.state) {
        case S.InElement: {
          // Tight loop over the element's characters.
          let ended = -1;
          let exclusive = false;
          for (; i < n; i++) {
            const ch = text.charCodeAt(i);
            if (ch === 10) this.line++;
            if (this.inString) {
              if (this.escape) this.escape = false;
              else if (ch === 92) this.escape = true;
              else if (ch === 34) {
                this.inString = false;
                if (this.kind === Kind.String) {
                  ended = i;
                  break;
                }
              }
            } else if (this.kind === Kind.Bare) {
              if (ch === 44 || ch === 93 || ch === 32 || ch === 10 || ch === 13 || ch === 9) {
                if (ch === 10) this.line--;
                ended = i;
                exclusive = true;
                break;
              }
            } else if (ch === 34) this.inString = true;
            else if (ch === 123 || ch === 91) this.depth++;
            else if (ch === 125 || ch === 93) {
              if (--this.depth === 0) {
                ended = i;
                break;
              }
            }
          }
          if (ended < 0) {
            i = n;
            continue;
          }
          const piece = text.slice(start, exclusive ? ended : ended + 1);
          this.finishElement(piece, out);
          i = exclusive ? ended : ended + 1;
          start = -1;
          continue;
        }
        case S.Start:
          if (c === 91) this.state = S.FirstElement;
          else if (c === 123) {
            this.state = S.Single;
            this.pending = text.slice(i);
            i = n;
            continue;
          } else if (!isSpace(c)) {
            out.push({ ok: false, index: 0, line: this.line, error: `expected a JSON array ("[") or object ("{"), got ${JSON.stringify(text[i])}` });
            this.state = S.Failed;
          }
          break;
        case S.FirstElement:
        case S.NextElement:
          if (c === 93) this.state = S.Done;
          else if (!isSpace(c)) {
            this.beginElement(c);
            start = i;
            continue;
          }
          break;
        case S.AfterElement:
          if (c === 44) this.state = S.NextElement;
          else if (c === 93) this.state = S.Done;
          else if (!isSpace(c)) this.fail(out, `expected "," or "]" after element ${this.index - 1}, got ${JSON.stringify(text[i])}`);
          break;
        case S.Done:
          if (!isSpace(c)) this.fail(out, `unexpected ${JSON.stringify(text[i])} after the end of the array`);
          break;
        case S.Single:
          this.pending += text.slice(i);
          if (this.pending.length > this.maxRecordChars) this.fail(out, `the record is longer than ${this.maxRecordChars} characters`);
          i = n;
          continue;
        case S.Failed:
          return;
      }
      if (c === 10) this.line++;
      i++;
    }
    if (this.state === S.InElement && start >= 0) this.keep(text.slice(start));
  }

  end(out: RecordItem[]): void {
    switch (this.state) {
      case S.InElement:
        if (this.kind === Kind.Bare) this.finishElement('', out);
        else out.push({ ok: false, index: this.index, line: this.elementLine, error: 'the input ends inside this element', raw: this.pending || undefined });
        this.pending = '';
        break;
      case S.FirstElement:
      case S.NextElement:
      case S.AfterElement:
        out.push({ ok: false, index: this.index, line: this.line, error: 'the input ends before the array is closed ("]")' });
        break;
      case S.Single:
        try {
          out.push({ ok: true, index: 0, line: 1, record: JSON.parse(this.pending) });
        } catch (e) {
          out.push({ ok: false, index: 0, line: 1, error: `invalid JSON: ${(e as Error).message}` });
        }
        this.pending = '';
        break;
      default:
    }
    this.state = S.Done;
  }

  private beginElement(c: number): void {
    this.state = S.InElement;
    this.elementLine = this.line;
    this.pending = '';
    this.discarding = false;
    this.inString = false;
    this.escape = false;
    if (c === 123 || c === 91) {
      this.kind = Kind.Compound;
      this.depth = 0;
    } else if (c === 34) {
      this.kind = Kind.String;
    } else this.kind = Kind.Bare;
    // The first character is consumed by the element loop, which counts the bracket or opens the string.
  }

  private keep(piece: string): void {
    if (this.discarding) return;
    this.pending += piece;
    if (this.pending.length > this.maxRecordChars) {
      this.pending = '';
      this.discarding = true;
    }
  }

  private finishElement(piece: string, out: RecordItem[]): void {
    const index = this.index++;
    const line = this.elementLine;
    this.state = S.AfterElement;
    if (this.discarding || this.pending.length + piece.length > this.maxRecordChars) {
      this.pending = '';
      this.discarding = false;
      out.push({ ok: false, index, line, error: `element is longer than ${this.maxRecordChars} characters` });
      return;
    }
    const text = this.pending.length ? this.pending + piece : piece;
    this.pending = '';
    try {
      out.push({ ok: true, index, line, record: JSON.parse(text) });
    } catch (e) {
      out.push({ ok: false, index, line, error: `invalid JSON: ${(e as Error).message}`, raw: text });
    }
  }

  private fail(out: RecordItem[], error: string): void {
    this.pending = '';
    out.push({ ok: false, index: this.index, line: this.line, error });
    this.state = S.Failed;
  }
}

function isSpace(c: number): boolean {
  return c === 32 || c === 10 || c === 13 || c === 9 || c === 0xfeff;
}

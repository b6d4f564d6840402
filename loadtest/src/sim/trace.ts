// Request traces for the simulator: CSV lines `t,key,size` or `key,size` (an optional header line
// is recognised by a size column that is not a number), streamed from disk in chunks through one buffer and parsed
// byte by byte. Each key is interned to a dense integer id on the fly (a hash table over the key's
// bytes, no string per line), so what stays in memory is 12 bytes per request, not the text: the
// id sequence and the sizes, which Belady's MIN and capacity fractions both need anyway.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import path from 'node:path';

export interface Trace {
  name: string;
  /** Number of requests. */
  length: number;
  /** Interned key id of each request (0..uniqueObjects-1, in order of first appearance). */
  keys: Int32Array;
  /** Size in bytes of each request. */
  sizes: Float64Array;
  uniqueObjects: number;
  /** Every key id is below this (for interned traces, uniqueObjects). */
  keyUniverse: number;
  /** Sum over objects of the size at their first request. */
  uniqueBytes: number;
  totalBytes: number;
  /** Every size is 1 (a trace without sizes): byte and object capacities coincide. */
  unitSizes: boolean;
}

/** A malformed trace line; `line` is 1-based, counting the header. */
export class TraceError extends Error {
  readonly file: string;
  readonly line: number;
  constructor(file: string, line: number, message: string) {
    super(`${file}:${line}: ${message}`);
    this.name = 'TraceError';
    this.file = file;
    this.line = line;
  }
}

const COMMA = 44;
const NEWLINE = 10;
const CR = 13;

/** Keys up to this many bytes are compared inside the hash table cell, without the arena. */
const INLINE_KEY_BYTES = 7;

/**
 * Interns byte strings to dense ids: open addressing over an arena of key bytes. With hundreds of
 * thousands of keys a lookup costs its cache misses, so each table cell holds (hash, id + 1, and
 * for keys of up to 7 bytes the bytes themselves with the length): a short key is found with one
 * memory access. Longer keys are compared against the arena.
 */
class KeyInterner {
  /** Quads (hash, id + 1, packed bytes 0-3, packed bytes 4-6 | length << 24); id + 1 = 0: empty. */
  private table = new Int32Array(4 << 16);
  /** Pairs (arena offset, length) per id. */
  private spans = new Int32Array(2 << 15);
  private arena = new Uint8Array(1 << 20);
  private arenaUsed = 0;
  size = 0;

  /**
   * The id of bytes[start, end), adding it when new. `hash` is a hash of those bytes; `low` and
   * `high` pack them as `packKey` does (used only for short keys).
   */
  intern(bytes: Uint8Array, start: number, end: number, hash: number, low: number, high: number): number {
    const length = end - start;
    const short = length <= INLINE_KEY_BYTES;
    const table = this.table;
    const mask = (table.length >> 2) - 1;
    let cell = hash & mask;
    while (true) {
      const at = 4 * cell;
      const stored = table[at + 1]!;
      if (stored === 0) break;
      if (table[at] === hash) {
        if (short) {
          if (table[at + 2] === low && table[at + 3] === high) return stored - 1;
        } else {
          const id = stored - 1;
          const spans = this.spans;
          if (spans[2 * id + 1] === length && this.sameBytes(spans[2 * id]!, bytes, start, length)) return id;
        }
      }
      cell = (cell + 1) & mask;
    }
    const id = this.size++;
    if (2 * id + 1 >= this.spans.length) this.spans = grown(this.spans, this.spans.length * 2);
    if (this.arenaUsed + length > this.arena.length) this.growArena(length);
    const arena = this.arena;
    const offset = this.arenaUsed;
    for (let i = 0; i < length; i++) arena[offset + i] = bytes[start + i]!;
    this.spans[2 * id] = offset;
    this.spans[2 * id + 1] = length;
    this.arenaUsed += length;
    const at = 4 * cell;
    table[at] = hash;
    table[at + 1] = id + 1;
    table[at + 2] = short ? low : 0;
    table[at + 3] = short ? high : -1;
    if (this.size * 2 > mask + 1) this.rehash();
    return id;
  }

  /** The key text of an id. */
  name(id: number): string {
    return Buffer.from(this.arena.buffer, this.arena.byteOffset + this.spans[2 * id]!, this.spans[2 * id + 1]!).toString('utf8');
  }

  private sameBytes(offset: number, bytes: Uint8Array, start: number, length: number): boolean {
    const arena = this.arena;
    for (let i = 0; i < length; i++) if (arena[offset + i] !== bytes[start + i]) return false;
    return true;
  }
  private growArena(need: number): void {
    let n = this.arena.length * 2;
    while (n < this.arenaUsed + need) n *= 2;
    this.arena = grown(this.arena, n);
  }
  private rehash(): void {
    const old = this.table;
    const table = new Int32Array(old.length * 2);
    const mask = (table.length >> 2) - 1;
    for (let at = 0; at < old.length; at += 4) {
      if (old[at + 1] === 0) continue;
      let cell = old[at]! & mask;
      while (table[4 * cell + 1] !== 0) cell = (cell + 1) & mask;
      table.set(old.subarray(at, at + 4), 4 * cell);
    }
    this.table = table;
  }
}

function grown<T extends Int32Array | Float64Array | Uint8Array>(array: T, length: number): T {
  const copy = new (array.constructor as new (n: number) => T)(length);
  copy.set(array);
  return copy;
}

/** Incremental parser: feed chunks with `push`, then `finish`. */
export class TraceParser {
  private readonly file: string;
  private readonly interner = new KeyInterner();
  private keys: Int32Array;
  private sizes: Float64Array;
  private objectSizes = new Float64Array(1 << 15);
  private length = 0;
  private line = 0;
  /** Fields per line: 2 (key,size) or 3 (t,key,size); 0 until the first line. */
  private fields = 0;
  private carry: Buffer | undefined;
  private uniqueBytes = 0;
  private totalBytes = 0;
  private unitSizes = true;

  /** `expectedRequests` pre-sizes the arrays (a guess is fine: they grow or shrink to fit). */
  constructor(file: string, expectedRequests = 1 << 16) {
    this.file = file;
    const initial = Math.max(16, Math.min(expectedRequests, 1 << 28));
    this.keys = new Int32Array(initial);
    this.sizes = new Float64Array(initial);
  }

  push(chunk: Buffer): void {
    let bytes = chunk;
    if (this.carry) {
      bytes = Buffer.concat([this.carry, chunk]);
      this.carry = undefined;
    }
    const start = this.scan(bytes, bytes.length);
    if (start < bytes.length) this.carry = Buffer.from(bytes.subarray(start, bytes.length));
  }

  /** Parses the complete lines in bytes[0, end); returns where the unfinished last line starts. */
  scan(bytes: Uint8Array, end: number): number {
    // One pass over the bytes, noting the first two commas of each line.
    let start = 0;
    let comma1 = -1;
    let comma2 = -1;
    let commas = 0;
    for (let i = 0; i < end; i++) {
      const byte = bytes[i]!;
      if (byte === COMMA) {
        if (commas === 0) comma1 = i;
        else if (commas === 1) comma2 = i;
        commas++;
      } else if (byte === NEWLINE) {
        this.parseLine(bytes, start, i, comma1, comma2, commas);
        start = i + 1;
        commas = 0;
      }
    }
    return start;
  }

  finish(name: string): Trace {
    if (this.carry) {
      const last = this.carry;
      this.carry = undefined;
      this.parseLine(last, 0, last.length, last.indexOf(COMMA), last.indexOf(COMMA, last.indexOf(COMMA) + 1), countCommas(last));
    }
    if (this.length === 0) throw new TraceError(this.file, Math.max(this.line, 1), 'the trace has no requests');
    // Give back a generous pre-allocation rather than pin it for the trace's lifetime.
    const fit = this.length < 0.75 * this.keys.length;
    return {
      name,
      length: this.length,
      keys: fit ? this.keys.slice(0, this.length) : this.keys.subarray(0, this.length),
      sizes: fit ? this.sizes.slice(0, this.length) : this.sizes.subarray(0, this.length),
      uniqueObjects: this.interner.size,
      keyUniverse: this.interner.size,
      uniqueBytes: this.uniqueBytes,
      totalBytes: this.totalBytes,
      unitSizes: this.unitSizes,
    };
  }

  /** Key text of an interned id (for reports and debugging). */
  keyName(id: number): string {
    return this.interner.name(id);
  }

  /** Parses bytes[start, end) (no newline), whose commas the caller found. */
  private parseLine(bytes: Uint8Array, start: number, end: number, comma1: number, comma2: number, commas: number): void {
    this.line++;
    if (end > start && bytes[end - 1] === CR) end--;
    if (end === start) return; // blank lines (a trailing newline) are allowed
    const fields = commas + 1;
    if (this.fields === 0) {
      if (fields !== 2 && fields !== 3) throw this.error(`expected 2 fields (key,size) or 3 (t,key,size), got ${fields}`);
      this.fields = fields;
      const sizeStart = fields === 3 ? comma2 + 1 : comma1 + 1;
      if (parseSize(bytes, sizeStart, end) < 0) return; // a header line
    } else if (fields !== this.fields) {
      throw this.error(`expected ${this.fields} fields (${this.fields === 3 ? 't,key,size' : 'key,size'}), got ${fields}`);
    }
    let keyStart: number;
    let keyEnd: number;
    let sizeStart: number;
    if (fields === 3) {
      if (!isNumber(bytes, start, comma1)) throw this.error(`timestamp "${text(bytes, start, comma1)}" is not a number`);
      keyStart = comma1 + 1;
      keyEnd = comma2;
      sizeStart = comma2 + 1;
    } else {
      keyStart = start;
      keyEnd = comma1;
      sizeStart = comma1 + 1;
    }
    if (keyEnd === keyStart) throw this.error('empty key');
    const size = parseSize(bytes, sizeStart, end);
    if (size < 0) throw this.error(`size "${text(bytes, sizeStart, end)}" is not a non-negative integer`);
    // FNV-1a, and the first 7 bytes packed with the length for the interner's short-key compare.
    let hash = 0x811c9dc5;
    let low = 0;
    let high = (keyEnd - keyStart) << 24;
    for (let i = keyStart; i < keyEnd; i++) {
      const byte = bytes[i]!;
      hash = Math.imul(hash ^ byte, 0x01000193);
      const k = i - keyStart;
      if (k < 4) low |= byte << (8 * k);
      else if (k < 7) high |= byte << (8 * (k - 4));
    }
    hash = Math.imul(hash ^ (hash >>> 15), 0x2c1b3c6d); // spread FNV's bits into the low ones
    hash ^= hash >>> 13;
    const before = this.interner.size;
    const id = this.interner.intern(bytes, keyStart, keyEnd, hash, low, high);
    if (id === before) {
      if (id === this.objectSizes.length) this.objectSizes = grown(this.objectSizes, id * 2);
      this.objectSizes[id] = size;
      this.uniqueBytes += size;
    }
    const at = this.length++;
    if (at === this.keys.length) {
      this.keys = grown(this.keys, at * 2);
      this.sizes = grown(this.sizes, at * 2);
    }
    this.keys[at] = id;
    this.sizes[at] = size;
    this.totalBytes += size;
    if (size !== 1) this.unitSizes = false;
  }

  private error(message: string): TraceError {
    return new TraceError(this.file, this.line, message);
  }
}

function countCommas(bytes: Uint8Array): number {
  let commas = 0;
  for (let i = 0; i < bytes.length; i++) if (bytes[i] === COMMA) commas++;
  return commas;
}

/** A non-negative integer (at most 2^53) in bytes[start, end), or -1. */
function parseSize(bytes: Uint8Array, start: number, end: number): number {
  if (end === start || end - start > 16) return -1;
  let value = 0;
  for (let i = start; i < end; i++) {
    const digit = bytes[i]! - 48;
    if (digit < 0 || digit > 9) return -1;
    value = value * 10 + digit;
  }
  return value;
}

/** A plain decimal number (digits, optional sign, point and exponent) in bytes[start, end). */
function isNumber(bytes: Uint8Array, start: number, end: number): boolean {
  let digits = 0;
  for (let i = start; i < end; i++) {
    const c = bytes[i]!;
    if (c >= 48 && c <= 57) digits++;
    else if (c !== 46 && c !== 45 && c !== 43 && c !== 101 && c !== 69) return false; // . - + e E
  }
  if (digits === end - start) return digits > 0; // the common case, no string needed
  return digits > 0 && Number.isFinite(Number(text(bytes, start, end)));
}

function text(bytes: Uint8Array, start: number, end: number): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start).toString('utf8');
}

export interface ReadTraceOptions {
  /** Called as bytes are read, with the running count and the file size. */
  onProgress?: (bytesRead: number, totalBytes: number) => void;
}

/** Streams a CSV trace from disk and returns it interned. Throws TraceError on a bad line. */
const CHUNK_BYTES = 1 << 22;

/**
 * Streams a CSV trace from disk through one reused buffer (synchronous reads: no per-chunk
 * allocation or thread-pool round trip) and returns it interned. Throws TraceError on a bad line.
 */
export async function readTrace(file: string, options: ReadTraceOptions = {}): Promise<Trace> {
  const fd = openSync(file, 'r');
  const total = fstatSync(fd).size;
  // About 14 bytes per line in the sample traces; a guess only sizes the first allocation.
  const parser = new TraceParser(file, Math.ceil(total / 12));
  try {
    let buffer = Buffer.allocUnsafe(CHUNK_BYTES);
    let filled = 0;
    let read = 0;
    while (true) {
      if (filled === buffer.length) {
        // A line longer than the buffer: grow it.
        const bigger = Buffer.allocUnsafe(buffer.length * 2);
        buffer.copy(bigger, 0, 0, filled);
        buffer = bigger;
      }
      const n = readSync(fd, buffer, filled, buffer.length - filled, null);
      if (n === 0) break;
      read += n;
      const end = filled + n;
      const rest = parser.scan(buffer, end);
      buffer.copy(buffer, 0, rest, end);
      filled = end - rest;
      options.onProgress?.(read, total);
    }
    if (filled > 0) parser.push(Buffer.from(buffer.subarray(0, filled)));
  } finally {
    closeSync(fd);
  }
  return parser.finish(path.basename(file, path.extname(file)));
}

/** Parses a whole CSV text (tests, generated traces). */
export function parseTrace(csv: string, name = 'trace'): Trace {
  const parser = new TraceParser(name);
  parser.push(Buffer.from(csv));
  return parser.finish(name);
}

/** Builds a trace from already-interned arrays (synthetic workloads). */
export function traceFromArrays(name: string, keys: Int32Array, sizes: Float64Array): Trace {
  let uniqueObjects = 0;
  let uniqueBytes = 0;
  let totalBytes = 0;
  let unitSizes = true;
  let maxKey = -1;
  for (let i = 0; i < keys.length; i++) {
    if (keys[i]! < 0) throw new RangeError(`key ids must be non-negative, got ${keys[i]} at ${i}`);
    if (keys[i]! > maxKey) maxKey = keys[i]!;
  }
  const seen = new Uint8Array(maxKey + 1);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    const size = sizes[i]!;
    if (seen[key] === 0) {
      seen[key] = 1;
      uniqueObjects++;
      uniqueBytes += size;
    }
    totalBytes += size;
    if (size !== 1) unitSizes = false;
  }
  return { name, length: keys.length, keys, sizes, uniqueObjects, keyUniverse: maxKey + 1, uniqueBytes, totalBytes, unitSizes };
}

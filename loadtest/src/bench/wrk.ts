// wrk as the bench's load generator: its command line, Lua scripts for never-repeating URLs and for
// URLs with Zipf popularity, and a parser for its text report (throughput, latency distribution, errors).

export interface LoadSpec {
  /** Base URL of the server under test, e.g. http://127.0.0.1:8080. */
  baseUrl: string;
  /**
   * `fixed`: every request asks for `path`; `counter`: `/obj/<start>`, `/obj/<start+1>`, ... never
   * repeating; `zipf`: `/obj/<id>` for id in [0, objects), id k drawn with weight 1/(k+1)^exponent
   * from a sequence fixed by `seed` (thread t uses seed + t).
   */
  pattern: { kind: 'fixed'; path: string } | { kind: 'counter'; start: number } | ZipfPattern;
  connections: number;
  threads: number;
  durationMs: number;
}

/**
 * Lua for wrk's `counter` pattern. Thread t starts at `start + t * stride` (args after `--`), so
 * threads never ask for the same id; LuaJIT prints integers below 1e14 without an exponent.
 */
export const COUNTER_LUA = `-- Rendered by loadtest/src/bench/wrk.ts: GET /obj/<n> with n never repeating.
local thread_count = 0
function setup(thread)
  thread:set("thread_index", thread_count)
  thread_count = thread_count + 1
end
function init(args)
  counter = tonumber(args[1]) + (thread_index or 0) * tonumber(args[2])
end
function request()
  local path = "/obj/" .. string.format("%d", counter)
  counter = counter + 1
  return wrk.format("GET", path)
end
`;

export interface ZipfPattern {
  kind: 'zipf';
  objects: number;
  exponent: number;
  seed: number;
}

/** Length of the precomputed request sequence per wrk thread: drawn once in init, cycled after. */
export const ZIPF_SEQUENCE_LENGTH = 131_072;

/**
 * Lua for wrk's `zipf` pattern (args after \`--\`: objects, exponent, seed). init draws the whole
 * sequence up front (inverse CDF by binary search) and formats each URL's request once, so
 * request() is a table read: the generator spends no more per request than with one fixed URL.
 */
export const ZIPF_LUA = `-- Rendered by loadtest/src/bench/wrk.ts: GET /obj/<id>, id with Zipf popularity.
local thread_count = 0
function setup(thread)
  thread:set("thread_index", thread_count)
  thread_count = thread_count + 1
end
function init(args)
  local n = tonumber(args[1])
  local s = tonumber(args[2])
  math.randomseed(tonumber(args[3]) + (thread_index or 0))
  local cdf = {}
  local total = 0
  for k = 1, n do
    total = total + 1 / (k ^ s)
    cdf[k] = total
  end
  local formatted = {}
  sequence = {}
  for i = 1, ${ZIPF_SEQUENCE_LENGTH} do
    local u = math.random() * total
    local lo, hi = 1, n
    while lo < hi do
      local mid = math.floor((lo + hi) / 2)
      if cdf[mid] < u then lo = mid + 1 else hi = mid end
    end
    local id = lo - 1
    local req = formatted[id]
    if req == nil then
      req = wrk.format("GET", "/obj/" .. string.format("%d", id))
      formatted[id] = req
    end
    sequence[i] = req
  end
  position = 0
end
function request()
  position = position + 1
  if position > ${ZIPF_SEQUENCE_LENGTH} then position = 1 end
  return sequence[position]
end
`;

/** Ids one wrk thread may use before running into the next thread's range: 1M is 10 s at 100k misses/s. */
export const COUNTER_STRIDE = 1_000_000;

/** The Lua files of the patterns that need one. */
export interface WrkScripts {
  counter: string;
  zipf: string;
}

/** wrk's arguments; `scripts` hold COUNTER_LUA and ZIPF_LUA for those patterns. */
export function wrkArgs(spec: LoadSpec, scripts?: WrkScripts): string[] {
  const args = [`-t${spec.threads}`, `-c${spec.connections}`, `-d${Math.max(1, Math.round(spec.durationMs / 1000))}s`, '--latency'];
  const pattern = spec.pattern;
  if (pattern.kind === 'fixed') return [...args, `${spec.baseUrl}${pattern.path}`];
  if (!scripts) throw new Error(`wrk: the ${pattern.kind} pattern needs its Lua script file`);
  if (pattern.kind === 'counter') return [...args, '-s', scripts.counter, `${spec.baseUrl}/`, '--', String(pattern.start), String(COUNTER_STRIDE)];
  return [...args, '-s', scripts.zipf, `${spec.baseUrl}/`, '--', String(pattern.objects), String(pattern.exponent), String(pattern.seed)];
}

export interface LoadResult {
  requests: number;
  durationS: number;
  requestsPerSec: number;
  /** Response bytes per second (headers and bodies) as the generator counted them. */
  bytesPerSec: number;
  latencyMs: { avg: number; p50: number; p75: number; p90: number; p99: number; max: number };
  /** Responses with a status outside 2xx/3xx. */
  non2xx: number;
  /** Connect, read and write errors: a broken exchange. */
  errors: number;
  /** Requests that got no answer within the generator's timeout (wrk: 2 s): overload, not breakage. */
  timeouts: number;
}

export class WrkParseError extends Error {
  override name = 'WrkParseError';
}

const TIME_UNITS_MS: Record<string, number> = { us: 1e-3, ms: 1, s: 1e3, m: 60e3, h: 3600e3 };
const SIZE_UNITS: Record<string, number> = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3, TB: 1024 ** 4 };

function timeMs(text: string, what: string): number {
  const m = /^([\d.]+)(us|ms|s|m|h)$/.exec(text.trim());
  if (!m) throw new WrkParseError(`wrk: cannot read the ${what} "${text}"`);
  return Number(m[1]) * TIME_UNITS_MS[m[2]!]!;
}

function sizeBytes(text: string, what: string): number {
  const m = /^([\d.]+)(B|KB|MB|GB|TB)$/.exec(text.trim());
  if (!m) throw new WrkParseError(`wrk: cannot read the ${what} "${text}"`);
  return Number(m[1]) * SIZE_UNITS[m[2]!]!;
}

/** Reads wrk's report (run with --latency). Missing required lines throw a WrkParseError quoting the output. */
export function parseWrkOutput(output: string): LoadResult {
  const need = (re: RegExp, what: string): RegExpExecArray => {
    const m = re.exec(output);
    if (!m) throw new WrkParseError(`wrk: no ${what} in its output:\n${output.trim().slice(0, 2000)}`);
    return m;
  };
  const total = need(/^\s*(\d+) requests in ([\d.]+\w+), ([\d.]+\w+) read/m, 'request count');
  const rps = need(/^Requests\/sec:\s+([\d.]+)/m, 'Requests/sec line');
  const transfer = need(/^Transfer\/sec:\s+([\d.]+\w+)/m, 'Transfer/sec line');
  const stats = need(/^\s*Latency\s+([\d.]+\w+)\s+[\d.]+\w+\s+([\d.]+\w+)/m, 'latency statistics');
  const percentile = (p: number) => timeMs(need(new RegExp(`^\\s*${p}(?:\\.0+)?%\\s+([\\d.]+\\w+)`, 'm'), `${p}% latency (was --latency given?)`)[1]!, `${p}% latency`);
  const non2xx = /Non-2xx or 3xx responses:\s+(\d+)/.exec(output);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output);
  return {
    requests: Number(total[1]),
    durationS: timeMs(total[2]!, 'duration') / 1000,
    requestsPerSec: Number(rps[1]),
    bytesPerSec: sizeBytes(transfer[1]!, 'transfer rate'),
    latencyMs: {
      avg: timeMs(stats[1]!, 'average latency'),
      p50: percentile(50),
      p75: percentile(75),
      p90: percentile(90),
      p99: percentile(99),
      max: timeMs(stats[2]!, 'maximum latency'),
    },
    non2xx: non2xx ? Number(non2xx[1]) : 0,
    errors: socket ? socket.slice(1, 4).reduce((sum, n) => sum + Number(n), 0) : 0,
    timeouts: socket ? Number(socket[4]) : 0,
  };
}

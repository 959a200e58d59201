/**
 * Fake OpenAI-compatible model server, run as a separate process by tests and benchmarks.
 *
 *   tsx test/support/fake-upstream.ts --port 0 [--host 127.0.0.1] [--api-key K] [--exit-on-stdin-close]
 *
 * Prints one JSON line `{"listening":"http://HOST:PORT"}` once bound, then serves until SIGTERM/SIGINT.
 * It doubles as the direct-to-upstream baseline in benchmarks, so the hot path does no logging or heavy work.
 *
 * Per-request behaviour comes from the `x-fake-behavior` header (comma-separated, e.g. `pace:20,words:5`;
 * `burst:N` streams unpaced in writes of N frames that each wait for the socket);
 * when a request has no such header, the default set with `POST /__control` applies instead.
 *
 * When tools are offered the fake calls one (the first, the one `tool_choice` names, or `tool:NAME`)
 * with `{}` or `tool-args:<URI-encoded JSON>`, unless the last message is a tool result: then it
 * answers in text, so an agent's round trip ends. `cached:N` reports N of the prompt tokens as cached.
 * `endless-event:N` streams the role chunk, then an event that never ends (N MiB of it).
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { parseArgs } from 'node:util';

export interface FakeStats {
  requests: number;
  chat: number;
  embeddings: number;
  aborted: number;
  lastRequest: { headers: IncomingHttpHeaders; body: unknown; path?: string } | null;
}

interface Behavior {
  status?: number;
  stall?: number;
  pace?: number;
  /** Frames per write when streaming; each write waits until the socket took it. */
  burst?: number;
  dropAfter?: number;
  noUsage?: boolean;
  content?: string;
  words?: number;
  tool?: string;
  toolArgs?: string;
  cached?: number;
  /** Streams: after the role chunk, one event that never ends (MiB after MiB of it, up to this many MiB). */
  endlessEventMiB?: number;
}

type Json = Record<string, unknown>;
/** HTTP status and JSON body, for handlers that answer synchronously. */
type Reply = [status: number, body: unknown];

const DEFAULT_TEXT = 'Hello from fake upstream';
const MODELS = {
  object: 'list',
  data: [{ id: 'fake-model', object: 'model', created: 1700000000, owned_by: 'fake' }],
};

const { values: args } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    host: { type: 'string', default: '127.0.0.1' },
    'api-key': { type: 'string' },
    // Set by the spawning helper: the parent holds our stdin, so EOF means it died and we should not linger.
    'exit-on-stdin-close': { type: 'boolean', default: false },
  },
});

const stats: FakeStats = { requests: 0, chat: 0, embeddings: 0, aborted: 0, lastRequest: null };
let control: { behavior: Behavior; remaining: number } | null = null;
let seq = 0;
// Responses we cut off on purpose, so their 'close' is not counted as a client abort.
const dropped = new WeakSet<ServerResponse>();

// ---------- behaviours ----------

function parseBehavior(spec: string): Behavior {
  const b: Behavior = {};
  for (const raw of spec.split(',')) {
    const part = raw.trim();
    if (part === '' || part === 'ok') continue;
    const colon = part.indexOf(':');
    const key = colon < 0 ? part : part.slice(0, colon);
    const value = colon < 0 ? '' : part.slice(colon + 1);
    if (key === 'no-usage') b.noUsage = true;
    else if (key === 'content') b.content = decodeURIComponent(value);
    else if (key === 'status') b.status = toInt(value, key, 200, 599);
    else if (key === 'stall') b.stall = toInt(value, key);
    else if (key === 'pace') b.pace = toInt(value, key);
    else if (key === 'burst') b.burst = toInt(value, key, 1);
    else if (key === 'drop-after') b.dropAfter = toInt(value, key);
    else if (key === 'words') b.words = toInt(value, key);
    else if (key === 'tool') b.tool = value;
    else if (key === 'tool-args') b.toolArgs = decodeURIComponent(value);
    else if (key === 'cached') b.cached = toInt(value, key);
    else if (key === 'endless-event') b.endlessEventMiB = toInt(value, key, 1);
    else throw new Error(`unknown behavior "${part}"`);
  }
  return b;
}

function toInt(value: string, key: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const n = Number(value);
  if (value === '' || !Number.isInteger(n) || n < min || n > max) throw new Error(`bad ${key}: "${value}"`);
  return n;
}

/** The header wins outright; otherwise the control default applies and one of its `times` is used up. */
function behaviorFor(req: IncomingMessage): Behavior {
  const header = req.headers['x-fake-behavior'];
  if (typeof header === 'string' && header !== '') return parseBehavior(header);
  if (!control) return {};
  const { behavior } = control;
  control.remaining -= 1;
  if (control.remaining <= 0) control = null;
  return behavior;
}

// ---------- small helpers ----------

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const isRecord = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const toNumber = (v: unknown) => (typeof v === 'number' ? v : undefined);
const wordCount = (s: string) => s.match(/\S+/g)?.length ?? 0;

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

const errorBody = (message: string, type = 'invalid_request_error', code: string | null = null) => ({
  error: { message, type, param: null, code },
});

const sendError = (res: ServerResponse, status: number, ...error: Parameters<typeof errorBody>) =>
  sendJson(res, status, errorBody(...error));

/** Resolves once the data is handed to the OS, so a following destroy() cannot discard it. */
const write = (res: ServerResponse, data: string) =>
  new Promise<void>((resolve) => res.write(data, () => resolve()));

function drop(res: ServerResponse): void {
  dropped.add(res);
  res.destroy();
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

// ---------- chat completions ----------

function promptTokens(messages: unknown[]): number {
  let n = 0;
  for (const m of messages) {
    if (!isRecord(m)) continue;
    if (typeof m.content === 'string') n += wordCount(m.content);
    else if (Array.isArray(m.content)) {
      for (const part of m.content)
        if (isRecord(part) && typeof part.text === 'string') n += wordCount(part.text);
    }
  }
  return n;
}

/** Words become tokens; every token but the last keeps its trailing space so the pieces join back up. */
function completionTokens(b: Behavior): string[] {
  const text =
    b.words !== undefined ? Array.from({ length: b.words }, (_, i) => `w${i}`).join(' ') : b.content;
  const words = (text ?? DEFAULT_TEXT).match(/\S+/g) ?? [];
  return words.map((w, i) => (i < words.length - 1 ? `${w} ` : w));
}

/** Name of the tool to "call", or undefined when the request should get a plain text answer. */
function toolToCall(body: Json, b: Behavior): string | undefined {
  const { tools, tool_choice: choice, messages } = body;
  if (!Array.isArray(tools) || tools.length === 0 || choice === 'none') return undefined;
  const last = Array.isArray(messages) ? messages.at(-1) : undefined;
  if (isRecord(last) && last.role === 'tool') return undefined;
  const named = isRecord(choice) && isRecord(choice.function) ? choice.function.name : undefined;
  const first = isRecord(tools[0]) && isRecord(tools[0].function) ? tools[0].function.name : undefined;
  return String(named ?? b.tool ?? first ?? 'tool');
}

async function chatCompletions(res: ServerResponse, body: Json, b: Behavior): Promise<void> {
  if (!Array.isArray(body.messages)) return sendError(res, 400, "'messages' must be an array");
  const model = typeof body.model === 'string' ? body.model : 'fake-model';
  const limit = toNumber(body.max_completion_tokens) ?? toNumber(body.max_tokens);
  const tool = toolToCall(body, b);
  let tokens = completionTokens(b);
  let finish = tool ? 'tool_calls' : 'stop';
  if (!tool && limit !== undefined && limit < tokens.length) {
    tokens = tokens.slice(0, Math.max(0, limit));
    finish = 'length';
  }
  const cached = b.cached ?? 0;
  const prompt = Math.max(promptTokens(body.messages), cached);
  // `n` choices, each the same answer (tool calls always come as one).
  const n = tool ? 1 : Math.min(128, Math.max(1, Math.trunc(toNumber(body.n) ?? 1)));
  const completion = tool ? 1 : tokens.length * n;
  const usage = {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    ...(b.cached === undefined ? {} : { prompt_tokens_details: { cached_tokens: cached } }),
  };
  const id = `chatcmpl-fake${(++seq).toString(36)}`;
  const created = Math.floor(Date.now() / 1000);
  const args = b.toolArgs ?? '{}';
  const call = { id: `call_${seq}`, type: 'function', function: { name: tool, arguments: args } };

  if (body.stream !== true) {
    if (b.dropAfter !== undefined) return drop(res);
    if (b.pace) await sleep(b.pace);
    const message = tool
      ? { role: 'assistant', content: null, refusal: null, tool_calls: [call] }
      : { role: 'assistant', content: tokens.join(''), refusal: null };
    return sendJson(res, 200, {
      id,
      object: 'chat.completion',
      created,
      model,
      choices: Array.from({ length: n }, (_, index) => ({
        index,
        message,
        logprobs: null,
        finish_reason: finish,
      })),
      ...(b.noUsage ? {} : { usage }),
    });
  }

  const opts = body.stream_options;
  const includeUsage = !b.noUsage && isRecord(opts) && opts.include_usage === true;
  const frame = (choices: unknown[], u: unknown = null) => {
    const chunk = { id, object: 'chat.completion.chunk', created, model, choices };
    // OpenAI sends `usage: null` on every chunk when usage was requested, and no usage key otherwise.
    return `data: ${JSON.stringify(includeUsage ? { ...chunk, usage: u } : chunk)}\n\n`;
  };
  const delta = (d: Json, finishReason: string | null = null, index = 0) =>
    frame([{ index, delta: d, logprobs: null, finish_reason: finishReason }]);
  const each = (make: (index: number) => string) => Array.from({ length: n }, (_, i) => make(i));

  // Tool calls stream like OpenAI's: name first with empty arguments, then the arguments in pieces.
  const toolStart = { index: 0, ...call, function: { name: tool, arguments: '' } };
  const half = Math.ceil(args.length / 2);
  const frames = tool
    ? [
        delta({ role: 'assistant', content: null, tool_calls: [toolStart] }),
        ...[args.slice(0, half), args.slice(half)]
          .filter((piece) => piece !== '')
          .map((piece) => delta({ tool_calls: [{ index: 0, function: { arguments: piece } }] })),
      ]
    : [
        ...each((i) => delta({ role: 'assistant', content: '' }, null, i)),
        ...tokens.flatMap((t) => each((i) => delta({ content: t }, null, i))),
      ];
  frames.push(...each((i) => delta({}, finish, i)));
  if (includeUsage) frames.push(frame([], usage));
  frames.push('data: [DONE]\n\n');
  await streamFrames(res, frames, b);
}

/** The first frame is the role chunk, so `drop-after:n` cuts the stream after frame n (n content chunks). */
async function streamFrames(res: ServerResponse, frames: string[], b: Behavior): Promise<void> {
  if (b.endlessEventMiB !== undefined) return streamEndlessEvent(res, frames[0]!, b.endlessEventMiB);
  const count = b.dropAfter === undefined ? frames.length : Math.min(frames.length, b.dropAfter + 1);
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  if (!b.pace && !b.burst) {
    // One write keeps the unpaced (benchmark) path cheap.
    if (b.dropAfter === undefined) return void res.end(frames.join(''));
    await write(res, frames.slice(0, count).join(''));
  } else {
    // Frame by frame (or `burst` at a time), each write waiting for the socket: a reader that stops
    // reading stalls the stream, and one that leaves shows up as an abort.
    res.flushHeaders();
    const step = b.burst ?? 1;
    for (let i = 0; i < count; i += step) {
      if (i > 0 && b.pace) await sleep(b.pace);
      if (res.destroyed) return;
      await write(res, frames.slice(i, Math.min(i + step, count)).join(''));
    }
  }
  if (b.dropAfter !== undefined) drop(res);
  else res.end();
}

/** A first frame, then `data:` text without an end, a MiB per write, until `mib` MiB or the reader leaves. */
async function streamEndlessEvent(res: ServerResponse, first: string, mib: number): Promise<void> {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  await write(res, `${first}data: {"choices":[{"delta":{"content":"`);
  const piece = 'x'.repeat(1024 * 1024);
  for (let i = 0; i < mib && !res.destroyed; i++) await write(res, piece);
  if (!res.destroyed) res.end();
}

// ---------- native Responses and Anthropic Messages (text answers) ----------

const namedFrame = (e: Json) => `event: ${String(e.type)}\ndata: ${JSON.stringify(e)}\n\n`;

/** The Responses API as OpenAI serves it: the answer's text, usage with cached tokens when told to. */
async function nativeResponses(res: ServerResponse, body: Json, b: Behavior): Promise<void> {
  const tokens = completionTokens(b);
  const text = tokens.join('');
  const input =
    typeof body.input === 'string'
      ? wordCount(body.input)
      : promptTokens(Array.isArray(body.input) ? body.input : []);
  const cached = b.cached ?? 0;
  const prompt = Math.max(input, cached);
  const usage = {
    input_tokens: prompt,
    input_tokens_details: { cached_tokens: cached },
    output_tokens: tokens.length,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: prompt + tokens.length,
  };
  const id = `resp_fake${(++seq).toString(36)}`;
  const model = String(body.model ?? 'fake-model');
  const item = {
    type: 'message',
    id: 'msg_fake',
    status: 'completed',
    role: 'assistant',
    content: [{ type: 'output_text', text, annotations: [] }],
  };
  const response = (status: string, done: boolean) => ({
    id,
    object: 'response',
    created_at: Math.floor(Date.now() / 1000),
    status,
    model,
    output: done ? [item] : [],
    usage: done ? usage : null,
  });
  if (body.stream !== true) return sendJson(res, 200, response('completed', true));
  let n = 0;
  const frames = [
    namedFrame({ type: 'response.created', sequence_number: n++, response: response('in_progress', false) }),
    ...tokens.map((delta) =>
      namedFrame({
        type: 'response.output_text.delta',
        sequence_number: n++,
        item_id: 'msg_fake',
        output_index: 0,
        content_index: 0,
        delta,
      }),
    ),
    namedFrame({ type: 'response.completed', sequence_number: n++, response: response('completed', true) }),
  ];
  await streamFrames(res, frames, b);
}

/** The Messages API as Anthropic serves it: `input_tokens` without the cache reads. */
async function nativeMessages(res: ServerResponse, body: Json, b: Behavior): Promise<void> {
  const tokens = completionTokens(b);
  const text = tokens.join('');
  const cached = b.cached ?? 0;
  const input = promptTokens(Array.isArray(body.messages) ? body.messages : []);
  const usage = {
    input_tokens: input,
    output_tokens: tokens.length,
    cache_read_input_tokens: cached,
    cache_creation_input_tokens: 0,
  };
  const id = `msg_fake${(++seq).toString(36)}`;
  const model = String(body.model ?? 'fake-model');
  const message = {
    id,
    type: 'message',
    role: 'assistant',
    model,
    content: [{ type: 'text', text }],
    stop_reason: 'end_turn',
    stop_sequence: null,
    usage,
  };
  if (body.stream !== true) return sendJson(res, 200, message);
  const frames = [
    namedFrame({
      type: 'message_start',
      message: { ...message, content: [], stop_reason: null, usage: { ...usage, output_tokens: 1 } },
    }),
    namedFrame({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
    ...tokens.map((t) =>
      namedFrame({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: t } }),
    ),
    namedFrame({ type: 'content_block_stop', index: 0 }),
    namedFrame({
      type: 'message_delta',
      delta: { stop_reason: 'end_turn', stop_sequence: null },
      usage: { output_tokens: tokens.length },
    }),
    namedFrame({ type: 'message_stop' }),
  ];
  await streamFrames(res, frames, b);
}

// ---------- embeddings ----------

/** 8 floats in [-1, 1) from an FNV-1a hash and xorshift, rounded to float32 so both encodings agree. */
function embed(text: string): number[] {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  h = h || 1;
  const out: number[] = [];
  for (let i = 0; i < 8; i++) {
    h ^= h << 13;
    h ^= h >>> 17;
    h ^= h << 5;
    out.push(Math.fround((h >>> 0) / 2 ** 31 - 1));
  }
  return out;
}

function toBase64(values: number[]): string {
  const buf = Buffer.alloc(values.length * 4);
  for (const [i, v] of values.entries()) buf.writeFloatLE(v, i * 4);
  return buf.toString('base64');
}

function embeddings(body: Json, b: Behavior): Reply {
  const inputs = embeddingInputs(body.input);
  if (!inputs) return [400, errorBody("'input' must be a string, an array of strings or of token-id arrays")];
  const base64 = body.encoding_format === 'base64';
  const data = inputs.map((s, index) => {
    const vector = embed(typeof s === 'string' ? s : s.join(' '));
    return { object: 'embedding', index, embedding: base64 ? toBase64(vector) : vector };
  });
  const tokens = inputs.reduce((n, s) => n + (typeof s === 'string' ? wordCount(s) : s.length), 0);
  const model = typeof body.model === 'string' ? body.model : 'fake-model';
  const usage = { prompt_tokens: tokens, total_tokens: tokens };
  return [200, { object: 'list', data, model, ...(b.noUsage ? {} : { usage }) }];
}

/** The inputs of an embeddings request as OpenAI takes them: texts, or token ids (one array or several). */
function embeddingInputs(input: unknown): Array<string | number[]> | null {
  const isIds = (v: unknown): v is number[] =>
    Array.isArray(v) && v.length > 0 && v.every((n) => Number.isInteger(n));
  if (typeof input === 'string') return [input];
  if (!Array.isArray(input) || input.length === 0) return null;
  if (input.every((s) => typeof s === 'string')) return input as string[];
  if (isIds(input)) return [input];
  return input.every(isIds) ? input : null;
}

// ---------- routing ----------

async function handleV1(req: IncomingMessage, res: ServerResponse, path: string, raw: string): Promise<void> {
  stats.requests++;
  if (path === '/v1/chat/completions') stats.chat++;
  if (path === '/v1/embeddings') stats.embeddings++;
  res.on('close', () => {
    if (!res.writableFinished && !dropped.has(res)) stats.aborted++;
  });

  let body: unknown = null;
  try {
    body = raw === '' ? null : JSON.parse(raw);
  } catch {
    stats.lastRequest = { headers: req.headers, body: raw };
    return sendError(res, 400, 'We could not parse the JSON body of your request.');
  }
  stats.lastRequest = { headers: req.headers, body, path };

  const apiKey = args['api-key'];
  if (apiKey !== undefined && req.headers.authorization !== `Bearer ${apiKey}`) {
    return sendError(res, 401, 'Incorrect API key provided.', undefined, 'invalid_api_key');
  }

  let b: Behavior;
  try {
    b = behaviorFor(req);
  } catch (err) {
    return sendError(res, 400, `x-fake-behavior: ${(err as Error).message}`);
  }
  if (b.stall) await sleep(b.stall);
  if (res.destroyed) return;
  if (b.status !== undefined) {
    return sendError(res, b.status, 'fake failure', 'server_error', `fake_${b.status}`);
  }

  const route = `${req.method} ${path}`;
  if (route === 'GET /v1/models') return sendJson(res, 200, MODELS);
  if (route === 'POST /v1/responses' || route === 'POST /v1/messages') {
    if (!isRecord(body)) return sendError(res, 400, 'Body must be a JSON object.');
    return path.endsWith('/responses') ? nativeResponses(res, body, b) : nativeMessages(res, body, b);
  }
  const isPost = route === 'POST /v1/chat/completions' || route === 'POST /v1/embeddings';
  if (isPost && !isRecord(body)) return sendError(res, 400, 'Body must be a JSON object.');
  if (isPost && route.endsWith('/chat/completions')) return chatCompletions(res, body as Json, b);
  if (isPost) return sendJson(res, ...embeddings(body as Json, b));
  sendError(res, 404, `Unknown request URL: ${req.method} ${path}`, undefined, 'unknown_url');
}

function controlReply(route: string, raw: string): Reply {
  switch (route) {
    case 'GET /__stats':
      return [200, stats];
    case 'POST /__stats/reset':
      Object.assign(stats, { requests: 0, chat: 0, embeddings: 0, aborted: 0, lastRequest: null });
      return [200, { ok: true }];
    case 'POST /__control/reset':
      control = null;
      return [200, { ok: true }];
    case 'POST /__control':
      return setControl(raw);
    default:
      return [404, errorBody(`Unknown control URL: ${route}`)];
  }
}

function setControl(raw: string): Reply {
  try {
    const body: unknown = JSON.parse(raw);
    if (!isRecord(body) || typeof body.behavior !== 'string') throw new Error('expected {behavior, times?}');
    const times = body.times ?? Number.POSITIVE_INFINITY;
    if (typeof times !== 'number' || times < 1) throw new Error("'times' must be a positive number");
    control = { behavior: parseBehavior(body.behavior), remaining: times };
    return [200, { ok: true }];
  } catch (err) {
    return [400, errorBody((err as Error).message)];
  }
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? '/').split('?')[0] ?? '/';
  const raw = req.method === 'GET' || req.method === 'HEAD' ? '' : await readBody(req);
  if (path.startsWith('/v1/')) return handleV1(req, res, path, raw);
  if (path.startsWith('/__')) return sendJson(res, ...controlReply(`${req.method} ${path}`, raw));
  sendError(res, 404, `Unknown request URL: ${req.method} ${path}`, undefined, 'unknown_url');
}

const server = createServer((req, res) => {
  handle(req, res).catch((err: unknown) => {
    if (res.headersSent) res.destroy();
    else sendError(res, 500, `fake upstream bug: ${String(err)}`, 'server_error', null);
  });
});
// Outlive typical client keep-alive pools so benchmarks do not race idle-socket closes.
server.keepAliveTimeout = 65_000;

function shutdown(): void {
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 1000).unref();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
if (args['exit-on-stdin-close']) {
  process.stdin.on('end', shutdown);
  process.stdin.resume();
}

server.listen(Number(args.port), args.host, () => {
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : Number(args.port);
  const host = args.host.includes(':') ? `[${args.host}]` : args.host;
  process.stdout.write(`${JSON.stringify({ listening: `http://${host}:${port}` })}\n`);
});

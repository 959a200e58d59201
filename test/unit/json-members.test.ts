/**
 * The targeted JSON rewrite (src/shared/json-members.ts) and the chat chunks passed on without a parse:
 * random objects with tricky strings, written in varied ways (spacing, escapes), must come out as
 * parse → change → stringify would have made them.
 */
import { describe, expect, it } from 'vitest';
import { plainChunkLayout, renderPlainChunk } from '../../src/gateway/chat-chunks.js';
import { editObject, objectLayout, valueText } from '../../src/shared/json-members.js';

/** A small seeded generator, so a failure can be replayed. */
function rng(seed: number) {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  return { next, int, pick };
}
type Rng = ReturnType<typeof rng>;

const TRICKY = [
  'model',
  'usage',
  'error',
  '"model"',
  '"model":"x"',
  '\\',
  '\\"',
  '"usage":null',
  '"usage":{"prompt_tokens":1}',
  '}',
  '{',
  ']',
  '[',
  ',',
  ':',
  'é',
  '€',
  '😀',
  '\n',
  '\u2028',
  '\u0000',
  'data: ',
  ' ',
];

function randomString(r: Rng): string {
  let s = '';
  const n = r.int(5);
  for (let i = 0; i < n; i++) s += r.next() < 0.6 ? r.pick(TRICKY) : String.fromCharCode(32 + r.int(95));
  return s;
}

const KEYS = ['model', 'usage', 'error', 'id', 'choices', 'content', 'delta', 'x', '1', '__proto__'];

/** An object as its members, in order: a key may repeat, as JSON text allows. */
class Obj {
  constructor(readonly members: Array<[string, unknown]>) {}
}

function randomValue(r: Rng, depth: number): unknown {
  switch (r.int(depth > 2 ? 4 : 7)) {
    case 0:
      return randomString(r);
    case 1:
      return r.pick([0, -1, 1.5, 1e21, -0.000001, 123456789]);
    case 2:
      return r.pick([true, false, null]);
    case 3:
      return r.pick(KEYS);
    case 4:
    case 5:
      return randomObject(r, depth + 1);
    default:
      return Array.from({ length: r.int(4) }, () => randomValue(r, depth + 1));
  }
}

function randomObject(r: Rng, depth: number): Obj {
  return new Obj(
    Array.from({ length: r.int(6) }, (): [string, unknown] => [
      r.next() < 0.8 ? r.pick(KEYS) : randomString(r),
      randomValue(r, depth),
    ]),
  );
}

const space = (r: Rng) => (r.next() < 0.7 ? '' : r.pick([' ', '\n', '\t', '\r\n', '  ']));

/** A string as a JSON writer may write it: some characters escaped as \uXXXX (letters too), `/` as `\/`. */
function writeString(r: Rng, s: string): string {
  let out = '"';
  for (const ch of s) {
    const code = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\' || code < 0x20) out += JSON.stringify(ch).slice(1, -1);
    else if (r.next() < 0.1 && code < 0x10000) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else if (ch === '/' && r.next() < 0.5) out += '\\/';
    else out += ch;
  }
  return `${out}"`;
}

function write(r: Rng, v: unknown): string {
  if (v instanceof Obj) {
    const parts = v.members.map(
      ([k, x]) => `${space(r)}${writeString(r, k)}${space(r)}:${space(r)}${write(r, x)}${space(r)}`,
    );
    return `{${parts.join(',')}${v.members.length === 0 ? space(r) : ''}}`;
  }
  if (Array.isArray(v))
    return `[${space(r)}${v.map((x) => write(r, x)).join(`${space(r)},${space(r)}`)}${space(r)}]`;
  if (typeof v === 'string') return writeString(r, v);
  return JSON.stringify(v);
}

const randomObjectText = (r: Rng): string => `${space(r)}${write(r, randomObject(r, 0))}${space(r)}`;

const parse = (text: string) => JSON.parse(text) as Record<string, unknown>;
const hasOwn = (o: object, k: string) => Object.hasOwn(o, k);

/** How often each wanted key appears at the top level of `text`, read by a JSON parser's reviver. */
function topLevelCounts(text: string, keys: readonly string[]): number[] {
  const counts = keys.map(() => 0);
  // Duplicate keys collapse when parsed; count them from a scan of the literal keys at depth 1 instead.
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      const token = text.slice(i, j + 1);
      let k = j + 1;
      while (/\s/.test(text[k] ?? '')) k++;
      if (depth === 1 && text[k] === ':') {
        const idx = keys.indexOf(JSON.parse(token) as string);
        if (idx !== -1) counts[idx]!++;
      }
      i = j;
    } else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') depth--;
  }
  return counts;
}

describe('objectLayout and editObject', () => {
  it('finds, replaces, drops and adds top-level members of random objects as parse/stringify would', () => {
    const keys = ['model', 'usage'] as const;
    let laidOut = 0;
    for (let seed = 1; seed <= 3000; seed++) {
      const r = rng(seed);
      const text = randomObjectText(r);
      const parsed = parse(text);
      const counts = topLevelCounts(text, keys);
      const layout = objectLayout(text, keys);
      if (counts.some((n) => n > 1)) {
        // A repeated key: which value counts depends on the reader, so it is left to the parser.
        expect(layout, `seed ${seed}: ${text}`).toBeUndefined();
        continue;
      }
      expect(layout, `seed ${seed}: ${text}`).toBeDefined();
      laidOut++;
      const [model, usage] = layout!.members;
      expect(model !== undefined, `seed ${seed}`).toBe(hasOwn(parsed, 'model'));
      expect(usage !== undefined, `seed ${seed}`).toBe(hasOwn(parsed, 'usage'));
      if (model) expect(JSON.parse(valueText(text, model))).toEqual(parsed.model);

      const name = r.pick(['public/model', 'a"b\\c', 'é😀']);
      const renamed = editObject(text, layout!, {
        set: { key: 'model', member: model, json: JSON.stringify(name) },
      });
      expect(parse(renamed), `seed ${seed}: ${text}`).toEqual({ ...parsed, model: name });

      const withoutUsage: Record<string, unknown> = { ...parsed, model: name };
      delete withoutUsage.usage;
      const edited = editObject(text, layout!, {
        set: { key: 'model', member: model, json: JSON.stringify(name) },
        drop: usage,
      });
      expect(parse(edited), `seed ${seed}: ${text} → ${edited}`).toEqual(withoutUsage);
    }
    expect(laidOut).toBeGreaterThan(2000);
  });

  it('gives up on text that is not one whole object', () => {
    for (const text of [
      '',
      '[]',
      '"model"',
      'null',
      '{',
      '{"model":"a"',
      '{"model":"a",}',
      '{"model":"a"} {}',
      '{"model":"a"}x',
      '{"model" "a"}',
      '{"model":"a\\"}',
      '{"a":[1,2}',
      '{"a":{"b":1]}',
      '{"a":tru}',
      '{model:"a"}',
    ])
      expect(objectLayout(text, ['model']), text).toBeUndefined();
  });

  it('gives up on every truncation of an object', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const text = randomObjectText(rng(seed)).trim();
      for (let cut = 0; cut < text.length; cut++)
        expect(objectLayout(text.slice(0, cut), ['model']), `${seed}/${cut}`).toBeUndefined();
    }
  });

  it('reads escaped keys by what they mean', () => {
    const text = '{"mod\\u0065l":"a","us\\u0061ge":null,"x":1}';
    const layout = objectLayout(text, ['model', 'usage'])!;
    expect(valueText(text, layout.members[0]!)).toBe('"a"');
    expect(valueText(text, layout.members[1]!)).toBe('null');
    expect(objectLayout('{"model":"a","mod\\u0065l":"b"}', ['model'])).toBeUndefined();
  });
});

describe('chat chunks passed on unparsed', () => {
  const chunk = (extra: Record<string, unknown>, content = 'Hi "model": there') =>
    JSON.stringify({
      id: 'c1',
      object: 'chat.completion.chunk',
      created: 1,
      model: 'upstream/m',
      choices: [{ index: 0, delta: { content, model: 'nested' }, finish_reason: null }],
      ...extra,
    });

  /** What the parsed path renders. */
  const classic = (data: string, keepUsage: boolean) => {
    const c = parse(data);
    if (!keepUsage) delete c.usage;
    c.model = 'public/m';
    return c;
  };

  it('renders a chunk as the parsed path would, with and without the usage the client asked for', () => {
    for (const data of [
      chunk({}),
      chunk({ usage: null }),
      chunk({ usage: null }, 'usage'),
      '{"choices":[],"usage":null}',
      '{"usage":null}',
      '{}',
      '{ "model" : 7 , "usage" : null }',
      '{"usage":null,"model":"upstream/m","x":[{"model":"y"}]}',
    ])
      for (const keepUsage of [true, false]) {
        const layout = plainChunkLayout(data);
        expect(layout, data).toBeDefined();
        const out = renderPlainChunk(data, layout!, JSON.stringify('public/m'), keepUsage);
        expect(parse(out), `${data} keep=${keepUsage}`).toEqual(classic(data, keepUsage));
      }
  });

  it('passes a chunk that already names the public model on unchanged', () => {
    const data = chunk({}).replace('upstream/m', 'public/m');
    expect(renderPlainChunk(data, plainChunkLayout(data)!, '"public/m"', false)).toBe(data);
  });

  it('leaves chunks with usage, errors, line breaks or a doubtful shape to the parser', () => {
    for (const data of [
      chunk({ usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 } }),
      chunk({ usage: 0 }),
      chunk({ error: { message: 'boom' } }),
      chunk({ error: null }),
      '{"us\\u0061ge":{"prompt_tokens":1}}',
      '{"model":"a",\n"x":1}',
      '{"model":"a",\r"x":1}',
      '{"model":"a","model":"b"}',
      'not json',
      '[{"model":"a"}]',
    ])
      expect(plainChunkLayout(data), data).toBeUndefined();
  });
});

/**
 * Where the top-level members of a JSON object sit in its text, found without parsing it, so a relay
 * can read or replace one value and pass every other byte on as it came. It trusts the text to be
 * JSON (it checks the top level's shape and that brackets balance, not every nested token) and gives
 * up — returns undefined, and the caller parses — wherever answering would mean guessing.
 */

/** One member of the top level, as offsets into the text. */
export interface MemberSpan {
  /** The `{` or `,` before the member. */
  before: number;
  /** The key's opening quote. */
  keyStart: number;
  /** The value's first character, and the offset just past its last. */
  valueStart: number;
  valueEnd: number;
}

export interface ObjectLayout {
  /** The spans of the keys asked for, in the order asked; undefined for a key that is absent. */
  members: Array<MemberSpan | undefined>;
  /** The closing brace of the object. */
  close: number;
  /** How many members the object has. */
  count: number;
}

const QUOTE = 34;
const BACKSLASH = 92;
const COMMA = 44;
const COLON = 58;
const OPEN_BRACE = 123;
const CLOSE_BRACE = 125;
const OPEN_BRACKET = 91;

/** Next character that matters inside a container: a string, or a bracket. */
const STRUCTURE = /[^"[\]{}]*/y;
/** A top-level scalar: a number, `true`, `false` or `null`. */
const SCALAR = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null/y;

const isSpace = (c: number) => c === 32 || c === 10 || c === 13 || c === 9;

function skipSpace(text: string, i: number): number {
  while (i < text.length && isSpace(text.charCodeAt(i))) i++;
  return i;
}

/** The offset just past the string that opens at `i`, or -1 when it does not end. */
function skipString(text: string, i: number): number {
  let from = i + 1;
  for (;;) {
    const q = text.indexOf('"', from);
    if (q === -1) return -1;
    let slashes = 0;
    while (text.charCodeAt(q - 1 - slashes) === BACKSLASH) slashes++;
    if ((slashes & 1) === 0) return q + 1;
    from = q + 1;
  }
}

/** The offset just past the object or array that opens at `i`, or -1 when its brackets do not balance. */
function skipContainer(text: string, i: number): number {
  const closers: number[] = [];
  let at = i;
  while (at < text.length) {
    const c = text.charCodeAt(at);
    if (c === QUOTE) {
      at = skipString(text, at);
      if (at === -1) return -1;
      continue;
    }
    if (c === OPEN_BRACE || c === OPEN_BRACKET) closers.push(c + 2);
    else if (c === CLOSE_BRACE || c === OPEN_BRACKET + 2) {
      if (closers.pop() !== c) return -1;
      if (closers.length === 0) return at + 1;
    }
    STRUCTURE.lastIndex = at + 1;
    STRUCTURE.test(text);
    at = STRUCTURE.lastIndex;
  }
  return -1;
}

/** The offset just past the value that starts at `i`, or -1 when there is none. */
function skipValue(text: string, i: number): number {
  const c = text.charCodeAt(i);
  if (c === QUOTE) return skipString(text, i);
  if (c === OPEN_BRACE || c === OPEN_BRACKET) return skipContainer(text, i);
  SCALAR.lastIndex = i;
  return SCALAR.test(text) ? SCALAR.lastIndex : -1;
}

/** A key's text: its characters, or, when it holds an escape, what the escape means. */
function keyOf(text: string, start: number, end: number): string | undefined {
  const raw = text.slice(start + 1, end - 1);
  if (!raw.includes('\\')) return raw;
  try {
    return JSON.parse(text.slice(start, end)) as string;
  } catch {
    return undefined;
  }
}

/**
 * The layout of the JSON object `text` with the spans of the `keys` asked for; undefined when the text
 * is not one object, is malformed at its top level, or repeats a key asked for (which value counts
 * would then depend on the reader).
 */
export function objectLayout(text: string, keys: readonly string[]): ObjectLayout | undefined {
  const members: Array<MemberSpan | undefined> = keys.map(() => undefined);
  let i = skipSpace(text, 0);
  if (text.charCodeAt(i) !== OPEN_BRACE) return undefined;
  let before = i;
  let count = 0;
  i = skipSpace(text, i + 1);
  if (text.charCodeAt(i) === CLOSE_BRACE) return finish(text, members, i, 0);
  for (;;) {
    const keyStart = i;
    if (text.charCodeAt(i) !== QUOTE) return undefined;
    const keyEnd = skipString(text, i);
    if (keyEnd === -1) return undefined;
    i = skipSpace(text, keyEnd);
    if (text.charCodeAt(i) !== COLON) return undefined;
    const valueStart = skipSpace(text, i + 1);
    const valueEnd = skipValue(text, valueStart);
    if (valueEnd === -1) return undefined;
    count++;
    const key = keyOf(text, keyStart, keyEnd);
    if (key === undefined) return undefined;
    const wanted = keys.indexOf(key);
    if (wanted !== -1) {
      if (members[wanted]) return undefined;
      members[wanted] = { before, keyStart, valueStart, valueEnd };
    }
    i = skipSpace(text, valueEnd);
    const c = text.charCodeAt(i);
    if (c === CLOSE_BRACE) return finish(text, members, i, count);
    if (c !== COMMA) return undefined;
    before = i;
    i = skipSpace(text, i + 1);
  }
}

function finish(
  text: string,
  members: Array<MemberSpan | undefined>,
  close: number,
  count: number,
): ObjectLayout | undefined {
  return skipSpace(text, close + 1) === text.length ? { members, close, count } : undefined;
}

/** The text of a member's value. */
export const valueText = (text: string, m: MemberSpan): string => text.slice(m.valueStart, m.valueEnd);

/** A change to an object: one member set (its value replaced, or added at the end when absent), one dropped. */
export interface ObjectEdit {
  set?: { key: string; member: MemberSpan | undefined; json: string } | undefined;
  /** Dropped with its comma; must not be the member set. */
  drop?: MemberSpan | undefined;
}

/** `text` with `edit` made; every other byte is kept as it was. */
export function editObject(text: string, layout: ObjectLayout, edit: ObjectEdit): string {
  // Cuts never overlap (a dropped member's range ends before the next member's key), and are made
  // from the end of the text backwards so that earlier offsets stay valid.
  const cuts: Array<{ from: number; to: number; insert: string }> = [];
  const { set, drop } = edit;
  if (drop) {
    // The first member takes its following comma with it; any other, its preceding one.
    const first = text.charCodeAt(drop.before) === OPEN_BRACE;
    cuts.push(
      first
        ? { from: drop.keyStart, to: nextSeparator(text, drop.valueEnd), insert: '' }
        : { from: drop.before, to: drop.valueEnd, insert: '' },
    );
  }
  if (set?.member) cuts.push({ from: set.member.valueStart, to: set.member.valueEnd, insert: set.json });
  else if (set) {
    const others = layout.count - (drop ? 1 : 0);
    const member = `${others > 0 ? ',' : ''}${JSON.stringify(set.key)}:${set.json}`;
    cuts.push({ from: layout.close, to: layout.close, insert: member });
  }
  cuts.sort((a, b) => b.from - a.from);
  let out = text;
  for (const cut of cuts) out = out.slice(0, cut.from) + cut.insert + out.slice(cut.to);
  return out;
}

/** Just past the separator after a value: its comma and the spaces after it, or up to the closing brace. */
function nextSeparator(text: string, valueEnd: number): number {
  const i = skipSpace(text, valueEnd);
  return text.charCodeAt(i) === COMMA ? skipSpace(text, i + 1) : i;
}

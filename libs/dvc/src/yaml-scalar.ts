/**
 * Emits one YAML scalar exactly as ruamel.yaml (DVC's YAML library, round-trip mode, YAML 1.2,
 * default width 80, allow_unicode) writes it as a block-mapping value. This is a port of the parts of
 * ruamel's `Emitter` that a scalar value goes through (`analyze_scalar`, `choose_scalar_style`,
 * `write_plain`, `write_single_quoted`, `write_double_quoted`), kept close to the original so that
 * the two can be compared line by line: quoting (`'true'`, `'123'`, `"a\tb"`) and the folding of
 * long values onto continuation lines both decide the bytes of a `.dvc` file.
 */

const BEST_WIDTH = 80;
const LINE_BREAKS = '\n\x85\u2028\u2029';
const WHITESPACE_OR_END = '\0 \t\r\n\x85\u2028\u2029';

interface Analysis {
  multiline: boolean;
  allowBlockPlain: boolean;
  allowSingleQuoted: boolean;
}

/**
 * Implicit resolvers of ruamel's YAML 1.2 dumper, keyed by the first character they apply to. A
 * string matching one would read back as a bool, number, null, ... so it must be quoted.
 */
const RESOLVERS: readonly { first: string; pattern: RegExp }[] = [
  { first: 'tTfF', pattern: /^(?:true|True|TRUE|false|False|FALSE)$/ },
  {
    first: '-+0123456789.',
    pattern:
      /^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?|[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)|[-+]?\.[0-9_]+(?:[eE][-+][0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/,
  },
  {
    first: '-+0123456789',
    pattern: /^(?:[-+]?0b[0-1_]+|[-+]?0o?[0-7_]+|[-+]?[0-9_]+|[-+]?0x[0-9a-fA-F_]+)$/,
  },
  { first: '<', pattern: /^(?:<<)$/ },
  { first: '~nN', pattern: /^(?:~|null|Null|NULL|)$/ },
  {
    first: '0123456789',
    pattern:
      /^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$/,
  },
  { first: '=', pattern: /^(?:=)$/ },
  { first: '!&*', pattern: /^(?:!|&|\*)$/ },
];

/** Whether a plain scalar `value` would be read back as something other than a string. */
function resolvesToNonString(value: string): boolean {
  if (value === '') return true;
  // Python's `$` also matches before one trailing newline.
  const candidates = value.endsWith('\n') ? [value, value.slice(0, -1)] : [value];
  const first = value[0] ?? '';
  return RESOLVERS.some((r) => r.first.includes(first) && candidates.some((c) => r.pattern.test(c)));
}

function inRange(ch: string, lo: number, hi: number): boolean {
  const cp = ch.codePointAt(0) ?? 0;
  return cp >= lo && cp <= hi;
}

function analyzeScalar(chars: readonly string[]): Analysis {
  const n = chars.length;
  let blockIndicators = false;
  let lineBreaks = false;
  let specialCharacters = false;
  let leadingSpace = false;
  let leadingBreak = false;
  let trailingSpace = false;
  let trailingBreak = false;
  let breakSpace = false;
  let spaceBreak = false;

  const text = chars.join('');
  if (text.startsWith('---') || text.startsWith('...')) blockIndicators = true;

  let precededByWhitespace = true;
  let followedByWhitespace = n === 1 || WHITESPACE_OR_END.includes(chars[1] ?? '');
  let previousSpace = false;
  let previousBreak = false;

  for (let index = 0; index < n; index++) {
    const ch = chars[index] ?? '';
    if (index === 0) {
      if ('#,[]{}&*!|>\'"%@`'.includes(ch)) blockIndicators = true;
      if ('?:'.includes(ch) && followedByWhitespace) blockIndicators = true;
      if (ch === '-' && followedByWhitespace) blockIndicators = true;
    } else {
      if (ch === ':' && followedByWhitespace) blockIndicators = true;
      if (ch === '#' && precededByWhitespace) blockIndicators = true;
    }

    if (LINE_BREAKS.includes(ch)) lineBreaks = true;
    if (!(ch === '\n' || inRange(ch, 0x20, 0x7e))) {
      const printable =
        (ch === '\x85' ||
          inRange(ch, 0xa0, 0xd7ff) ||
          inRange(ch, 0xe000, 0xfffd) ||
          inRange(ch, 0x10000, 0x10ffff)) &&
        ch !== '\ufeff';
      if (!printable) specialCharacters = true;
    }

    if (ch === ' ') {
      if (index === 0) leadingSpace = true;
      if (index === n - 1) trailingSpace = true;
      if (previousBreak) breakSpace = true;
      previousSpace = true;
      previousBreak = false;
    } else if (LINE_BREAKS.includes(ch)) {
      if (index === 0) leadingBreak = true;
      if (index === n - 1) trailingBreak = true;
      if (previousSpace) spaceBreak = true;
      previousSpace = false;
      previousBreak = true;
    } else {
      previousSpace = false;
      previousBreak = false;
    }

    precededByWhitespace = WHITESPACE_OR_END.includes(ch);
    followedByWhitespace = index + 2 >= n || WHITESPACE_OR_END.includes(chars[index + 2] ?? '');
  }

  let allowBlockPlain = true;
  let allowSingleQuoted = true;
  if (leadingSpace || leadingBreak || trailingSpace || trailingBreak) allowBlockPlain = false;
  if (breakSpace) allowBlockPlain = allowSingleQuoted = false;
  if (specialCharacters || spaceBreak) allowBlockPlain = allowSingleQuoted = false;
  if (lineBreaks) allowBlockPlain = false;
  if (blockIndicators) allowBlockPlain = false;
  return { multiline: lineBreaks, allowBlockPlain, allowSingleQuoted };
}

const ESCAPE_REPLACEMENTS: Readonly<Record<string, string>> = {
  '\0': '0',
  '\x07': 'a',
  '\x08': 'b',
  '\x09': 't',
  '\x0A': 'n',
  '\x0B': 'v',
  '\x0C': 'f',
  '\x0D': 'r',
  '\x1B': 'e',
  '"': '"',
  '\\': '\\',
  '\x85': 'N',
  '\xA0': '_',
  '\u2028': 'L',
  '\u2029': 'P',
};

/** The writer state ruamel keeps while emitting; columns count code points, as Python's len does. */
class ScalarWriter {
  private readonly out: string[] = [];
  private whitespace = false;
  private indention = false;
  private column: number;
  private readonly indent: number;

  constructor(column: number, indent: number) {
    this.column = column;
    this.indent = indent;
  }

  text(): string {
    return this.out.join('');
  }

  private write(data: string): void {
    this.column += [...data].length;
    this.out.push(data);
  }

  private writeIndicator(indicator: string, needWhitespace: boolean): void {
    const data = this.whitespace || !needWhitespace ? indicator : ` ${indicator}`;
    this.whitespace = false;
    this.indention = false;
    this.write(data);
  }

  private writeIndent(): void {
    if (!this.indention || this.column > this.indent || (this.column === this.indent && !this.whitespace)) {
      this.writeLineBreak();
    }
    if (this.column < this.indent) {
      this.whitespace = true;
      this.out.push(' '.repeat(this.indent - this.column));
      this.column = this.indent;
    }
  }

  private writeLineBreak(data = '\n'): void {
    this.whitespace = true;
    this.indention = true;
    this.column = 0;
    this.out.push(data);
  }

  private writeBreaks(chars: readonly string[], start: number, end: number): void {
    if (chars[start] === '\n') this.writeLineBreak();
    for (const br of chars.slice(start, end)) this.writeLineBreak(br);
    this.writeIndent();
  }

  writePlain(chars: readonly string[]): void {
    if (chars.length === 0) return;
    if (!this.whitespace) this.write(' ');
    this.whitespace = false;
    this.indention = false;
    let spaces = false;
    let breaks = false;
    let start = 0;
    for (let end = 0; end <= chars.length; end++) {
      const ch = end < chars.length ? chars[end] : undefined;
      if (spaces) {
        if (ch !== ' ') {
          if (start + 1 === end && this.column >= BEST_WIDTH) {
            this.writeIndent();
            this.whitespace = false;
            this.indention = false;
          } else {
            this.write(chars.slice(start, end).join(''));
          }
          start = end;
        }
      } else if (breaks) {
        if (ch === undefined || !LINE_BREAKS.includes(ch)) {
          this.writeBreaks(chars, start, end);
          this.whitespace = false;
          this.indention = false;
          start = end;
        }
      } else if (ch === undefined || ' \n\x85\u2028\u2029'.includes(ch)) {
        const data = chars.slice(start, end);
        // Words longer than the line get a line of their own.
        if (data.length + this.column > BEST_WIDTH && this.column > this.indent) this.writeIndent();
        this.write(data.join(''));
        start = end;
      }
      if (ch !== undefined) {
        spaces = ch === ' ';
        breaks = LINE_BREAKS.includes(ch);
      }
    }
  }

  writeSingleQuoted(chars: readonly string[]): void {
    this.writeIndicator("'", true);
    let spaces = false;
    let breaks = false;
    let start = 0;
    for (let end = 0; end <= chars.length; end++) {
      const ch = end < chars.length ? chars[end] : undefined;
      if (spaces) {
        if (ch === undefined || ch !== ' ') {
          if (start + 1 === end && this.column > BEST_WIDTH && start !== 0 && end !== chars.length) {
            this.writeIndent();
          } else {
            this.write(chars.slice(start, end).join(''));
          }
          start = end;
        }
      } else if (breaks) {
        if (ch === undefined || !LINE_BREAKS.includes(ch)) {
          this.writeBreaks(chars, start, end);
          start = end;
        }
      } else if (ch === undefined || ' \n\x85\u2028\u2029'.includes(ch) || ch === "'") {
        if (start < end) {
          this.write(chars.slice(start, end).join(''));
          start = end;
        }
      }
      if (ch === "'") {
        this.write("''");
        start = end + 1;
      }
      if (ch !== undefined) {
        spaces = ch === ' ';
        breaks = LINE_BREAKS.includes(ch);
      }
    }
    this.writeIndicator("'", false);
  }

  writeDoubleQuoted(chars: readonly string[]): void {
    this.writeIndicator('"', true);
    let start = 0;
    for (let end = 0; end <= chars.length; end++) {
      const ch = end < chars.length ? chars[end] : undefined;
      if (
        ch === undefined ||
        '"\\\x85\u2028\u2029\ufeff'.includes(ch) ||
        !(
          inRange(ch, 0x20, 0x7e) ||
          inRange(ch, 0xa0, 0xd7ff) ||
          inRange(ch, 0xe000, 0xfffd) ||
          inRange(ch, 0x10000, 0x10ffff)
        )
      ) {
        if (start < end) {
          this.write(chars.slice(start, end).join(''));
          start = end;
        }
        if (ch !== undefined) {
          const cp = ch.codePointAt(0) ?? 0;
          const replacement = ESCAPE_REPLACEMENTS[ch];
          let data: string;
          if (replacement !== undefined) data = `\\${replacement}`;
          else if (cp <= 0xff) data = `\\x${hex(cp, 2)}`;
          else if (cp <= 0xffff) data = `\\u${hex(cp, 4)}`;
          else data = `\\U${hex(cp, 8)}`;
          this.write(data);
          start = end + 1;
        }
      }
      if (
        end > 0 &&
        end < chars.length - 1 &&
        (ch === ' ' || start >= end) &&
        this.column + (end - start) > BEST_WIDTH
      ) {
        const needBackslash = this.needsBackslash(chars, start, end);
        const data = chars.slice(start, end).join('') + (needBackslash ? '\\' : '');
        if (start < end) start = end;
        this.write(data);
        this.writeIndent();
        this.whitespace = false;
        this.indention = false;
        if (chars[start] === ' ') {
          if (!needBackslash) start += 1; // the line break reads back as that space
          if (needBackslash) this.write('\\');
        }
      }
    }
    this.writeIndicator('"', false);
  }

  /** Whether a fold at `end` inside a double-quoted scalar needs an escaping backslash (ruamel's rule). */
  private needsBackslash(chars: readonly string[], start: number, end: number): boolean {
    if (chars.length <= end) return true;
    let spacePos = chars.indexOf(' ', end);
    if (spacePos < 0) return true;
    const newlinePos = chars.slice(end, spacePos).indexOf('\n');
    if (newlinePos >= 0) spacePos = end + newlinePos;
    const next = chars[spacePos + 1];
    if (next === undefined) return true; // Python's IndexError: keep the backslash
    if (chars[spacePos] === '\n' && next !== ' ') return true;
    const between = chars.slice(end, spacePos);
    return !(
      !between.includes('"') &&
      !between.includes("'") &&
      !' \n'.includes(next) &&
      chars.slice(end - 1, end + 1).join('') !== '  ' &&
      start !== end
    );
  }
}

function hex(cp: number, width: number): string {
  return cp.toString(16).toUpperCase().padStart(width, '0');
}

/**
 * The text ruamel writes for a string value after `key:` in a block mapping: from the column just
 * past the colon, with continuation lines indented to `indent`. Includes the leading space.
 */
export function yamlStringValue(value: string, column: number, indent: number): string {
  const chars = [...value];
  const analysis = analyzeScalar(chars);
  const writer = new ScalarWriter(column, indent);
  if (!resolvesToNonString(value) && analysis.allowBlockPlain) writer.writePlain(chars);
  else if (value.includes("'") || value.includes('\n')) writer.writeDoubleQuoted(chars);
  else if (analysis.allowSingleQuoted) writer.writeSingleQuoted(chars);
  else writer.writeDoubleQuoted(chars);
  return writer.text();
}

// Identifiers and other received text, made safe to show to a person (CLI tables, HTML reports,
// trigger lines, dead-letter reasons). Pure: no AWS imports.
//
// Ingest refuses ids with control and invisible format characters (metric-event.ts), but other
// characters that are invisible or look like something else pass (non-ASCII spaces, line
// separators, private-use and unassigned code points, Hangul fillers), and text from a queue or an
// older stored state may hold anything. A display shows each such code point as an escape
// (\u202e, \u{e0001}) so that one id never looks like another (the Trojan Source class, CVE-2021-42574).
// Letters and combining marks of every script are shown as they are.

// Controls, format characters (bidi controls among them), line/paragraph separators, spaces other
// than U+0020, private use, lone surrogates, unassigned, and default-ignorable code points.
const DISPLAY_UNSAFE_RE = /(?! )[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Zs}\p{Co}\p{Cs}\p{Cn}\p{Default_Ignorable_Code_Point}]/gu;
// Most text is printable ASCII: one test and it is returned as it is.
const PRINTABLE_ASCII_RE = /^[\x20-\x7e]*$/;

/** `\uXXXX` for the BMP (as JSON writes it), `\u{X…}` beyond it. */
export function codePointEscape(cp: number): string {
  return cp > 0xffff ? `\\u{${cp.toString(16)}}` : `\\u${cp.toString(16).padStart(4, '0')}`;
}

/**
 * `text` with every invisible or look-alike code point shown as an escape. `keepLineBreaks` keeps
 * \n, \r and \t (for multi-line text such as a dead-lettered body); ids are always one line.
 */
export function escapeForDisplay(text: string, opts: { keepLineBreaks?: boolean } = {}): string {
  if (PRINTABLE_ASCII_RE.test(text)) return text;
  return text.replace(DISPLAY_UNSAFE_RE, (c) =>
    opts.keepLineBreaks && (c === '\n' || c === '\r' || c === '\t') ? c : codePointEscape(c.codePointAt(0)!),
  );
}

/**
 * JSON for a person's terminal: the same value as JSON.stringify gives, with the code points
 * escapeForDisplay escapes written as \u escapes. Lossless: JSON.parse gives back the exact text.
 */
export function jsonForDisplay(value: unknown, indent?: number): string {
  const json = JSON.stringify(value, null, indent);
  if (json === undefined || PRINTABLE_ASCII_RE.test(json)) return json;
  // Outside strings JSON holds only ASCII, so every match is inside a string, where \u escapes are
  // valid; characters beyond the BMP become their two surrogate escapes, as JSON requires.
  // The only raw line breaks in JSON.stringify's output are its own indentation.
  return json.replace(DISPLAY_UNSAFE_RE, (c) => {
    if (c === '\n') return c;
    let out = '';
    for (let i = 0; i < c.length; i++) out += `\\u${c.charCodeAt(i).toString(16).padStart(4, '0')}`;
    return out;
  });
}

// Names of the format characters (category Cf) producers are likely to send by accident or on purpose.
const FORMAT_CHARACTER_NAMES: Record<number, string> = {
  173: 'SOFT HYPHEN',
  1564: 'ARABIC LETTER MARK',
  6158: 'MONGOLIAN VOWEL SEPARATOR',
  8203: 'ZERO WIDTH SPACE',
  8204: 'ZERO WIDTH NON-JOINER',
  8205: 'ZERO WIDTH JOINER',
  8206: 'LEFT-TO-RIGHT MARK',
  8207: 'RIGHT-TO-LEFT MARK',
  8234: 'LEFT-TO-RIGHT EMBEDDING',
  8235: 'RIGHT-TO-LEFT EMBEDDING',
  8236: 'POP DIRECTIONAL FORMATTING',
  8237: 'LEFT-TO-RIGHT OVERRIDE',
  8238: 'RIGHT-TO-LEFT OVERRIDE',
  8288: 'WORD JOINER',
  8289: 'FUNCTION APPLICATION',
  8290: 'INVISIBLE TIMES',
  8291: 'INVISIBLE SEPARATOR',
  8292: 'INVISIBLE PLUS',
  8294: 'LEFT-TO-RIGHT ISOLATE',
  8295: 'RIGHT-TO-LEFT ISOLATE',
  8296: 'FIRST STRONG ISOLATE',
  8297: 'POP DIRECTIONAL ISOLATE',
  65279: 'ZERO WIDTH NO-BREAK SPACE',
  917505: 'LANGUAGE TAG',
};

/** "U+202E (RIGHT-TO-LEFT OVERRIDE)"; a format character without a name here is named by its category. */
export function describeCodePoint(cp: number): string {
  const hex = cp.toString(16).toUpperCase().padStart(4, '0');
  const name =
    FORMAT_CHARACTER_NAMES[cp] ??
    (cp >= 0xe0020 && cp <= 0xe007f
      ? 'TAG CHARACTER'
      : /\p{Cf}/u.test(String.fromCodePoint(cp))
        ? 'FORMAT CHARACTER'
        : null);
  return name ? `U+${hex} (${name})` : `U+${hex}`;
}

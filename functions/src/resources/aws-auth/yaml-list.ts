/**
 * In-place edits of a YAML list held as text (the `mapRoles`, `mapUsers` and `mapAccounts` values
 * of aws-auth), so that every byte of the entries we do not touch survives: their comments,
 * key order, indentation and quoting.
 *
 * Why not `Document.toString()`: the `yaml` package's Document API keeps comments and key order,
 * but re-serialising re-indents nested lists (`groups:\n- x` becomes `groups:\n  - x`), collapses
 * the spaces before a trailing comment and re-spaces flow collections — EKS's own node-role entry
 * and most hand-written files would change. So the Document API is used to *find* the entries
 * (their source ranges, from the parsed CST) and the text is spliced around them: removed entries
 * lose exactly their lines, new entries are appended after the last one in the list's own style,
 * and everything else is copied through. The result is parsed again and checked before use.
 */
import { isMap, isScalar, isSeq, parseDocument, stringify, type YAMLSeq } from 'yaml';

/** One entry of the list, as read. */
export interface ListEntry {
  /** The entry as plain data (`toJS`). */
  readonly value: unknown;
  /**
   * For a scalar entry, its text as written (`012345678901` keeps its leading zero, which the
   * number it parses to has lost); undefined for maps and lists.
   */
  readonly source?: string;
}

/** What to do to a list: indexes refer to {@link YamlList.entries}. */
export interface ListEdit {
  /** Entries to drop. */
  readonly remove?: ReadonlySet<number>;
  /** Entries to rewrite in place (their position is kept). */
  readonly replace?: ReadonlyMap<number, unknown>;
  /** New entries, appended after the last one. */
  readonly append?: readonly unknown[];
}

/** The input is not a list we can edit safely; the message says where and why. */
export class YamlListError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'YamlListError';
  }
}

/**
 * EKS reads aws-auth with a YAML 1.1 parser, where `on`, `yes`, `n` are booleans and `1:30` is a
 * number: one such unquoted group name would make it reject the whole list. Reading and writing as
 * YAML 1.1 quotes those strings, and reads existing entries as EKS does.
 */
const YAML_VERSION = { version: '1.1' } as const;

interface Located {
  /** Offset of the first character of the entry's first line (its indentation). */
  readonly lineStart: number;
  /** Offset just past the entry's last line (its newline included, if any). */
  readonly end: number;
  /** Offsets of the value alone (flow lists). */
  readonly valueStart: number;
  readonly valueEnd: number;
}

const lineStartOf = (text: string, offset: number) => text.lastIndexOf('\n', offset - 1) + 1;
const lineEndOf = (text: string, offset: number) => {
  const nl = text.indexOf('\n', offset);
  return nl < 0 ? text.length : nl + 1;
};

/**
 * A YAML list parsed for in-place editing.
 *
 * @example
 * const list = YamlList.parse(configMap.data?.mapRoles, 'data.mapRoles');
 * const text = list.edit({ remove: new Set([2]), append: [{ rolearn, username, groups }] });
 */
export class YamlList {
  private constructor(
    /** The text as read ('' when the key is absent). */
    readonly text: string,
    private readonly seq: YAMLSeq | undefined,
    private readonly located: readonly Located[],
    /** Every entry, in order. */
    readonly entries: readonly ListEntry[],
  ) {}

  /**
   * Parses `text` (undefined or empty: an empty list). `label` names the value in errors.
   *
   * @throws YamlListError when the text is not valid YAML or not a list.
   * @example
   * YamlList.parse('- rolearn: arn:aws:iam::111122223333:role/node\n', 'data.mapRoles').entries.length; // 1
   */
  static parse(text: string | undefined, label: string): YamlList {
    const source = text ?? '';
    const doc = parseDocument(source, {
      ...YAML_VERSION,
      keepSourceTokens: true,
      prettyErrors: true,
      uniqueKeys: false,
    });
    if (doc.errors.length > 0) {
      throw new YamlListError(
        `${label} is not valid YAML (${doc.errors[0]!.message.split('\n')[0]!.replace(/:$/, '')})`,
      );
    }
    const contents = doc.contents;
    if (contents === null || (isScalar(contents) && contents.value === null && contents.source === '')) {
      return new YamlList(source, undefined, [], []);
    }
    if (!isSeq(contents)) {
      throw new YamlListError(`${label} is not a YAML list (found ${isMap(contents) ? 'a map' : 'a single value'})`);
    }
    const located = locate(source, contents, label);
    const values = doc.toJS() as unknown[];
    const entries = contents.items.map((item, i): ListEntry => {
      const value = values[i];
      return isScalar(item)
        ? { value, source: typeof item.source === 'string' ? item.source : String(item.value) }
        : { value };
    });
    return new YamlList(source, contents, located, entries);
  }

  /**
   * The text after `edit`, or undefined when the list ends up with no entries and nothing else
   * (no comments): the key can then be dropped. Entries not named in `edit` keep their bytes.
   *
   * @throws Error if the spliced text does not parse back to the expected list (a bug, never written).
   */
  edit(edit: ListEdit): string | undefined {
    const remove = edit.remove ?? new Set<number>();
    const replace = edit.replace ?? new Map<number, unknown>();
    const append = edit.append ?? [];
    if (remove.size === 0 && replace.size === 0 && append.length === 0) return this.text;

    const expected: unknown[] = [];
    this.entries.forEach((entry, i) => {
      if (remove.has(i)) return;
      expected.push(replace.has(i) ? replace.get(i) : entry.value);
    });
    expected.push(...append);

    const text = this.seq?.flow ? this.editFlow(remove, replace, append) : this.editBlock(remove, replace, append);
    const check = parseDocument(text, YAML_VERSION);
    const actual = check.errors.length > 0 ? check.errors[0]!.message : (check.toJS() ?? []);
    if (JSON.stringify(actual) !== JSON.stringify(expected)) {
      throw new Error(
        `internal error: editing a YAML list produced ${JSON.stringify(text)}, which does not read back as the expected list`,
      );
    }
    if (expected.length === 0 && text.trim() === '') return undefined;
    return text;
  }

  /** Block list (`- ` entries, one or more lines each): splice whole lines. */
  private editBlock(
    remove: ReadonlySet<number>,
    replace: ReadonlyMap<number, unknown>,
    append: readonly unknown[],
  ): string {
    const { text, located } = this;
    const indent = located.length > 0 ? ' '.repeat(indentOf(text, located[0]!)) : '';
    const block = (values: readonly unknown[]) =>
      stringify(values, { ...YAML_VERSION, lineWidth: 0 })
        .split('\n')
        .map((line) => (line ? indent + line : line))
        .join('\n');

    // Splices from the end backwards, so earlier offsets stay valid.
    const splices: Array<{ from: number; to: number; insert: string }> = [];
    if (append.length > 0) {
      const at = located.length > 0 ? located[located.length - 1]!.end : text.length;
      const sep = at > 0 && text[at - 1] !== '\n' ? '\n' : '';
      splices.push({ from: at, to: at, insert: sep + block(append) });
    }
    for (let i = located.length - 1; i >= 0; i--) {
      const at = located[i]!;
      if (remove.has(i)) splices.push({ from: at.lineStart, to: at.end, insert: '' });
      else if (replace.has(i)) {
        const ending = text[at.end - 1] === '\n' ? '' : '\n';
        const replacement = block([replace.get(i)]);
        splices.push({ from: at.lineStart, to: at.end, insert: ending ? replacement.replace(/\n$/, '') : replacement });
      }
    }
    let out = text;
    for (const s of splices) out = out.slice(0, s.from) + s.insert + out.slice(s.to);
    return out;
  }

  /**
   * Flow list (`[...]`, as tools that write JSON leave it): kept entries are copied as written,
   * new ones are written as JSON, joined by the list's own separator.
   */
  private editFlow(
    remove: ReadonlySet<number>,
    replace: ReadonlyMap<number, unknown>,
    append: readonly unknown[],
  ): string {
    const { text, located, seq } = this;
    const [start, end] = seq!.range!;
    const sep = located.length >= 2 ? text.slice(located[0]!.valueEnd, located[1]!.valueStart) : ',';
    const parts: string[] = [];
    located.forEach((at, i) => {
      if (remove.has(i)) return;
      parts.push(replace.has(i) ? JSON.stringify(replace.get(i)) : text.slice(at.valueStart, at.valueEnd));
    });
    for (const value of append) parts.push(JSON.stringify(value));
    // Keep what sits between the brackets and the first/last entry (spaces, newlines) when entries remain.
    const open = text.indexOf('[', start);
    const close = text.lastIndexOf(']', end - 1);
    const lead = located.length > 0 ? text.slice(open + 1, located[0]!.valueStart) : '';
    const trail = located.length > 0 ? text.slice(located[located.length - 1]!.valueEnd, close) : '';
    const inner = parts.length > 0 ? lead + parts.join(sep) + trail.replace(/^\s*,/, '') : '';
    return text.slice(0, open + 1) + inner + text.slice(close);
  }
}

/** Source positions of each entry, from the CST the parser kept. */
function locate(text: string, seq: YAMLSeq, label: string): Located[] {
  const token = seq.srcToken;
  if (!token) throw new YamlListError(`${label}: internal error: the parser kept no source positions`);
  const out: Located[] = [];
  if (token.type === 'block-seq') {
    // Comment-only CST items (comments after the last entry) carry no `- ` indicator and no entry.
    const indicators = token.items
      .map((item) => item.start.find((t) => t.type === 'seq-item-ind'))
      .filter((t): t is NonNullable<typeof t> => t !== undefined);
    if (indicators.length !== seq.items.length) {
      throw new YamlListError(
        `${label}: found ${indicators.length} "- " entries but ${seq.items.length} list items; edit it by hand`,
      );
    }
    seq.items.forEach((item, i) => {
      const range = (item as { range?: [number, number, number] } | null)?.range;
      const ind = indicators[i]!.offset;
      const valueEnd = range ? range[1] : ind + 1;
      const nodeEnd = range ? range[2] : ind + 1;
      // Entries own whole lines: from the indicator's line to the end of the line the entry ends on.
      const end = nodeEnd > 0 && text[nodeEnd - 1] === '\n' ? nodeEnd : lineEndOf(text, Math.max(nodeEnd, valueEnd));
      out.push({ lineStart: lineStartOf(text, ind), end, valueStart: range ? range[0] : ind, valueEnd });
    });
    return out;
  }
  for (const item of seq.items) {
    const range = (item as { range?: [number, number, number] } | null)?.range;
    if (!range) throw new YamlListError(`${label}: an entry of the flow list has no source position; edit it by hand`);
    out.push({ lineStart: range[0], end: range[2], valueStart: range[0], valueEnd: range[1] });
  }
  return out;
}

/** Column of the entry's `- ` indicator. */
function indentOf(text: string, at: Located): number {
  const line = text.slice(at.lineStart, at.valueStart);
  return line.length - line.trimStart().length;
}

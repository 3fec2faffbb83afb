// Docs stay true to the tree: for README.md and every docs/*.md page, every relative markdown link
// (and its #anchor) resolves, every repo path written in backticks exists (globs match at least one
// file; paths the .gitignore names are generated outputs and skipped), and every page names a file it
// describes (docs pages in their opening, before the first "## " heading). Pure file checks, no AWS.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Folders whose paths count as repo paths when written in backticks. */
const PATH_PREFIXES = [
  'bin/',
  'lib/',
  'functions/',
  'scripts/',
  'test/',
  'schemas/',
  'bench/',
  'docs/',
  'examples/',
  '.ci/',
  'clients/',
];
/** Top-level files that count as repo paths when written in backticks. */
const TOP_LEVEL_FILES = [
  'README.md',
  'package.json',
  'package-lock.json',
  'tsconfig.json',
  'biome.json',
  'cdk.json',
  'vitest.config.ts',
  'requirements-dev.txt',
  '.gitignore',
];

interface RepoView {
  exists(path: string): boolean;
  isDirectory(path: string): boolean;
  read(path: string): string;
  /** Every file path (posix, relative to the root), for glob matching. */
  files(): string[];
  /** True for paths the repo's .gitignore marks as generated outputs. */
  ignored(path: string): boolean;
}

function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      re += '.*';
      i++;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

function diskRepo(root: string): RepoView {
  let cache: string[] | undefined;
  const walk = (dir: string, out: string[]) => {
    for (const name of readdirSync(join(root, dir))) {
      if (name === 'node_modules' || name === '.git' || name === '.venv' || name === 'cdk.out') continue;
      const rel = dir ? `${dir}/${name}` : name;
      if (statSync(join(root, rel)).isDirectory()) walk(rel, out);
      else out.push(rel);
    }
  };
  const ignorePatterns = readFileSync(join(root, '.gitignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#') && !l.startsWith('!'));
  return {
    exists: (p) => existsSync(join(root, p)),
    isDirectory: (p) => existsSync(join(root, p)) && statSync(join(root, p)).isDirectory(),
    read: (p) => readFileSync(join(root, p), 'utf8'),
    files: () => {
      if (!cache) walk('', (cache = []));
      return cache;
    },
    ignored: (p) =>
      ignorePatterns.some((pattern) =>
        pattern.endsWith('/')
          ? p.startsWith(pattern) || p === pattern.slice(0, -1)
          : globToRegExp(pattern).test(p) || globToRegExp(`**/${pattern}`).test(p),
      ),
  };
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to '-', repeats numbered. */
function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of withoutFences(markdown).split('\n')) {
    const m = /^#{1,6}\s+(.+?)\s*#*\s*$/.exec(line);
    if (!m) continue;
    const text = m[1]!.replace(/`/g, '').replace(/\[([^\]]*)\]\([^)]*\)/g, '$1');
    const base = text
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  return anchors;
}

/** Fenced code blocks blanked out (line count kept), so their contents are not read as links or paths. */
function withoutFences(markdown: string): string {
  let inFence = false;
  return markdown
    .split('\n')
    .map((line) => {
      if (/^\s*(```|~~~)/.test(line)) {
        inFence = !inFence;
        return '';
      }
      return inFence ? '' : line;
    })
    .join('\n');
}

function looksLikeRepoPath(code: string): boolean {
  if (/[\s<>{}|]/.test(code) || code.includes('…') || code.includes('...')) return false;
  return PATH_PREFIXES.some((p) => code.startsWith(p)) || TOP_LEVEL_FILES.includes(code);
}

/** Problems of one page, each naming the page and the broken link or path. */
function checkPage(page: string, repo: RepoView): string[] {
  const problems: string[] = [];
  const text = withoutFences(repo.read(page));
  const pageDir = posix.dirname(page);
  const namedFiles: { path: string; offset: number }[] = [];

  for (const m of text.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
    const target = m[1]!;
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto: and the like
    const [pathPart, anchor] = target.split('#', 2) as [string, string | undefined];
    const resolved = pathPart ? posix.normalize(posix.join(pageDir, decodeURIComponent(pathPart))) : page;
    if (resolved.startsWith('..')) {
      problems.push(`${page}: link (${target}) leaves the repository`);
      continue;
    }
    if (!repo.exists(resolved)) {
      problems.push(`${page}: link (${target}) → ${resolved} does not exist`);
      continue;
    }
    if (pathPart) namedFiles.push({ path: resolved, offset: m.index });
    if (anchor && resolved.endsWith('.md') && !headingAnchors(repo.read(resolved)).has(anchor.toLowerCase())) {
      problems.push(`${page}: link (${target}) → no heading "#${anchor}" in ${resolved}`);
    }
  }

  for (const m of text.matchAll(/`([^`\n]+)`/g)) {
    const code = m[1]!.trim();
    if (!looksLikeRepoPath(code)) continue;
    const path = code.replace(/\/$/, '');
    if (repo.ignored(code) || repo.ignored(path)) continue;
    const found = code.includes('*')
      ? repo.files().some((f) => globToRegExp(path).test(f) || globToRegExp(`${path}/**`).test(f))
      : repo.exists(path) && (!code.endsWith('/') || repo.isDirectory(path));
    if (found) namedFiles.push({ path, offset: m.index });
    else problems.push(`${page}: path \`${code}\` does not exist`);
  }

  // README is an index and may name its files anywhere; a docs page names them in its opening.
  const firstSection = /^## /m.exec(text)?.index ?? text.length;
  const opening = page === 'README.md' ? text.length : firstSection;
  if (!namedFiles.some((f) => f.offset < opening)) {
    problems.push(
      `${page}: names no file it describes${page === 'README.md' ? '' : ' before its first "## " heading'}`,
    );
  }
  return problems;
}

function docPages(repo: RepoView): string[] {
  const docs = repo.isDirectory('docs')
    ? repo
        .files()
        .filter((f) => /^docs\/[^/]+\.md$/.test(f))
        .sort()
    : [];
  return ['README.md', ...docs];
}

/** A repo made of the given files, for checking that the checker catches what it should. */
function memoryRepo(files: Record<string, string>): RepoView {
  const paths = Object.keys(files);
  const isDir = (p: string) => paths.some((f) => f.startsWith(`${p}/`));
  return {
    exists: (p) => p in files || isDir(p),
    isDirectory: isDir,
    read: (p) => files[p] ?? '',
    files: () => paths,
    ignored: (p) => p.startsWith('bench/results-quick'),
  };
}

describe('docs links and paths', () => {
  const repo = diskRepo(ROOT);

  it('README.md and every docs/*.md page: links, anchors and named paths exist', () => {
    const pages = docPages(repo);
    expect(pages.length).toBeGreaterThan(1);
    const problems = pages.flatMap((page) => checkPage(page, repo));
    expect(problems).toEqual([]);
  });

  it('README.md stays within 200 lines', () => {
    expect(repo.read('README.md').replace(/\n$/, '').split('\n').length).toBeLessThanOrEqual(200);
  });

  it('reports the page and the broken link, anchor or path', () => {
    const fake = memoryRepo({
      'README.md': [
        '# X',
        'See [cli](docs/cli.md#commands), [gone](docs/gone.md), [bad anchor](docs/cli.md#nope).',
        'Code in `lib/core/a.ts`, `lib/core/missing.ts`, `lib/*/a.ts`, `lib/*/zzz.ts`, `bench/results-quick.json`.',
        '```',
        '[in a fence](docs/not-checked.md) `lib/not-checked.ts`',
        '```',
      ].join('\n'),
      'docs/cli.md': '# CLI\n\nNo file named here.\n\n## Commands\n\n`lib/core/a.ts`\n',
      'lib/core/a.ts': '',
    });
    expect(docPages(fake)).toEqual(['README.md', 'docs/cli.md']);
    expect(checkPage('README.md', fake)).toEqual([
      'README.md: link (docs/gone.md) → docs/gone.md does not exist',
      'README.md: link (docs/cli.md#nope) → no heading "#nope" in docs/cli.md',
      'README.md: path `lib/core/missing.ts` does not exist',
      'README.md: path `lib/*/zzz.ts` does not exist',
    ]);
    expect(checkPage('docs/cli.md', fake)).toEqual([
      'docs/cli.md: names no file it describes before its first "## " heading',
    ]);
  });

  it('makes GitHub heading anchors', () => {
    const anchors = headingAnchors('# Wire format (input)\n## `vmon` CLI\n## Setup\n## Setup\n');
    expect([...anchors]).toEqual(['wire-format-input', 'vmon-cli', 'setup', 'setup-1']);
  });

  it('resolves links relative to the page', () => {
    const fake = memoryRepo({ 'docs/a.md': '# A\nDescribes [`lib/x.ts`](../lib/x.ts).\n', 'lib/x.ts': '' });
    expect(checkPage('docs/a.md', fake)).toEqual([]);
  });
});

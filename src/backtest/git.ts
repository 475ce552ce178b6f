import { execFile } from 'node:child_process';
import { realpath } from 'node:fs/promises';
import { relative, resolve, sep } from 'node:path';
import { promisify } from 'node:util';
import { BilhetagemError, ErrorCodes } from '../errors.ts';
import type { RulesetFile } from '../core/ruleset/types.ts';

const run = promisify(execFile);

async function git(cwd: string, args: string[]): Promise<string> {
  const { stdout } = await run('git', args, { cwd, maxBuffer: 256 * 1024 * 1024, encoding: 'utf8' });
  return stdout;
}

/** Whether `ref` names a commit in the git repository that holds `dir`. */
export async function isGitRef(dir: string, ref: string): Promise<boolean> {
  try {
    await git(dir, ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`]);
    return true;
  } catch {
    return false;
  }
}

/**
 * The rules/ and mappings/ files as they were at a git ref, read with `git ls-tree` and `git show`
 * (no checkout, the working tree is left alone). `rules` and `mappings` are the folders in the working
 * tree; the same paths are read at the ref.
 */
export async function readRulesetFilesAtRef(ref: string, o: { rules: string; mappings: string }): Promise<RulesetFile[]> {
  const rulesDir = await realpath(resolve(o.rules)).catch(() => resolve(o.rules));
  const mappingsDir = await realpath(resolve(o.mappings)).catch(() => resolve(o.mappings));
  let top: string;
  try {
    top = await realpath((await git(rulesDir, ['rev-parse', '--show-toplevel'])).trim());
  } catch (cause) {
    throw new BilhetagemError(ErrorCodes.FILE_READ, `${o.rules} is not inside a git repository, so the base "${ref}" cannot be read from git`, { cause, details: { file: o.rules } });
  }
  if (!(await isGitRef(top, ref))) {
    throw new BilhetagemError(ErrorCodes.FILE_READ, `"${ref}" is neither a folder nor a git ref of ${top}`, { details: { ref } });
  }
  const rel = (dir: string) => relative(top, dir).split(sep).join('/');
  const prefixes: [string, string][] = [
    [rel(rulesDir), 'rules'],
    [rel(mappingsDir), 'mappings'],
  ];
  for (const [p] of prefixes) {
    if (p.startsWith('..')) throw new BilhetagemError(ErrorCodes.FILE_READ, `${p} is outside the git repository ${top}`, { details: { file: p } });
  }
  const listed = await git(top, ['ls-tree', '-r', '--name-only', '-z', ref, '--', ...prefixes.map(([p]) => p)]);
  const out: RulesetFile[] = [];
  for (const path of listed.split('\0').filter(Boolean).sort()) {
    if (!/\.(json|csv)$/.test(path)) continue;
    const hit = prefixes.find(([p]) => path.startsWith(`${p}/`));
    if (!hit) continue;
    const content = await git(top, ['show', `${ref}:${path}`]);
    out.push({ path: `${hit[1]}/${path.slice(hit[0].length + 1)}`, content });
  }
  if (!out.some((f) => f.path === 'rules/manifest.json')) {
    throw new BilhetagemError(ErrorCodes.FILE_READ, `${ref}:${prefixes[0][0]}/manifest.json does not exist`, { details: { ref, file: `${prefixes[0][0]}/manifest.json` } });
  }
  return out;
}

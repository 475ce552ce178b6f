import { relative, resolve, sep } from 'node:path';

/**
 * Ruleset files are named `rules/...` and `mappings/...` inside the library; people want the path they
 * can open. Maps the prefix back to the folders given on the command line, relative to the cwd.
 */
export function displayPaths(cwd: string, o: { rules: string; mappings: string }): (file: string) => string {
  const rules = displayPath(cwd, o.rules);
  const mappings = displayPath(cwd, o.mappings);
  return (file) => {
    if (file.startsWith('rules/')) return `${rules}/${file.slice(6)}`;
    if (file.startsWith('mappings/')) return `${mappings}/${file.slice(9)}`;
    return file;
  };
}

/** Inside the cwd: relative (rules/x.json); elsewhere: absolute, rather than a climb of ../../ */
export function displayPath(cwd: string, path: string): string {
  const abs = resolve(cwd, path);
  const r = relative(cwd, abs);
  if (r.startsWith('..')) return abs.split(sep).join('/');
  return r === '' ? '.' : r.split(sep).join('/');
}

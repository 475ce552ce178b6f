/**
 * The library as users get it: the tsup build in dist/ (`npm run bench` builds first), not the TypeScript
 * sources through tsx, whose transform adds work to every function. BENCH_LIB=src measures the sources.
 */
import type * as Lib from '../src/index.ts';

const target = process.env.BENCH_LIB === 'src' ? '../src/index.ts' : '../dist/index.js';
export const lib: typeof Lib = await import(target);

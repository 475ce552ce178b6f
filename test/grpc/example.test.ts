import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../support/ruleset.ts';

describe('examples/grpc-client.ts', () => {
  it('runs against its own server and shows every call', async () => {
    const env = { ...process.env };
    delete env.BILHETAGEM_GRPC;
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'examples/grpc-client.ts'], { cwd: ROOT, env, timeout: 60_000 });
    expect(stdout).toContain('validate call-2: rejected UNKNOWN_CUSTOMER');
    expect(stdout).toContain('submit: call-1=accepted call-3=skipped');
    expect(stdout).toContain('submit again: duplicate');
    expect(stdout).toContain('stream #4 stream-4: accepted');
    expect(stdout).toContain('refused: PERMISSION_DENIED BLH_ERR_FORBIDDEN');
  });
});

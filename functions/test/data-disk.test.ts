import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scriptFile } from '@cloudseed/shared/targets/node-scripts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The node scripts' data disk (shared/src/targets/sh/data-disk.sh), run as root against real block
// devices: loop devices over sparse files stand in for Compute Engine's pgdata disk and Azure's LUN 0.
// A scratch directory stands in for /var/lib/postgresql and a scratch file for /etc/fstab. Growing the
// mounted file system (grow_data_disk, resize2fs online) is not exercised: this machine's kernel
// refuses the online resize of a loop device ("Permission denied to resize filesystem").

let dir: string;
const loops: string[] = [];
const mounts: string[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cs-data-disk-'));
});

afterAll(async () => {
  for (const mount of mounts) spawnSync('umount', [mount]);
  for (const loop of loops) spawnSync('losetup', ['-d', loop]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** A blank disk of `mib` MiB: a loop device over a sparse file. */
async function blankDisk(name: string, mib: number): Promise<{ file: string; device: string }> {
  const file = join(dir, `${name}.img`);
  await writeFile(file, '');
  await truncate(file, mib * 1024 * 1024);
  const device = execFileSync('losetup', ['--find', '--show', file], { encoding: 'utf8' }).trim();
  loops.push(device);
  return { file, device };
}

/** Runs `call` after data-disk.sh, with data_disk printing `device` (as a prelude would), DATA_MOUNT and fstab in the scratch directory. */
function withDataDisk(device: string, mount: string, call: string): { status: number | null; stderr: string } {
  const script = `set -euo pipefail\ndata_disk() { printf '%s' '${device}'; }\nDATA_MOUNT='${mount}'\n${scriptFile('data-disk.sh')}\n${call}\n`;
  const result = spawnSync('bash', ['-c', script], { encoding: 'utf8', env: { ...process.env, CLOUDSEED_FSTAB: join(dir, 'fstab') } });
  return { status: result.status, stderr: result.stderr };
}

describe('the data disk', () => {
  it('is formatted once, mounted by UUID in fstab, and kept when install runs again', async () => {
    const { device } = await blankDisk('pgdata', 64);
    const mount = join(dir, 'postgresql');

    expect(withDataDisk(device, mount, 'mount_data_disk')).toEqual({ status: 0, stderr: '' });
    mounts.push(mount);
    const uuid = execFileSync('blkid', ['-o', 'value', '-s', 'UUID', device], { encoding: 'utf8' }).trim();
    expect(execFileSync('findmnt', ['-n', '-o', 'SOURCE,FSTYPE', '--mountpoint', mount], { encoding: 'utf8' }).trim()).toMatch(
      new RegExp(`^${device} +ext4$`),
    );
    expect(await readFile(join(dir, 'fstab'), 'utf8')).toBe(`UUID=${uuid} ${mount} ext4 defaults,noatime,nofail 0 2\n`);

    await writeFile(join(mount, 'PG_VERSION'), '16\n');
    expect(withDataDisk(device, mount, 'mount_data_disk').status).toBe(0);
    expect(await readFile(join(mount, 'PG_VERSION'), 'utf8')).toBe('16\n');
    expect(await readFile(join(dir, 'fstab'), 'utf8')).toBe(`UUID=${uuid} ${mount} ext4 defaults,noatime,nofail 0 2\n`);
  });

  it('refuses to mount over a data directory that already holds files on the boot disk', async () => {
    const { device } = await blankDisk('late', 32);
    const mount = join(dir, 'populated');
    execFileSync('mkdir', ['-p', join(mount, '16', 'main')]);

    const result = withDataDisk(device, mount, 'mount_data_disk');

    expect(result.status).toBe(1);
    expect(result.stderr).toBe(`cloudseed: ${mount} already holds files on the boot disk; not mounting the data disk over them\n`);
  });

  it('does nothing where the prelude names no data disk (AWS keeps the data on the root volume)', () => {
    const script = `set -euo pipefail\n${scriptFile('prelude-aws.sh')}\nDATA_MOUNT='${join(dir, 'unused')}'\n${scriptFile('data-disk.sh')}\nmount_data_disk\ngrow_data_disk\n[ ! -e "$DATA_MOUNT" ]\n`;

    expect(spawnSync('bash', ['-c', script], { encoding: 'utf8' }).status).toBe(0);
  });

  it("names each cloud's data disk as its document attaches it", () => {
    const print = (prelude: string) => spawnSync('bash', ['-c', `${scriptFile(prelude)}\ndata_disk`], { encoding: 'utf8' }).stdout;

    expect(print('prelude-gcp.sh')).toBe('/dev/disk/by-id/google-pgdata');
    expect(print('prelude-azure.sh')).toBe('/dev/disk/azure/scsi1/lun0');
    expect(print('prelude-aws.sh')).toBe('');
  });
});

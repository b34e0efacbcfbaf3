/** What every entry point of the lab checks before it starts, and its teardown on Ctrl-C. */
import { execFileSync } from 'node:child_process';
import type { LabCluster } from './cluster.js';
import { cleanAll, leftovers, unmountLeftoverDisks } from './netlab.js';

/** Exits 2 with the reason unless this is root, nothing of an earlier run is left, and the tools are here. */
export function preflight(): void {
  if (process.getuid?.() !== 0) {
    console.error('the fault lab creates network namespaces: run it as root');
    process.exit(2);
  }
  if (leftovers().length) {
    console.error(`leftovers of an earlier lab run exist (${leftovers().join(', ')}); clean them with: npm run lab:clean`);
    process.exit(2);
  }
  for (const tool of ['nft', 'etcd', 'psql']) {
    try {
      execFileSync('which', [tool], { stdio: 'ignore' });
    } catch {
      console.error(`${tool} is missing: run bash scripts/setup.sh --lab`);
      process.exit(2);
    }
  }
}

/** On SIGINT/SIGTERM: tear down the cluster running now (if any) and everything of the lab, exit 130. */
export function tearDownOnSignal(current: () => LabCluster | null): void {
  const interrupted = async () => {
    console.error('\ninterrupted: tearing the lab down');
    await current()
      ?.destroy()
      .catch(() => {});
    cleanAll();
    // Interrupted while the cluster started: its disks were mounted, its teardown never existed.
    unmountLeftoverDisks();
    process.exit(130);
  };
  process.on('SIGINT', interrupted);
  process.on('SIGTERM', interrupted);
}

/**
 * Plain-text tables in the repmgr `cluster show` shape operators already read.
 */
import type { ClusterReport, MemberRow } from '../../api/cluster-view.js';

export function renderTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => ` ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')}`.trimEnd();
  return [line(headers), widths.map((w) => '-'.repeat(w + 2)).join('+'), ...rows.map(line)].join('\n');
}

export function formatBytes(n: number | null): string {
  if (n === null) return '';
  if (n < 1024) return `${n} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[u]}`;
}

export function connectionString(m: Pick<MemberRow, 'host' | 'port'>, user: string): string {
  return `host=${m.host} port=${m.port} user=${user} dbname=postgres`;
}

export function renderCluster(report: ClusterReport, opts: { verbose?: boolean; user?: string } = {}): string {
  const headers = ['ID', 'Name', 'Role', 'Status', 'Upstream', 'Sync', 'Location', 'Priority', 'Timeline', 'Lag', 'Connection string'];
  const rows = report.members.map((m) => [
    String(m.id),
    m.name,
    m.role,
    m.status.startsWith('*') || m.status.startsWith('?') || m.status.startsWith('!') ? m.status : `  ${m.status}`,
    m.upstream ?? '',
    m.sync ?? '',
    m.location,
    String(m.priority),
    m.timeline === null ? '?' : String(m.timeline),
    m.role === 'standby' ? (m.lag_bytes === null ? '?' : formatBytes(m.lag_bytes)) : '',
    connectionString(m, opts.user ?? 'postgres'),
  ]);
  const out = [...(report.paused_since ? [`PAUSED since ${report.paused_since}: ${pauseReason(report.cluster_operation)}`, ''] : []), renderTable(headers, rows)];
  if (report.vip) out.push('', `Floating IP ${report.vip.address}: ${report.vip.holders.length ? `held by ${report.vip.holders.join(', ')}` : 'held by nobody'}`);
  if (opts.verbose) {
    out.push('', 'HA loop (last decision of each agent):');
    for (const m of report.members) out.push(`  ${m.name}: ${m.message ?? '(no status published)'}`);
    const proxies = [...new Set(report.members.flatMap((m) => Object.keys(m.proxies)))].sort();
    if (proxies.length) out.push('', 'Proxies (how each routes to every node now):');
    for (const p of proxies) out.push(`  ${p}: ${report.members.map((m) => `${m.name} ${m.proxies[p] ?? '(not listed)'}`).join(', ')}`);
    const cloning = report.members.filter((m) => m.clone);
    if (cloning.length) out.push('', 'Clones in progress:');
    for (const { name, clone: c } of cloning) {
      out.push(`  ${name}: from ${c!.from}, ${formatBytes(c!.done_bytes)} of ${formatBytes(c!.total_bytes)} in ${c!.elapsed_s} s, ${formatBytes(c!.rate_bytes_s)}/s`);
    }
  }
  if (report.warnings.length) {
    out.push('', 'WARNING: following issues were detected');
    for (const w of report.warnings) out.push(`  - ${w}`);
  }
  return out.join('\n');
}

function pauseReason(op: ClusterReport['cluster_operation']): string {
  if (op === 'stop') return 'cluster stopped by an operator (pgwarden cluster start brings it back)';
  if (op === 'start') return 'cluster starting (the leader first, then the standbys)';
  return 'no automatic failover, restart or rejoin (pgwarden resume ends it)';
}

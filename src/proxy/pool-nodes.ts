/** What SHOW POOL_NODES and `pgwarden show nodes` print, in pgpool-II's column names. */

/** One row of SHOW POOL_NODES / `pgwarden show nodes`. */
export interface PoolNodeRow {
  readonly node_id: number;
  readonly hostname: string;
  readonly port: number;
  readonly status: string;
  readonly lb_weight: number;
  readonly role: string;
  readonly select_cnt: number;
  readonly load_balance_node: boolean;
  readonly replication_delay: number | null;
}

export const POOL_NODES_COLUMNS = ['node_id', 'hostname', 'port', 'status', 'lb_weight', 'role', 'select_cnt', 'load_balance_node', 'replication_delay'] as const;

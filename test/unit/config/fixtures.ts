/**
 * What the config tests share: a minimal valid node config, and the ConfigError a call must throw.
 */
import assert from 'node:assert/strict';
import { ConfigError } from '../../../src/util/errors.js';

export const validNode = () => ({
  name: 'node1',
  data_dir: '/var/lib/pgwarden/node1',
  postgresql: {
    listen: '127.0.0.1:5432',
    connect_address: '10.0.0.1:5432',
    superuser: { username: 'postgres', password_env: 'PGW_SU' },
    replication: { username: 'replicator', password_file: 'repl.pw' },
  },
  api: { listen: '0.0.0.0:8008', connect_address: '10.0.0.1:8008', auth_token_file: 'api.token' } as Record<string, unknown>,
  store: { type: 'etcd', endpoints: ['http://10.0.0.9:2379'] } as Record<string, unknown>,
});

/** The ConfigError `fn` throws; fails the test when it throws something else or nothing. */
export function configErrorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err;
  }
  assert.fail('expected a ConfigError');
}

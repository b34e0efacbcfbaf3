export * from './schema.js';
export { checkTiming, type Timing } from './timing.js';
export * from './proxy-schema.js';
export {
  loadProxyConfig,
  loadNodeConfig,
  parseNodeConfig,
  loadClientConfig,
  readSecret,
  readToken,
  validate,
  loadTlsContext,
  checkSecrets,
  checkPgTlsFiles,
  tlsFiles,
  NO_PG_TLS_WARNING,
  MIN_TOKEN_BYTES,
} from './load.js';

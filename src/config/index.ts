export * from './schema.js';
export { checkTiming, type Timing } from './timing.js';
export { loadNodeConfig, parseNodeConfig, loadClientConfig, readSecret, readToken, validate } from './load.js';

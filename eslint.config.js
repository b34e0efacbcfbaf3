// ESLint: typescript-eslint's recommended rules, the import table of docs/architecture.md (which
// component may import which), and a pure HA decision (no clock, no randomness, no I/O).
// Formatting is Prettier's (eslint-config-prettier turns off the rules it owns).
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

/** Relative import patterns of our components, as seen from a file one folder below src/. */
const ours = (...names) => names.map((n) => `../${n}/*`);
const restrict = (files, groups, message) => ({
  files,
  rules: { 'no-restricted-imports': ['error', { patterns: [{ group: groups, message }] }] },
});

const PURE_HA = ['src/ha/view.ts', 'src/ha/actions.ts', 'src/ha/decide*.ts', 'src/ha/election.ts', 'src/ha/sync.ts', 'src/ha/requests.ts'];

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'test/lab/out/', 'bench/out/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  prettier,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      'no-console': 'off',
      eqeqeq: ['error', 'always'],
    },
  },
  restrict(['src/util/**'], ['../*'], 'util/ is a leaf: it imports nothing of ours.'),
  restrict(['src/config/**'], ours('store', 'postgres', 'client', 'ha', 'proxy', 'api', 'vip', 'compose', 'local', 'cli'), 'config/ may import util/ only.'),
  restrict(['src/store/**'], ours('postgres', 'client', 'ha', 'proxy', 'api', 'vip', 'compose', 'local', 'cli'), 'store/ may import config/ and util/ only.'),
  restrict(
    ['src/postgres/**'],
    ours('store', 'client', 'ha', 'proxy', 'api', 'vip', 'compose', 'local', 'cli'),
    'postgres/ may import config/ and util/ only: pass plain values, not store types.',
  ),
  restrict(['src/vip/**'], ours('config', 'store', 'postgres', 'client', 'ha', 'proxy', 'api', 'compose', 'local', 'cli'), 'vip/ may import util/ only.'),
  restrict(['src/client/**'], ours('store', 'postgres', 'ha', 'proxy', 'api', 'vip', 'compose', 'local', 'cli'), 'client/ may import config/ and util/ only.'),
  restrict(
    ['src/proxy/protocol/**'],
    ['../*', '../../*', 'node:net', 'node:tls', 'node:timers'],
    'proxy/protocol/ is a socket-free codec: nothing of ours, no sockets, no timers.',
  ),
  restrict(['src/proxy/*.ts'], ours('postgres', 'client', 'ha', 'api', 'vip', 'compose', 'local', 'cli'), 'proxy/ may import proxy/protocol, store/, config/ and util/ only.'),
  restrict(['src/ha/**'], ours('proxy', 'api', 'compose', 'local', 'cli'), 'ha/ never imports the proxy, the API or a composition root.'),
  {
    files: PURE_HA,
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [
                'node:*',
                '../postgres/*',
                '../client/*',
                '../proxy/*',
                '../api/*',
                '../vip/*',
                '../compose/*',
                '../local/*',
                '../cli/*',
                '../store/*',
                '!../store/types.js',
                '../util/*',
                '!../util/lsn.js',
                './observe.js',
                './execute.js',
                './agent.js',
              ],
              message: 'The decision is pure: store and config types and util/lsn only; no I/O half, no clock.',
            },
            { group: ['../util/lsn.js'], importNames: ['parseLsn'], message: 'The decision never parses: the store boundary (store/codec.ts) did.' },
          ],
        },
      ],
      'no-restricted-syntax': [
        'error',
        { selector: "CallExpression[callee.object.name='Date']", message: 'The decision reads time from the view (v.now, v.wallNow) and never parses it.' },
        { selector: "NewExpression[callee.name='Date']", message: 'The decision reads time from the view (v.now, v.wallNow).' },
        { selector: "MemberExpression[object.name='Math'][property.name='random']", message: 'The decision is deterministic.' },
        { selector: "MemberExpression[object.name='performance']", message: 'The decision reads time from the view (v.now).' },
        { selector: 'AwaitExpression', message: 'The decision does no I/O.' },
      ],
    },
  },
  restrict(['src/api/**'], ours('postgres', 'proxy', 'vip', 'compose', 'local', 'cli'), 'api/ may import ha/, store/, client/, config/ and util/.'),
  {
    // The dashboard's script runs in the browser as it is (no build chain).
    files: ['src/api/ui/*.js'],
    languageOptions: { sourceType: 'script', globals: { document: 'readonly', window: 'readonly', fetch: 'readonly', EventSource: 'readonly' } },
  },
);

// Flat config: typescript-eslint's recommended rules over every workspace, and the dependency
// direction: services (origin, edge-node, load-balancer) import only service-kit and their own code;
// service-kit imports no workspace. infra, grafana and loadtest sit above and may import services.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const SERVICES = ['origin', 'edge-node', 'load-balancer'];
const WORKSPACES = [...SERVICES, 'service-kit', 'infra', 'grafana', 'loadtest'];
/** Imports a workspace may not make: every other workspace except those in `allowed`, by package name or by path. */
const restrictedFor = (workspace, allowed) => {
  const banned = WORKSPACES.filter((other) => other !== workspace && !allowed.includes(other));
  return [
    'error',
    {
      patterns: [
        {
          regex: `^(@cdn-lab/(${banned.join('|')})(/|$)|(\\.\\./)+(${banned.join('|')})/|@pulumi/)`,
          message: `${workspace} may import only ${['its own code', ...allowed].join(', ')}: the dependency direction of the lab (see eslint.config.js)`,
        },
      ],
    },
  ];
};

export default tseslint.config(
  { ignores: ['**/node_modules/**', 'runs/**', '**/dist/**', 'grafana/dashboards/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', setImmediate: 'readonly', Buffer: 'readonly', URL: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  ...SERVICES.map((service) => ({ files: [`${service}/**/*.ts`], rules: { 'no-restricted-imports': restrictedFor(service, ['service-kit']) } })),
  { files: ['service-kit/**/*.ts'], rules: { 'no-restricted-imports': restrictedFor('service-kit', []) } },
);

#!/usr/bin/env node
import { buildCli } from './cli/index.js';

await buildCli().parseAsync(process.argv);

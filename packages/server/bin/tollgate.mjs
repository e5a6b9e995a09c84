#!/usr/bin/env node
// Runs the TypeScript sources directly (no build step): `npm install && npm start` is all it takes.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));

#!/usr/bin/env node
// The built command (dist/, made by `npm run build`: `prepare` after `npm install`, `prepack` before `npm pack`).
import { main } from '../dist/cli.js';

process.exitCode = await main(process.argv.slice(2));

/** Runs the `simosphere` command from source (`node --import tsx src/cli/run.ts …`), as tests and scripts do. */
import { runCli } from './main.js';

await runCli();

/** A stderr logger with the command's name in front of every line. */
export function stderrLogger(name: string): (message: string) => void {
  return (message) => process.stderr.write(`${name}: ${message}\n`);
}

/**
 * Runs a command's `main` and exits with its code. The exit is forced a second later because the
 * exporters' keep-alive sockets must not hold the process open once everything was sent.
 */
export function runMain(main: () => Promise<number>, log: (message: string) => void): void {
  main().then(
    (code) => {
      process.exitCode = code;
      setTimeout(() => process.exit(code), 1_000).unref();
    },
    (err: unknown) => {
      log(`unexpected error: ${(err as Error).stack ?? String(err)}`);
      process.exit(1);
    },
  );
}
